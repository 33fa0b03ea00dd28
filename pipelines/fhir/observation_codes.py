"""The Observation codes the screens read, as ``system|code`` search tokens.

Search mode asks a server that insists on ``category`` or ``code`` for these codes too, so results
filed under a site-specific category (an ABI under ``procedure`` or a local one) still arrive.
Wildcard rows (``123*``) and text patterns cannot be searched for and are left out.
"""

from __future__ import annotations

import csv
from functools import cache

from screens.dsl import Lab
from screens.rules import select_screens
from screens.valuesets import HERE, LOCAL, TEXT_SYSTEM


@cache
def screen_observation_codes() -> tuple[str, ...]:
    """Sorted ``system|code`` tokens of every value set a screen's ``lab()`` criterion reads."""
    names = {
        criterion.finds.valueset.name
        for screen in select_screens(None)
        for criterion in screen.all_criteria()
        if isinstance(criterion.finds, Lab)
    }
    tokens: set[str] = set()
    for name in names:
        for folder in (HERE, LOCAL):
            path = folder / f"{name}.csv"
            if not path.is_file():
                continue
            with path.open(newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    system = (row.get("system") or "").strip()
                    code = (row.get("code") or "").strip()
                    if system and code and system != TEXT_SYSTEM and not code.endswith("*"):
                        tokens.add(f"{system}|{code}")
    return tuple(sorted(tokens))
