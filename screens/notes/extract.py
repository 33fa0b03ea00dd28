"""extract_mentions: one note's text -> Mentions with spans, modifiers, laterality and values."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from functools import lru_cache

from spacy.tokens import Doc, Span

from screens.model import Modifier
from screens.notes.concepts import Concept
from screens.notes.dates import StatedDate, date_for, find_dates
from screens.notes.items import is_attributed, is_questioned, item_polarity
from screens.notes.measurements import Measurement
from screens.notes.mention import Mention
from screens.notes.pipeline import MEASURED, build_nlp, has_keyword
from screens.notes.routing import dvt_qualifier, route_concept, sport_cue, walking_cue
from screens.notes.sentences import Sentence, split_sentences
from screens.notes.sides import find_sides, side_for_span
from screens.notes.spelling import corrected

_CATEGORY = {
    "NEGATED_EXISTENCE": Modifier.NEGATED,
    "HISTORICAL": Modifier.HISTORICAL,
    "FAMILY": Modifier.FAMILY,
    "HYPOTHETICAL": Modifier.HYPOTHETICAL,
    "POSSIBLE_EXISTENCE": Modifier.UNCERTAIN,
    "RETRACTED": Modifier.NEGATED,
}
_SECTION_MODIFIER = {
    "family_history": Modifier.FAMILY,
    "past_medical_history": Modifier.HISTORICAL,
    "past_surgical_history": Modifier.HISTORICAL,
}
# A referral reason or a test's indication names what someone suspects, not what was found:
# diagnoses there are uncertain (symptoms stay as reported).
_SUSPICION_SECTIONS = {"referral_reason", "indication"}
_DIAGNOSES = {
    Concept.PAD,
    Concept.CLTI,
    Concept.DVT,
    Concept.ILIAC_VEIN_COMPRESSION,
    Concept.CECS,
    Concept.ACUTE_COMPARTMENT_SYNDROME,
    Concept.SPINAL_STENOSIS,
    Concept.STRESS_FRACTURE,
    Concept.ARTERIAL_STENOSIS,
}
# Hard-wrapped notes put line breaks inside sentences; patterns are written with spaces, so
# sentences reach spaCy with every whitespace character as a plain space (same offsets).
_SPACES = str.maketrans("\n\r\t\f\v", "     ")
# A plan ("scheduled", "recommend") makes a procedure not yet done; a diagnosis named beside a
# pending test is still the diagnosis.
_PROCEDURE = re.compile(
    r"fasciotom|stent|bypass|graft|angioplast|venoplast|atherectom|endarterectom|revasculari|interven|release|amputat"
    r"|\bBPG|\bfem(?:oral)?[- ]?(?:pop|tib|fem|distal)|\bfem(?:oral)?[- ](?:below|above)|\bPTA\b",
    re.IGNORECASE,
)
MEASURED_CONCEPTS = {
    Concept.ABI,
    Concept.TBI,
    Concept.TOE_PRESSURE,
    Concept.ANKLE_PRESSURE,
    Concept.TCPO2,
    Concept.COMPARTMENT_PRESSURE,
}
_NO_SIDE = {
    Concept.HEART_FAILURE,
    Concept.ANTICOAGULATION,
    Concept.JAW_CLAUDICATION,
    Concept.SPINAL_STENOSIS,
    Concept.CELLULITIS,
    Concept.COMPRESSION_STOCKINGS,
}


# A finding the note dates more than this before itself is history ("left DVT in 2019" in a
# 2026 note), whatever tense the sentence uses.
HISTORY_AFTER = timedelta(days=365)


def extract_mentions(text: str, note_on: date | None = None) -> list[Mention]:
    """All concept mentions in one note, ordered by (span_start, concept).

    With the note's date, a date the note states for a finding ("ABI 0.58 (2019)") becomes the
    mention's `stated_on`, and a non-measured finding dated over a year before the note is
    marked historical.
    """
    lowered = text.lower()
    if len(lowered) != len(text):  # a few code points lower-case to two; keep offsets aligned
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    if not text or not has_keyword(lowered):
        return []
    mentions: list[Mention] = []

    def wanted(start: int, end: int) -> bool:
        # Misspellings are corrected only in sentences that reach the NLP: a sentence whose one
        # clinical word is misspelled nearly always names a limb, pain or walking as well.
        return has_keyword(lowered, start, end)

    for s in split_sentences(text, wanted):
        if wanted(s.start, s.end):
            found = _mentions_in_sentence(text[s.start : s.end].translate(_SPACES), s.section)
            for m, stated in found:
                m = _dated(_shifted(m, s.start), stated, note_on)
                mentions.append(_in_note_context(m, text, s))
    return sorted(mentions, key=lambda m: (m.span_start, m.concept.value, m.span_end))


# How far back a sport or an athlete named earlier in the paragraph sets the scene.
_CONTEXT_CHARS = 300


def _in_note_context(m: Mention, text: str, sentence: Sentence) -> Mention:
    """Exertional pain with no walking in its sentence, in a paragraph that names the sport or
    the athlete a little earlier ("17M midfielder. Burning in both shins ~15 min in"), is the
    CECS pattern, not claudication."""
    if (
        m.concept is not Concept.CLAUDICATION
        or "claudica" in text[m.span_start : m.span_end].lower()
    ):
        return m
    if walking_cue(text[sentence.start : sentence.end]):
        return m
    before = text[max(0, sentence.start - _CONTEXT_CHARS) : sentence.start]
    before = before[before.rfind("\n\n") + 1 :]  # the same paragraph only
    if sport_cue(before) and not walking_cue(before):
        return replace(m, concept=Concept.EXERTIONAL_LEG_PAIN)
    return m


def _dated(m: Mention, stated: StatedDate | None, note_on: date | None) -> Mention:
    if stated is None or note_on is None:
        return m
    on = stated.resolve(note_on)
    if on is None or on > note_on:
        return m
    modifiers = m.modifiers
    if m.value is None and m.concept not in MEASURED_CONCEPTS and on < note_on - HISTORY_AFTER:
        modifiers = modifiers | {Modifier.HISTORICAL}
    return replace(m, stated_on=on, modifiers=modifiers)


# Mentions depend only on the sentence text and its section (spaCy sees one sentence at a time),
# so identical sentences are read once. Templated and copied-forward text repeats a lot (the
# synthetic cohort: 103k candidate sentences, 725 distinct); bounded so memory stays flat.
@lru_cache(maxsize=200_000)
def _mentions_in_sentence(
    sentence_text: str, section: str | None
) -> tuple[tuple[Mention, StatedDate | None], ...]:
    # Misspelled clinical words are read as meant; spans come back in the note's own spelling.
    reading, to_original = corrected(sentence_text)
    doc = build_nlp()(reading)
    mentions = _sentence_mentions(Sentence(0, len(reading), section), doc)
    dates = find_dates(reading)
    return tuple(
        (
            replace(
                m,
                span_start=to_original(m.span_start),
                span_end=to_original(m.span_end),
                sentence_end=len(sentence_text),
            ),
            date_for(reading, m.span_start, m.span_end, dates, measured=m.value is not None)
            if dates
            else None,
        )
        for m in mentions
    )


def _shifted(m: Mention, offset: int) -> Mention:
    if not offset:
        return m
    return replace(
        m,
        span_start=m.span_start + offset,
        span_end=m.span_end + offset,
        sentence_start=m.sentence_start + offset,
        sentence_end=m.sentence_end + offset,
    )


def _sentence_mentions(sentence: Sentence, doc: Doc) -> list[Mention]:
    measured: dict[tuple[int, int, str], Measurement] = doc.user_data.get(MEASURED, {})
    sides = find_sides(doc.text)
    inside = [(e.start, e.end) for e in doc.ents]
    out = []
    for ent in doc.ents:
        measurement = measured.get((ent.start_char, ent.end_char, ent.label_))
        out.append(_mention(sentence, doc.text, ent, measurement, sides, inside))
    return [m for m in out if m is not None]


def _modifiers(
    ent: Span, section: str | None, measured: bool, targets: list[tuple[int, int]]
) -> frozenset[Modifier]:
    # A cue inside a target is part of the finding ("pulses not palpable", "no pedal pulses");
    # medspaCy's overlap test misses cues strictly inside a target, so we drop them here.
    cues = [
        m
        for m in ent._.modifiers
        if m.category in _CATEGORY
        and not any(s <= m.modifier_span[0] and m.modifier_span[1] <= e for s, e in targets)
        and (m.rule.literal != "scheduled" or _PROCEDURE.search(ent.text))
    ]
    found = {_CATEGORY[m.category] for m in cues}
    if section in _SECTION_MODIFIER:
        found.add(_SECTION_MODIFIER[section])
    if measured and not any(m.category == "RETRACTED" for m in cues):
        # A measured number is a fact even inside "denies X; ABI 0.65" scopes.
        found.discard(Modifier.NEGATED)
    return frozenset(found)


def _item_modifiers(
    modifiers: frozenset[Modifier],
    concept: Concept,
    section: str | None,
    text: str,
    start: int,
    end: int,
) -> frozenset[Modifier]:
    """Add what the mention's own list item, question mark or attribution says."""
    found = set(modifiers)
    polarity = item_polarity(text, start, end)
    if polarity is Modifier.NEGATED:
        found.add(Modifier.NEGATED)
    elif polarity is True:
        found.discard(Modifier.NEGATED)
    if is_questioned(text, start, end) or is_attributed(text, start):
        found.add(Modifier.UNCERTAIN)
    if section in _SUSPICION_SECTIONS and concept in _DIAGNOSES:
        found.add(Modifier.UNCERTAIN)
    return frozenset(found)


def _mention(
    sentence: Sentence,
    text: str,
    ent: Span,
    measurement: Measurement | None,
    sides: list[tuple[int, int, str]],
    targets: list[tuple[int, int]],
) -> Mention | None:
    start, end = ent.start_char, ent.end_char
    base = sentence.start
    modifiers = _modifiers(ent, sentence.section, measurement is not None, targets)
    if measurement is not None and measurement.before_treatment:
        modifiers = modifiers | {Modifier.HISTORICAL}
    if measurement is not None:
        return Mention(
            measurement.concept,
            base + measurement.start,
            base + measurement.end,
            sentence.start,
            sentence.end,
            modifiers,
            measurement.laterality,
            measurement.value,
            measurement.unit,
            measurement.qualifier,
            sentence.section,
        )
    concept = route_concept(Concept(ent.label_), text, start, end)
    if concept is None:
        return None
    modifiers = _item_modifiers(modifiers, concept, sentence.section, text, start, end)
    side = None if concept in _NO_SIDE else side_for_span(text, start, end, sides)
    qualifier = dvt_qualifier(text, start, end) if concept is Concept.DVT else None
    if concept is Concept.PAD and _PROCEDURE.search(text[start:end]):
        qualifier = "revascularization"  # "s/p fem-pop bypass": done, and known PAD
    return Mention(
        concept,
        base + start,
        base + end,
        sentence.start,
        sentence.end,
        modifiers,
        side,
        None,
        None,
        qualifier,
        sentence.section,
    )
