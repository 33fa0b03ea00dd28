"""The concepts the notes NLP recognises. Rules refer to these names; the NLP emits only these.

Each concept's comment says what counts. Mentions carry modifiers (negated, historical, family,
hypothetical, uncertain); a rule decides which modifiers it accepts (by default: none).
"""

from enum import StrEnum


class Concept(StrEnum):
    # --- arterial symptoms and signs ---
    # Vascular intermittent claudication: exertional calf/thigh/buttock pain, cramp, ache or
    # fatigue relieved by rest or standing still ("cramping in the right calf after two blocks",
    # "leg fatigue climbing stairs that goes away when she rests", "claudication").
    CLAUDICATION = "claudication"
    # Ischemic rest pain: foot/toe pain at rest or at night, worse lying flat or elevated,
    # relieved by dependency ("sleeps in the recliner with the foot down").
    REST_PAIN = "rest_pain"
    # Lower-limb ulcer/wound with arterial wording, or a non-healing leg/foot wound
    # ("nonhealing ulcer lateral malleolus", "arterial ulcer left heel", "tip-of-toe ulcer").
    ARTERIAL_ULCER = "arterial_ulcer"
    # Venous stasis, pressure injury/decubitus, neuropathic ulcer.
    NONARTERIAL_ULCER = "nonarterial_ulcer"
    # Limb gangrene ("dry gangrene of the left 2nd toe"); never Fournier's, gas gangrene,
    # gangrenous appendicitis/cholecystitis or pyoderma gangrenosum.
    GANGRENE = "gangrene"
    # Absent/diminished DP/PT/popliteal/femoral pulses, monophasic signals.
    PULSE_DEFICIT = "pulse_deficit"
    # Dependent rubor, elevation pallor, cool feet, shiny hairless shins.
    ISCHEMIC_SIGNS = "ischemic_signs"
    # Imaging: stenosis/occlusion of a lower-limb artery (iliac, CFA, SFA, popliteal, tibial,
    # peroneal); not carotid, coronary, renal or subclavian.
    ARTERIAL_STENOSIS = "arterial_stenosis"
    # A PAD/PVD/PAOD diagnosis, or a lower-limb revascularization ("s/p SFA stent",
    # "fem-pop bypass"). HISTORICAL mentions mean already diagnosed.
    PAD = "pad"
    # Critical / chronic limb-threatening ischemia named as such ("critical limb ischemia",
    # "CLTI"). Affirmed: a current CLTI diagnosis; HISTORICAL: known (and PAD is known too).
    CLTI = "clti"

    # --- measurements (value + unit + laterality + qualifier) ---
    # Ankle-brachial index, unit "1". Qualifier "noncompressible" when stated so or > 1.40
    # (value may be None), "indeterminate" when it could not be obtained, "post_exercise" for
    # exercise/treadmill values, "rest" otherwise.
    ABI = "abi"
    # Toe-brachial index, unit "1" (never traumatic brain injury); qualifier as for ABI timing.
    TBI = "tbi"
    TOE_PRESSURE = "toe_pressure"  # mm[Hg]
    ANKLE_PRESSURE = "ankle_pressure"  # mm[Hg]
    TCPO2 = "tcpo2"  # mm[Hg]
    # Intramuscular compartment pressure, mm[Hg]. Qualifier is the timing, then the compartment
    # after a colon when stated: timing is "pre_exercise" | "post_exercise_1min" |
    # "post_exercise_5min" | "post_exercise"; e.g. "post_exercise_1min:anterior",
    # "pre_exercise:deep_posterior". Laterality holds the side, not the compartment.
    COMPARTMENT_PRESSURE = "compartment_pressure"

    # --- venous ---
    # Deep vein thrombosis. Qualifier "proximal" (iliac, common femoral, femoral, iliofemoral)
    # or "distal" (popliteal, calf) or None, suffixed ":acute" or ":chronic" when stated.
    DVT = "dvt"
    # Imaging/IVUS compression of the (left) common iliac vein, non-thrombotic iliac vein lesion,
    # May-Thurner / iliac vein compression syndrome (MTS only with venous or iliac context).
    # HISTORICAL = already known.
    ILIAC_VEIN_COMPRESSION = "iliac_vein_compression"
    # Iliac vein stent / venoplasty performed (already managed).
    ILIAC_VEIN_STENT = "iliac_vein_stent"
    # Swelling/edema of a leg, with laterality.
    LEG_SWELLING = "leg_swelling"
    # Bursting/tight leg pain after walking relieved by elevation; "venous claudication".
    VENOUS_CLAUDICATION = "venous_claudication"

    # --- CECS ---
    # CECS pattern: exertional shin/calf/lateral leg pain, tightness or burning during
    # running/marching/sport at a predictable point, resolving with rest.
    EXERTIONAL_LEG_PAIN = "exertional_leg_pain"
    # Chronic exertional compartment syndrome named; HISTORICAL or "s/p fasciotomy" = known.
    CECS = "cecs"

    # --- mimics and exclusions ---
    # Neurogenic/spinal/pseudo-claudication; leg pain relieved by sitting or leaning forward
    # (shopping-cart sign), or brought on by standing.
    NEUROGENIC_CLAUDICATION = "neurogenic_claudication"
    SPINAL_STENOSIS = "spinal_stenosis"  # lumbar spinal/central canal stenosis
    RADICULOPATHY = "radiculopathy"  # sciatica, radicular/shooting pain, positive SLR
    MUSCLE_CRAMP = "muscle_cramp"  # exercise-associated or nocturnal cramps relieved by stretching
    JAW_CLAUDICATION = "jaw_claudication"  # jaw/arm claudication (GCA, subclavian); never leg
    STRESS_FRACTURE = "stress_fracture"  # incl. medial tibial stress syndrome / shin splints
    ACUTE_COMPARTMENT_SYNDROME = "acute_compartment_syndrome"  # traumatic, emergent fasciotomy
    CELLULITIS = "cellulitis"
    HEART_FAILURE = "heart_failure"  # systemic cause of bilateral edema
    COMPRESSION_STOCKINGS = "compression_stockings"  # compression therapy ordered/advised
    ANTICOAGULATION = "anticoagulation"  # on apixaban/rivaroxaban/warfarin/heparin etc.
    # Hip/knee/ankle joint pain or arthritis with walking (2024 guideline Table 7 mimic):
    # "hip/groin ache with walking, worse getting out of the car", "severe R hip OA".
    JOINT_PAIN = "joint_pain"
    # Restless legs: an urge to move, eased by moving (the walking relief RLS shares with rest
    # pain is the trap).
    RESTLESS_LEGS = "restless_legs"
    # Non-atherosclerotic arterial disease: embolism/atheroembolism (blue toe), popliteal artery
    # entrapment, vasculitis, dissection, Buerger's, Raynaud's, frostbite. Not PAD or CLTI.
    NONATHEROSCLEROTIC_ARTERIAL = "nonatherosclerotic_arterial"
    # Other explanations of a swollen leg: Baker's cyst, lymphedema, hematoma, acute trauma.
    OTHER_SWELLING_CAUSE = "other_swelling_cause"
    # A leg, foot or toe amputation (side in laterality); it ends gangrene or ulcer on that side.
    AMPUTATION = "amputation"
