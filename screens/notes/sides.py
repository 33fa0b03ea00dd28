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
    r"\s*(?:[:=]|\d|\.\d|leg|calf|calves|foot|feet|toe|thigh|lower|le\b|cfv|civ|cia|eiv|fv\b|sfv|pop|gsv|iliac|iliofem|fem|common|ext"
    r"|ankle|heel|knee|hip|groin|buttock|shin|pt\b|dp\b|hallux|great|1st|2nd|3rd|4th|5th|forefoot|midfoot|ant\w*|lat\w*|post\w*|deep|med\w*|superficial"
    r"|sided|side\b|>|<|abi|tbi|ulcer|wound|dvt|le\b|lle|rle|(?:\w+\s+)?(?:dvt|thromb\w*|ulcer|gangrene))",
    re.IGNORECASE,
)
_JOIN = re.compile(r"^[\s:=\-]*$")
_TRAIL = re.compile(r"^\s*(?:mm ?hg)?\s*(?:\(|on the|in the|at the|for the)?\s*$", re.IGNORECASE)
_FORWARD_NUMBER = re.compile(r"^\s*[:=\-]?\s*(?:\d|\.\d)")

Side = tuple[int, int, str]


# "R calf > L", "L > R", "left larger than right": the finding is on the larger side.
_GREATER = re.compile(
    r"^\s*(?:\w+\s+){0,2}?(?:>|greater than|larger than|more than|worse than)\s*$", re.IGNORECASE
)
_LESSER = re.compile(r"^\s*(?:\w+\s+){0,2}?(?:<|less than|smaller than)\s*$", re.IGNORECASE)


def find_sides(text: str) -> list[Side]:
    """All side words in `text` as (start, end, side), side in left|right|bilateral.

    In a comparison ("R calf > L") both side words take the side of the larger.
    """
    found: list[Side] = []
    for m in _SIDE_WORD.finditer(text):
        word = m.group(0)
        if (
            word in {"L", "R"}
            and not _SHORT_OK.match(text, m.end())
            and not _compared(text, m)
            and not _AFTER_VALUE.search(text, 0, m.start())
        ):
            continue
        side = next(k for k in ("left", "right", "bilateral") if m.group(k) is not None)
        found.append((m.start(), m.end(), side))
    for i in range(len(found) - 1):
        (a_start, a_end, a_side), (b_start, b_end, b_side) = found[i], found[i + 1]
        between = text[a_end:b_start]
        if {a_side, b_side} != {"left", "right"}:
            continue
        if _GREATER.match(between):
            found[i + 1] = (b_start, b_end, a_side)
        elif _LESSER.match(between):
            found[i] = (a_start, a_end, b_side)
    return found


# "ABI 1.06 R / 1.09 L": a bare side letter right after a value names that value's side.
_AFTER_VALUE = re.compile(r"\d\s*$")


def _compared(text: str, m: re.Match[str]) -> bool:
    """A bare L or R on either side of a comparison sign ("L > R")."""
    return bool(re.match(r"\s*[<>]", text[m.end() :]) or re.search(r"[<>]\s*$", text[: m.start()]))


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
