"""Safety alerts that must reach a coordinator even when no screen flags the patient.

The two management pitfalls the clinical sources name: compression therapy on an ischemic limb
(ABI below 0.50 or CLTI) in a patient whose PAD is already known, so the pad screen leaves them
off its list; and a known May-Thurner or left iliofemoral DVT left on anticoagulation alone,
without a stent. Each raises an item of its own (priority soon), unless another item of the
patient already carries an alert of the same concern; a documented iliac vein stent ends the
second.

Owner: vascular surgery clinical lead (see CODEOWNERS).
Source: Seed 000 (compression pressure necrosis in ischemic limbs; 2024 ACC/AHA); Seed 002 (stent
first in May-Thurner, anticoagulation alone leaves the compression); clinical-reference.md 3.5, 3.8.
v1  initial.
"""

from screens.dsl import (
    ANY_TIME,
    Alert,
    Criterion,
    Screen,
    all_of,
    any_of,
    days,
    diagnosis,
    lab,
    medication,
    none_of,
    note_mention,
    procedure,
)
from screens.model import Modifier, Priority
from screens.notes.concepts import Concept
from screens.valuesets import load

HISTORY = frozenset({Modifier.HISTORICAL})
ANTICOAGULANT_NAMES = (
    "apixaban|rivaroxaban|warfarin|dabigatran|edoxaban|enoxaparin|heparin|fondaparinux"
)
COMPRESSION_NAMES = r"compression|\bTED\b|unna|stocking"

compression_note = Criterion(
    id="safety.compression_therapy_note",
    reads_as="A note orders or advises compression stockings, wraps or bandages",
    finds=note_mention(Concept.COMPRESSION_STOCKINGS),
    lookback=days(90),
)
compression_order = Criterion(
    id="safety.compression_therapy_order",
    reads_as="An order for compression stockings, wraps or bandages",
    finds=medication(load("compression_therapy"), display=COMPRESSION_NAMES),
    lookback=days(90),
)
pad_known = Criterion(
    id="safety.pad_diagnosed",
    reads_as="A PAD diagnosis at any time",
    finds=diagnosis(load("pad_diagnosis")),
    lookback=ANY_TIME,
)
revascularized = Criterion(
    id="safety.revascularized",
    reads_as="A lower-limb arterial revascularization at any time",
    finds=procedure(load("lower_limb_revascularization")),
    lookback=ANY_TIME,
)
pad_known_note = Criterion(
    id="safety.known_pad_note",
    reads_as="A note names PAD or a past lower-limb revascularization for the patient",
    finds=note_mention(Concept.PAD, allow=HISTORY),
    lookback=ANY_TIME,
)
abi_below_050 = Criterion(
    id="safety.abi_below_050",
    reads_as="A resting ankle-brachial index below 0.50 (coded result)",
    finds=lab(load("abi"), below=0.50, unit="1", timing="rest|pre_exercise"),
    lookback=days(730),
)
abi_below_050_note = Criterion(
    id="safety.abi_below_050_note",
    reads_as="A note or report gives a resting ankle-brachial index below 0.50",
    finds=note_mention(Concept.ABI, below=0.50, qualifier="(?:rest|resting)?"),
    lookback=days(730),
)
clti_dx = Criterion(
    id="safety.clti_dx",
    reads_as="An active diagnosis of atherosclerosis of the legs with rest pain, ulceration or gangrene",
    finds=diagnosis(load("clti_diagnosis"), active_only=True),
    lookback=days(180),
)
clti_note = Criterion(
    id="safety.clti_note",
    reads_as="A note names CLTI, or describes ischemic rest pain or gangrene",
    finds=note_mention(Concept.CLTI),
    lookback=days(180),
)
rest_pain_note = Criterion(
    id="safety.rest_pain_note",
    reads_as="A note describes ischemic rest pain",
    finds=note_mention(Concept.REST_PAIN),
    lookback=days(180),
)
toe_pressure_low = Criterion(
    id="safety.toe_pressure_low",
    reads_as="A toe systolic pressure below 30 mmHg, coded",
    finds=lab(load("toe_pressure"), below=30, unit="mm[Hg]"),
    lookback=days(365),
)

left_proximal_dvt_dx = Criterion(
    id="safety.left_proximal_dvt_dx",
    reads_as="A diagnosis of DVT of the left iliac or femoral veins, at any time",
    finds=diagnosis(load("left_proximal_dvt")),
    lookback=ANY_TIME,
)
left_proximal_dvt_note = Criterion(
    id="safety.left_proximal_dvt_note",
    reads_as="A note or report describes thrombus in the left iliac, common femoral or femoral veins, past or present",
    finds=note_mention(
        Concept.DVT, laterality=frozenset({"left"}), qualifier="proximal(?::.*)?", allow=HISTORY
    ),
    lookback=ANY_TIME,
)
compression_known = Criterion(
    id="safety.iliac_vein_compression_note",
    reads_as="A note or imaging report describes left common iliac vein compression (May-Thurner), past or present",
    finds=note_mention(Concept.ILIAC_VEIN_COMPRESSION, allow=HISTORY),
    lookback=ANY_TIME,
)
anticoagulated = Criterion(
    id="safety.anticoagulant_ordered",
    reads_as="An anticoagulant ordered in the last year",
    finds=medication(load("anticoagulant"), display=ANTICOAGULANT_NAMES),
    lookback=days(365),
)
anticoagulated_note = Criterion(
    id="safety.anticoagulation_note",
    reads_as="A note records current anticoagulation",
    finds=note_mention(Concept.ANTICOAGULATION),
    lookback=days(180),
)
stented = Criterion(
    id="safety.iliac_vein_intervention",
    reads_as="An iliac vein stent or venoplasty, done (not only planned), at any time",
    finds=procedure(load("iliac_vein_intervention")),
    lookback=ANY_TIME,
)
stent_note = Criterion(
    id="safety.iliac_vein_stent_note",
    reads_as="A note records an iliac vein stent or venoplasty as done",
    finds=note_mention(Concept.ILIAC_VEIN_STENT, allow=HISTORY),
    lookback=ANY_TIME,
)

compression_in_ischemic_limb = all_of(
    any_of(compression_note, compression_order),
    any_of(abi_below_050, abi_below_050_note, clti_dx, clti_note, rest_pain_note, toe_pressure_low),
    any_of(pad_known, revascularized, pad_known_note),
)
may_thurner_anticoagulation_only = all_of(
    any_of(left_proximal_dvt_dx, left_proximal_dvt_note, compression_known),
    any_of(anticoagulated, anticoagulated_note),
    none_of(stented, stent_note),
)

SAFETY = Screen(
    id="safety",
    version=1,
    title="Safety alert",
    priority=Priority.SOON,
    summary="A management pitfall the clinical sources name, raised whether or not a screen flags the patient; not repeated when another item already carries it.",
    include=any_of(compression_in_ischemic_limb, may_thurner_anticoagulation_only),
    alerts=(
        Alert(
            id="safety.compression_in_ischemic_limb",
            reads_as="Compression therapy ordered for a patient with known PAD and an ankle-brachial index below 0.50 or signs of CLTI: compression can cause pressure necrosis in ischemic limbs",
            when=compression_in_ischemic_limb,
            concern="compression_in_ischemic_limb",
        ),
        Alert(
            id="safety.may_thurner_anticoagulation_only",
            reads_as="Known May-Thurner compression or left iliofemoral DVT on anticoagulation alone, with no iliac vein stent: the compression is untreated and recurrence is likely",
            when=may_thurner_anticoagulation_only,
            concern="may_thurner_anticoagulation_only",
        ),
    ),
    stands_alone=True,
)
