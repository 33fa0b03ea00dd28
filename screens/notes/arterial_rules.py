"""Target patterns for arterial concepts (PAD, claudication, CLTI signs).

Each entry is (concept, name, regex). Patterns are case-insensitive; `(?-i:...)` marks the
abbreviations that only count in capitals. Sentence-level routing to mimics (neurogenic, venous,
cramp, CECS) happens afterwards in `routing.py`, so these patterns may over-match exertional pain.
"""

# ruff: noqa: E501  (one pattern or case per line reads better than regexes split mid-token)

from __future__ import annotations

from screens.notes.concepts import Concept
from screens.notes.lexicon import (
    CLAUD_SITE,
    FOOT_SITE,
    LIMB_SITE,
    LOWER_ARTERY,
    PAIN,
    WALK,
    gap,
    gap_affirmed,
)

C = Concept
_ULCER = r"(?:ulcers?|ulcerations?|wounds?|sores?)"
_PULSE_SITE = (
    r"(?:(?-i:DP|PT)|dorsalis pedis|posterior tibial|pedal|popliteal|femoral|foot|distal|ankle)"
)
_PULSE_SITES = rf"{_PULSE_SITE}(?:\s*(?:,|and|/|&)\s*{_PULSE_SITE})*"
_PULSE_ABSENT = (
    r"(?:absent|diminished|decreased|reduced|weak|faint|thready|non-?palpable|not palpable"
    r"|impalpable|barely palpable|dopplerable only|doppler(?:able)? only|(?:0|1\+|trace))"
)
_GRAFT = (
    r"(?:fem(?:oral)?[- ](?:below|above)[- ](?:the[- ])?knee[- ]?pop(?:liteal)?"
    r"|fem(?:oral)?[- ]?(?:pop(?:liteal)?|tib(?:ial)?|fem(?:oral)?|distal)|femoro-?(?:popliteal|tibial"
    r"|distal|femoral)|aorto-?(?:bi)?-?fem(?:oral)?|aortoiliac|axillo-?(?:bi)?-?fem(?:oral)?"
    r"|infrainguinal|(?:pedal|tibial|peroneal|popliteal|distal) artery|(?-i:ABF))"
)
_LIMB_ARTERY_SHORT = (
    r"(?:(?-i:SFA|CFA|CIA|EIA|ATA)|iliac artery|(?:superficial |common )?femoral artery|popliteal artery"
    r"|tibial artery|peroneal artery|infrapopliteal)"
)

_RUTHERFORD = r"\bRutherford(?:[- ]Becker)?(?: (?:category|class|grade|stage))?\s*"
_FONTAINE = r"\bFontaine(?:'s)?(?: (?:stage|class|grade|classification))?\s*"

ARTERIAL_RULES: list[tuple[Concept, str, str]] = [
    # --- claudication: the word, and exertional leg pain relieved by rest ---
    (C.CLAUDICATION, "claudication word", r"\b(?:intermittent )?claudica(?:tion|ting|tes?|nts?)\b"),
    (
        C.CLAUDICATION,
        "site pain walk",
        rf"\b{CLAUD_SITE}\b[^.;:,]{{0,25}}?\b{PAIN}\b{gap(45)}\b{WALK}\b",
    ),
    (
        C.CLAUDICATION,
        "pain site walk",
        rf"\b{PAIN}\b[^.;:,]{{0,25}}?\b{CLAUD_SITE}\b{gap(45)}\b{WALK}\b",
    ),
    (
        C.CLAUDICATION,
        "walk site pain",
        rf"\b{WALK}\b{gap_affirmed(30)}\b{CLAUD_SITE}\b{gap(20)}\b{PAIN}\b",
    ),
    (C.CLAUDICATION, "exertional site pain", rf"\bexertional {CLAUD_SITE} {PAIN}\b"),
    (
        C.CLAUDICATION,
        "limited walking distance",
        r"\b(?:pain[- ]free |maximal |maximum |absolute |initial )?walking distance\b"
        r"(?: (?:was|is|had|has|of|to|about|approximately|around|only|decreased|reduced|limited|restricted|shortened|fell|dropped))*"
        r"\s*(?:limited|reduced|restricted|shortened|decreased|impaired|\d+(?:[.,]\d+)?\s*(?:m|meters?|metres?|yards?|blocks?|feet|ft)\b)",
    ),
    # Rutherford 1-3 / Fontaine II: claudication; Rutherford 4 / Fontaine III: rest pain;
    # Rutherford 5-6 / Fontaine IV: ischemic tissue loss.
    (C.CLAUDICATION, "Rutherford 1-3", rf"{_RUTHERFORD}[1-3]\b|{_FONTAINE}(?:II|2)[ab]?\b"),
    (C.REST_PAIN, "Rutherford 4", rf"{_RUTHERFORD}4\b|{_FONTAINE}(?:III|3)\b"),
    (C.ARTERIAL_ULCER, "Rutherford 5-6", rf"{_RUTHERFORD}[56]\b|{_FONTAINE}(?:IV|4)\b"),
    # --- ischemic rest pain ---
    (C.REST_PAIN, "rest pain", r"\b(?:ischemic |ischaemic )?rest pain\b"),
    (C.REST_PAIN, "pain at rest", r"\b(?:ischemic |ischaemic )?(?:pain|burning|aching) at rest\b"),
    (
        C.REST_PAIN,
        "foot pain at night",
        rf"\b(?:(?:ischemic |ischaemic )?rest )?(?:{PAIN}|pains?){gap(30)}\b{FOOT_SITE}\b{gap(30)}"
        r"\b(?:at night|nocturnal|nightly|overnight|wakes? (?:him|her|them|the patient|pt)(?: up)?"
        r"|lying flat|in bed|when (?:lying|supine|elevated)|with elevation)",
    ),
    (
        C.REST_PAIN,
        "night foot pain",
        rf"\b(?:night(?:time|ly)?|nocturnal)\s+(?:{FOOT_SITE}\s+)?(?:{PAIN}|pain)\b{gap(15)}(?:\b{FOOT_SITE}\b)?",
    ),
    (
        C.REST_PAIN,
        "relieved by dependency",
        rf"\b(?:(?:ischemic )?rest |{FOOT_SITE} )?(?:{PAIN}|pain)\b{gap(60)}\b(?:reliev\w+|eased?|better|improve[sd]?)\b{gap(20)}"
        r"\b(?:hang\w*|dangl\w*|dependen\w*|sleep\w* (?:in|on) (?:a|the) (?:chair|recliner))",
    ),
    # --- tissue loss ---
    (C.ARTERIAL_ULCER, "arterial ulcer", rf"\b(?:arterial|ischemic|ischaemic) {_ULCER}\b"),
    (
        C.ARTERIAL_ULCER,
        "nonhealing wound",
        rf"\b(?:non-?healing|nonhealing|poorly[- ]healing|slow(?:ly)?[- ]healing|non-?healed) "
        rf"(?:\w+ ){{0,2}}?{_ULCER}\b",
    ),
    (
        C.ARTERIAL_ULCER,
        "wound not healing",
        rf"\b{_ULCER} (?:that )?(?:(?:do|does|did|has|have|is|are) )?(?:not|n't|never) heal(?:ed|ing)?\b",
    ),
    (
        C.ARTERIAL_ULCER,
        "failed to heal",
        rf"\b{_ULCER}\b{gap(50)}\b(?:fail(?:ed|ing|s)? to heal|(?:has|have) not healed|not healing|never healed)\b",
    ),
    (
        C.ARTERIAL_ULCER,
        "punched-out ulcer",
        rf"\bpunched[- ]out\b(?: \w+){{0,3}}? {_ULCER}?\b|\bpunched[- ]out\b",
    ),
    (
        C.ARTERIAL_ULCER,
        "tip of toe ulcer",
        rf"\b(?:tip[- ]of[- ](?:the[- ])?toe|toe[- ]?tip|lateral malleol(?:us|ar)|interdigital) {_ULCER}\b",
    ),
    (
        C.ARTERIAL_ULCER,
        "toe ulcer",
        rf"\b(?:(?:non-?healing|poorly healing|chronic|painful) )?{_ULCER} (?:on|of|over|at|involving) (?:the )?(?:tip|tips|lateral aspect|dorsum|dorsal aspect|apex)"
        r" of (?:the )?(?:left |right )?(?:great |big |first |second |third |fourth |fifth |little |\d(?:st|nd|rd|th) )?(?:toes?|hallux)\b"
        rf"|\b(?:(?:non-?healing|poorly healing|chronic|painful) )?{_ULCER} (?:on|of|over|at|involving) (?:the )?(?:left |right )?(?:great |big |first |second |third |fourth |fifth |little |\d(?:st|nd|rd|th) )?(?:toes?|hallux)\b",
    ),
    (
        C.NONARTERIAL_ULCER,
        "venous ulcer",
        rf"\b(?:venous(?: stasis)?|stasis|medial malleol(?:us|ar)) {_ULCER}\b",
    ),
    (
        C.NONARTERIAL_ULCER,
        "pressure injury",
        r"\b(?:pressure (?:injur(?:y|ies)|ulcers?|sores?|wounds?)|decubitus(?: ulcers?)?|bed ?sores?)\b",
    ),
    (
        C.NONARTERIAL_ULCER,
        "neuropathic ulcer",
        rf"\b(?:neuropathic|neurotrophic)(?: plantar| foot)? {_ULCER}\b|\bmal(?:um)? perforans\b",
    ),
    (
        C.GANGRENE,
        "gangrene",
        r"(?<!fournier's )(?<!fournier )(?<!fourniers )(?<!gas )\b(?:(?:dry|wet|ischemic|digital|toe|foot|forefoot)\s+)?"
        r"gangren(?:e|ous)\b(?!\s+(?:appendi|cholecyst|bowel|gallbladder|colitis|hernia|stomatitis))"
        r"(?!\s+of\s+the\s+(?:bowel|colon|appendix|gallbladder|scrotum|perineum|intestine))",
    ),
    (
        C.GANGRENE,
        "toe necrosis",
        rf"\bnecro(?:sis|tic)\b{gap(45)}\b{FOOT_SITE}\b|\b(?:toe|digital|forefoot|heel) necrosis\b",
    ),
    (
        C.GANGRENE,
        "black toe",
        rf"\b(?:black(?:ened)?|mummifi(?:ed|cation)|necrotic)(?: and (?:black(?:ened)?|mummified|necrotic|cold|dry))?\s+(?:(?:left|right|great|big|first|second|third|fourth|fifth|\d(?:st|nd|rd|th))\s+)*{FOOT_SITE}\b"
        rf"|\b{FOOT_SITE} (?:was|were|is|are|became|appeared) (?:\w+ )?(?:black(?:ened)?|mummified)(?: and (?:black(?:ened)?|mummified|necrotic|cold|dry))?\b",
    ),
    # --- signs ---
    (C.PULSE_DEFICIT, "absent pulses", rf"\b{_PULSE_ABSENT}\s+(?:{_PULSE_SITES}\s+)?pulses?\b"),
    (
        C.PULSE_DEFICIT,
        "pulses absent",
        rf"\b(?:{_PULSE_SITES}\s+)?pulses?\s+(?:(?:are|were|is|was)\s+)?{_PULSE_ABSENT}\b",
    ),
    (
        C.PULSE_DEFICIT,
        "no pedal pulses",
        rf"\bno (?:palpable |dopplerable )?{_PULSE_SITES} pulses?\b|\bpulseless\b",
    ),
    (
        C.PULSE_DEFICIT,
        "sites absent",
        rf"\b{_PULSE_SITES}\s+(?:(?:are|were|is|was)\s+)?(?:non-?palpable|not palpable|impalpable|absent|dopplerable only|doppler(?:able)? only|(?:0|1\+)(?=\s|$|[,;.]))",
    ),
    (
        C.PULSE_DEFICIT,
        "signals monophasic",
        r"\b(?:doppler\s+)?(?:signals?|waveforms?)\s+(?:(?:are|were|is|was)\s+)?(?:monophasic|dampened|damped|blunted|absent)\b",
    ),
    (
        C.PULSE_DEFICIT,
        "monophasic",
        r"\b(?:monophasic|dampened|damped|blunted)(?: \S+){0,2}? (?:signals?|waveforms?|flow|doppler)\b",
    ),
    (C.ISCHEMIC_SIGNS, "rubor", r"\bdependent rubor\b|\brubor on dependency\b"),
    (C.ISCHEMIC_SIGNS, "pallor", r"\b(?:elevation(?:al)? pallor|pallor (?:on|with) elevation)\b"),
    (
        C.ISCHEMIC_SIGNS,
        "cool feet",
        rf"\b(?:cool|cold)\s+(?:{FOOT_SITE}|legs?|(?:lower )?extremit(?:y|ies))\b|\b{FOOT_SITE}\s+(?:(?:are|is|were|was|feel|feels)\s+)?(?:cool|cold)\b",
    ),
    (
        C.ISCHEMIC_SIGNS,
        "hair loss",
        rf"\b(?:hair loss|hairless|loss of hair|absent hair)\b{gap(25)}\b{LIMB_SITE}\b|\bhairless {LIMB_SITE}\b|\bshiny (?:hairless )?(?:skin|shins?)\b",
    ),
    (
        C.ISCHEMIC_SIGNS,
        "capillary refill",
        r"\b(?:delayed|prolonged|sluggish) cap(?:illary)? refill\b",
    ),
    # --- imaging ---
    (
        C.ARTERIAL_STENOSIS,
        "stenosis of artery",
        r"(?:\b\d{1,3}(?:\s*[-\u2013]\s*\d{1,3})?\s*%\s*)?\b(?:high[- ]grade |severe |critical |flow[- ]limiting |"
        r"focal |long[- ]segment |total |chronic total )?(?:stenos[ie]s|stenotic|occlusions?|occluded|narrowing|narrowed|CTO)\b"
        rf"{gap(25)}\b{LOWER_ARTERY}\b",
    ),
    (
        C.ARTERIAL_STENOSIS,
        "limb arterial obstruction",
        r"\b(?:arterial (?:occlusive|obstructive) disease (?:of|in|involving) (?:the )?(?:left |right |both |bilateral )?"
        r"(?:lower (?:extremit(?:y|ies)|limbs?)|legs?|(?-i:LE|LLE|RLE|BLE))\b"
        r"|(?:arterial obstruction|(?:inflow|outflow|multilevel|multi-level|aortoiliac|femoropopliteal|infrapopliteal|tibial)"
        r" (?:arterial )?(?:obstruction|occlusive disease|disease))\b"
        r"(?: (?:of|in|involving) (?:the )?(?:left |right |both |bilateral )?(?:lower (?:extremit(?:y|ies)|limbs?)|legs?|(?-i:LE|LLE|RLE|BLE))\b)?)",
    ),
    (
        C.ARTERIAL_STENOSIS,
        "artery stenosis",
        rf"\b{LOWER_ARTERY}\b{gap(25)}\b(?:stenos[ie]s|stenotic|occlu(?:sion|ded|sive)|narrow(?:ing|ed)|CTO)\b",
    ),
    # --- diagnosis or revascularisation ---
    (
        C.PAD,
        "PAD abbreviation",
        r"(?<!heating )(?<!abdominal )\b(?-i:PAD|PAOD|PVOD)\b(?!\s+(?:dressing|change|placed))",
    ),
    (C.PAD, "PVD abbreviation", r"\b(?-i:PVD)\b"),
    (
        C.PAD,
        "peripheral arterial disease",
        r"\bperipheral (?:arterial|artery|vascular) (?:occlusive )?disease\b|\bperipheral angiopathy\b",
    ),
    (
        C.PAD,
        "atherosclerosis of limb",
        r"\batherosclerosis of (?:the )?(?:native )?arter(?:y|ies) of (?:the )?(?:\w+ )?(?:extremit(?:y|ies)|legs?|lower limbs?)\b|\b(?:lower (?:extremity|limb)|leg) (?:arterial )?(?:atherosclerosis|ischemia|arterial insufficiency)\b|\barterial insufficiency\b",
    ),
    (
        C.CLTI,
        "limb ischemia",
        r"\b(?:chronic |critical )?limb[- ]threatening ischa?emia\b|\bcritical limb ischa?emia\b|\b(?-i:CLTI)\b",
    ),
    (C.PAD, "poor circulation", rf"\b(?:poor|bad) circulation\b(?:{gap(15)}\b{LIMB_SITE}\b)?"),
    (
        C.PAD,
        "bypass",
        rf"\b{_GRAFT}(?:[- ](?:below|above)[- ]knee)?(?:[- ](?:pop(?:liteal)?|tib(?:ial)?))?\s*(?:arterial\s+)?(?:bypass(?:es)?|grafts?|(?-i:BPG|BPGs|BG))\b"
        # "s/p L fem-pop 2019": the segment named alone, then a date or a pause, is the operation.
        rf"|\b{_GRAFT}\b(?=\s*(?:(?:19|20)\d\d|\d{{1,2}}/\d{{2,4}}|in (?:19|20)\d\d|with\b|using\b|[,;.)]|$))",
    ),
    (
        C.PAD,
        "artery stent",
        rf"\b{_LIMB_ARTERY_SHORT} (?:stents?|stenting|angioplasty|(?-i:PTA)|atherectomy)\b",
    ),
    (
        C.PAD,
        "stent of artery",
        rf"\b(?:stent(?:s|ing)?|angioplasty|atherectomy|endarterectomy)(?: placement)? (?:of|to|in) (?:the )?(?:left |right )?{_LIMB_ARTERY_SHORT}\b",
    ),
    (
        C.PAD,
        "femoral endarterectomy",
        r"\b(?:common )?femoral endarterectomy\b|\blower (?:extremity|limb) revasculari[sz]ation\b|\bperipheral (?:vascular )?intervention\b",
    ),
]
