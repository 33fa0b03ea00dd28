"""The concepts the notes NLP recognises. Rules refer to these names; the NLP must emit only these.

Each concept's comment says what counts. Mentions carry modifiers (negated, historical, family,
hypothetical, uncertain); a rule decides which modifiers it accepts (by default: none).
"""

from enum import StrEnum


class Concept(StrEnum):
    # --- arterial symptoms and signs ---
    CLAUDICATION = "claudication"  # vascular intermittent claudication: exertional calf/thigh/buttock
    # pain, cramp, ache or fatigue relieved by rest/standing still ("cramping in the right calf after
    # two blocks", "leg fatigue climbing stairs that goes away when she rests", "claudication")
    REST_PAIN = "rest_pain"  # ischemic rest pain: foot/toe pain at rest or at night, worse lying flat
    # or elevated, relieved by dependency ("sleeps in the recliner with the foot down")
    ARTERIAL_ULCER = "arterial_ulcer"  # lower-limb ulcer/wound with arterial wording or a non-healing
    # leg/foot wound ("nonhealing ulcer lateral malleolus", "arterial ulcer left heel", "tip-of-toe ulcer")
    NONARTERIAL_ULCER = "nonarterial_ulcer"  # venous stasis, pressure injury/decubitus, neuropathic ulcer
    GANGRENE = "gangrene"  # limb gangrene ("dry gangrene of the left 2nd toe"); never Fournier's, gas
    # gangrene, gangrenous appendicitis/cholecystitis, pyoderma gangrenosum
    PULSE_DEFICIT = "pulse_deficit"  # absent/diminished DP/PT/popliteal/femoral pulses, monophasic signals
    ISCHEMIC_SIGNS = "ischemic_signs"  # dependent rubor, elevation pallor, cool feet, shiny hairless shins
    ARTERIAL_STENOSIS = "arterial_stenosis"  # imaging: stenosis/occlusion of a lower-limb artery
    # (iliac, CFA, SFA, popliteal, tibial, peroneal); not carotid/coronary/renal/subclavian
    PAD = "pad"  # a PAD/PVD/PAOD/ASO diagnosis, or a lower-limb revascularization ("s/p SFA stent",
    # "fem-pop bypass"); HISTORICAL mentions mean already diagnosed
    # --- measurements (value + unit + laterality + qualifier) ---
    ABI = "abi"  # ankle-brachial index; value unitless; qualifier "noncompressible" when stated so
    # (value may be None), "post_exercise" for exercise/treadmill values, "rest" otherwise
    TBI = "tbi"  # toe-brachial index (never traumatic brain injury)
    TOE_PRESSURE = "toe_pressure"  # mmHg
    ANKLE_PRESSURE = "ankle_pressure"  # mmHg
    TCPO2 = "tcpo2"  # mmHg
    COMPARTMENT_PRESSURE = "compartment_pressure"  # mmHg; qualifier "pre_exercise" |
    # "post_exercise_1min" | "post_exercise_5min" | "post_exercise"; compartment in laterality? no:
    # compartment name goes after a colon in qualifier, e.g. "post_exercise_1min:anterior"
    # --- venous ---
    DVT = "dvt"  # deep vein thrombosis; qualifier: "proximal" (iliac, common femoral, femoral,
    # iliofemoral) | "distal" (popliteal, calf) | None, suffixed ":acute" or ":chronic" when stated
    ILIAC_VEIN_COMPRESSION = "iliac_vein_compression"  # imaging/IVUS compression of the (left) common
    # iliac vein, non-thrombotic iliac vein lesion, May-Thurner / iliac vein compression syndrome
    # (MTS only with venous or iliac context); HISTORICAL = already known
    ILIAC_VEIN_STENT = "iliac_vein_stent"  # iliac vein stent / venoplasty performed (already managed)
    LEG_SWELLING = "leg_swelling"  # swelling/edema of a leg, with laterality
    VENOUS_CLAUDICATION = "venous_claudication"  # bursting/tight leg pain after walking relieved by
    # elevation; "venous claudication"
    # --- CECS ---
    EXERTIONAL_LEG_PAIN = "exertional_leg_pain"  # CECS pattern: exertional shin/calf/lateral leg pain,
    # tightness or burning during running/marching/sport at a predictable point, resolving with rest
    CECS = "cecs"  # chronic exertional compartment syndrome named; HISTORICAL or "s/p fasciotomy" = known
    # --- mimics and exclusions ---
    NEUROGENIC_CLAUDICATION = "neurogenic_claudication"  # neurogenic/spinal/pseudo-claudication, leg
    # pain relieved by sitting or leaning forward (shopping-cart sign), brought on by standing
    SPINAL_STENOSIS = "spinal_stenosis"  # lumbar spinal/central canal stenosis
    RADICULOPATHY = "radiculopathy"  # sciatica, radicular/shooting pain, positive straight-leg raise
    MUSCLE_CRAMP = "muscle_cramp"  # exercise-associated or nocturnal cramps relieved by stretching
    JAW_CLAUDICATION = "jaw_claudication"  # giant cell arteritis symptom; never leg claudication
    STRESS_FRACTURE = "stress_fracture"  # incl. medial tibial stress syndrome / shin splints
    ACUTE_COMPARTMENT_SYNDROME = "acute_compartment_syndrome"  # traumatic/acute, emergent fasciotomy
    CELLULITIS = "cellulitis"
    HEART_FAILURE = "heart_failure"  # systemic cause of bilateral edema
    COMPRESSION_STOCKINGS = "compression_stockings"  # compression therapy ordered/advised
    ANTICOAGULATION = "anticoagulation"  # on apixaban/rivaroxaban/warfarin/heparin etc.
