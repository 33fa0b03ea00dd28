"""Chronic exertional compartment syndrome candidates.

Young, active patients with exertional leg pain or tightness at a predictable point that resolves
with rest, or intracompartmental pressures meeting the Pedowitz criteria, with no PAD evidence,
stress fracture, trauma or acute compartment syndrome. ICD-10-CM has no CECS code: M79.A2-
(nontraumatic compartment syndrome) also captures acute disease, so it counts only in the young
with the exertional pattern. Already treated (fasciotomy) or already named as history: not flagged.

Owner: sports medicine / vascular clinical lead (see CODEOWNERS).
Source: Pedowitz 1990 (pre-exercise >= 15, 1 min post >= 30, 5 min post >= 20 mmHg); Fraipont &
Adamson 2003; Buerba 2019; clinical-reference.md 1.3, 3.7, 6.4, 7.
v3  a fasciotomy or known CECS excludes only its own leg (an untreated other leg still counts); a
    fasciotomy only planned is not treatment; masters athletes (41-65) count when a normal ABI
    rules PAD out; coded compartment pressures (panels with timed components) meet Pedowitz as
    note values do; a stress-fracture or MTSS label a later note rejects no longer excludes.
v2  "already known" needs a historical mention (v1 also read current mentions as known);
    CECS ruled out in a note excludes.
v1  initial.
"""

from screens.dsl import (
    ANY_TIME,
    Criterion,
    Screen,
    age,
    all_of,
    any_of,
    days,
    diagnosis,
    lab,
    note_mention,
    procedure,
)
from screens.model import Modifier, Priority
from screens.notes.concepts import Concept
from screens.valuesets import load

RECENT = days(365)
HISTORY = frozenset({Modifier.HISTORICAL})

# A treated leg: a fasciotomy done on it, or CECS recorded as history for it.
fasciotomy = Criterion(
    id="cecs.fasciotomy",
    reads_as="A leg fasciotomy at any time (that leg is already treated)",
    finds=procedure(load("cecs_fasciotomy")),
    lookback=ANY_TIME,
)
known_cecs_note = Criterion(
    id="cecs.known_cecs_note",
    reads_as="A note records CECS or a fasciotomy as history or treated (that leg is already known)",
    finds=note_mention(Concept.CECS, require=HISTORY),
    lookback=ANY_TIME,
)
TREATED_LEG = (fasciotomy, known_cecs_note)

young = Criterion(
    id="cecs.age_12_to_40",
    reads_as="Age 12 to 40 at the screening date",
    finds=age(at_least=12, at_most=40),
)
masters = Criterion(
    id="cecs.age_41_to_65",
    reads_as="Age 41 to 65 at the screening date (a masters athlete: counts only when a normal ABI has ruled PAD out)",
    finds=age(at_least=41, at_most=65),
)
normal_abi = Criterion(
    id="cecs.normal_abi",
    reads_as="An ankle-brachial index between 1.00 and 1.40, at rest or after exercise (coded result)",
    finds=lab(load("abi"), at_least=1.00, at_most=1.40, unit="1"),
    lookback=days(730),
)
normal_abi_note = Criterion(
    id="cecs.normal_abi_note",
    reads_as="A note gives an ankle-brachial index between 1.00 and 1.40, at rest or after exercise",
    finds=note_mention(Concept.ABI, at_least=1.00, at_most=1.40),
    lookback=days(730),
)
exertional_pattern = Criterion(
    id="cecs.exertional_leg_pain_note",
    reads_as="A note describes exertional leg pain or tightness at a predictable point that settles with rest, in a leg not already treated",
    finds=note_mention(Concept.EXERTIONAL_LEG_PAIN),
    lookback=RECENT,
    except_sides=TREATED_LEG,
)
cecs_named = Criterion(
    id="cecs.cecs_note",
    reads_as="A note names chronic exertional compartment syndrome as current or suspected, in a leg not already treated",
    finds=note_mention(Concept.CECS, allow=frozenset({Modifier.UNCERTAIN})),
    lookback=RECENT,
    except_sides=TREATED_LEG,
)
nontraumatic_dx = Criterion(
    id="cecs.nontraumatic_compartment_dx",
    reads_as="An active diagnosis of nontraumatic compartment syndrome of the leg (M79.A2-), in a leg not already treated",
    finds=diagnosis(load("nontraumatic_compartment_syndrome_leg"), active_only=True),
    lookback=RECENT,
    except_sides=TREATED_LEG,
)
pre_exercise = Criterion(
    id="cecs.pressure_pre_exercise",
    reads_as="Resting (pre-exercise) compartment pressure of 15 mmHg or more, in a leg not already treated",
    finds=note_mention(Concept.COMPARTMENT_PRESSURE, at_least=15, qualifier="pre_exercise(?::.*)?"),
    lookback=RECENT,
    except_sides=TREATED_LEG,
)
post_1min = Criterion(
    id="cecs.pressure_1min_post_exercise",
    reads_as="Compartment pressure of 30 mmHg or more 1 minute after exercise, in a leg not already treated",
    finds=note_mention(
        Concept.COMPARTMENT_PRESSURE, at_least=30, qualifier="post_exercise_1min(?::.*)?"
    ),
    lookback=RECENT,
    except_sides=TREATED_LEG,
)
post_5min = Criterion(
    id="cecs.pressure_5min_post_exercise",
    reads_as="Compartment pressure of 20 mmHg or more 5 minutes after exercise, in a leg not already treated",
    finds=note_mention(
        Concept.COMPARTMENT_PRESSURE, at_least=20, qualifier="post_exercise_5min(?::.*)?"
    ),
    lookback=RECENT,
    except_sides=TREATED_LEG,
)
pre_exercise_coded = Criterion(
    id="cecs.pressure_pre_exercise_coded",
    reads_as="A coded resting (pre-exercise) compartment pressure of 15 mmHg or more, in a leg not already treated",
    finds=lab(load("compartment_pressure"), at_least=15, unit="mm[Hg]", timing="pre_exercise"),
    lookback=RECENT,
    except_sides=TREATED_LEG,
)
post_1min_coded = Criterion(
    id="cecs.pressure_1min_post_exercise_coded",
    reads_as="A coded compartment pressure of 30 mmHg or more 1 minute after exercise, in a leg not already treated",
    finds=lab(
        load("compartment_pressure"), at_least=30, unit="mm[Hg]", timing="post_exercise_1min"
    ),
    lookback=RECENT,
    except_sides=TREATED_LEG,
)
post_5min_coded = Criterion(
    id="cecs.pressure_5min_post_exercise_coded",
    reads_as="A coded compartment pressure of 20 mmHg or more 5 minutes after exercise, in a leg not already treated",
    finds=lab(
        load("compartment_pressure"), at_least=20, unit="mm[Hg]", timing="post_exercise_5min"
    ),
    lookback=RECENT,
    except_sides=TREATED_LEG,
)

# Exclusions: PAD evidence, fracture or trauma, already treated or known.
low_abi = Criterion(
    id="cecs.abi_090_or_lower",
    reads_as="An ankle-brachial index of 0.90 or lower (PAD, not CECS)",
    finds=lab(load("abi"), at_most=0.90, unit="1"),
    lookback=days(730),
)
low_abi_note = Criterion(
    id="cecs.abi_090_or_lower_note",
    reads_as="A note gives an ankle-brachial index of 0.90 or lower (PAD, not CECS)",
    finds=note_mention(Concept.ABI, at_most=0.90),
    lookback=days(730),
)
pad_dx = Criterion(
    id="cecs.pad_diagnosed",
    reads_as="A PAD diagnosis at any time",
    finds=diagnosis(load("pad_diagnosis")),
    lookback=ANY_TIME,
)
trauma_dx = Criterion(
    id="cecs.leg_fracture_or_trauma_dx",
    reads_as="A leg fracture, stress fracture, traumatic compartment syndrome or muscle injury in the last year",
    finds=diagnosis(load("leg_trauma_or_fracture")),
    lookback=RECENT,
)
stress_fracture_rejected = Criterion(
    id="cecs.stress_fracture_rejected_note",
    reads_as="A note rejects a stress fracture or MTSS (imaging negative, 'not MTSS')",
    finds=note_mention(Concept.STRESS_FRACTURE, require=frozenset({Modifier.NEGATED})),
    lookback=ANY_TIME,
)
stress_fracture_note = Criterion(
    id="cecs.stress_fracture_note",
    reads_as="A note describes a stress fracture or medial tibial stress syndrome, not rejected by a later note",
    finds=note_mention(Concept.STRESS_FRACTURE),
    lookback=RECENT,
    until=(stress_fracture_rejected,),
)
acute_compartment_note = Criterion(
    id="cecs.acute_compartment_syndrome_note",
    reads_as="A note describes acute or traumatic compartment syndrome",
    finds=note_mention(Concept.ACUTE_COMPARTMENT_SYNDROME),
    lookback=RECENT,
)
ruled_out_note = Criterion(
    id="cecs.cecs_ruled_out_note",
    reads_as="A note records CECS as ruled out or excluded (for example after normal compartment pressures)",
    finds=note_mention(Concept.CECS, require=frozenset({Modifier.NEGATED})),
    lookback=RECENT,
)
cramps_note = Criterion(
    id="cecs.muscle_cramp_note",
    reads_as="A note describes exercise-associated muscle cramps relieved by stretching",
    finds=note_mention(Concept.MUSCLE_CRAMP),
    lookback=RECENT,
)
claudication_note = Criterion(
    id="cecs.vascular_claudication_note",
    reads_as="A note describes vascular claudication",
    finds=note_mention(Concept.CLAUDICATION),
    lookback=RECENT,
)

pedowitz = any_of(
    pre_exercise, post_1min, post_5min, pre_exercise_coded, post_1min_coded, post_5min_coded
)

CECS = Screen(
    id="cecs",
    version=3,
    title="Chronic exertional compartment syndrome candidate",
    priority=Priority.ROUTINE,
    summary="A young, active patient with predictable exertional leg pain that settles with rest, or compartment pressures meeting Pedowitz criteria; no PAD evidence, fracture or trauma.",
    include=any_of(
        pedowitz,
        all_of(young, any_of(exertional_pattern, cecs_named, nontraumatic_dx)),
        # Older athletes: the same pattern once a normal ABI has ruled PAD out.
        all_of(
            masters,
            any_of(exertional_pattern, cecs_named),
            any_of(normal_abi, normal_abi_note),
        ),
    ),
    exclude=any_of(
        low_abi,
        low_abi_note,
        pad_dx,
        trauma_dx,
        stress_fracture_note,
        acute_compartment_note,
        ruled_out_note,
    ),
    mimics=(cramps_note, claudication_note, stress_fracture_note),
)
