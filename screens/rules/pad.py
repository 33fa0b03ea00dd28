"""Undiagnosed lower-extremity peripheral artery disease.

Case-finding in symptomatic or at-risk patients (USPSTF 2018 "I" statement: not population
screening). Flags objective or clinical evidence of PAD when no PAD diagnosis or lower-limb
revascularization appears anywhere in the record. Measurements and note text drive it; codes
exclude the already diagnosed (Fan 2013: ICD-9 440.2x alone found 38.7% of community PAD).

Owner: vascular medicine clinical lead (see CODEOWNERS).
Source: 2024 ACC/AHA multisociety PAD guideline (ABI <= 0.90 abnormal, 0.91-0.99 borderline,
> 1.40 noncompressible -> toe pressure/TBI; TBI <= 0.70 abnormal per 2016 Table 6 and Friberg 2022);
post-exercise ABI fall >= 20% (2016 supporting text; Afzal 2017); clinical-reference.md 3.1, 5, 7.
v3  an abnormal index lasts until a newer normal one on the same side, and does not count on a
    leg with an embolic, entrapped or other non-atherosclerotic artery; coded indices count only
    at rest (a "Post-exercise ABI" result is judged by the exercise criterion); a note may restate
    an older abnormal index (history counts, with its stated date); an embolic, entrapment or
    other non-atherosclerotic occlusion cancels imaging-only evidence; a young patient's
    exertional pain with a normal ABI is not PAD (CECS screens it); hip or knee joint pain and
    restless legs are shown as mimics; a normal index after exercise ends a symptom-only flag; a critically low toe pressure, TcPO2 or ankle pressure, or
    ischemic rest pain or tissue loss with an abnormal arterial exam, is PAD evidence too (a sentence about joint pain is not read as claudication,
    but arthritis elsewhere in the chart does not cancel claudication: the two coexist).
v2  a note naming CLTI counts as known PAD (the NLP now emits CLTI apart from PAD).
v1  initial (with the compression-therapy safety alert).
"""

from screens.dsl import (
    ANY_TIME,
    Alert,
    Criterion,
    Screen,
    age,
    all_of,
    any_of,
    days,
    diagnosis,
    exercise_drop,
    lab,
    none_of,
    note_mention,
    procedure,
)
from screens.model import Modifier, Priority
from screens.notes.concepts import Concept
from screens.valuesets import load

MEASUREMENT_LOOKBACK = days(730)
SYMPTOM_LOOKBACK = days(365)
RESTING = "rest|resting"  # note qualifiers for a resting index; exercise values are judged apart
AT_REST = "rest|pre_exercise"  # a coded result's timing, read from its name
HISTORY = frozenset({Modifier.HISTORICAL})  # an index restated from the past still happened

# An embolic, entrapped or inflamed artery lowers the index of its leg without atherosclerosis.
nonatherosclerotic_leg_dx = Criterion(
    id="pad.nonatherosclerotic_leg_dx",
    reads_as="A diagnosis of embolism, entrapment, dissection, vasculitis or another non-atherosclerotic arterial disease in the last 2 years",
    finds=diagnosis(load("embolic_or_nonatherosclerotic_arterial")),
    lookback=days(730),
)
nonatherosclerotic_leg_note = Criterion(
    id="pad.nonatherosclerotic_leg_note",
    reads_as="A note describes embolism, popliteal entrapment, vasculitis or another non-atherosclerotic arterial cause in the last 2 years",
    finds=note_mention(Concept.NONATHEROSCLEROTIC_ARTERIAL, allow=frozenset({Modifier.HISTORICAL})),
    lookback=days(730),
)
NOT_ATHEROSCLEROTIC = (nonatherosclerotic_leg_dx, nonatherosclerotic_leg_note)

# A newer normal index on the same side supersedes an older abnormal one.
normal_abi = Criterion(
    id="pad.normal_abi",
    reads_as="A resting ankle-brachial index between 1.00 and 1.40 (coded result)",
    finds=lab(load("abi"), at_least=1.00, at_most=1.40, unit="1", timing=AT_REST),
    lookback=ANY_TIME,
)
normal_abi_note = Criterion(
    id="pad.normal_abi_note",
    reads_as="A note or report gives a resting ankle-brachial index between 1.00 and 1.40",
    finds=note_mention(
        Concept.ABI, at_least=1.00, at_most=1.40, qualifier=f"(?:{RESTING})?", allow=HISTORY
    ),
    lookback=ANY_TIME,
)
normal_tbi = Criterion(
    id="pad.normal_tbi",
    reads_as="A toe-brachial index above 0.70 (coded result or note)",
    finds=lab(load("tbi"), above=0.70, at_most=1.60, unit="1", timing=AT_REST),
    lookback=ANY_TIME,
)
normal_tbi_note = Criterion(
    id="pad.normal_tbi_note",
    reads_as="A note or report gives a toe-brachial index above 0.70",
    finds=note_mention(Concept.TBI, above=0.70, allow=HISTORY),
    lookback=ANY_TIME,
)
NEWER_NORMAL_ABI = (normal_abi, normal_abi_note)
NEWER_NORMAL_TBI = (normal_tbi, normal_tbi_note)

low_abi = Criterion(
    id="pad.low_abi",
    reads_as="A resting ankle-brachial index of 0.90 or lower in either leg (coded result), not followed by a normal one on that side",
    finds=lab(load("abi"), at_most=0.90, unit="1", timing=AT_REST),
    lookback=MEASUREMENT_LOOKBACK,
    until=NEWER_NORMAL_ABI,
    except_sides=NOT_ATHEROSCLEROTIC,
)
low_abi_note = Criterion(
    id="pad.low_abi_note",
    reads_as="A note or report gives a resting ankle-brachial index of 0.90 or lower in either leg (a restated past value counts at its stated date), not followed by a normal one on that side",
    finds=note_mention(Concept.ABI, at_most=0.90, qualifier=f"(?:{RESTING})?", allow=HISTORY),
    lookback=MEASUREMENT_LOOKBACK,
    until=NEWER_NORMAL_ABI,
    except_sides=NOT_ATHEROSCLEROTIC,
)
low_tbi = Criterion(
    id="pad.low_tbi",
    reads_as="A toe-brachial index of 0.70 or lower (coded result), not followed by a normal one",
    finds=lab(load("tbi"), at_most=0.70, unit="1", timing=AT_REST),
    lookback=MEASUREMENT_LOOKBACK,
    until=NEWER_NORMAL_TBI,
    except_sides=NOT_ATHEROSCLEROTIC,
)
low_tbi_note = Criterion(
    id="pad.low_tbi_note",
    reads_as="A note or report gives a toe-brachial index of 0.70 or lower, not followed by a normal one",
    finds=note_mention(Concept.TBI, at_most=0.70, allow=HISTORY),
    lookback=MEASUREMENT_LOOKBACK,
    until=NEWER_NORMAL_TBI,
    except_sides=NOT_ATHEROSCLEROTIC,
)
noncompressible_abi = Criterion(
    id="pad.noncompressible_abi",
    reads_as="A resting ankle-brachial index above 1.40 (noncompressible arteries), coded",
    finds=lab(load("abi"), above=1.40, unit="1", timing=AT_REST),
    lookback=MEASUREMENT_LOOKBACK,
)
noncompressible_abi_text = Criterion(
    id="pad.noncompressible_abi_text",
    reads_as="An ankle-brachial index result reported as noncompressible",
    finds=lab(
        load("abi"), unit="1", text=r"non-?compress|incompress|poorly compress|^\s*>\s*1\.[34]"
    ),
    lookback=MEASUREMENT_LOOKBACK,
)
noncompressible_abi_note = Criterion(
    id="pad.noncompressible_abi_note",
    reads_as="A note or report describes noncompressible ankle arteries or an index above 1.40",
    finds=note_mention(Concept.ABI, qualifier="noncompressible"),
    lookback=MEASUREMENT_LOOKBACK,
)
high_abi_note = Criterion(
    id="pad.high_abi_note",
    reads_as="A note or report gives an ankle-brachial index above 1.40",
    finds=note_mention(Concept.ABI, above=1.40),
    lookback=MEASUREMENT_LOOKBACK,
)
exercise_abi_drop = Criterion(
    id="pad.exercise_abi_drop",
    reads_as="A post-exercise ankle-brachial index at least 20% below the resting value",
    finds=exercise_drop(Concept.ABI, min_drop=0.20),
    lookback=MEASUREMENT_LOOKBACK,
)
borderline_abi = Criterion(
    id="pad.borderline_abi",
    reads_as="A resting ankle-brachial index between 0.91 and 0.99 (borderline), coded",
    finds=lab(load("abi"), above=0.90, below=1.00, unit="1", timing=AT_REST),
    lookback=MEASUREMENT_LOOKBACK,
)
borderline_abi_note = Criterion(
    id="pad.borderline_abi_note",
    reads_as="A note or report gives a resting ankle-brachial index between 0.91 and 0.99",
    finds=note_mention(Concept.ABI, above=0.90, below=1.00, qualifier=f"(?:{RESTING})?"),
    lookback=MEASUREMENT_LOOKBACK,
)
exertional_symptoms = Criterion(
    id="pad.exertional_leg_symptoms",
    reads_as="A note describes exertional leg pain or fatigue that is not clearly claudication",
    finds=note_mention(Concept.EXERTIONAL_LEG_PAIN),
    lookback=SYMPTOM_LOOKBACK,
)
arterial_stenosis_note = Criterion(
    id="pad.arterial_stenosis_imaging",
    reads_as="Imaging describes stenosis or occlusion of a lower-limb artery",
    finds=note_mention(Concept.ARTERIAL_STENOSIS),
    lookback=MEASUREMENT_LOOKBACK,
)
claudication_note = Criterion(
    id="pad.claudication_note",
    reads_as="A note describes vascular claudication (exertional leg pain relieved by rest), affirmed for the patient",
    finds=note_mention(Concept.CLAUDICATION),
    lookback=SYMPTOM_LOOKBACK,
)

# A limb critically short of blood, or ischemic pain or tissue loss with an abnormal arterial
# exam, is arterial disease before any index is taken (vignettes labelling; GVG 2019).
SEVERE = days(365)
toe_pressure_low = Criterion(
    id="pad.toe_pressure_below_30",
    reads_as="A resting toe systolic pressure below 30 mmHg, coded or in a note",
    finds=lab(load("toe_pressure"), below=30, unit="mm[Hg]", timing=AT_REST),
    lookback=SEVERE,
)
toe_pressure_low_note = Criterion(
    id="pad.toe_pressure_below_30_note",
    reads_as="A note or report gives a resting toe systolic pressure below 30 mmHg",
    finds=note_mention(Concept.TOE_PRESSURE, below=30, qualifier=f"(?:{RESTING})?"),
    lookback=SEVERE,
)
tcpo2_low = Criterion(
    id="pad.tcpo2_below_30",
    reads_as="A transcutaneous oxygen pressure below 30 mmHg, coded",
    finds=lab(load("tcpo2"), below=30, unit="mm[Hg]", timing=AT_REST),
    lookback=SEVERE,
)
tcpo2_low_note = Criterion(
    id="pad.tcpo2_below_30_note",
    reads_as="A note or report gives a transcutaneous oxygen pressure below 30 mmHg",
    finds=note_mention(Concept.TCPO2, below=30, qualifier=f"(?:{RESTING})?"),
    lookback=SEVERE,
)
ankle_pressure_low = Criterion(
    id="pad.ankle_pressure_below_50",
    reads_as="A resting ankle systolic pressure below 50 mmHg, coded",
    finds=lab(load("ankle_pressure"), below=50, unit="mm[Hg]", timing=AT_REST),
    lookback=SEVERE,
)
ankle_pressure_low_note = Criterion(
    id="pad.ankle_pressure_below_50_note",
    reads_as="A note or report gives a resting ankle systolic pressure below 50 mmHg",
    finds=note_mention(Concept.ANKLE_PRESSURE, below=50, qualifier=f"(?:{RESTING})?"),
    lookback=SEVERE,
)
ischemic_pain_or_tissue_loss = Criterion(
    id="pad.ischemic_rest_pain_or_tissue_loss_note",
    reads_as="A note describes ischemic rest pain, an arterial or non-healing ulcer, or gangrene of the foot or leg",
    finds=note_mention(Concept.REST_PAIN),
    lookback=SYMPTOM_LOOKBACK,
)
arterial_ulcer_note = Criterion(
    id="pad.arterial_ulcer_note",
    reads_as="A note describes an arterial, ischemic or non-healing ulcer of the foot or leg",
    finds=note_mention(Concept.ARTERIAL_ULCER),
    lookback=SYMPTOM_LOOKBACK,
)
gangrene_note = Criterion(
    id="pad.gangrene_note",
    reads_as="A note describes gangrene of the foot, toe or leg",
    finds=note_mention(Concept.GANGRENE),
    lookback=SYMPTOM_LOOKBACK,
)
abnormal_arterial_exam = Criterion(
    id="pad.abnormal_arterial_exam_note",
    reads_as="A note records absent or diminished foot pulses, monophasic signals, dependent rubor or elevation pallor",
    finds=note_mention(Concept.PULSE_DEFICIT),
    lookback=SYMPTOM_LOOKBACK,
)
ischemic_skin_signs = Criterion(
    id="pad.ischemic_signs_note",
    reads_as="A note records dependent rubor, elevation pallor, cool feet or other ischemic skin signs",
    finds=note_mention(Concept.ISCHEMIC_SIGNS),
    lookback=SYMPTOM_LOOKBACK,
)

# Mimics: shown on the item as alternative explanations; a mimic removes a flag that rests on
# symptoms alone, never one that rests on a measurement.
neurogenic_note = Criterion(
    id="pad.neurogenic_claudication_note",
    reads_as="A note describes neurogenic claudication or pain relieved by sitting or bending forward",
    finds=note_mention(Concept.NEUROGENIC_CLAUDICATION),
    lookback=SYMPTOM_LOOKBACK,
)
spinal_stenosis_dx = Criterion(
    id="pad.spinal_stenosis_dx",
    reads_as="A diagnosis of lumbar spinal stenosis",
    finds=diagnosis(load("spinal_stenosis")),
    lookback=ANY_TIME,
)
spinal_stenosis_note = Criterion(
    id="pad.spinal_stenosis_note",
    reads_as="A note describes lumbar spinal stenosis",
    finds=note_mention(Concept.SPINAL_STENOSIS),
    lookback=SYMPTOM_LOOKBACK,
)
venous_claudication_note = Criterion(
    id="pad.venous_claudication_note",
    reads_as="A note describes venous claudication (bursting pain relieved by elevation)",
    finds=note_mention(Concept.VENOUS_CLAUDICATION),
    lookback=SYMPTOM_LOOKBACK,
)
radiculopathy = Criterion(
    id="pad.radiculopathy",
    reads_as="A diagnosis of lumbar radiculopathy or sciatica",
    finds=diagnosis(load("radiculopathy")),
    lookback=SYMPTOM_LOOKBACK,
)
radiculopathy_note = Criterion(
    id="pad.radiculopathy_note",
    reads_as="A note describes radicular pain, sciatica or a positive straight-leg raise",
    finds=note_mention(Concept.RADICULOPATHY),
    lookback=SYMPTOM_LOOKBACK,
)
cramps_note = Criterion(
    id="pad.muscle_cramp_note",
    reads_as="A note describes exercise-associated or nocturnal muscle cramps",
    finds=note_mention(Concept.MUSCLE_CRAMP),
    lookback=SYMPTOM_LOOKBACK,
)
cramps_dx = Criterion(
    id="pad.leg_cramps_dx",
    reads_as="A diagnosis of leg cramps or calf spasm",
    finds=diagnosis(load("leg_cramps")),
    lookback=SYMPTOM_LOOKBACK,
)
nonatherosclerotic_dx = Criterion(
    id="pad.nonatherosclerotic_arterial_dx",
    reads_as="A diagnosis of embolic, dissecting, vasospastic or inflammatory arterial disease",
    finds=diagnosis(load("embolic_or_nonatherosclerotic_arterial")),
    lookback=ANY_TIME,
)
nonatherosclerotic_note = Criterion(
    id="pad.nonatherosclerotic_arterial_note",
    reads_as="A note describes embolism, atheroembolism, popliteal artery entrapment, vasculitis, frostbite or another non-atherosclerotic arterial cause",
    finds=note_mention(Concept.NONATHEROSCLEROTIC_ARTERIAL, allow=HISTORY),
    lookback=ANY_TIME,
)
joint_pain_note = Criterion(
    id="pad.joint_pain_note",
    reads_as="A note describes hip or knee joint pain or arthritis with walking",
    finds=note_mention(Concept.JOINT_PAIN),
    lookback=SYMPTOM_LOOKBACK,
)
restless_legs_note = Criterion(
    id="pad.restless_legs_note",
    reads_as="A note describes restless legs (an urge to move, eased by moving)",
    finds=note_mention(Concept.RESTLESS_LEGS),
    lookback=SYMPTOM_LOOKBACK,
)
adult = Criterion(
    id="pad.age_40_or_older",
    reads_as="Age 40 or older at the screening date (exertional leg pain before 40 is compartment, entrapment or another non-atherosclerotic cause until shown otherwise)",
    finds=age(at_least=40),
)

# Already diagnosed anywhere in the record.
pad_diagnosed = Criterion(
    id="pad.diagnosed",
    reads_as="A PAD diagnosis at any time (I70.2-I70.7, I70.92, I73.9, diabetic angiopathy, angioplasty status, ICD-9 440.2x, SNOMED PAD)",
    finds=diagnosis(load("pad_diagnosis")),
    lookback=ANY_TIME,
)
revascularized = Criterion(
    id="pad.revascularized",
    reads_as="A lower-limb arterial revascularization at any time (endovascular CPT before or after 2026, bypass, ICD-10-PCS)",
    finds=procedure(load("lower_limb_revascularization")),
    lookback=ANY_TIME,
)
known_pad_note = Criterion(
    id="pad.known_pad_note",
    reads_as="A note names PAD or a past lower-limb revascularization for the patient (history counts as known)",
    finds=note_mention(Concept.PAD, allow=frozenset({Modifier.HISTORICAL})),
    lookback=ANY_TIME,
)

very_low_abi = Criterion(
    id="pad.abi_below_050",
    reads_as="An ankle-brachial index below 0.50 (coded result)",
    finds=lab(load("abi"), below=0.50, unit="1"),
    lookback=MEASUREMENT_LOOKBACK,
)
very_low_abi_note = Criterion(
    id="pad.abi_below_050_note",
    reads_as="A note or report gives an ankle-brachial index below 0.50",
    finds=note_mention(Concept.ABI, below=0.50),
    lookback=MEASUREMENT_LOOKBACK,
)
compression_note = Criterion(
    id="pad.compression_therapy_note",
    reads_as="A note orders or advises compression stockings or wraps",
    finds=note_mention(Concept.COMPRESSION_STOCKINGS),
    lookback=days(90),
)
known_clti_note = Criterion(
    id="pad.known_clti_note",
    reads_as="A note names critical or chronic limb-threatening ischemia for the patient (PAD is then known)",
    finds=note_mention(Concept.CLTI, allow=frozenset({Modifier.HISTORICAL})),
    lookback=ANY_TIME,
)

# A normal index after exercise rules out arterial disease as the cause of exertional symptoms
# (2024 ACC/AHA: exertional symptoms with a normal resting ABI -> exercise ABI).
normal_exercise_abi = Criterion(
    id="pad.normal_exercise_abi",
    reads_as="An ankle-brachial index of 0.90 or more after exercise (coded result)",
    finds=lab(load("abi"), at_least=0.90, at_most=1.40, unit="1", timing="post_exercise.*"),
    lookback=MEASUREMENT_LOOKBACK,
)
normal_exercise_abi_note = Criterion(
    id="pad.normal_exercise_abi_note",
    reads_as="A note or report gives an ankle-brachial index of 0.90 or more after exercise",
    finds=note_mention(Concept.ABI, at_least=0.90, at_most=1.40, qualifier="post_exercise.*"),
    lookback=MEASUREMENT_LOOKBACK,
)

symptom_mimics = any_of(
    neurogenic_note,
    spinal_stenosis_dx,
    spinal_stenosis_note,
    venous_claudication_note,
    radiculopathy_note,
    cramps_note,
    normal_exercise_abi,
    normal_exercise_abi_note,
    # (A patient under 40 has no symptom-only branch: see pad.age_40_or_older.)
)

PAD = Screen(
    id="pad",
    version=3,
    title="Undiagnosed peripheral artery disease",
    priority=Priority.ROUTINE,
    summary="Objective or clinical evidence of lower-extremity PAD with no PAD diagnosis or revascularization anywhere in the record.",
    include=any_of(
        low_abi,
        low_abi_note,
        low_tbi,
        low_tbi_note,
        all_of(
            any_of(
                noncompressible_abi,
                noncompressible_abi_text,
                noncompressible_abi_note,
                high_abi_note,
            ),
            any_of(low_tbi, low_tbi_note),
        ),
        exercise_abi_drop,
        all_of(arterial_stenosis_note, none_of(nonatherosclerotic_dx, nonatherosclerotic_note)),
        all_of(
            any_of(
                toe_pressure_low,
                toe_pressure_low_note,
                tcpo2_low,
                tcpo2_low_note,
                ankle_pressure_low,
                ankle_pressure_low_note,
                all_of(
                    any_of(ischemic_pain_or_tissue_loss, arterial_ulcer_note, gangrene_note),
                    any_of(abnormal_arterial_exam, ischemic_skin_signs),
                ),
            ),
            none_of(nonatherosclerotic_dx, nonatherosclerotic_note),
        ),
        all_of(claudication_note, adult, none_of(symptom_mimics)),
        all_of(
            any_of(borderline_abi, borderline_abi_note),
            any_of(claudication_note, exertional_symptoms),
        ),
    ),
    exclude=any_of(pad_diagnosed, revascularized, known_pad_note, known_clti_note),
    mimics=(
        neurogenic_note,
        spinal_stenosis_dx,
        spinal_stenosis_note,
        venous_claudication_note,
        radiculopathy,
        radiculopathy_note,
        cramps_note,
        cramps_dx,
        nonatherosclerotic_dx,
        nonatherosclerotic_note,
        joint_pain_note,
        restless_legs_note,
    ),
    alerts=(
        Alert(
            id="pad.compression_with_abi_below_050",
            concern="compression_in_ischemic_limb",
            reads_as="Compression therapy ordered with an ankle-brachial index below 0.50: compression can cause pressure necrosis in ischemic limbs",
            when=all_of(compression_note, any_of(very_low_abi, very_low_abi_note)),
        ),
    ),
)
