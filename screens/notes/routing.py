"""Sentence-level routing of exertional-pain mentions to mimics, and per-concept cleanup.

Target patterns find "leg pain with walking"; whether that is vascular claudication,
neurogenic claudication, venous claudication, a cramp or CECS depends on the rest of the
sentence (clinical-reference 3.6): relief by sitting or leaning forward is neurogenic, relief by
elevation or a bursting quality is venous, relief by stretching is a cramp, and running or sport
with a young athlete's pattern is CECS.
"""

from __future__ import annotations

import re

from screens.notes.concepts import Concept
from screens.notes.lexicon import DISTAL_VEIN, PROXIMAL_VEIN, SPORT

C = Concept
_I = re.IGNORECASE
_CRAMP = re.compile(r"\bstretch\w*|\bpassive dorsiflexion|\bknot(?:ted)?\b", _I)
_NEURO = re.compile(
    r"\b(?:sit(?:s|ting)?|sits? down|seated|lean(?:s|ing)? forward|bend(?:s|ing)? (?:forward|over)"
    r"|shopping[- ]cart|cart|lumbar flexion|spinal stenosis|canal stenosis"
    r"|(?-i:L\d)-(?-i:S?\d) stenosis"
    r"|(?:with|on|after|by) (?:prolonged )?standing(?! still)|standing alone|neurogenic)\b",
    _I,
)
_VENOUS = re.compile(
    r"\b(?:elevat\w+|legs? up|burst\w*|varicos\w+|(?-i:DVT)|iliofemoral|post-?thrombotic|venous"
    r"|(?-i:CEAP))",
    _I,
)
_STRESS = re.compile(r"\bwarms? up\b|\bstress fracture|\btibial border\b", _I)
_SPORT = re.compile(rf"\b{SPORT}\b", _I)
_CLAUD_FAMILY = {C.CLAUDICATION, C.EXERTIONAL_LEG_PAIN}
_NON_LIMB_BEFORE = re.compile(
    r"\b(?:back|chest|abdominal|abdomen|epigastric|neck|shoulder|head|arm|hand|wrist|elbow|joint"
    r"|lumbar|flank|pelvic|rectal|jaw|facial|dental|throat)\s+(?:\w+\s+)?$",
    _I,
)
_NON_LIMB_WOUND = re.compile(
    r"\b(?:stern\w*|abdominal|abdomen|incision\w*|sacr\w*|coccyx|scalp|buttock|breast|perineal"
    r"|surgical site|trach\w*|chest)\b",
    _I,
)
_LIMB_WORD = re.compile(
    r"\b(?:leg|foot|feet|toe|heel|ankle|malleol\w*|shin|calf|hallux|digit|plantar)", _I
)
_NON_ARTERIAL_ULCER = re.compile(
    r"\b(?:venous|stasis|pressure|decubitus|neuropathic|neurotrophic)\b", _I
)
_EYE = re.compile(
    r"\b(?:vitreous|retina\w*|floaters?|flashes|ophthalm\w*|eyes?|macula\w*|(?-i:OD|OS|OU))\b", _I
)
_VENOUS_CONTEXT = re.compile(
    r"\b(?:vein|venous|iliac|(?-i:DVT|CIV|IVUS)|stent\w*|venogra\w*|thromb\w*|swelling|edema)", _I
)
_NOT_DISEASE_PAD = re.compile(
    r"\bpre-?admission|\bpre-?op\w*|\bdressing|\bheating|\bpad change", _I
)
_PROXIMAL = re.compile(rf"\b{PROXIMAL_VEIN}\b", _I)
_DISTAL = re.compile(rf"\b{DISTAL_VEIN}\b", _I)
_ACUTE = re.compile(r"\b(?:acute|subacute|new|fresh)\b", _I)
_CHRONIC = re.compile(r"\b(?:chronic|old|residual|post-?thrombotic|recanaliz\w+|organized)\b", _I)
_ACUTE_CS = re.compile(r"\b(?:fracture|trauma\w*|crush|emergent|tense|acute)\b", _I)


def route_concept(concept: Concept, sentence: str, start: int, end: int) -> Concept | None:
    """The concept a mention really is, given its sentence; None drops the mention."""
    span = sentence[start:end]
    if concept is C.REST_PAIN and _NON_LIMB_BEFORE.search(sentence[max(0, start - 30) : start]):
        return None
    if concept in _CLAUD_FAMILY or concept is C.REST_PAIN:
        return _route_exertional(concept, sentence, span)
    if concept is C.ARTERIAL_ULCER:
        if _NON_ARTERIAL_ULCER.search(span):
            return C.NONARTERIAL_ULCER
        if _NON_LIMB_WOUND.search(sentence) and not _LIMB_WORD.search(sentence):
            return None
    if concept is C.PAD and span.upper() == "PVD" and _EYE.search(sentence):
        return None
    if concept is C.PAD and span == "PAD" and _NOT_DISEASE_PAD.search(sentence):
        return None
    if (
        concept is C.ILIAC_VEIN_COMPRESSION
        and span == "MTS"
        and not _VENOUS_CONTEXT.search(sentence)
    ):
        return None
    if concept is C.CECS and "fasciotom" in span.lower() and _ACUTE_CS.search(sentence):
        return C.ACUTE_COMPARTMENT_SYNDROME
    if (
        concept is C.ACUTE_COMPARTMENT_SYNDROME
        and _SPORT.search(sentence)
        and not _ACUTE_CS.search(sentence)
    ):
        return C.CECS
    return concept


def _route_exertional(concept: Concept, sentence: str, span: str) -> Concept | None:
    literal = "claudica" in span.lower()
    cramp = re.search(r"cramp|spasm", sentence, _I) is not None
    if concept is C.REST_PAIN and re.search(r"cramp|spasm", span, _I):
        return C.MUSCLE_CRAMP
    if concept is C.REST_PAIN:
        return C.MUSCLE_CRAMP if cramp and _CRAMP.search(sentence) else concept
    if _CRAMP.search(sentence) and not literal:
        return C.MUSCLE_CRAMP
    if _NEURO.search(sentence):
        return C.NEUROGENIC_CLAUDICATION
    if _VENOUS.search(sentence):
        return C.VENOUS_CLAUDICATION
    if _STRESS.search(sentence) and not literal:
        return C.STRESS_FRACTURE
    if _SPORT.search(sentence) and not literal:
        return C.EXERTIONAL_LEG_PAIN
    return concept


def dvt_qualifier(sentence: str, start: int, end: int) -> str | None:
    """'proximal' | 'distal' by the named vein, with ':acute' / ':chronic' when stated."""
    clause_start = sentence.rfind(";", 0, start) + 1
    clause_end = sentence.find(";", end)
    clause = sentence[clause_start : len(sentence) if clause_end == -1 else clause_end]
    level = "proximal" if _PROXIMAL.search(clause) else "distal" if _DISTAL.search(clause) else None
    age = "acute" if _ACUTE.search(clause) else "chronic" if _CHRONIC.search(clause) else None
    if level is None:
        return None
    return f"{level}:{age}" if age else level
