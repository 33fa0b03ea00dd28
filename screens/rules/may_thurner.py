"""May-Thurner syndrome (left common iliac vein compression) candidates.

No EHR or NLP May-Thurner phenotype has been published; this screen follows the clinical pattern:
left proximal (iliofemoral) DVT, recurrent left-leg DVT, persistent unexplained left-leg swelling
or venous claudication in a younger patient, or imaging that describes left common iliac vein
compression. Patients already stented, or whose compression is already documented as history,
are managed and not flagged. Priority rises to "soon" when the left proximal DVT is acute.

Owner: vascular surgery / venous clinical lead (see CODEOWNERS).
Source: Brinegar 2015 (anatomy, no standard criteria); StatPearls; Kibbe 2004; Cheng 2017;
clinical-reference.md 1.2, 3.8, 5.6-5.7, 7.
v3  only an iliac vein stent or venoplasty (done, not planned) excludes: a documented May-Thurner
    left on anticoagulation alone is the seed's pitfall and stays on the list; adolescents
    (12-17) with persistent left-leg swelling or venous claudication count; a left-sided DVT code
    of any vein (bodySite or display) counts toward recurrence; Baker's cyst, lymphedema and
    acute trauma explain swelling; anticoagulation is read from active orders of the last year
    and from notes; the anticoagulation-only alert stays off once a stent is scheduled.
v2  "already known" needs a historical mention (v1 also read current imaging as known).
v1  initial.
"""

from screens.dsl import (
    ANY_TIME,
    UNSTATED,
    Alert,
    Criterion,
    Escalation,
    Screen,
    age,
    all_of,
    any_of,
    days,
    diagnosis,
    medication,
    none_of,
    note_mention,
    procedure,
)
from screens.model import Modifier, Priority
from screens.notes.concepts import Concept
from screens.valuesets import load

LOOKBACK = days(730)
LEFT = frozenset({"left"})
LEFT_OR_UNSTATED = frozenset({"left", UNSTATED})
HISTORY = frozenset({Modifier.HISTORICAL})
ANTICOAGULANT_NAMES = (
    "apixaban|rivaroxaban|warfarin|dabigatran|edoxaban|enoxaparin|heparin|fondaparinux"
)

left_proximal_dvt_dx = Criterion(
    id="may_thurner.left_proximal_dvt_dx",
    reads_as="A diagnosis of acute or chronic DVT of the left iliac or femoral veins",
    finds=diagnosis(load("left_proximal_dvt")),
    lookback=LOOKBACK,
)
left_proximal_dvt_note = Criterion(
    id="may_thurner.left_proximal_dvt_note",
    reads_as="A note or imaging report describes thrombus in the left iliac, common femoral or femoral veins",
    finds=note_mention(Concept.DVT, laterality=LEFT, qualifier="proximal(?::acute|:chronic)?"),
    lookback=LOOKBACK,
)
recurrent_left_dvt_dx = Criterion(
    id="may_thurner.recurrent_left_dvt_dx",
    reads_as="Left-leg DVT diagnosed on two or more separate dates",
    finds=diagnosis(load("left_dvt_any"), min_distinct_dates=2),
    lookback=days(1825),
)
recurrent_left_dvt_sided = Criterion(
    id="may_thurner.recurrent_left_dvt_sided_dx",
    reads_as="A DVT of the leg coded on the left side (bodySite or display) on two or more separate dates",
    finds=diagnosis(load("dvt_lower_limb"), laterality=LEFT, min_distinct_dates=2),
    lookback=days(1825),
)
recurrent_left_dvt_note = Criterion(
    id="may_thurner.recurrent_left_dvt_note",
    reads_as="Notes describe left-leg DVT on two or more separate dates",
    finds=note_mention(
        Concept.DVT, laterality=LEFT, allow=frozenset({Modifier.HISTORICAL}), min_distinct_dates=2
    ),
    lookback=days(1825),
)
compression_imaging = Criterion(
    id="may_thurner.iliac_vein_compression_note",
    reads_as="Imaging or IVUS describes compression of the left common iliac vein (May-Thurner anatomy)",
    finds=note_mention(Concept.ILIAC_VEIN_COMPRESSION),
    lookback=LOOKBACK,
)
compression_dx = Criterion(
    id="may_thurner.compression_of_vein_dx",
    reads_as="A diagnosis of compression of vein (I87.1), which needs left-sided or iliac context",
    finds=diagnosis(load("iliac_vein_compression_dx")),
    lookback=LOOKBACK,
)
young = Criterion(
    id="may_thurner.age_18_to_50",
    reads_as="Age 18 to 50 at the screening date",
    finds=age(at_least=18, at_most=50),
)
adolescent = Criterion(
    id="may_thurner.age_12_to_17",
    reads_as="Age 12 to 17 at the screening date (May-Thurner presents in adolescents too; counts with persistent swelling or venous claudication)",
    finds=age(at_least=12, at_most=17),
)
other_cause_dx = Criterion(
    id="may_thurner.other_swelling_cause_dx",
    reads_as="A diagnosis of Baker's cyst, lymphedema or a leg injury that explains swelling",
    finds=diagnosis(load("other_swelling_cause")),
    lookback=days(365),
)
other_cause_note = Criterion(
    id="may_thurner.other_swelling_cause_note",
    reads_as="A note describes a Baker's cyst, lymphedema, hematoma or leg injury that explains swelling",
    finds=note_mention(Concept.OTHER_SWELLING_CAUSE, allow=HISTORY),
    lookback=days(365),
)
LOCAL_CAUSE = (other_cause_dx, other_cause_note)

persistent_left_swelling_note = Criterion(
    id="may_thurner.persistent_left_swelling_note",
    reads_as="Notes on two or more dates describe swelling of the left leg",
    finds=note_mention(Concept.LEG_SWELLING, laterality=LEFT, min_distinct_dates=2),
    lookback=days(365),
    # A Baker's cyst, lymphedema or an injury of that leg explains its swelling.
    except_sides=LOCAL_CAUSE,
)
left_swelling_dx = Criterion(
    id="may_thurner.left_leg_swelling_dx",
    reads_as="A diagnosis of left lower-limb swelling or left post-thrombotic syndrome",
    finds=diagnosis(load("left_leg_swelling_dx")),
    lookback=days(365),
    # A Baker's cyst, lymphedema or an injury of that leg explains its swelling.
    except_sides=LOCAL_CAUSE,
)
left_swelling_note = Criterion(
    id="may_thurner.left_swelling_note",
    reads_as="A note describes swelling of the left leg",
    finds=note_mention(Concept.LEG_SWELLING, laterality=LEFT),
    lookback=days(365),
    except_sides=LOCAL_CAUSE,
)
venous_claudication = Criterion(
    id="may_thurner.venous_claudication_note",
    reads_as="A note describes venous claudication (bursting leg pain after walking, relieved by elevation) of the left leg, or with no side stated",
    finds=note_mention(Concept.VENOUS_CLAUDICATION, laterality=LEFT_OR_UNSTATED),
    lookback=days(365),
)
cellulitis_note = Criterion(
    id="may_thurner.cellulitis_note",
    reads_as="A note describes cellulitis of the leg",
    finds=note_mention(Concept.CELLULITIS),
    lookback=days(90),
)
cellulitis_dx = Criterion(
    id="may_thurner.cellulitis_dx",
    reads_as="A diagnosis of lower-limb cellulitis",
    finds=diagnosis(load("cellulitis_lower_limb")),
    lookback=days(90),
)
heart_failure = Criterion(
    id="may_thurner.heart_failure",
    reads_as="A diagnosis of heart failure, a systemic cause of leg swelling",
    finds=diagnosis(load("heart_failure")),
    lookback=ANY_TIME,
)
heart_failure_note = Criterion(
    id="may_thurner.heart_failure_note",
    reads_as="A note describes heart failure",
    finds=note_mention(Concept.HEART_FAILURE),
    lookback=days(365),
)

stented = Criterion(
    id="may_thurner.iliac_vein_intervention",
    reads_as="An iliac vein stent or venoplasty at any time (already managed)",
    finds=procedure(load("iliac_vein_intervention")),
    lookback=ANY_TIME,
)
stent_note = Criterion(
    id="may_thurner.iliac_vein_stent_note",
    reads_as="A note records an iliac vein stent or venoplasty, past or present (already managed)",
    finds=note_mention(Concept.ILIAC_VEIN_STENT, allow=frozenset({Modifier.HISTORICAL})),
    lookback=ANY_TIME,
)
known_compression = Criterion(
    id="may_thurner.known_compression_note",
    reads_as="A note records May-Thurner or iliac vein compression as history (known, and still unstented)",
    finds=note_mention(Concept.ILIAC_VEIN_COMPRESSION, require=HISTORY),
    lookback=ANY_TIME,
)
stent_planned = Criterion(
    id="may_thurner.iliac_vein_stent_planned",
    reads_as="An iliac vein stent or venoplasty on the schedule (Procedure in preparation): referred for it",
    finds=procedure(load("iliac_vein_intervention"), planned=True),
    lookback=ANY_TIME,  # a procedure not yet done usually has no date
)
stent_planned_note = Criterion(
    id="may_thurner.iliac_vein_stent_planned_note",
    reads_as="A note records an iliac vein stent scheduled or booked (not only offered)",
    finds=note_mention(
        Concept.ILIAC_VEIN_STENT, qualifier="planned", allow=frozenset({Modifier.HYPOTHETICAL})
    ),
    lookback=days(365),
)
acute_left_proximal_dvt_dx = Criterion(
    id="may_thurner.acute_left_proximal_dvt_dx",
    reads_as="A diagnosis of acute DVT of the left iliac or femoral veins",
    finds=diagnosis(load("acute_left_proximal_dvt")),
    lookback=days(30),
)
acute_left_proximal_dvt_note = Criterion(
    id="may_thurner.acute_left_proximal_dvt_note",
    reads_as="A note describes acute thrombus in the left iliac or femoral veins",
    finds=note_mention(Concept.DVT, laterality=LEFT, qualifier="proximal:acute"),
    lookback=days(30),
)
anticoagulated = Criterion(
    id="may_thurner.anticoagulant_ordered",
    reads_as="An anticoagulant ordered in the last year",
    finds=medication(load("anticoagulant"), display=ANTICOAGULANT_NAMES),
    lookback=days(365),
)
anticoagulated_note = Criterion(
    id="may_thurner.anticoagulation_note",
    reads_as="A note records current anticoagulation",
    finds=note_mention(Concept.ANTICOAGULATION),
    lookback=days(180),
)

other_swelling_cause = any_of(cellulitis_note, cellulitis_dx, heart_failure, heart_failure_note)
left_dvt = any_of(left_proximal_dvt_dx, left_proximal_dvt_note)

MAY_THURNER = Screen(
    id="may_thurner",
    version=3,
    title="May-Thurner syndrome candidate",
    priority=Priority.ROUTINE,
    summary="Left iliofemoral or recurrent left DVT, left iliac vein compression on imaging, or persistent unexplained left-leg swelling or venous claudication in a younger patient; not already stented or known.",
    include=any_of(
        left_dvt,
        recurrent_left_dvt_dx,
        recurrent_left_dvt_note,
        compression_imaging,
        all_of(compression_dx, any_of(left_dvt, left_swelling_dx, left_swelling_note)),
        recurrent_left_dvt_sided,
        # The seed's pitfall: a documented May-Thurner still on anticoagulation alone.
        all_of(known_compression, any_of(anticoagulated, anticoagulated_note)),
        all_of(
            young,
            any_of(persistent_left_swelling_note, left_swelling_dx, venous_claudication),
            none_of(other_swelling_cause),
        ),
        all_of(
            adolescent,
            any_of(persistent_left_swelling_note, venous_claudication),
            none_of(other_swelling_cause),
        ),
    ),
    exclude=any_of(stented, stent_note),
    mimics=(
        cellulitis_note,
        cellulitis_dx,
        heart_failure,
        heart_failure_note,
        other_cause_dx,
        other_cause_note,
    ),
    alerts=(
        Alert(
            id="may_thurner.anticoagulation_only",
            concern="may_thurner_anticoagulation_only",
            reads_as="Left iliofemoral DVT treated with anticoagulation alone: compression of the iliac vein is untreated and recurrence is likely",
            when=all_of(
                any_of(left_dvt, compression_imaging, known_compression),
                any_of(anticoagulated, anticoagulated_note),
                none_of(stent_planned, stent_planned_note),
            ),
        ),
    ),
    escalations=(
        Escalation(
            Priority.SOON, (acute_left_proximal_dvt_dx, acute_left_proximal_dvt_note), days(30)
        ),
    ),
)
