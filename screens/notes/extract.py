"""extract_mentions: one note's text -> Mentions with spans, modifiers, laterality and values."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from spacy.tokens import Doc, Span

from screens.model import Modifier
from screens.notes.concepts import Concept
from screens.notes.items import is_attributed, is_questioned, item_polarity
from screens.notes.measurements import Measurement
from screens.notes.mention import Mention
from screens.notes.pipeline import MEASURED, build_nlp, has_keyword
from screens.notes.routing import dvt_qualifier, route_concept
from screens.notes.sentences import Sentence, split_sentences
from screens.notes.sides import find_sides, side_for_span

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
_NO_SIDE = {
    Concept.HEART_FAILURE,
    Concept.ANTICOAGULATION,
    Concept.JAW_CLAUDICATION,
    Concept.SPINAL_STENOSIS,
    Concept.CELLULITIS,
    Concept.COMPRESSION_STOCKINGS,
}


def extract_mentions(text: str) -> list[Mention]:
    """All concept mentions in one note, ordered by (span_start, concept)."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few code points lower-case to two; keep offsets aligned
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    if not text or not has_keyword(lowered):
        return []
    mentions: list[Mention] = []
    for s in split_sentences(text):
        if has_keyword(lowered, s.start, s.end):
            found = _mentions_in_sentence(text[s.start : s.end].translate(_SPACES), s.section)
            mentions.extend(_shifted(m, s.start) for m in found)
    return sorted(mentions, key=lambda m: (m.span_start, m.concept.value, m.span_end))


# Mentions depend only on the sentence text and its section (spaCy sees one sentence at a time),
# so identical sentences are read once. Templated and copied-forward text repeats a lot (the
# synthetic cohort: 103k candidate sentences, 725 distinct); bounded so memory stays flat.
@lru_cache(maxsize=200_000)
def _mentions_in_sentence(sentence_text: str, section: str | None) -> tuple[Mention, ...]:
    doc = build_nlp()(sentence_text)
    return tuple(_sentence_mentions(Sentence(0, len(sentence_text), section), doc))


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
