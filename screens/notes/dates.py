"""Dates a note states for what it reports: "ABI 0.58 (2019)", "left DVT in 3/2021", "ABI's
from 11/4", "two years ago".

Notes restate old results and past events; the note's own date is when they were written down,
not when they happened. A stated date belongs to the mentions of its clause; it becomes the
mention's date (so lookbacks and "newest result wins" see a copied-forward 2019 ABI as 2019), and
an event stated well before the note is history. "Since 2019" or "began 3 months ago" date the
onset of something still going on: they change nothing.
"""

# ruff: noqa: E501  (one pattern per line reads better than regexes split mid-token)

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_I = re.IGNORECASE
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "several": 3,
    "few": 2,
    "a few": 2,
    "ten": 10,
}
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
_MONTH_NAME = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_DATE = re.compile(
    r"(?P<iso>\b(?P<iy>(?:19|20)\d\d)-(?P<im>\d\d)-(?P<id>\d\d)\b)"
    r"|(?P<mdy>(?<![\d./])(?P<m1>\d{1,2})/(?P<d1>\d{1,2})/(?P<y1>\d{4}|\d{2})\b(?!/))"
    r"|(?P<my>(?<![\d./])(?P<m2>\d{1,2})/(?P<y2>(?:19|20)\d\d)\b(?!/))"
    r"|(?P<named>\b(?P<mn>"
    + _MONTH_NAME
    + r")\.?\s+(?:(?P<dn>\d{1,2})(?:st|nd|rd|th)?,?\s+)?(?P<yn>(?:19|20)\d\d)\b)"
    r"|(?P<md>(?<![\d./])(?P<m3>1[0-2]|0?[1-9])/(?P<d3>3[01]|[12]\d|0?[1-9])\b(?![/.\d])(?!\s*(?:blocks?|miles?|mi\b|tabs?|tablets?|dose|of)))"
    r"|(?P<ago>\b(?P<n>\d+|an?|one|two|three|four|five|six|ten|several|a few)\s+(?P<unit>day|week|month|year)s?\s+ago\b)"
    r"|(?P<last>\blast (?P<lunit>week|month|year)\b)"
    r"|(?P<year>(?<![\d./:#\-])(?P<y4>(?:19|20)\d\d)\b(?![./\-]\d)(?!\s*(?:mg|mcg|ml|units?|kcal|cal|steps|m\b|meters?)))",
    _I,
)
_FRACTIONS = {("1", "2"), ("1", "3"), ("2", "3"), ("1", "4"), ("3", "4")}
# Onset of something ongoing: not a date of the finding.
_ONSET_BEFORE = re.compile(
    r"\b(?:since|began|begun|started|starting|onset|beginning|for the (?:past|last)|over the (?:past|last)|x)\s*(?:about|approximately|around|~|in)?\s*$",
    _I,
)


@dataclass(frozen=True, slots=True)
class StatedDate:
    """A date as a note states it; resolved against the note's own date."""

    year: int | None = None
    month: int | None = None
    day: int | None = None
    days_ago: int | None = None

    def resolve(self, note_on: date) -> date | None:
        """The calendar date meant, never after the note (a month/day without year is the
        latest such day on or before the note)."""
        if self.days_ago is not None:
            return note_on - timedelta(days=self.days_ago)
        month, day = self.month or (7 if self.day is None else 1), self.day or 1
        if self.year is None:
            if self.month is None:
                return None
            year = note_on.year
            found = _safe_date(year, month, day)
            if found is not None and found > note_on:
                found = _safe_date(year - 1, month, day)
            return found
        if self.month is None:  # a year alone: its middle, but never after the note
            found = _safe_date(self.year, 7, 1)
            return min(found, note_on) if found is not None else None
        return _safe_date(self.year, month, day)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _year(text: str) -> int:
    value = int(text)
    return value + (2000 if value < 50 else 1900) if value < 100 else value


def _parsed(m: re.Match[str]) -> StatedDate | None:
    if m.group("iso"):
        return StatedDate(int(m.group("iy")), int(m.group("im")), int(m.group("id")))
    if m.group("mdy"):
        return StatedDate(_year(m.group("y1")), int(m.group("m1")), int(m.group("d1")))
    if m.group("my"):
        return StatedDate(int(m.group("y2")), int(m.group("m2")))
    if m.group("named"):
        day = int(m.group("dn")) if m.group("dn") else None
        name = m.group("mn").lower()
        return StatedDate(int(m.group("yn")), _MONTHS.get(name) or _MONTHS[name[:3]], day)
    if m.group("md"):
        if (m.group("m3").lstrip("0"), m.group("d3").lstrip("0")) in _FRACTIONS:
            return None
        return StatedDate(None, int(m.group("m3")), int(m.group("d3")))
    if m.group("ago"):
        n = m.group("n").lower()
        count = int(n) if n.isdigit() else _NUMBERS.get(n, 1)
        return StatedDate(days_ago=count * _UNIT_DAYS[m.group("unit").lower()])
    if m.group("last"):
        return StatedDate(days_ago=_UNIT_DAYS[m.group("lunit").lower()])
    return StatedDate(int(m.group("y4")))


Dated = tuple[int, int, StatedDate]


def find_dates(text: str) -> list[Dated]:
    """Stated dates in a sentence as (start, end, date); onset dates ("since 2019") left out."""
    found: list[Dated] = []
    for m in _DATE.finditer(text):
        if _ONSET_BEFORE.search(text, max(0, m.start() - 25), m.start()):
            continue
        parsed = _parsed(m)
        if parsed is not None:
            found.append((m.start(), m.end(), parsed))
    return found


# Between a finding and a date stated after it: only punctuation or a linking word ("ABI 1.06
# bilat (05/2019)", "DVT in 3/2021"); "(prior normal 2019)" dates something else.
_ADJACENT_AFTER = re.compile(
    r"^[\s,(\[:-]*(?:(?:bilat\w*|both|legs?|sides?|limbs?|left|right|on|in|from|dated|of|done|at|was|were|dx|dx'd|diagnosed|noted|found|placed|performed)[\s,(\[:-]+){0,3}$",
    _I,
)


# In a list of values ("ABI 1.06 R / 1.09 L (08/2018)") the date after the list dates each value.
_LIST_VALUES = re.compile(
    r"(?:\b(?:R|L|rt|lt|right|left|bilat\w*)\b|\d*\.\d+|\d+|[/,&]|\band\b)", re.IGNORECASE
)


def _between(text: str, measured: bool) -> str:
    return _LIST_VALUES.sub(" ", text) if measured else text


def date_for(
    text: str, start: int, end: int, dates: list[Dated], *, measured: bool = False
) -> StatedDate | None:
    """The stated date of a mention at [start, end), if its sentence gives one for it.

    A date applies to what follows it in its clause (up to the next date; a measured value also
    across commas, since "2/9/26: R 0.83, L 0.97" dates both), and to the finding just before it
    when only punctuation or a linking word stands between ("ABI 1.06 bilat (05/2019)").
    """
    lo = text.rfind(";", 0, start) + 1
    hi = text.find(";", end)
    hi = len(text) if hi == -1 else hi
    after = [
        d
        for d in dates
        if end <= d[0] < hi and _ADJACENT_AFTER.match(_between(text[end : d[0]], measured))
    ]
    if after:
        return after[0][2]
    before = [d for d in dates if lo <= d[0] and d[1] <= start]
    if not before:
        return None
    _, d_end, stated = before[-1]
    between = text[d_end:start]
    if not measured and "," in between:
        return None
    if "." in between.replace("..", "") and re.search(r"\.\s", between):
        return None
    return stated
