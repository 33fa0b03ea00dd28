"""A site's unmatched vascular-measurement codes: what to map in `screens/valuesets/local/`.

An Observation coding whose display (or code.text) reads like a vascular measurement (ABI,
ABPI, AAI, ankle-brachial; TBI, toe-brachial; toe or hallux pressure; ankle pressure; TcPO2,
TCOM; compartment pressure, ICP) but that no measurement value set reads, by code or by its text
patterns, is a result the screens never see. `unmatched_measurement_codes` counts such codings
by ``system|code`` (never values, displays or patients), so a run summary can name the top ones.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import polars as pl

from screens.coded import MEASUREMENT_VALUESETS
from screens.valuesets import ValueSet, available, load

# What reads like a vascular measurement. Wider than the value sets' own text patterns on
# purpose: it finds what they miss. Abbreviations are matched in capitals only ("ABI", not "abi"
# inside a word), and TBI / ICP not when the display is about the brain.
_LOOKS_VASCULAR = re.compile(
    r"ankle[\s/-]*(?:brachial|arm)|toe[\s/-]*(?:brachial|arm)|brachial[\s/-]*(?:ankle|toe)"
    r"|(?-i:\b(?:ABP?I|AAI|TBI|TCOM|ICP)(?:'?s)?\b)"
    r"|\b(?:toe|hallux|great toe|digit(?:al)?)\b[^|]{0,20}\bpressure"
    r"|\bankle\b[^|]{0,20}\bpressure|\b(?:dorsalis pedis|posterior tibial)\b[^|]{0,20}pressure"
    r"|\btc-?p-?o2\b|\btcpo₂|transcutaneous\s+(?:oxygen|o2|oximetry|partial)"
    r"|compartment(?:al)?\s+pressure|intra-?compartment",
    re.IGNORECASE,
)
_ABOUT_THE_BRAIN = re.compile(
    r"brain|cran|\bhead\b|concussion|\bcsf\b|ventric|\bevd\b", re.IGNORECASE
)


def looks_vascular(display: str) -> bool:
    """Whether a coding's display reads like a vascular measurement (`_LOOKS_VASCULAR`)."""
    return bool(_LOOKS_VASCULAR.search(display)) and not _ABOUT_THE_BRAIN.search(display)


def measurement_value_sets() -> tuple[ValueSet, ...]:
    """The value sets lab criteria read measurements through (`screens.finders`), shipped and
    site-local rows (`load` caches them)."""
    names = set(available())
    return tuple(load(name) for name in MEASUREMENT_VALUESETS if name in names)


def _reads(vs: ValueSet, system: str, code: str, display: str) -> bool:
    """Whether a lab criterion on `vs` would read this coding (code, or text pattern)."""
    if vs.matches(system, code):
        return True
    return any(re.search(p, display, re.IGNORECASE) for p in vs.text_patterns)


def unmatched_measurement_codes(
    codings: pl.DataFrame, value_sets: Sequence[ValueSet] | None = None, *, top: int = 10
) -> list[tuple[str, int]]:
    """The `top` ``system|code`` keys by rows among `codings` that read like a vascular
    measurement and match none of `value_sets` (default: `measurement_value_sets`).

    `codings` has ``system``, ``code`` and ``display`` (an STG_OBSERVATION frame, or such rows
    already counted, with their counts in ``n``). Rows without a code cannot be mapped and are
    left out. Sorted by rows (most first), then key.
    """
    sets = measurement_value_sets() if value_sets is None else tuple(value_sets)
    counted = (
        codings.filter(pl.col("code").is_not_null() & pl.col("display").is_not_null())
        .group_by("system", "code", "display")
        .agg(n=pl.col("n").sum() if "n" in codings.columns else pl.len())
    )
    found: Counter[str] = Counter()
    for system, code, display, n in counted.iter_rows():
        if not looks_vascular(display):
            continue
        if any(_reads(vs, system or "", code, display) for vs in sets):
            continue
        found[f"{system or ''}|{code}"] += int(n)
    return sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
