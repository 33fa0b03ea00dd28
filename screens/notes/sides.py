"""Laterality: which side word governs a mention or a measured value within its sentence."""

from __future__ import annotations

import re

_SIDE_WORD = re.compile(
    r"\b(?:(?P<left>left|lt|(?-i:L|LLE|LCIV|LCFV))|(?P<right>right|rt|(?-i:R|RLE))"
    r"|(?P<bilateral>bilateral(?:ly)?|bilat|b/l|both|(?-i:BLE)))\b",
    re.IGNORECASE,
)
# Capital L/R count only before a colon, a number or limb anatomy ("R calf", "L: 0.91").
_SHORT_OK = re.compile(
    r"\s*(?:[:=]|\d|\.\d|leg|calf|foot|toe|thigh|lower|le\b|cfv|civ|common|ext|ankle|heel|knee|pt\b|dp\b)",
    re.IGNORECASE,
)
_JOIN = re.compile(r"^[\s:=\-]*$")
_TRAIL = re.compile(r"^\s*(?:mm ?hg)?\s*(?:\(|on the|in the|at the|for the)?\s*$", re.IGNORECASE)
_FORWARD_NUMBER = re.compile(r"^\s*[:=\-]?\s*(?:\d|\.\d)")

Side = tuple[int, int, str]


def find_sides(text: str) -> list[Side]:
    """All side words in `text` as (start, end, side), side in left|right|bilateral."""
    found: list[Side] = []
    for m in _SIDE_WORD.finditer(text):
        word = m.group(0)
        if word in {"L", "R"} and not _SHORT_OK.match(text, m.end()):
            continue
        side = next(k for k in ("left", "right", "bilateral") if m.group(k) is not None)
        found.append((m.start(), m.end(), side))
    return found


def clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The ';'-delimited clause of `text` containing [start, end)."""
    left = text.rfind(";", 0, start) + 1
    right = text.find(";", end)
    return left, len(text) if right == -1 else right


def side_for_value(text: str, start: int, end: int, sides: list[Side]) -> str | None:
    """Side for a number at [start, end): 'right 0.72' / '0.58 right' / nearest before in clause."""
    for _, s_end, side in sides:
        if s_end <= start and _JOIN.match(text[s_end:start]):
            return side
    for s_start, s_end, side in sides:
        if s_start >= end and _TRAIL.match(text[end:s_start]):
            if not _FORWARD_NUMBER.match(text[s_end:]):
                return side
    c_start, _ = clause_bounds(text, start, end)
    before = [s for s in sides if s[1] <= start and (s[0] >= c_start or start - s[1] <= 60)]
    return before[-1][2] if before else None


def side_for_span(text: str, start: int, end: int, sides: list[Side]) -> str | None:
    """Side for a mention: inside the span, else nearest in the clause, else the only one stated."""
    inside = [s for s in sides if s[0] >= start and s[1] <= end]
    if inside:
        return inside[0][2]
    c_start, c_end = clause_bounds(text, start, end)
    before = [s for s in sides if c_start <= s[0] and s[1] <= start and start - s[1] <= 80]
    if before:
        return before[-1][2]
    after = [s for s in sides if s[0] >= end and s[1] <= c_end and s[0] - end <= 40]
    return after[0][2] if after else None
