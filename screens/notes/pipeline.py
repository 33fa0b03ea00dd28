"""The spaCy/medspaCy pipeline and `extract_mentions`.

blank("en") + sentencizer + medspacy_target_matcher + our measurement component +
medspacy_context. No PyRuSH (slow, and it logs note tokens to stderr), no model downloads.
Only sentences that hit the keyword prefilter reach spaCy.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import medspacy  # type: ignore[import-untyped]  # noqa: F401  (registers medspacy_* factories)
import spacy
from medspacy.common.regex_matcher import RegexMatcher  # type: ignore[import-untyped]
from medspacy.target_matcher import TargetRule  # type: ignore[import-untyped]
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import compile_infix_regex, filter_spans

from screens.notes.arterial_rules import ARTERIAL_RULES
from screens.notes.attachment import exertional_spans, rest_pain_spans
from screens.notes.concepts import Concept
from screens.notes.context_rules import build_context_rules
from screens.notes.measurements import Measurement, find_measurements
from screens.notes.other_rules import OTHER_RULES

ALL_RULES = ARTERIAL_RULES + OTHER_RULES

# Keyword stems (lower case, matched at a word start). Every target rule and measurement keyword
# is anchored on one of these, so a sentence without any can produce no mention. Matching the
# lower-cased text without IGNORECASE and with a leading \b is ~20x faster than the naive
# alternation: notes without keywords cost one scan.
_STEMS = (
    "claudica",
    "rest pain",
    "at rest",
    "pain",
    "ache",
    "aching",
    "cramp",
    "fatigue",
    "tight",
    "heav",
    "burn",
    "ulcer",
    "wound",
    "bed ?sore",
    "gangren",
    "pulse",
    "monophasic",
    "non-?palp",
    "impalp",
    "dopplerab",
    "damp",
    "blunted",
    "rubor",
    "pallor",
    "cool",
    "cold",
    "hair",
    "refill",
    "stenos",
    "occlu",
    "narrow",
    "stent",
    "bypass",
    "graft",
    "angioplast",
    "endarterect",
    "revasculari",
    "circulation",
    "ischemi",
    "ischaemi",
    "insufficien",
    "pad",
    "paod",
    "pvod",
    "pvd",
    "clti",
    "peripheral",
    "atheroscl",
    "abi",
    "abpi",
    "aai",
    "api\\b",
    "tcom",
    "icp",
    "imp\\b",
    "intramuscular",
    "ankle",
    "brachial",
    "tbi",
    "toe",
    "hallux",
    "digital",
    "tcpo2",
    "tco2",
    "transcutaneous",
    "compartment",
    "cecs",
    "fasciotom",
    "dvt",
    "deep vein",
    "deep venous",
    "thromb",
    "clot",
    "iliac",
    "may[- ]?thurner",
    "cockett",
    "mts",
    "nivl",
    "civ",
    "lciv",
    "swell",
    "swollen",
    "edema",
    "oedema",
    "venous",
    "burst",
    "neurogenic",
    "spinal",
    "pseudo",
    "shopping",
    "sitting",
    "standing",
    "uphill",
    "bicycle",
    "can (?:cycle|bike)",
    "radicul",
    "sciatica",
    "straight[- ]leg",
    "slr",
    "shooting",
    "lancinat",
    "electric",
    "changed by",
    "spasm",
    "charley",
    "locks? up",
    "knotted",
    "jaw",
    "arm ",
    "stress (?:fracture|reaction|syndrome)",
    "medial tibial",
    "mtss",
    "shin",
    "cellulitis",
    "heart failure",
    "chf",
    "hf[rpm]",
    "compression",
    "ted hose",
    "unna",
    "anticoag",
    "apixaban",
    "eliquis",
    "rivaroxaban",
    "xarelto",
    "warfarin",
    "coumadin",
    "dabigatran",
    "pradaxa",
    "edoxaban",
    "savaysa",
    "enoxaparin",
    "lovenox",
    "heparin",
    "fondaparinux",
    "arixtra",
    "doac",
    "noac",
    "punched",
    "malleol",
    "decubitus",
    "pressure (?:injur|ulcer|sore|wound)",
    "perforans",
    "neuropathic",
    "neurotrophic",
    "m48",
    "l[1-5]",
    "eamc",
    "claudicat",
    "necro",
    "shiny",
    "exertion",
    "a/a",
    "iliocaval",
    "stenot",
    "venoplast",
    "sfa",
    "cfa",
    "popliteal",
    "femoral",
    "tibial",
    "peroneal",
    "lle",
    "rle",
    "ble",
    "lower extremit",
    "leg",
    "calf",
    "calves",
    "thigh",
    "buttock",
    "foot",
    "feet",
    "forefoot",
    "heel",
    "night",
    "nocturnal",
    "rutherford",
    "fontaine",
    "walking distance",
    "blk",
    "bpg",
    "fem",
    "arthrit",
    "osteoarthrit",
    "oa\\b",
    "djd",
    "degenerative joint",
    "restless",
    "rls",
    "willis",
    "urge to move",
    "atheroembol",
    "cholesterol",
    "blue toe",
    "trash foot",
    "embol",
    "entrapment",
    "paes",
    "vasculitis",
    "arteritis",
    "thromboangiitis",
    "buerger",
    "raynaud",
    "frost",
    "cystic adventitial",
    "fibromuscular",
    "dissection",
    "baker",
    "popliteal",
    "lymph",
    "hematoma",
    "sprain",
    "strain",
    "contusion",
    "muscle tear",
    "plantaris",
    "pseudo",
    "bka",
    "aka",
    "tma",
    "amputat",
    "hip",
    "knee",
)
_META = frozenset("[](){}?*+|.\\^$ ")


def _grouped(stems: list[str]) -> str:
    """The alternation of `stems` as a prefix tree on their leading literal characters.

    Python's re tries every alternative at every word start; grouping alternatives that share
    a first character lets it reject ~200 stems with a few character tests. The order of the
    alternatives is kept, so the same text matches the same spans as the flat alternation.
    """
    order: list[tuple[bool, str]] = []
    groups: dict[str, list[str]] = {}
    for stem in stems:
        literal = bool(stem) and stem[0] not in _META and stem[1:2] not in ("?", "*", "+", "{")
        if not literal:
            order.append((False, stem))
            continue
        if stem[0] not in groups:
            groups[stem[0]] = []
            order.append((True, stem[0]))
        groups[stem[0]].append(stem[1:])
    parts = []
    for grouped, value in order:
        if not grouped:
            parts.append(value)
        elif len(groups[value]) == 1:
            parts.append(re.escape(value) + groups[value][0])
        else:
            parts.append(re.escape(value) + "(?:" + _grouped(groups[value]) + ")")
    return "|".join(parts)


PREFILTER = re.compile(r"\b(?:" + _grouped(list(_STEMS)) + ")")


def has_keyword(lowered: str, start: int = 0, end: int | None = None) -> bool:
    """Whether the lower-cased text (or a slice of it) contains any keyword stem."""
    return PREFILTER.search(lowered, start, len(lowered) if end is None else end) is not None


MEASURED = "vascreen_measured"


@Language.component("vascreen_measurements")
def add_measurements(doc: Doc) -> Doc:
    """Add measured values as entities so ConText modifies them like any other target."""
    found = find_measurements(doc.text)
    spans: list[Span] = []
    by_span: dict[tuple[int, int, str], Measurement] = {}
    for m in found:
        span = doc.char_span(m.start, m.end, label=m.concept.value, alignment_mode="expand")
        if span is not None and (span.start_char, span.end_char, m.concept.value) not in by_span:
            spans.append(span)
            by_span[(span.start_char, span.end_char, m.concept.value)] = m
    measured = filter_spans(spans)
    kept = [e for e in doc.ents if not any(e.start < s.end and s.start < e.end for s in measured)]
    doc.ents = filter_spans([*kept, *measured])
    doc.user_data[MEASURED] = by_span
    return doc


@Language.component("vascreen_attachment")
def add_attached(doc: Doc) -> Doc:
    """Exertional and rest pain the target patterns missed (`attachment`): added only where no
    other target already stands, so the patterns' exact spans are kept."""
    taken = [(e.start_char, e.end_char) for e in doc.ents]
    spans: list[Span] = []
    for concept, found in (
        (Concept.CLAUDICATION, exertional_spans(doc.text)),
        (Concept.REST_PAIN, rest_pain_spans(doc.text)),
    ):
        for start, end in found:
            if any(s < end and start < e for s, e in taken):
                continue
            span = doc.char_span(start, end, label=concept.value, alignment_mode="expand")
            if span is not None:
                spans.append(span)
                taken.append((start, end))
    if spans:
        doc.ents = filter_spans([*doc.ents, *spans])
    return doc


class _SingleTextRegexMatcher(RegexMatcher):  # type: ignore[misc]
    """medspaCy's RegexMatcher rebuilds `doc.text_with_ws` token by token for every pattern,
    which was 80% of run time; this reads the text once per doc. Same token alignment
    (expand left and right), and our rules use no on_match callbacks."""

    def __call__(self, doc: Doc) -> list[tuple[int, int, int]]:
        text = doc.text
        matches: list[tuple[int, int, int]] = []
        for match_id, patterns in self._patterns.items():
            for pattern in patterns:
                for found in pattern.finditer(text):
                    span = doc.char_span(found.start(), found.end(), alignment_mode="expand")
                    if span is not None and len(span):
                        matches.append((match_id, span.start, span.end))
        return matches


def _speed_up_regex(matcher: object, nlp: Language) -> None:
    # Pinned to medspacy 1.3.1 internals; if they move, the stock (slower) matcher stays.
    inner = getattr(matcher, "_TargetMatcher__matcher", None)
    if inner is not None and hasattr(inner, "_MedspacyMatcher__regex_matcher"):
        inner._MedspacyMatcher__regex_matcher = _SingleTextRegexMatcher(nlp.vocab)


@cache
def build_nlp() -> Language:
    """The pipeline, built once per process."""
    nlp = spacy.blank("en")
    # "1.04/1.07" (right/left) and "45/50" are two values: split numbers joined by a slash.
    infixes: list[Any] = [*(nlp.Defaults.infixes or ()), r"(?<=[0-9])/(?=[0-9.])"]
    tokenizer: Any = nlp.tokenizer
    tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    nlp.add_pipe("sentencizer")
    matcher: Any = nlp.add_pipe("medspacy_target_matcher")
    _speed_up_regex(matcher, nlp)
    matcher.add(
        [TargetRule(name, concept.value, pattern=regex) for concept, name, regex in ALL_RULES]
    )
    # One phrase rule and one token rule as well: spaCy warns (W036) about an empty matcher.
    matcher.add(TargetRule("claudication", Concept.CLAUDICATION.value))
    matcher.add(
        TargetRule("cellulitis", Concept.CELLULITIS.value, pattern=[{"LOWER": "cellulitis"}])
    )
    nlp.add_pipe("vascreen_measurements")
    nlp.add_pipe("vascreen_attachment")
    context: Any = nlp.add_pipe("medspacy_context", config={"rules": None})
    context.add(build_context_rules())
    return nlp
