"""Value extraction for ABI, TBI, toe/ankle pressure, TcPO2 and compartment pressures.

Patterns paraphrase the VA RapTAT ABI extractor (clinical-reference section 2): an index keyword,
then the numbers that follow it in the same clause, skipping numbers that are not index values
(velocities, sizes, list markers, times, percentages) and stopping at non-index arteries.
One Measurement per value; "noncompressible" wording becomes a qualifier.
"""

# ruff: noqa: E501  (one pattern or case per line reads better than regexes split mid-token)

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from screens.notes.concepts import Concept
from screens.notes.sides import clause_bounds, find_sides, side_for_value

C = Concept
_I = re.IGNORECASE

_KEYWORDS: list[tuple[Concept, re.Pattern[str]]] = [
    (
        C.TBI,
        re.compile(
            r"\b(?:TBIs?|toe[- ]brachial (?:index|indices|indexes|ratios?)|toe[- ]?(?:index|indices)|hallux[- /]brachial(?: index)?|digital[- /]brachial (?:index|indices)|(?-i:DBI)|toe ABIs?)\b",
            _I,
        ),
    ),
    (
        C.TCPO2,
        re.compile(
            r"\b(?:TcPO2|TcO2|tc ?PO2|(?-i:TCOM)|transcutaneous (?:oxygen|O2|partial pressure of oxygen|oximetry)(?: tension| pressure| measurement)?s?)\b",
            _I,
        ),
    ),
    (
        C.TOE_PRESSURE,
        re.compile(
            r"\b(?:(?:great |first |1st |big )?toe (?:systolic )?pressures?|hallux (?:systolic )?pressures?|digital (?:systolic )?pressures?)\b",
            _I,
        ),
    ),
    (
        C.ANKLE_PRESSURE,
        re.compile(
            r"\b(?:ankle (?:systolic )?pressures?|(?-i:DP|PT) (?:systolic )?pressures?)\b", _I
        ),
    ),
    (
        C.ABI,
        re.compile(
            r"\b(?:ABI(?:'?s|x)?|ABPI(?:'?s)?|(?-i:AAI|ABIs|API)|ankle[- /](?:brachial|arm) (?:(?:systolic )?(?:pressure )?(?:index|indices|indexes|ratios?))|ankle[- ]brachial|(?-i:A/A) ratio)\b",
            _I,
        ),
    ),
    (
        C.COMPARTMENT_PRESSURE,
        re.compile(
            r"\b(?:(?:intra-?)?(?:muscular |compartment(?:al)? )?compartment(?:al)? pressures?|intramuscular pressures?|(?-i:ICPs?|IMP))\b",
            _I,
        ),
    ),
]
# A bare "pressure(s)" is a compartment pressure only in a sentence about compartments.
_BARE_PRESSURE = re.compile(r"\bpressures?\b", _I)
_COMPARTMENT_CONTEXT = re.compile(r"\bcompartment|\b(?-i:CECS)\b", _I)
_INDEX = {C.ABI, C.TBI}
_RANGE = {C.ABI: 1.6, C.TBI: 1.6, C.COMPARTMENT_PRESSURE: 150.0}

_NUMBER = re.compile(
    r"(?<![\w.\-])(?P<cmp>[<>\u2265\u2264]=?\s*)?(?P<num>\d{1,3}(?:\.\d{1,3})?|\.\d{1,3})(?![\d.]*\d)"
)
_NOT_VALUE_AFTER = re.compile(
    r"(?:\s*(?:%|percent|cm\b|cm/s|m/s|mm\b(?!\s*hg)|ml|min\b|mins?\b|minutes?|sec\w*|hours?|hrs?|h\b|days?"
    r"|weeks?|wks?|months?|years?|yrs?|y/o|yo\b|blocks?|miles?|mi\b|km\b|mph|yards?|feet|ft\b|kg|lbs?|bpm|mg|x\b|\u00d7|/\s*(?:wk|week|day|d)\b"
    r"|-year|-min|-day|-week|steps?|times)|\))",
    _I,
)
_NOT_VALUE_BEFORE = re.compile(
    r"(?:\b(?:at|after|within|for|x|over|in|than|last|mile|stage|grade)\s*$|(?:^|[\s\d])[x\u00d7]\s*$)",
    _I,
)
# "L4-5", "S1": a spinal level, unless the number is a decimal index value ("L 0.40" is the left leg).
_SPINAL_LEVEL_BEFORE = re.compile(r"\b(?-i:L|S)\s*$")
# A change is not a value: "ankle pressure fall 39 mmHg", "ABI dropped by 0.30", "a 25 mmHg gradient".
_CHANGE_BEFORE = re.compile(
    r"\b(?:fall|fell|drop(?:ped|s)?|decreas\w*|declin\w*|reduc\w*|increas\w*|ris(?:e|es|ing)|rose|chang\w*|differ\w*|gradient|delta|loss)"
    r"(?: (?:of|by|in))?\s*(?:~|approximately|about|around)?\s*$|[\u0394\u2193\u2191]\s*$",
    _I,
)
# Non-index sites and flow measures: the value list stops there.
_STOP = re.compile(
    r"\b(?:(?-i:CFA|SFA|PSV|EDV|TPT)|profunda|popliteal|peroneal|carotid|radial|ulnar|velocit\w*|cm/s"
    r"|stenosis|brachial pressures?|systolic blood pressure|blood pressure|(?-i:BP))\b",
    _I,
)
_NONCOMPRESSIBLE = re.compile(
    r"\b(?:non-?compressible|in-?compressible|un-?compressible|not compressible|poorly compressible"
    r"|unable to compress|calcified(?: (?:vessels?|arteries|tibials?))?|(?:medial |arterial )?calcification"
    r"|falsely elevated)\b|(?<=ABI )(?-i:NC)\b",
    _I,
)
_INDETERMINATE = re.compile(
    r"\b(?:unable to (?:obtain|measure|perform)|could not be (?:obtained|measured)|not obtainable|unreliable)\b",
    _I,
)
_REST = re.compile(
    r"\b(?:rest|resting|pre-?exercise|before exercise|baseline|pre-?treadmill)\b", _I
)
_ONE_MIN = re.compile(r"\b(?:1|one)[- ]?min(?:ute)?s?\b|\bimmediately (?:post|after)\b", _I)
_FIVE_MIN = re.compile(r"\b(?:5|five)[- ]?min(?:ute)?s?\b", _I)
# "post" alone is exercise timing only when it is not a treatment ("post-bypass ABI 0.85").
_POST = re.compile(
    r"\b(?:post[- ]?exercise|after (?:exercise|treadmill|walking|ambulation|running)|exercise|treadmill|stress|\d+ min\w*|recovery"
    r"|post(?![- ]?(?:op\w*|operative\w*|bypass|stent\w*|angioplast\w*|revasc\w*|procedur\w*|interven\w*|partum|graft\w*|treatment|therapy|intervention)\b))\b",
    _I,
)
_SEPARATOR = re.compile(r"[,;]")
_MMHG = re.compile(r"\bmm ?hg\b", _I)
_AND_THEN = re.compile(r"\b(?:and|then|with|vs\.?|versus)\b", _I)
_SERIES_TIMING = re.compile(
    r"\b(?:pre-?exercise|post-?exercise|rest(?:ing)?|baseline|min(?:ute)?s?|immediately|after)\b",
    _I,
)
_SERIES_VALUE = re.compile(r"\d+\s*(?:mm ?hg)?", _I)
_RESPECTIVELY = re.compile(r"\brespectively\b", _I)
_COMPARTMENT = re.compile(
    r"\b(?:deep posterior|superficial posterior|anterior|lateral|posterior)\b", _I
)


@dataclass(frozen=True, slots=True)
class Measurement:
    """A measured value; offsets relative to the sentence text handed to `find_measurements`."""

    concept: Concept
    start: int
    end: int
    value: float | None
    unit: str
    qualifier: str | None
    laterality: str | None
    # Stated as the value before a treatment ("pre-op 0.32"): history, not the current limb.
    before_treatment: bool = False


# "ABI R 0.93 (pre-op 0.32)", "toe pressure 18 mmHg before bypass": a baseline a treatment has
# since changed.
_PRETREATMENT = re.compile(
    r"\b(?:pre-?op(?:erative(?:ly)?)?|pre-?procedur\w*|pre-?revasc\w*|pre-?interven\w*"
    r"|(?:before|prior to) (?:the |his |her )?(?:surgery|bypass|stent\w*|angioplast\w*|revasc\w*|procedure|intervention|amputation|operation))\b",
    _I,
)


def _keywords(text: str) -> list[tuple[int, int, Concept]]:
    taken: list[tuple[int, int, Concept]] = []
    for concept, pattern in _KEYWORDS:
        for m in pattern.finditer(text):
            if not any(s < m.end() and m.start() < e for s, e, _ in taken):
                taken.append((m.start(), m.end(), concept))
    if _COMPARTMENT_CONTEXT.search(text):
        for m in _BARE_PRESSURE.finditer(text):
            if not any(s < m.end() and m.start() < e for s, e, _ in taken):
                taken.append((m.start(), m.end(), C.COMPARTMENT_PRESSURE))
    return sorted(taken)


def _values(text: str, concept: Concept, start: int, end: int) -> list[re.Match[str]]:
    stop = _STOP.search(text, start, end)
    end = stop.start() if stop else end
    found = []
    for m in _NUMBER.finditer(text, start, end):
        num = m.group("num")
        before = text[max(0, m.start() - 8) : m.start()]
        if text[m.start() - 1 : m.start()] == "/" and "." not in num:
            continue  # "1/13" is a date; "1.04/1.07" is a right/left pair
        after = _NOT_VALUE_AFTER.match(text, m.end())
        # "1)" is a list marker; "L .81)" closes a parenthesis around a value.
        if after and not (after.group(0).strip() == ")" and "." in num):
            continue
        if _NOT_VALUE_BEFORE.search(before):
            continue
        if _CHANGE_BEFORE.search(text[max(start, m.start() - 25) : m.start()]):
            continue
        if "." not in num and _SPINAL_LEVEL_BEFORE.search(before):
            continue
        if concept in _INDEX and "." not in num:
            continue
        if float(num) > _RANGE.get(concept, 300.0):
            continue
        found.append(m)
    return found


def _series_end(text: str, c_end: int) -> int:
    """A pressure series runs on across ";" clauses that each give a timed value
    ("pre-exercise 15 mmHg; 1 minute post-exercise 30 mmHg; 5 minutes post-exercise 19 mmHg")."""
    while c_end < len(text) and text[c_end] == ";":
        nxt = text.find(";", c_end + 1)
        nxt = len(text) if nxt == -1 else nxt
        clause = text[c_end + 1 : nxt]
        if not (_SERIES_TIMING.search(clause) and _SERIES_VALUE.search(clause)):
            break
        c_end = nxt
    return c_end


def _local(text: str, lo: int, hi: int, forward: bool) -> str:
    part = text[lo:hi]
    if forward:
        return _SEPARATOR.split(part)[0]
    return _SEPARATOR.split(part)[-1]


def _timing(concept: Concept, after: str, before: str, lead: str) -> str:
    parts: tuple[str, ...] = (after, before, lead)
    if concept is C.COMPARTMENT_PRESSURE:
        # Timing written before the number ("1 minute post-exercise 30 mmHg") binds to it unless
        # that text is the tail of the previous value ("15 mmHg pre-exercise, ...").
        own_before = before if not _MMHG.search(before) else ""
        parts = (own_before, _AND_THEN.split(after)[0], before, lead)
    for part in parts:
        if concept is C.COMPARTMENT_PRESSURE:
            if _ONE_MIN.search(part):
                return "post_exercise_1min"
            if _FIVE_MIN.search(part):
                return "post_exercise_5min"
        if _REST.search(part):
            return "pre_exercise" if concept is C.COMPARTMENT_PRESSURE else "rest"
        if _POST.search(part):
            return "post_exercise"
    return "pre_exercise" if concept is C.COMPARTMENT_PRESSURE else "rest"


def find_measurements(text: str) -> list[Measurement]:
    """All measured values in one sentence."""
    keywords = _keywords(text)
    sides = find_sides(text)
    out: list[Measurement] = []
    for i, (k_start, k_end, concept) in enumerate(keywords):
        c_start, c_end = clause_bounds(text, k_start, k_end)
        if concept is C.COMPARTMENT_PRESSURE:
            c_end = _series_end(text, c_end)
        w_end = min(keywords[i + 1][0] if i + 1 < len(keywords) else len(text), c_end, k_end + 150)
        values = _values(text, concept, k_end, w_end)
        lead = text[c_start:k_start]
        found = []
        for j, m in enumerate(values):
            nxt = values[j + 1].start() if j + 1 < len(values) else w_end
            prev = values[j - 1].end() if j else k_end
            after, before = _local(text, m.end(), nxt, True), _local(text, prev, m.start(), False)
            leads = j + 1 < len(values) and not _SEPARATOR.search(text, m.end(), nxt)
            found.append(_measurement(text, concept, m, after, before, lead, sides, c_start, leads))
        if concept is C.COMPARTMENT_PRESSURE:
            found = _carry_side(found)
        out.extend(_respectively(text, found, sides, c_end))
        if concept is C.ABI:
            out.extend(_noncompressible(text, k_start, w_end, c_start, c_end, values, out, sides))
    return out


def _carry_side(found: list[Measurement]) -> list[Measurement]:
    """Values later in one pressure series keep the side named at its start."""
    out: list[Measurement] = []
    for m in found:
        if m.laterality is None and out and out[-1].laterality is not None:
            m = replace(m, laterality=out[-1].laterality)
        out.append(m)
    return out


def _respectively(
    text: str, found: list[Measurement], sides: list[tuple[int, int, str]], c_end: int
) -> list[Measurement]:
    """ "0.50 and 0.60 on the right and left, respectively": pair values and sides in order."""
    if len(found) < 2 or not _RESPECTIVELY.search(text, found[-1].end, c_end):
        return found
    after = [side for s_start, _, side in sides if found[-1].end <= s_start < c_end]
    if len(after) != len(found):
        return found
    return [replace(m, laterality=side) for m, side in zip(found, after, strict=True)]


def _measurement(
    text: str,
    concept: Concept,
    m: re.Match[str],
    after: str,
    before: str,
    lead: str,
    sides: list[tuple[int, int, str]],
    c_start: int,
    leads_next: bool = False,
) -> Measurement:
    value: float | None = float(m.group("num"))
    timing = _timing(concept, after, before, lead)
    qualifier: str | None = timing if concept in _INDEX else None
    if concept in _INDEX and (
        (m.group("cmp") and m.group("cmp").strip()[0] == ">") or (value or 0) > 1.4
    ):
        qualifier = "noncompressible" if concept is C.ABI else qualifier
        value = None if m.group("cmp") else value
    if concept is C.ABI and _NONCOMPRESSIBLE.search(after):
        qualifier = "noncompressible"
    if concept is C.COMPARTMENT_PRESSURE:
        where = _COMPARTMENT.search(after) or _COMPARTMENT.search(before)
        if where is None:
            found = list(_COMPARTMENT.finditer(text, c_start, m.start()))
            where = found[-1] if found else None
        qualifier = f"{timing}:{where.group(0).lower().replace(' ', '_')}" if where else timing
    unit = "1" if concept in _INDEX else "mm[Hg]"
    side = side_for_value(text, m.start(), m.end(), sides)
    # A treatment word after the value is its own ("0.32 pre-op") unless it leads into the next
    # value ("0.93 (pre-op 0.32)").
    trailing = _PRETREATMENT.search(after)
    pretreatment = _PRETREATMENT.search(before) is not None or (
        (trailing is not None and bool(after[trailing.end() :].strip(" )]")))
        or (trailing is not None and not leads_next)
    )
    return Measurement(concept, m.start(), m.end(), value, unit, qualifier, side, pretreatment)


def _noncompressible(
    text: str,
    k_start: int,
    w_end: int,
    c_start: int,
    c_end: int,
    values: list[re.Match[str]],
    done: list[Measurement],
    sides: list[tuple[int, int, str]],
) -> list[Measurement]:
    """ABI stated as noncompressible or indeterminate without (or beside) a number."""
    extra: list[Measurement] = []
    for pattern, qualifier in (
        (_NONCOMPRESSIBLE, "noncompressible"),
        (_INDETERMINATE, "indeterminate"),
    ):
        for m in pattern.finditer(text, c_start, c_end):
            if (
                any(abs(v.start() - m.start()) < 40 for v in values)
                and qualifier == "noncompressible"
            ):
                continue
            if any(d.start <= m.start() < d.end for d in done + extra):
                continue
            if qualifier == "indeterminate" and any(e.qualifier for e in extra):
                continue
            side = side_for_value(text, m.start(), m.end(), sides)
            extra.append(Measurement(C.ABI, m.start(), m.end(), None, "1", qualifier, side))
    return extra
