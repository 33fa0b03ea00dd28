"""Possible chronic limb-threatening ischemia: urgent review.

Flags ischemic rest pain, tissue loss with arterial evidence, or severe hemodynamic compromise,
whether or not PAD is already diagnosed (a known-PAD patient progressing to CLTI is the most
urgent case). A case-finding aid for a human reviewer, so affirmed ischemic rest pain flags even
before any hemodynamic test is on record (design.md governs over the reference's skeleton).

Owner: vascular surgery clinical lead (see CODEOWNERS).
Source: Global Vascular Guidelines 2019 (CLTI = PAD + rest pain, gangrene or ulcer > 2 weeks;
toe pressure preferred); ESC 2017 / IWGDF 2023 hemodynamic cut-offs (ankle < 50 mmHg, toe < 30 mmHg,
TcPO2 < 30 mmHg, ABI < 0.40); 2024 ACC/AHA; clinical-reference.md 1.1, 3.5, 5.8-5.9, 7.
v3  a presentation lasts until a revascularization (coded, or recorded in a later note) or a
    documented resolution; gangrene ends with an amputation on that side; coded indices count
    only at rest (post-exercise values are not resting ones); a note's pre-operative values are
    history; a resolved or abated CLTI or ulcer diagnosis is not current; tissue loss with an
    embolic, frostbite or other non-atherosclerotic cause is not CLTI unless the hemodynamics
    are.
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
    none_of,
    note_mention,
    procedure,
)
from screens.model import Modifier, Priority
from screens.notes.concepts import Concept
from screens.valuesets import load

RECENT = days(180)
HEMODYNAMIC = days(365)
AT_REST = "rest|pre_exercise"  # a coded result's timing, read from its name
RESTING = "(?:rest|resting)?"  # a note value's qualifier

# What ends a CLTI presentation: a revascularization after it, or its documented resolution.
revascularized_since = Criterion(
    id="clti.revascularized_since",
    reads_as="A lower-limb revascularization (bypass, angioplasty, stent, atherectomy, endarterectomy)",
    finds=procedure(load("lower_limb_revascularization")),
    lookback=ANY_TIME,
)
revascularized_since_note = Criterion(
    id="clti.revascularized_since_note",
    reads_as="A note records a lower-limb bypass, stent or angioplasty as done",
    finds=note_mention(
        Concept.PAD, qualifier="revascularization", allow=frozenset({Modifier.HISTORICAL})
    ),
    lookback=ANY_TIME,
)
rest_pain_resolved = Criterion(
    id="clti.rest_pain_resolved_note",
    reads_as="A note records rest pain as resolved or past",
    finds=note_mention(Concept.REST_PAIN, require=frozenset({Modifier.HISTORICAL})),
    lookback=ANY_TIME,
)
amputated = Criterion(
    id="clti.amputation",
    reads_as="A toe, foot or leg amputation (coded, or recorded in a note)",
    finds=procedure(load("amputation")),
    lookback=ANY_TIME,
)
amputated_dx = Criterion(
    id="clti.acquired_absence_dx",
    reads_as="A diagnosis of acquired absence of a toe, foot or leg",
    finds=diagnosis(load("amputation")),
    lookback=ANY_TIME,
)
amputated_note = Criterion(
    id="clti.amputation_note",
    reads_as="A note records a toe, foot or leg amputation",
    finds=note_mention(Concept.AMPUTATION, allow=frozenset({Modifier.HISTORICAL})),
    lookback=ANY_TIME,
)
REVASCULARIZED = (revascularized_since, revascularized_since_note)

rest_pain_note = Criterion(
    id="clti.rest_pain_note",
    reads_as="A note describes ischemic rest pain (foot pain at rest or at night, worse lying flat, eased by dependency), not since revascularized or resolved",
    finds=note_mention(Concept.REST_PAIN),
    lookback=RECENT,
    until=(*REVASCULARIZED, rest_pain_resolved),
)
clti_coded = Criterion(
    id="clti.clti_dx",
    reads_as="An active diagnosis of atherosclerosis of the legs with rest pain, ulceration or gangrene (I70.22-/23-/24-/26- and graft equivalents, diabetic angiopathy with gangrene), not since revascularized",
    finds=diagnosis(load("clti_diagnosis"), active_only=True),
    lookback=RECENT,
    until=REVASCULARIZED,
)
named_clti_note = Criterion(
    id="clti.named_clti_note",
    reads_as="A note names critical or chronic limb-threatening ischemia as a current diagnosis, not since revascularized",
    finds=note_mention(Concept.CLTI),
    lookback=RECENT,
    until=REVASCULARIZED,
)
gangrene_note = Criterion(
    id="clti.gangrene_note",
    reads_as="A note describes gangrene of the foot, toe or leg (not Fournier's, gas or visceral gangrene), not since amputated on that side or revascularized",
    finds=note_mention(Concept.GANGRENE),
    lookback=RECENT,
    until=(amputated, amputated_dx, amputated_note, *REVASCULARIZED),
)
arterial_ulcer_note = Criterion(
    id="clti.arterial_ulcer_note",
    reads_as="A note describes an arterial, ischemic or non-healing ulcer or wound of the foot or leg, not since revascularized or amputated on that side",
    finds=note_mention(Concept.ARTERIAL_ULCER),
    lookback=RECENT,
    until=(amputated, amputated_dx, amputated_note, *REVASCULARIZED),
)
ulcer_dx = Criterion(
    id="clti.ulcer_or_gangrene_dx",
    reads_as="An active diagnosis of a chronic lower-limb ulcer, diabetic foot ulcer or gangrene NEC (L97, E1x.621, I96), not since revascularized or amputated on that side",
    finds=diagnosis(load("lower_limb_ulcer_or_gangrene"), active_only=True),
    lookback=RECENT,
    until=(amputated, amputated_dx, amputated_note, *REVASCULARIZED),
)

ankle_pressure_low = Criterion(
    id="clti.ankle_pressure_low",
    reads_as="Resting ankle systolic pressure below 50 mmHg (coded result), not since revascularized",
    finds=lab(load("ankle_pressure"), below=50, unit="mm[Hg]", timing=AT_REST),
    lookback=HEMODYNAMIC,
    until=REVASCULARIZED,
)
ankle_pressure_low_note = Criterion(
    id="clti.ankle_pressure_low_note",
    reads_as="A note or report gives an ankle systolic pressure below 50 mmHg, not since revascularized",
    finds=note_mention(Concept.ANKLE_PRESSURE, below=50),
    lookback=HEMODYNAMIC,
    until=REVASCULARIZED,
)
toe_pressure_low = Criterion(
    id="clti.toe_pressure_low",
    reads_as="Toe systolic pressure below 30 mmHg (coded result), not since revascularized",
    finds=lab(load("toe_pressure"), below=30, unit="mm[Hg]", timing=AT_REST),
    lookback=HEMODYNAMIC,
    until=REVASCULARIZED,
)
toe_pressure_low_note = Criterion(
    id="clti.toe_pressure_low_note",
    reads_as="A note or report gives a toe systolic pressure below 30 mmHg, not since revascularized",
    finds=note_mention(Concept.TOE_PRESSURE, below=30),
    lookback=HEMODYNAMIC,
    until=REVASCULARIZED,
)
tcpo2_low = Criterion(
    id="clti.tcpo2_low",
    reads_as="Transcutaneous oxygen pressure below 30 mmHg (coded result), not since revascularized",
    finds=lab(load("tcpo2"), below=30, unit="mm[Hg]", timing=AT_REST),
    lookback=HEMODYNAMIC,
    until=REVASCULARIZED,
)
tcpo2_low_note = Criterion(
    id="clti.tcpo2_low_note",
    reads_as="A note or report gives a transcutaneous oxygen pressure below 30 mmHg, not since revascularized",
    finds=note_mention(Concept.TCPO2, below=30),
    lookback=HEMODYNAMIC,
    until=REVASCULARIZED,
)
abi_very_low = Criterion(
    id="clti.abi_below_040",
    reads_as="A resting ankle-brachial index below 0.40 (coded result), not since revascularized",
    finds=lab(load("abi"), below=0.40, unit="1", timing=AT_REST),
    lookback=HEMODYNAMIC,
    until=REVASCULARIZED,
)
abi_very_low_note = Criterion(
    id="clti.abi_below_040_note",
    reads_as="A note or report gives a resting ankle-brachial index below 0.40, not since revascularized",
    finds=note_mention(Concept.ABI, below=0.40, qualifier=RESTING),
    lookback=HEMODYNAMIC,
    until=REVASCULARIZED,
)

# Arterial evidence that turns an ulcer of unstated cause into possible CLTI.
low_abi = Criterion(
    id="clti.abi_090_or_lower",
    reads_as="An ankle-brachial index of 0.90 or lower (coded result)",
    finds=lab(load("abi"), at_most=0.90, unit="1", timing=AT_REST),
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
    reads_as="A diagnosis of arterial embolism, dissection, Raynaud's or Buerger's disease, or frostbite (excluded causes per the GVG)",
    finds=diagnosis(load("embolic_or_nonatherosclerotic_arterial")),
    lookback=RECENT,
)
nonatherosclerotic_note = Criterion(
    id="clti.nonatherosclerotic_cause_note",
    reads_as="A note gives an embolic, atheroembolic, frostbite, vasculitic or other non-atherosclerotic cause of the ischemia or tissue loss",
    finds=note_mention(Concept.NONATHEROSCLEROTIC_ARTERIAL, allow=frozenset({Modifier.HISTORICAL})),
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
    version=3,
    title="Possible chronic limb-threatening ischemia",
    priority=Priority.URGENT,
    summary="Ischemic rest pain, tissue loss with arterial evidence, or severe hemodynamic compromise; flagged whether or not PAD is already diagnosed.",
    include=any_of(
        rest_pain_note,
        named_clti_note,
        clti_coded,
        hemodynamic,
        # Tissue loss from embolism, frostbite or vasculitis is not CLTI (GVG), unless the
        # hemodynamics above say the limb is critically ischemic anyway.
        all_of(
            any_of(gangrene_note, all_of(any_of(arterial_ulcer_note, ulcer_dx), arterial_evidence)),
            none_of(embolic_dx, nonatherosclerotic_note),
        ),
    ),
    exclude=any_of(recent_revascularization),
    mimics=(nonarterial_ulcer_note, embolic_dx, nonatherosclerotic_note),
    alerts=(
        Alert(
            id="clti.compression_with_clti",
            concern="compression_in_ischemic_limb",
            reads_as="Compression therapy ordered for a patient with possible CLTI: compression can cause pressure necrosis in ischemic limbs",
            when=any_of(compression_note),
        ),
    ),
)
