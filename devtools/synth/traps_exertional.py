"""Traps and mimics for `cecs` and exertional leg pain: none of these patients flags."""

from __future__ import annotations

from datetime import timedelta

from devtools.synth import codes as c
from devtools.synth.background import ED_VISIT
from devtools.synth.chart import Chart
from devtools.synth.planting import simple_note


def plant_mimic_eamc(chart: Chart) -> None:
    hpi = chart.rng.choice(
        (
            "Calf cramps during the last miles of a marathon, relieved by stretching.",
            "Sudden cramp in the right hamstring at mile 22, muscle visibly knotted, released with "
            "stretching.",
            "Calf locks up during soccer in the heat, resolves in minutes with passive "
            "dorsiflexion.",
        )
    )
    simple_note(
        chart,
        "Leg cramps with exercise",
        [hpi, "Normal CK."],
        ["Exercise-associated muscle cramps: hydration, stretching, training load review."],
    )


def plant_mimic_mtss(chart: Chart) -> None:
    day = chart.recent_day()
    if chart.rng.random() < 0.5:
        he = "she" if chart.sex == "female" else "he"
        hpi = (
            "Medial shin tenderness along the posteromedial tibial border, pain at the start of "
            f"runs that improves as {he} warms up."
        )
        plan = "Medial tibial stress syndrome: relative rest, gradual return to running."
    else:
        hpi = "Focal tibial tenderness; MRI shows stress fracture."
        plan = "Tibial stress fracture: boot and non-impact training for 6 weeks."
        chart.condition(c.icd("M84.361A", "Stress fracture, right tibia, initial encounter"), day)
    simple_note(chart, "Shin pain", [hpi], [plan], day=day)


def plant_trap_acute_compartment(chart: Chart) -> None:
    day = chart.recent_day()
    visit = simple_note(
        chart,
        "Leg injury",
        [
            "Motorcycle crash. Tibial plateau fracture with tense "
            "compartments and pain on passive stretch, emergent fasciotomy."
        ],
        ["Acute traumatic compartment syndrome, right leg: four-compartment fasciotomy performed."],
        day=day,
        kind=ED_VISIT,
        doc_type=c.HP_NOTE,
        cls="EMER",
        title="History and physical",
    )
    chart.condition(
        c.icd(
            "S82.141A",
            "Displaced bicondylar fracture of right tibia, initial encounter for closed fracture",
        ),
        day,
        visit=visit,
    )
    chart.condition(
        c.icd(
            "T79.A21A", "Traumatic compartment syndrome of right lower extremity, initial encounter"
        ),
        day,
        visit=visit,
    )
    chart.procedure(
        c.Code(
            c.CPT,
            "27602",
            "Decompression fasciotomy, leg; anterior and/or lateral, and posterior compartment(s)",
        ),
        day,
        visit=visit,
    )


def plant_trap_cecs_treated(chart: Chart) -> None:
    old = chart.history_start + timedelta(days=chart.rng.randint(30, 200))
    chart.procedure(
        c.Code(
            c.CPT,
            "27600",
            "Decompression fasciotomy, leg; anterior and/or lateral compartments only",
        ),
        old,
    )
    simple_note(
        chart,
        "Sports physical",
        [
            "S/p bilateral anterior and lateral fasciotomies for "
            "chronic exertional compartment syndrome.",
            "Running 30 miles a week without leg pain.",
        ],
        ["Cleared for full activity."],
    )


def plant_mimic_nocturnal_cramps(chart: Chart) -> None:
    day = chart.recent_day()
    chart.condition(c.icd("G47.62", "Sleep related leg cramps"), day)
    simple_note(
        chart,
        "Night cramps",
        [
            "Wakes 2-3 nights a week with a painful calf cramp, toes "
            "pointed, relieved by standing and stretching the calf.",
            "No daytime symptoms with walking.",
        ],
        ["Sleep-related leg cramps; stretching before bed, consider magnesium."],
        day=day,
    )


def plant_mimic_radiculopathy(chart: Chart) -> None:
    day = chart.recent_day()
    chart.condition(c.icd("M54.32", "Sciatica, left side"), day)
    simple_note(
        chart,
        "Back and leg pain",
        [
            "Sharp, electric pain shooting from the low back down "
            "the posterior left leg to the heel, worse with sitting and coughing.",
            "Positive straight-leg raise at 40 degrees on the left; diminished ankle reflex.",
        ],
        ["Left L5-S1 radiculopathy: NSAIDs, physical therapy."],
        day=day,
    )
