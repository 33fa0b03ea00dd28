"""Target patterns for venous, CECS, mimic and therapy concepts. Same shape as `arterial_rules`."""

# ruff: noqa: E501  (one pattern or case per line reads better than regexes split mid-token)

from __future__ import annotations

from screens.notes.concepts import Concept
from screens.notes.lexicon import CECS_PAIN, CECS_SITE, PAIN, SPORT, SWELL_SITE, gap, gap_affirmed

C = Concept
_VEIN = (
    r"(?:(?:common |external |internal |deep )?(?:femoral|iliac|popliteal|tibial|peroneal|gastrocnemius"
    r"|soleal|calf|profunda|femoropopliteal)(?:(?:\s*(?:,|and|or|/|&)\s*)(?:common |external |internal )?"
    r"(?:femoral|iliac|popliteal|tibial|peroneal))*\s+veins?|iliofemoral|ilio-femoral|(?-i:CFV|FV|SFV|EIV|CIV|LCIV|PTV))"
)
_THROMBUS = r"(?:thromb(?:us|i|osis|oses|osed)|clots?|(?-i:DVT))"
_CIV = r"(?:(?:left |right )?(?:common )?iliac vein|(?-i:L?CIV|LIV))"
_SWELLING = r"(?:swelling|swollen|edema|oedema|enlargement)"

OTHER_RULES: list[tuple[Concept, str, str]] = [
    # --- venous ---
    (C.DVT, "DVT", r"\b(?-i:DVTs?)\b|\bdeep (?:vein|venous) thromb(?:osis|oses|us|i)\b"),
    (
        C.DVT,
        "thrombus in vein",
        rf"\b(?:(?:acute|chronic|subacute|occlusive|non-?occlusive|partially|residual|new|old|deep)\s+){{0,2}}{_THROMBUS}\b{gap(20)}(?:\b(?:in|of|within|involving|extending (?:in)?to) (?:the )?)?(?:(?:left|right|bilateral|(?-i:L|R|LT|RT|Lt|Rt))\.? )?\b{_VEIN}\b",
    ),
    (C.DVT, "vein thrombosis", rf"\b{_VEIN} (?:(?:\w+ ){{0,1}})?{_THROMBUS}\b"),
    (
        C.ILIAC_VEIN_COMPRESSION,
        "May-Thurner",
        r"\bmay[- ]?thurner(?:'s)?(?: (?:syndrome|anatomy|physiology|lesion|compression))?\b|\bcockett(?:'s)? syndrome\b|\biliac vein compression(?: syndrome)?\b|\biliocaval compression\b|\bnon-?thrombotic iliac vein lesions?\b|\b(?-i:NIVL)\b",
    ),
    (C.ILIAC_VEIN_COMPRESSION, "MTS", r"\b(?-i:MTS)\b"),
    (
        C.ILIAC_VEIN_COMPRESSION,
        "compression of CIV",
        rf"\b(?:compress(?:es|ed|ing|ion)?|narrow(?:s|ed|ing)?|impinge\w*|stenos[ie]s|stenotic|area reduction|diameter reduction){gap(30)}\b{_CIV}\b",
    ),
    (
        C.ILIAC_VEIN_COMPRESSION,
        "CIV compressed",
        rf"\b{_CIV}\b{gap(40)}\b(?:compress(?:ed|ion)|narrowing|stenosis|area reduction|diameter reduction|spur)\b",
    ),
    (
        C.ILIAC_VEIN_STENT,
        "iliac vein stent",
        rf"\b(?:{_CIV}|iliocaval|venous|iliofemoral(?: vein)?) (?:stent(?:s|ing|ed)?|venoplasty|angioplasty)\b",
    ),
    (
        C.ILIAC_VEIN_STENT,
        "stent of CIV",
        rf"\b(?:stent(?:s|ing|ed)?|venoplasty)\b{gap(15)}\b(?:of|in|into|across) (?:the )?{_CIV}\b|\bvenoplasty\b",
    ),
    (
        C.LEG_SWELLING,
        "site swelling",
        rf"\b{SWELL_SITE}(?:\s*(?:,|and|/|&)\s*{SWELL_SITE})*\s+{_SWELLING}\b",
    ),
    (
        C.LEG_SWELLING,
        "swelling of site",
        rf"\b{_SWELLING}(?:,? and (?:\w+ ){{1,2}}?)?\s*(?:of|in|to|involving)\s+(?:the\s+)?(?:entire\s+|whole\s+)?(?:(?:left|right|both|bilateral)\s+)?(?:entire\s+|whole\s+)?{SWELL_SITE}\b",
    ),
    (C.LEG_SWELLING, "swollen leg", rf"\bswollen,?(?: \w+,?){{0,3}}? {SWELL_SITE}\b"),
    (
        C.LEG_SWELLING,
        "leg was swollen",
        rf"\b{SWELL_SITE} (?:was|were|is|are|appeared|became|looked) (?:\w+ )?(?:swollen|edematous|enlarged)\b",
    ),
    (
        C.LEG_SWELLING,
        "pitting edema",
        r"\b(?:pitting|peripheral|dependent|unilateral|bilateral) (?:pitting )?(?:edema|oedema)\b",
    ),
    (C.VENOUS_CLAUDICATION, "venous claudication", r"\bvenous claudication\b"),
    (
        C.VENOUS_CLAUDICATION,
        "bursting pain",
        rf"\bburst(?:ing|s)?\b{gap(40)}\b(?:walk\w*|exercis\w*|stairs|exertion|climb\w*)\b|\b(?:leg|thigh|calf)\b{gap(20)}\bburst\b",
    ),
    # --- CECS ---
    (
        C.EXERTIONAL_LEG_PAIN,
        "site pain sport",
        rf"\b(?:exertional )?{CECS_SITE}\b[^.;:,]{{0,25}}?\b{CECS_PAIN}\b{gap(45)}\b{SPORT}\b",
    ),
    (
        C.EXERTIONAL_LEG_PAIN,
        "pain site sport",
        rf"\b(?:exertional )?{CECS_PAIN}\b[^.;:,]{{0,30}}?\b{CECS_SITE}\b{gap(45)}\b{SPORT}\b",
    ),
    (
        C.EXERTIONAL_LEG_PAIN,
        "sport site pain",
        rf"\b(?:(?:while|when|during|with|on|after) )?{SPORT}\b{gap_affirmed(30)}\b{CECS_SITE}\b[^.;:,]{{0,25}}?\b{CECS_PAIN}\b",
    ),
    (
        C.EXERTIONAL_LEG_PAIN,
        "sport pain site",
        rf"\b(?:(?:while|when|during|with|on|after) )?{SPORT}\b{gap_affirmed(30)}\b{CECS_PAIN}\b[^.;:,]{{0,30}}?\b{CECS_SITE}\b",
    ),
    (
        C.EXERTIONAL_LEG_PAIN,
        "compartment pain",
        r"\b(?:anterior|lateral|posterior|deep posterior) compartment (?:pain|tightness|symptoms)\b",
    ),
    (
        C.CECS,
        "CECS",
        r"\b(?:chronic )?exertional compartment syndromes?\b|\bchronic compartment syndromes?\b|\b(?-i:CECS)\b",
    ),
    (
        C.CECS,
        "fasciotomy",
        r"\b(?:(?:anterior|lateral|posterior|bilateral|four[- ]compartment|emergent|elective|prophylactic) )?fasciotom(?:y|ies)\b",
    ),
    (
        C.ACUTE_COMPARTMENT_SYNDROME,
        "acute compartment syndrome",
        r"\b(?:acute |traumatic )?compartment syndromes?\b|\btense compartments?\b|\bpain (?:on|with) passive (?:stretch|extension|flexion)\b",
    ),
    # --- mimics ---
    (
        C.NEUROGENIC_CLAUDICATION,
        "neurogenic claudication",
        r"\b(?:neurogenic|spinal|pseudo-?|neurologic)\s*claudica(?:tion|ting)\b|\bshopping[- ]cart sign\b",
    ),
    (
        C.NEUROGENIC_CLAUDICATION,
        "relieved by sitting",
        rf"\b(?:{PAIN}|pain|symptoms|heaviness|tingling|numbness)\b{gap(60)}\b(?:reliev\w+|eased?|better|improve[sd]?|resolv\w+|goes away)\b{gap(25)}\b(?:sit(?:s|ting)?(?: down)?|lean(?:s|ing)? forward|bend(?:s|ing)? forward|flexion)\b",
    ),
    (
        C.NEUROGENIC_CLAUDICATION,
        "pain with standing",
        rf"\b(?:{PAIN}|pain|symptoms)\b{gap(30)}\b(?:with|on|after|begins after|brought on by) (?:prolonged )?standing\b",
    ),
    (
        C.NEUROGENIC_CLAUDICATION,
        "uphill easier",
        r"\beasier (?:walking|to walk) uphill\b|\bcan (?:bicycle|cycle|bike|ride a bike)\b[^.;]{0,60}\bcannot walk\b",
    ),
    (
        C.SPINAL_STENOSIS,
        "spinal stenosis",
        r"\b(?:lumbar |spinal |central |central canal |canal |foraminal |lateral recess )+stenosis\b|\b(?-i:L\d)(?:\s*-\s*(?-i:S?\d))?(?: \w+)? stenosis\b|\bstenosis (?:at|of) (?-i:L\d)\b|\b(?-i:M48\.06\d?)\b",
    ),
    (
        C.RADICULOPATHY,
        "radiculopathy",
        r"\bradiculopath(?:y|ies)\b|\bsciatica\b|\bradicular (?:pain|symptoms)\b|\blumbosacral radiculitis\b",
    ),
    (
        C.RADICULOPATHY,
        "shooting pain",
        rf"\b(?:shooting|lancinating|electric(?:al)?|electric-like)\b(?: \w+)?\s+pain\b(?:{gap(40)}\b(?:leg|buttock|thigh|calf|heel|foot)\b)?",
    ),
    (
        C.RADICULOPATHY,
        "straight leg raise",
        r"\b(?:positive|\+)\s+(?:straight[- ]leg[- ]rais\w*|(?-i:SLR))\b|\b(?:straight[- ]leg[- ]rais\w*|(?-i:SLR)) (?:test )?(?:is |was )?positive\b",
    ),
    (
        C.RADICULOPATHY,
        "positional pain",
        r"\b(?:changed|relieved|improved|worse|altered) (?:by|with) (?:shifting|changing|change of|change in) (?:position|posture)\b",
    ),
    (
        C.MUSCLE_CRAMP,
        "night cramps",
        r"\b(?:night(?:time|ly)?|nocturnal|sleep[- ]related|exercise[- ]associated|muscle)\s+(?:(?:leg|calf|foot|muscle)\s+)?(?:cramp(?:s|ing)?|spasms?)\b|\b(?-i:EAMC)\b|\bcharley horses?\b",
    ),
    (
        C.MUSCLE_CRAMP,
        "site cramp",
        r"\b(?:calf|calves|hamstrings?|quadriceps|quads?|thigh|foot|arch|leg|toe|muscle)(?: arch)?\s+(?:cramp(?:s|ing)?|spasms?|locks? up|knotted)\b|\bcramp(?:s|ing)? in (?:the |his |her )?(?:left |right )?(?:calf|hamstring|quadriceps|foot|arch|leg|thigh)\b",
    ),
    (
        C.JAW_CLAUDICATION,
        "jaw claudication",
        r"\b(?:jaw|masseter|tongue|arm|upper extremity|upper limb|hand)\s+claudica(?:tion|ting)\b|\bclaudication of the (?:jaw|arms?)\b",
    ),
    (
        C.STRESS_FRACTURE,
        "stress fracture",
        r"\bstress (?:fractures?|reactions?)\b|\bmedial tibial stress syndrome\b|\b(?-i:MTSS)\b|\bshin splints?\b|\b(?:medial )?shin tenderness\b",
    ),
    # --- alternative explanations and therapy ---
    (C.CELLULITIS, "cellulitis", r"\bcellulitis\b"),
    (
        C.HEART_FAILURE,
        "heart failure",
        r"\b(?:congestive |systolic |diastolic )?heart failure\b|\b(?-i:CHF|HFrEF|HFpEF|HFmrEF)\b",
    ),
    (
        C.COMPRESSION_STOCKINGS,
        "compression",
        r"\bcompression (?:stockings?|hose|socks?|therapy|garments?|wraps?|bandag\w+)\b|\b(?-i:TED) hose\b|\bunna boots?\b|\bmulti-?layer compression\b",
    ),
    (
        C.JOINT_PAIN,
        "joint arthritis",
        r"\b(?:hip|knee|ankle|patellofemoral|tibiofemoral)s?\s+(?:osteo)?arthritis\b|\b(?:osteo)?arthritis (?:of|in) (?:the )?(?:(?:left|right|both|bilateral) )?(?:hips?|knees?|ankles?)\b"
        r"|\b(?:hip|knee)s? (?-i:OA|DJD)\b|\b(?-i:OA|DJD) (?:of )?(?:the )?(?:(?:left|right|(?-i:R|L)) )?(?:hips?|knees?)\b|\bdegenerative joint disease\b",
    ),
    (
        C.RESTLESS_LEGS,
        "restless legs",
        r"\brestless legs?(?: syndrome)?\b|\b(?-i:RLS)\b|\bwillis[- ]ekbom\b|\b(?:irresistible |strong |constant )?urge to move\b",
    ),
    (
        C.NONATHEROSCLEROTIC_ARTERIAL,
        "non-atherosclerotic arterial disease",
        r"\b(?:atheroembol\w*|cholesterol (?:crystal )?embol\w*|blue toes?(?: syndrome)?|trash foot"
        r"|(?<!pulmonary )(?:arterial |distal |peripheral )?embol(?:us|i|ism|ic (?:occlusion|event|disease|source|phenomen\w+|toe))"
        r"|popliteal (?:artery )?entrapment(?: syndrome)?|(?-i:PAES)|vasculitis|(?:giant cell |takayasu'?s? )arteritis"
        r"|thromboangiitis obliterans|buerger'?s?(?: disease)?|raynaud'?s?(?: phenomenon| syndrome| disease)?|frost ?bit\w*"
        r"|cystic adventitial disease|fibromuscular dysplasia|(?:arterial|iliac artery|femoral artery) dissection)\b",
    ),
    (
        C.OTHER_SWELLING_CAUSE,
        "other cause of leg swelling",
        r"\bbaker'?s? cysts?\b|\bpopliteal (?:synovial )?cysts?\b|\blymph(?:o)?edema\b|\blymphoedema\b|\bhematomas?\b"
        r"|\b(?:ankle|knee|calf) (?:sprain|strain|contusion)\b|\bmuscle (?:tear|strain)\b|\bplantaris (?:tear|rupture)\b|\bpseudo-?thrombophlebitis\b",
    ),
    (
        C.AMPUTATION,
        "amputation",
        r"\b(?-i:BKA|AKA|TMA|BKAs|AKAs)\b|\b(?:below|above|through)[- ](?:the[- ])?knee amputations?\b"
        r"|\b(?:transmetatarsal|toe|ray|hallux|digit(?:al)?|forefoot|chopart|lisfranc|syme'?s?|partial foot|minor|major) amputations?\b"
        r"|\bamputation of (?:the )?(?:(?:left|right) )?(?:(?:great|big|first|second|third|fourth|fifth|\d(?:st|nd|rd|th)) )?(?:toes?|hallux|foot|leg|digits?|ray)\b"
        r"|\b(?:toes?|hallux|foot|leg|digits?) (?:was |were )?amputated\b",
    ),
    (
        C.ANTICOAGULATION,
        "anticoagulant",
        r"\banticoagula\w*|\b(?:apixaban|eliquis|rivaroxaban|xarelto|warfarin|coumadin|dabigatran|pradaxa|edoxaban|savaysa|enoxaparin|lovenox|heparin|fondaparinux|arixtra)\b|\b(?-i:DOAC|NOAC)s?\b",
    ),
]
