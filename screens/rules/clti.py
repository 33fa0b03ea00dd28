"""Possible chronic limb-threatening ischemia: urgent review.

Flags ischemic rest pain, tissue loss with arterial evidence, or severe hemodynamic compromise,
whether or not PAD is already diagnosed (a known-PAD patient progressing to CLTI is the most
urgent case). A case-finding aid for a human reviewer, so affirmed ischemic rest pain flags even
before any hemodynamic test is on record (design.md governs over the reference's skeleton).

Owner: vascular surgery clinical lead (see CODEOWNERS).
Source: Global Vascular Guidelines 2019 (CLTI = PAD + rest pain, gangrene or ulcer > 2 weeks;
toe pressure preferred); ESC 2017 / IWGDF 2023 hemodynamic cut-offs (ankle < 50 mmHg, toe < 30 mmHg,
TcPO2 < 30 mmHg, ABI < 0.40); 2024 ACC/AHA; clinical-reference.md 1.1, 3.5, 5.8-5.9, 7.
v2  a note naming CLTI / critical limb ischemia as current flags (v1 read it as PAD only).
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
    note_mention,
    procedure,
)
from screens.model import Priority
from screens.notes.concepts import Concept
from screens.valuesets import load

RECENT = days(180)
HEMODYNAMIC = days(365)

rest_pain_note = Criterion(
    id="clti.rest_pain_note",
    reads_as="A note describes ischemic rest pain (foot pain at rest or at night, worse lying flat, eased by dependency)",
    finds=note_mention(Concept.REST_PAIN),
    lookback=RECENT,
)
clti_coded = Criterion(
    id="clti.clti_dx",
    reads_as="A diagnosis of atherosclerosis of the legs with rest pain, ulceration or gangrene (I70.22-/23-/24-/26- and graft equivalents, diabetic angiopathy with gangrene)",
    finds=diagnosis(load("clti_diagnosis")),
    lookback=RECENT,
)
named_clti_note = Criterion(
    id="clti.named_clti_note",
    reads_as="A note names critical or chronic limb-threatening ischemia as a current diagnosis",
    finds=note_mention(Concept.CLTI),
    lookback=RECENT,
)
gangrene_note = Criterion(
    id="clti.gangrene_note",
    reads_as="A note describes gangrene of the foot, toe or leg (not Fournier's, gas or visceral gangrene)",
    finds=note_mention(Concept.GANGRENE),
    lookback=RECENT,
)
arterial_ulcer_note = Criterion(
    id="clti.arterial_ulcer_note",
    reads_as="A note describes an arterial, ischemic or non-healing ulcer or wound of the foot or leg",
    finds=note_mention(Concept.ARTERIAL_ULCER),
    lookback=RECENT,
)
ulcer_dx = Criterion(
    id="clti.ulcer_or_gangrene_dx",
    reads_as="A diagnosis of a chronic lower-limb ulcer, diabetic foot ulcer or gangrene NEC (L97, E1x.621, I96)",
    finds=diagnosis(load("lower_limb_ulcer_or_gangrene")),
    lookback=RECENT,
)

ankle_pressure_low = Criterion(
    id="clti.ankle_pressure_low",
    reads_as="Ankle systolic pressure below 50 mmHg (coded result)",
    finds=lab(load("ankle_pressure"), below=50, unit="mm[Hg]"),
    lookback=HEMODYNAMIC,
)
ankle_pressure_low_note = Criterion(
    id="clti.ankle_pressure_low_note",
    reads_as="A note or report gives an ankle systolic pressure below 50 mmHg",
    finds=note_mention(Concept.ANKLE_PRESSURE, below=50),
    lookback=HEMODYNAMIC,
)
toe_pressure_low = Criterion(
    id="clti.toe_pressure_low",
    reads_as="Toe systolic pressure below 30 mmHg (coded result)",
    finds=lab(load("toe_pressure"), below=30, unit="mm[Hg]"),
    lookback=HEMODYNAMIC,
)
toe_pressure_low_note = Criterion(
    id="clti.toe_pressure_low_note",
    reads_as="A note or report gives a toe systolic pressure below 30 mmHg",
    finds=note_mention(Concept.TOE_PRESSURE, below=30),
    lookback=HEMODYNAMIC,
)
tcpo2_low = Criterion(
    id="clti.tcpo2_low",
    reads_as="Transcutaneous oxygen pressure below 30 mmHg (coded result)",
    finds=lab(load("tcpo2"), below=30, unit="mm[Hg]"),
    lookback=HEMODYNAMIC,
)
tcpo2_low_note = Criterion(
    id="clti.tcpo2_low_note",
    reads_as="A note or report gives a transcutaneous oxygen pressure below 30 mmHg",
    finds=note_mention(Concept.TCPO2, below=30),
    lookback=HEMODYNAMIC,
)
abi_very_low = Criterion(
    id="clti.abi_below_040",
    reads_as="An ankle-brachial index below 0.40 (coded result)",
    finds=lab(load("abi"), below=0.40, unit="1"),
    lookback=HEMODYNAMIC,
)
abi_very_low_note = Criterion(
    id="clti.abi_below_040_note",
    reads_as="A note or report gives an ankle-brachial index below 0.40",
    finds=note_mention(Concept.ABI, below=0.40),
    lookback=HEMODYNAMIC,
)

# Arterial evidence that turns an ulcer of unstated cause into possible CLTI.
low_abi = Criterion(
    id="clti.abi_090_or_lower",
    reads_as="An ankle-brachial index of 0.90 or lower (coded result)",
    finds=lab(load("abi"), at_most=0.90, unit="1"),
    lookback=HEMODYNAMIC,
)
low_abi_note = Criterion(
    id="clti.abi_090_or_lower_note",
    reads_as="A note or report gives an ankle-brachial index of 0.90 or lower",
    finds=note_mention(Concept.ABI, at_most=0.90),
    lookback=HEMODYNAMIC,
)
low_tbi_note = Criterion(
    id="clti.tbi_070_or_lower_note",
    reads_as="A note or report gives a toe-brachial index of 0.70 or lower",
    finds=note_mention(Concept.TBI, at_most=0.70),
    lookback=HEMODYNAMIC,
)
pulse_deficit = Criterion(
    id="clti.pulse_deficit_note",
    reads_as="A note records absent or diminished foot pulses or monophasic signals",
    finds=note_mention(Concept.PULSE_DEFICIT),
    lookback=RECENT,
)
ischemic_signs = Criterion(
    id="clti.ischemic_signs_note",
    reads_as="A note records dependent rubor, elevation pallor or other ischemic skin signs",
    finds=note_mention(Concept.ISCHEMIC_SIGNS),
    lookback=RECENT,
)
pad_known = Criterion(
    id="clti.pad_diagnosed",
    reads_as="A PAD diagnosis at any time",
    finds=diagnosis(load("pad_diagnosis")),
    lookback=ANY_TIME,
)

recent_revascularization = Criterion(
    id="clti.recent_revascularization",
    reads_as="A lower-limb revascularization within the last 90 days (already treated)",
    finds=procedure(load("lower_limb_revascularization")),
    lookback=days(90),
)

nonarterial_ulcer_note = Criterion(
    id="clti.nonarterial_ulcer_note",
    reads_as="A note calls an ulcer venous, pressure-related or neuropathic",
    finds=note_mention(Concept.NONARTERIAL_ULCER),
    lookback=RECENT,
)
embolic_dx = Criterion(
    id="clti.embolic_or_nonatherosclerotic_dx",
    reads_as="A diagnosis of arterial embolism, dissection, Raynaud's or Buerger's disease (excluded causes per the GVG)",
    finds=diagnosis(load("embolic_or_nonatherosclerotic_arterial")),
    lookback=RECENT,
)
compression_note = Criterion(
    id="clti.compression_therapy_note",
    reads_as="A note orders or advises compression stockings or wraps",
    finds=note_mention(Concept.COMPRESSION_STOCKINGS),
    lookback=days(90),
)

hemodynamic = any_of(
    ankle_pressure_low,
    ankle_pressure_low_note,
    toe_pressure_low,
    toe_pressure_low_note,
    tcpo2_low,
    tcpo2_low_note,
    abi_very_low,
    abi_very_low_note,
)
arterial_evidence = any_of(
    hemodynamic, low_abi, low_abi_note, low_tbi_note, pulse_deficit, ischemic_signs, pad_known
)

CLTI = Screen(
    id="clti",
    version=2,
    title="Possible chronic limb-threatening ischemia",
    priority=Priority.URGENT,
    summary="Ischemic rest pain, tissue loss with arterial evidence, or severe hemodynamic compromise; flagged whether or not PAD is already diagnosed.",
    include=any_of(
        rest_pain_note,
        named_clti_note,
        clti_coded,
        gangrene_note,
        hemodynamic,
        all_of(any_of(arterial_ulcer_note, ulcer_dx), arterial_evidence),
    ),
    exclude=any_of(recent_revascularization),
    mimics=(nonarterial_ulcer_note, embolic_dx),
    alerts=(
        Alert(
            id="clti.compression_with_clti",
            reads_as="Compression therapy ordered for a patient with possible CLTI: compression can cause pressure necrosis in ischemic limbs",
            when=any_of(compression_note),
        ),
    ),
)
