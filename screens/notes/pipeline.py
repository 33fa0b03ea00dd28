"""The spaCy/medspaCy pipeline and `extract_mentions`.

blank("en") + sentencizer + medspacy_target_matcher + our measurement component +
medspacy_context. No PyRuSH (slow, and it logs note tokens to stderr), no model downloads.
Only sentences that hit the keyword prefilter reach spaCy.
"""

from __future__ import annotations

import re
from functools import cache

import medspacy  # noqa: F401  (registers the medspacy_* factories)
import spacy
from medspacy.target_matcher import TargetRule
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from screens.notes.arterial_rules import ARTERIAL_RULES
from screens.notes.concepts import Concept
from screens.notes.context_rules import build_context_rules
from screens.notes.measurements import Measurement, find_measurements
from screens.notes.other_rules import OTHER_RULES

ALL_RULES = ARTERIAL_RULES + OTHER_RULES

# One pass over the whole note: if nothing here matches, the note costs one regex search.
PREFILTER = re.compile(
    r"claudica|rest pain|at rest|\bpain|ache|aching|cramp|fatigue|tight|heav|burn|ulcer|wound|bed ?sore"
    r"|gangren|pulse|monophasic|damp|rubor|pallor|cool|cold|hair|refill|stenos|occlu|narrow|stent"
    r"|bypass|graft|angioplast|endarterect|revasculari|circulation|ischemi|insufficien"
    r"|\bPAD\b|\bPAOD|\bPVD|\bCLTI|peripheral|atheroscl|\bABI|ankle|brachial|\bTBI|toe|hallux|digital"
    r"|tcpo2|tco2|transcutaneous|compartment|\bCECS|fasciotom|\bDVT|thromb|clot|iliac|thurner"
    r"|cockett|\bMTS\b|\bNIVL|swell|swollen|edema|oedema|venous|burst|neurogenic|cart|sitting|standing"
    r"|uphill|bicycle|stenosis|radicul|sciatica|straight[- ]leg|\bSLR|shooting|lancinat|electric"
    r"|position|spasm|charley|locks? up|knotted|jaw|stress (?:fracture|reaction|syndrome)|\bMTSS|shin|cellulitis|heart failure|\bCHF|\bHF"
    r"|compression|\bTED\b|unna|anticoag|apixaban|eliquis|rivaroxaban|xarelto|warfarin|coumadin"
    r"|dabigatran|pradaxa|edoxaban|savaysa|enoxaparin|lovenox|heparin|fondaparinux|arixtra|\bDOAC"
    r"|\bNOAC|punched|malleol|decubitus|pressure (?:injur|ulcer|sore|wound)|perforans",
    re.IGNORECASE,
)
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


@cache
def build_nlp() -> Language:
    """The pipeline, built once per process."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    matcher = nlp.add_pipe("medspacy_target_matcher")
    matcher.add([TargetRule(name, concept.value, pattern=regex) for concept, name, regex in ALL_RULES])
    # One phrase rule and one token rule as well: spaCy warns (W036) about an empty matcher.
    matcher.add(TargetRule("claudication", Concept.CLAUDICATION.value))
    matcher.add(TargetRule("cellulitis", Concept.CELLULITIS.value, pattern=[{"LOWER": "cellulitis"}]))
    nlp.add_pipe("vascreen_measurements")
    context = nlp.add_pipe("medspacy_context", config={"rules": None})
    context.add(build_context_rules())
    return nlp
