"""Sentence-level routing of exertional-pain mentions to mimics, and per-concept cleanup.

Target patterns find "leg pain with walking"; whether that is vascular claudication,
neurogenic claudication, venous claudication, a cramp or CECS depends on the rest of the
sentence (clinical-reference 3.6): relief by sitting or leaning forward is neurogenic, relief by
elevation or a bursting quality is venous, relief by stretching is a cramp, and running or sport
with a young athlete's pattern is CECS.
"""

# ruff: noqa: E501  (one pattern per line reads better than regexes split mid-token)

from __future__ import annotations

import re

from screens.notes.concepts import Concept
from screens.notes.lexicon import (
    DISTAL_VEIN,
    JOINT_SITE,
    PROXIMAL_VEIN,
    SPORT,
    SPORT_ACTIVITY,
    SPORT_PERSON,
)

C = Concept
_I = re.IGNORECASE
_CRAMP = re.compile(r"\bstretch\w*|\bpassive dorsiflexion|\bknot(?:ted)?\b", _I)
# Neurogenic claudication: relief by flexion (leaning forward, the shopping cart), pain brought on
# by standing, or named spinal stenosis. Relief by sitting alone is not enough (any rest eases
# claudication): it counts with back, buttock, spine or flexion context in the sentence.
_NEURO = re.compile(
    r"\b(?:lean(?:s|ing)? (?:forward|over|on)|bend(?:s|ing)? (?:forward|over)|stoop\w*|flex(?:es|ing)? forward"
    r"|shopping[- ]cart|cart|lumbar flexion|spinal stenosis|canal stenosis|(?-i:L\d)-(?-i:S?\d) stenosis|neurogenic"
    r"|(?:brought on|provoked|triggered|caused|worse|worsened) (?:by|with|on) (?:prolonged )?(?:standing|extension)"
    r"|(?:starts?|begins?|comes? on) (?:after|with|on|when) (?:prolonged )?standing|prolonged standing|standing alone"
    r"|standing (?:at|in|for) (?:the )?(?:sink|line|counter|stove|\d+))\b",
    _I,
)
_SITTING = re.compile(
    r"\b(?:sit(?:s|ting)?(?: down)?|seated|sat down|has to sit|needs? to sit)\b", _I
)
_BACK_CONTEXT = re.compile(
    r"\b(?:back|lumbar|spin\w*|buttocks?|gluteal|sciatic\w*|flexion|lean\w*|bend\w*|stoop\w*|(?-i:L\d)|numb\w*|tingl\w*|weak\w*)\b",
    _I,
)
# Venous claudication needs venous wording: a bursting quality or relief by elevation ("elevator"
# is not elevation) ...
_LEG = r"(?:(?:the |her |his |both |affected |left |right )*(?:legs?|limbs?|feet|foot|extremit(?:y|ies)))"
_VENOUS_QUALITY = re.compile(
    rf"\b(?:(?:with|by|on|upon|after|and|or) (?:leg |limb )?elevation|elevat(?:ion|ing|es?|ed) (?:of )?{_LEG}"
    rf"|{_LEG} (?:(?:is|are|was|were|being|kept) )?(?:elevated|up|raised)\b|raising {_LEG}|burst\w*)",
    _I,
)
# ... or venous history without an arterial pattern (relief by rest or standing still).
_VENOUS_HISTORY = re.compile(
    r"\b(?:varicos\w+|(?-i:DVT|PTS)|deep vein thromb\w*|iliofemoral|post-?thrombotic|venous|(?-i:CEAP)|swell\w*|swollen"
    r"|(?:o)?edema\w*|hyperpigment\w*|skin darkening|lipodermatosclerosis|stasis)",
    _I,
)
_REST_RELIEF = re.compile(
    r"\b(?:reliev\w+|relief|eas(?:es|ed|e|ing)|resolv\w+|subsid\w+|settl\w+|abat\w+|goes away|go(?:es)? away|gone"
    r"|disappear\w*|improv\w+|better|stops?|recover\w*)\b[^.;]{0,40}?\b(?:rest(?:s|ing)?|standing(?! up)|stands?(?! up)|standing still"
    r"|stand(?:s|ing)? still|stopping|stops?|pausing|pauses?|a (?:short |brief )?break)\b"
    r"|\b(?:with|after|on|upon) (?:a (?:few|couple of) minutes of |several minutes of |\d+ minutes of )?rest(?:ing)?\b",
    _I,
)
_JOINT_SITE = re.compile(rf"\b{JOINT_SITE}\b", _I)
_CALF_OR_BUTTOCK = re.compile(r"\b(?:calf|calves|buttocks?|gluteal)\b", _I)
# What makes hip or knee pain with walking a joint problem (2024 Table 7: variable distance,
# better off weight-bearing, pain starting up, stiffness, reduced range of motion).
_JOINT_CUE = re.compile(
    r"\b(?:(?-i:OA|DJD)|arthrit\w*|osteoarthrit\w*|joint|range of motion|(?-i:ROM|IR|ER)|weight[- ]?bearing|off (?:her|his|their|the) feet"
    r"|getting (?:up|out|in)|out of (?:a |the )?(?:chair|car|bed)|start(?:ing)?[- ]up|first (?:few )?steps|stiff\w*|crepitus|variable"
    r"|kneel\w*|jump\w*|squat\w*|tubercle|patell\w*|effusion|instabilit\w*|giving way|locking|limp\w*|antalgic"
    r"|after sitting|socks|(?-i:THA|TKA))\b",
    _I,
)
# Rest pain eased by dependency (dangling, getting up, sleeping in a chair) is ischemic even when
# the patient calls it a cramp: the central pitfall of the seed case.
_DEPENDENCY = re.compile(
    r"\b(?:dangl\w*|hang(?:s|ing)?|hung|dependen\w*|(?:foot|feet|leg|legs) (?:down|over the (?:side|edge))|(?:over|off) the (?:side|edge) of the bed"
    r"|edge of the bed|gets? up and walk\w*|getting up and walk\w*|walk\w* around|gets? out of bed|getting out of bed|sleep\w* (?:in|on) (?:a|the|his|her) (?:chair|recliner|couch)"
    r"|recliner|sits? up)\b",
    _I,
)
_NOT_CRAMP = re.compile(
    r"\bnot (?:a |really a |true )?(?:calf )?(?:cramps?|knots?|spasms?)\b|\b(?:cramps?|knots?)\W{0,3}\s*(?:is|are|was) (?:a |actually )?(?:burning|aching|pain)",
    _I,
)
# Night foot pain with another named cause is that cause, not ischemia.
_FOOT_PAIN_CAUSE = re.compile(
    r"\b(?:gout\w*|podagra|neuropath\w*|plantar fasci\w*|morton'?s?|tarsal tunnel|pins and needles|stocking[- ]distribution"
    r"|(?:osteo)?arthrit\w*|bunion\w*|fractur\w*|sprain\w*|erythromelalgia|passive (?:\w+ )?stretch\w*|compartments?"
    r"|out of proportion|tense|tingl\w*|pins and needles|sheets?|allodyni\w*|hot sand|electric\w*)\b",
    _I,
)
_RLS = re.compile(r"\b(?:urge to move|restless|creepy|crawl\w*|(?-i:RLS)|willis[- ]ekbom)\b", _I)
_STRESS = re.compile(r"\bwarms? up\b|\bstress (?:fracture|reaction)|\btibial border\b", _I)
_SPORT = re.compile(rf"\b{SPORT}\b", _I)
_SPORT_ACTIVITY = re.compile(rf"\b{SPORT_ACTIVITY}\b", _I)
_SPORT_PERSON = re.compile(rf"\b{SPORT_PERSON}\b", _I)
_WALKING = re.compile(
    r"\b(?:walk\w*|ambulat\w*|blocks?|blks?|stairs|yards|hills?|uphill|inclines?|meters|metres|\d+ ?(?-i:m)\b)",
    _I,
)
# CECS named or examined in the sentence: exertional leg pain there is the CECS pattern.
_CECS_CONTEXT = re.compile(
    r"\bcompartment\w*|\b(?-i:CECS)\b|\bfasciotom\w*|\bfascial (?:hernia\w*|defects?)|\bmuscle hernia\w*",
    _I,
)
# Negation of a routing cue: a negation word shortly before it, with no relief verb or
# contrast word between ("no leg swelling", "MRI without stress fracture", "not relieved by sitting").
_NEG_CUE = re.compile(
    r"\b(?:no|not|denies|denied|deny|without|negative for|neg for|free of|never|absent|rather than)\b"
    r"|\(\s*[-\u2212\u2013]\s*\)",
    _I,
)
_NEG_STOP = re.compile(
    r"\b(?:but|however|although|though|yet|while|and then)\b"
    r"|(?<!not )(?<!never )\b(?:reliev\w*|eas(?:es|ed|e)|improv\w*|better|resolv\w*|goes away)\b",
    _I,
)
# A later ";" clause with its own subject is about something else ("she takes the elevator").
_NEW_SUBJECT = re.compile(
    r"^\s*(?:she|he|they|the patient|patient|pt|her|his|family|mother|father|sister|brother|husband|wife"
    r"|son|daughter|no|denies|exam|plan|labs?)\b",
    _I,
)
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
# "PAD SET program", "PAD screening", "PAD workup": a service named after the disease.
_PAD_SERVICE_AFTER = re.compile(
    r"\s*(?:(?-i:SET)|program\w*|clinic|pathway|protocol|screen\w*|education|risk|work-?up|evaluation|assessment|study|studies)\b",
    _I,
)
# "Moderate arterial insufficiency of the right lower extremity" in a lab or imaging report is a
# graded, objective finding (ARTERIAL_STENOSIS), not a named diagnosis (PAD).
_LAB_FINDING = re.compile(r"\barterial insufficiency\b|\bischa?emia\b", _I)
_GRADED = re.compile(
    r"\b(?:mild(?:ly)?|moderate(?:ly)?|severe(?:ly)?|marked(?:ly)?|significant|hemodynamically significant"
    r"|critical|profound|minimal|evidence of|consistent with|compatible with|suggest(?:s|ive of|ing)"
    r"|indicat(?:es|ing|ive of)|demonstrat\w*|shows?|showed|reveal\w*|diffuse|multilevel|multi-level"
    r"|segmental|(?:to|at) rest)\b[^.;]*$",
    _I,
)
_PROXIMAL = re.compile(rf"\b{PROXIMAL_VEIN}\b", _I)
_DISTAL = re.compile(rf"\b{DISTAL_VEIN}\b", _I)
_ACUTE = re.compile(r"\b(?:acute|subacute|new|fresh)\b", _I)
_CHRONIC = re.compile(r"\b(?:chronic|old|residual|post-?thrombotic|recanaliz\w+|organized)\b", _I)
_ACUTE_CS = re.compile(r"\b(?:fracture|(?<!non)trauma\w*|crush|emergent|tense|acute)\b", _I)
_CHRONIC_CS = re.compile(
    r"\b(?:non-?traumatic|exertional|exercise[- ]induced|chronic|recurrent)\b", _I
)


def route_concept(concept: Concept, sentence: str, start: int, end: int) -> Concept | None:
    """The concept a mention really is, given its sentence; None drops the mention."""
    span = sentence[start:end]
    if concept is C.REST_PAIN and _NON_LIMB_BEFORE.search(sentence[max(0, start - 30) : start]):
        return None
    if concept in _CLAUD_FAMILY or concept in (C.REST_PAIN, C.MUSCLE_CRAMP):
        return _route_exertional(concept, sentence, start, span)
    if concept is C.NEUROGENIC_CLAUDICATION:
        return _route_neurogenic(sentence, start, span)
    if concept is C.ARTERIAL_ULCER:
        if _NON_ARTERIAL_ULCER.search(sentence, max(0, start - 25), end):
            return C.NONARTERIAL_ULCER
        if _NON_LIMB_WOUND.search(sentence) and not _LIMB_WORD.search(sentence):
            return None
    if concept is C.ARTERIAL_STENOSIS:
        return _route_stenosis(sentence)
    if (
        concept is C.PAD
        and _LAB_FINDING.search(span)
        and _GRADED.search(sentence[max(0, start - 45) : start])
    ):
        return C.ARTERIAL_STENOSIS
    if concept is C.PAD and span.upper() == "PVD" and _EYE.search(sentence):
        return None
    if concept is C.PAD and span == "PAD" and _NOT_DISEASE_PAD.search(sentence):
        return None
    if concept is C.PAD and span.isupper() and _PAD_SERVICE_AFTER.match(sentence, end):
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
        and (_SPORT.search(sentence) or _CHRONIC_CS.search(sentence))
        and not _ACUTE_CS.search(sentence)
    ):
        return C.CECS
    return concept


# A vein report names the artery that crosses the vein ("the right CIA compresses the left CIV"):
# that artery is the compressor, not an arterial stenosis. A popliteal artery that occludes only
# with plantarflexion is entrapment, not atherosclerosis.
_VEIN_COMPRESSION = re.compile(
    r"\b(?:vein|venous|(?-i:CIV|LCIV|IVUS)|may[- ]?thurner|cockett|iliocaval|venogra\w*)\b", _I
)
_DYNAMIC_OCCLUSION = re.compile(
    r"\b(?:plantar ?flexion|dorsiflexion|provocative|provocation|dynamic|stress (?:maneuver|position\w*)|entrapment|(?-i:PAES))\b",
    _I,
)


def _route_stenosis(sentence: str) -> Concept | None:
    if _VEIN_COMPRESSION.search(sentence):
        return None
    if _DYNAMIC_OCCLUSION.search(sentence):
        return C.NONATHEROSCLEROTIC_ARTERIAL
    return C.ARTERIAL_STENOSIS


def _route_neurogenic(sentence: str, start: int, span: str) -> Concept:
    """Relief by sitting alone is the relief of any rest: neurogenic only with back, buttock,
    spine or flexion context (or a named neurogenic pattern)."""
    region = _region(sentence, start)
    if _NEURO.search(span) or _cue(_NEURO, sentence, region):
        return C.NEUROGENIC_CLAUDICATION
    if _SITTING.search(span) and not _cue(_BACK_CONTEXT, sentence, region):
        return C.CLAUDICATION
    return C.NEUROGENIC_CLAUDICATION


def _route_rest_or_cramp(
    concept: Concept, sentence: str, region: tuple[int, int], span: str
) -> Concept | None:
    """Pain or "cramps" at night: ischemic rest pain when eased by dependency (even when called a
    cramp), a cramp when eased by stretching, restless legs when an urge to move drives it."""
    if _cue(_RLS, sentence, region):
        return C.RESTLESS_LEGS
    if concept is C.REST_PAIN and _cue(_FOOT_PAIN_CAUSE, sentence, region):
        return None
    stretch = _cue(_CRAMP, sentence, region)
    dependency = _cue(_DEPENDENCY, sentence, region) or _NOT_CRAMP.search(sentence) is not None
    if dependency and not stretch:
        return C.REST_PAIN
    if concept is C.MUSCLE_CRAMP or re.search(r"cramp|spasm", span, _I):
        return C.MUSCLE_CRAMP
    cramp = re.search(r"cramp|spasm", sentence, _I) is not None
    return C.MUSCLE_CRAMP if cramp and stretch else concept


def _region(sentence: str, start: int) -> tuple[int, int]:
    """Where routing cues for a mention at `start` may sit: its ";" clause and the following
    clauses that continue it (not ones with a new subject)."""
    lo = sentence.rfind(";", 0, start) + 1
    hi = sentence.find(";", start)
    while hi != -1 and not _NEW_SUBJECT.match(sentence, hi + 1):
        hi = sentence.find(";", hi + 1)
    return lo, len(sentence) if hi == -1 else hi


def _negated(sentence: str, pos: int, floor: int) -> bool:
    # A list negation governs its whole comma list ("ROS negative for: chest pain, palpitations,
    # leg pain with walking, leg swelling"), so the window reaches back past a few items.
    window_start = max(floor, pos - 50)
    if "," in sentence[max(floor, pos - 120) : pos]:
        window_start = max(floor, pos - 120)
    negs = list(_NEG_CUE.finditer(sentence, window_start, pos))
    if not negs:
        return False
    return _NEG_STOP.search(sentence, negs[-1].end(), pos) is None


# A cue set aside right after it: "MTSS/stress reaction less likely", "stenosis ruled out".
_SET_ASIDE_AFTER = re.compile(
    r"[\w/ -]{0,20}?\b(?:less likely|unlikely|ruled out|excluded|not (?:favou?red|likely|seen)|negative)\b",
    _I,
)


def _cue(pattern: re.Pattern[str], sentence: str, region: tuple[int, int]) -> bool:
    """Whether `pattern` occurs affirmed (not negated or set aside) within the region."""
    lo, hi = region
    return any(
        not _negated(sentence, m.start(), lo) and not _SET_ASIDE_AFTER.match(sentence, m.end())
        for m in pattern.finditer(sentence, lo, hi)
    )


def _route_exertional(concept: Concept, sentence: str, start: int, span: str) -> Concept | None:
    literal = "claudica" in span.lower()
    region = _region(sentence, start)
    if concept in (C.REST_PAIN, C.MUSCLE_CRAMP):
        return _route_rest_or_cramp(concept, sentence, region, span)
    if _cue(_RLS, sentence, region):
        return C.RESTLESS_LEGS
    if _cue(_CRAMP, sentence, region) and not literal:
        return C.MUSCLE_CRAMP
    if _cue(_NEURO, sentence, region) or (
        _cue(_SITTING, sentence, region) and _cue(_BACK_CONTEXT, sentence, region)
    ):
        return C.NEUROGENIC_CLAUDICATION
    if _cue(_VENOUS_QUALITY, sentence, region) or (
        _cue(_VENOUS_HISTORY, sentence, region) and not _cue(_REST_RELIEF, sentence, region)
    ):
        return C.VENOUS_CLAUDICATION
    if _cue(_STRESS, sentence, region) and not literal:
        return C.STRESS_FRACTURE
    joint_site = _JOINT_SITE.search(span) or (
        _JOINT_SITE.search(sentence, *region) and not _CALF_OR_BUTTOCK.search(span)
    )
    if joint_site and _cue(_JOINT_CUE, sentence, region):
        return C.JOINT_PAIN
    if literal:
        return concept
    if _cue(_CECS_CONTEXT, sentence, region):
        return C.EXERTIONAL_LEG_PAIN
    lo, hi = region
    # The trigger the mention itself names decides first: "pressure in both lower legs around
    # mile 3" is running, whatever "forces her to walk" says after it.
    if _SPORT.search(span) and not _WALKING.search(span):
        return C.EXERTIONAL_LEG_PAIN
    if _SPORT_ACTIVITY.search(sentence, lo, hi):
        return C.EXERTIONAL_LEG_PAIN
    if _WALKING.search(sentence, lo, hi):  # "after walking half a mile": claudication
        return C.CLAUDICATION
    if _SPORT.search(sentence, lo, hi) or _SPORT_PERSON.search(sentence, lo, hi):
        return C.EXERTIONAL_LEG_PAIN
    return concept


def dependency_cue(text: str) -> bool:
    """Relief by dependency (dangling, getting up, sleeping in a chair), the ischemic sign."""
    return _DEPENDENCY.search(text) is not None


def walking_cue(text: str) -> bool:
    """Walking words (blocks, stairs, a walking distance): the claudication setting."""
    return _WALKING.search(text) is not None


def sport_cue(text: str) -> bool:
    """A sport, training or an athlete named (the CECS setting)."""
    return bool(_SPORT_ACTIVITY.search(text) or _SPORT_PERSON.search(text))


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
