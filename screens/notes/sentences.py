"""Line- and section-aware sentence splitting for clinical notes.

spaCy's sentencizer only knows punctuation; notes also break sentences with line breaks,
headers ("# Plan", "Extremities:") and bulleted lists without periods. We split here first so
that ConText scope never runs from one list item or header into the next, then hand only the
candidate sentences to spaCy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# A header is a markdown heading or a short capitalised label ending in a colon at line start.
_HEADER = re.compile(
    r"^[ \t]*(?:#+[ \t]*(?P<md>[^\n]+?)[ \t]*$|(?P<label>[A-Z][A-Za-z /&-]{0,40}):)", re.M
)
# A "#" line is a markdown heading only when it names a section or is a short title ("## Plan");
# problem-oriented notes start each assessment line with "#" ("# PAD - ABI 0.62, start ASA"), and
# those lines are content.
_MD_TITLE = re.compile(r"^[A-Za-z][A-Za-z /&-]{0,30}$")
# A line in capitals alone is a heading ("ASSESSMENT/PLAN", "PHYSICAL EXAM").
_CAPS_HEADER = re.compile(r"^[ \t]*(?P<caps>[A-Z][A-Z /&-]{2,40}?)[ \t]*:?[ \t]*$")
# Sentence ends: terminal punctuation followed by space and an upper-case letter, digit or quote.
# A "?" that opens a question about what follows ("borderline ABPI - ? PAD") ends nothing.
_SENT_END = re.compile(r"(?<=[.!?])(?<![ \t]\?)[ \t]+(?=[\"'(\[]?[A-Z0-9])")
# Lines at least this long that end mid-clause were hard-wrapped by the note's author or system.
_WRAP_WIDTH = 50
_BULLET = re.compile(r"^[ \t]*(?:[-*\u2022]|\d{1,2}[.)])[ \t]+")

# Normalised section names (lower-case header text -> name); unknown headers keep their text.
_SECTION_ALIASES = {
    "ros": "review_of_systems",
    "review of systems": "review_of_systems",
    "family history": "family_history",
    "fhx": "family_history",
    "fh": "family_history",
    "past medical history": "past_medical_history",
    "pmh": "past_medical_history",
    "past surgical history": "past_surgical_history",
    "psh": "past_surgical_history",
    "history of present illness": "history_of_present_illness",
    "hpi": "history_of_present_illness",
    "assessment and plan": "assessment_and_plan",
    "assessment/plan": "assessment_and_plan",
    "a/p": "assessment_and_plan",
    "a&p": "assessment_and_plan",
    "a": "assessment_and_plan",
    "p": "assessment_and_plan",
    "assessment": "assessment_and_plan",
    "plan": "assessment_and_plan",
    "impression": "assessment_and_plan",
    "imp": "assessment_and_plan",
    "impression/plan": "assessment_and_plan",
    "recommendations": "assessment_and_plan",
    "interpretation": "findings",
    "findings": "findings",
    "conclusion": "findings",
    "conclusions": "findings",
    "result": "findings",
    "results": "findings",
    "reason for referral": "referral_reason",
    "referral reason": "referral_reason",
    "reason for consult": "referral_reason",
    "reason for consultation": "referral_reason",
    "referred for": "referral_reason",
    "referral": "referral_reason",
    "indication": "indication",
    "indications": "indication",
    "clinical indication": "indication",
    "past history": "past_medical_history",
    "pmhx": "past_medical_history",
    "medical history": "past_medical_history",
    "surgical history": "past_surgical_history",
    "pshx": "past_surgical_history",
    "procedures": "past_surgical_history",
    "family hx": "family_history",
    "fam hx": "family_history",
    "cc": "chief_complaint",
    "subjective": "history_of_present_illness",
    "interval history": "history_of_present_illness",
    "objective": "physical_exam",
    "pe": "physical_exam",
    "examination": "physical_exam",
    "active problems": "problem_list",
    "problems": "problem_list",
    "health maintenance": "health_maintenance",
    "physical exam": "physical_exam",
    "exam": "physical_exam",
    "problem list": "problem_list",
    "medications": "medications",
    "social history": "social_history",
    "chief complaint": "chief_complaint",
}


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    section: str | None


def _section_name(header: str) -> str:
    key = header.strip().lower().rstrip(":")
    return _SECTION_ALIASES.get(key, key.replace(" ", "_"))


def _lines(text: str) -> list[tuple[int, int]]:
    """Logical lines: hard-wrapped continuation lines (next starts lower-case) are joined."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for raw in text.split("\n"):
        start, end = pos, pos + len(raw)
        pos = end + 1
        stripped = raw.strip()
        if not stripped:
            spans.append((start, start))  # blank line: a hard boundary
            continue
        prev = spans[-1] if spans else None
        if (
            prev is not None
            and prev[1] > prev[0]
            and not _BULLET.match(raw)
            and text[prev[0] : prev[1]].rstrip()[-1:] not in {".", ":", "!", "?"}
            and _continues(text[prev[0] : prev[1]], raw, stripped)
        ):
            spans[-1] = (prev[0], end)
        else:
            spans.append((start, end))
    return [s for s in spans if s[1] > s[0]]


def _continues(prev: str, raw: str, stripped: str) -> bool:
    """Whether a line continues the previous one (a hard wrap, not a new item or header).

    A lower-case start always continues; a number ("35 mmHg", "0.72") continues a long line that
    was cut mid-clause; a capital ("ABI", "DVT") continues only a long line cut after a word.
    """
    if stripped[0].islower():
        return True
    last = prev.rstrip()
    if stripped[0].isdigit():
        return len(last) >= _WRAP_WIDTH
    return (
        len(last) >= _WRAP_WIDTH + 20
        and (last[-1].islower() or last[-1] == ",")
        and _HEADER.match(raw) is None
    )


def split_sentences(text: str, wanted: Callable[[int, int], bool] | None = None) -> list[Sentence]:
    """Split a note into sentences with their section, offsets relative to `text`.

    With `wanted`, only lines it accepts (by their offsets) are split into sentences; every line
    still moves the section along. Most lines of a note hold nothing a screen reads.
    """
    sentences: list[Sentence] = []
    section: str | None = None
    for line_start, line_end in _lines(text):
        line = text[line_start:line_end]
        caps = _CAPS_HEADER.match(line) if line.isupper() else None
        if caps is not None:
            section = _section_name(caps.group("caps"))
            continue
        header = _HEADER.match(line)
        if header is not None and header.group("md") is not None:
            title = header.group("md").strip().rstrip(":")
            if title.lower() in _SECTION_ALIASES or (
                line.lstrip().startswith("##") and _MD_TITLE.match(title)
            ):
                section = _section_name(title)
                continue
            header = None  # a "#" problem line: content in the current section
        if header is not None and header.group("label") is not None:
            label = header.group("label")
            # Only known headers, or a label alone on its line, open a section: "CV: Negative
            # for ..." and "ROS negative for: ..." are sentences, not headers.
            if label.strip().lower() in _SECTION_ALIASES or not line[header.end() :].strip():
                section = _section_name(label)
        if wanted is not None and not wanted(line_start, line_end):
            continue
        cursor = line_start
        for cut in _SENT_END.finditer(line):
            _append(sentences, text, cursor, line_start + cut.start(), section)
            cursor = line_start + cut.end()
        _append(sentences, text, cursor, line_end, section)
    return sentences


def _append(out: list[Sentence], text: str, start: int, end: int, section: str | None) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append(Sentence(start, end, section))
