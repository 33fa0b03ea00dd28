"""Which resource types a Bulk export's ``error`` file says could not be exported.

The manifest lists error files as OperationOutcome, never per type. A type named in an issue
(its ``expression``, ``location``, ``diagnostics`` or ``details.text``, as a whole word) failed,
in part; an outcome that names no requested type may concern any of them, so every requested
type counts as failed. A failed type is not treated as "nothing of that type exists" that night:
it never arrives as a full snapshot, so none of its earlier records is deleted for being absent
(`pipelines.cohort_run.fetch`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any


def types_named(outcome: dict[str, Any], types: Sequence[str]) -> set[str]:
    """The requested `types` one OperationOutcome names; all of them when it names none."""
    text = " ".join(_texts(outcome))
    named = {t for t in types if re.search(rf"\b{re.escape(t)}\b", text)}
    return named or set(types)


def _texts(outcome: dict[str, Any]) -> Iterator[str]:
    for issue in outcome.get("issue") or []:
        if not isinstance(issue, dict):
            continue
        for key in ("expression", "location"):
            yield from _strings(issue.get(key))
        yield from _strings([issue.get("diagnostics")])
        details = issue.get("details")
        if isinstance(details, dict):
            yield from _strings([details.get("text")])


def _strings(values: object) -> Iterable[str]:
    if isinstance(values, list):
        return [v for v in values if isinstance(v, str)]
    return []
