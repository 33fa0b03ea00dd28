"""Traps for `clti` (tissue loss and rest-pain look-alikes) and abbreviation collisions."""

from __future__ import annotations

from datetime import timedelta

from devtools.synth import codes as c
from devtools.synth.chart import Chart
from devtools.synth.planting import lab_visit, simple_note, vascular_value
from devtools.synth.stories_arterial import ensure_dm, ulcer_code
from devtools.synth.traps_arterial import DIAGNOSED_PAD, old_day


def plant_trap_hypothetical_rest_pain(chart: Chart) -> None:
    rng = chart.rng
    chart.condition(rng.choice(DIAGNOSED_PAD[:3]), old_day(chart))
    chart.medication(c.CILOSTAZOL, old_day(chart), sig="100 mg twice daily")
    simple_note(
        chart,
        "PAD follow-up",
        ["Stable calf claudication at 3 blocks on cilostazol.", "No rest pain, no tissue loss."],
        [
            "Discussed warning signs: call if you develop pain at rest or a wound that does "
            "not heal.",
            "Continue walking program.",
        ],
    )


def plant_trap_fournier_gangrene(chart: Chart) -> None:
    day = chart.recent_day()
    chart.condition(c.icd("N49.3", "Fournier gangrene"), day)
    simple_note(
        chart,
        "Post-operative follow-up",
        ["Fournier's gangrene s/p debridement.", "Wound healing well, afebrile."],
        ["Continue wound care; surgery follow-up."],
        day=day,
    )


def plant_trap_venous_stasis_ulcer(chart: Chart) -> None:
    rng, day = chart.rng, chart.recent_day()
    side = rng.choice(("right", "left"))
    digit = "1" if side == "right" else "2"
    chart.condition(
        c.icd(
            f"I87.31{digit}",
            f"Chronic venous hypertension (idiopathic) with ulcer of {side} lower extremity",
        ),
        day,
    )
    chart.condition(ulcer_code(side, "3", "2"), day)
    abi = round(rng.uniform(1.0, 1.15), 2)
    simple_note(
        chart,
        "Leg wound",
        [
            f"Venous stasis ulcer over the {side} medial malleolus with "
            f"hemosiderin staining and bilateral edema; ABI {abi:.2f}."
        ],
        ["Venous ulcer: compression wraps and wound care."],
        day=day,
    )


def plant_trap_pressure_injury(chart: Chart) -> None:
    day = chart.recent_day()
    chart.condition(c.icd("L89.152", "Pressure ulcer of sacral region, stage 2"), day)
    chart.condition(c.icd("L89.612", "Pressure ulcer of right heel, stage 2"), day)
    simple_note(
        chart,
        "Skin check",
        ["Sacral and heel pressure injuries, stage 2, in a bedbound patient; palpable DP pulses."],
        ["Offloading, turning schedule, wound nurse."],
        day=day,
    )


def plant_trap_neuropathic_ulcer(chart: Chart) -> None:
    ensure_dm(chart)
    day = chart.recent_day()
    chart.condition(c.T2DM_NEUROPATHY, old_day(chart))
    chart.condition(c.icd("E11.621", "Type 2 diabetes mellitus with foot ulcer"), day)
    chart.condition(ulcer_code("right", "5", "1"), day)
    visit = lab_visit(chart, day)
    vascular_value(chart, visit, c.TBI, 0.82, "1", site=c.RIGHT_ANKLE)
    vascular_value(chart, visit, c.TOE_PRESSURE, 95, "mm[Hg]", site=c.RIGHT_ANKLE)
    simple_note(
        chart,
        "Foot ulcer",
        ["Neuropathic plantar ulcer under the 1st MTH; TBI 0.82, toe pressure 95 mmHg."],
        ["Offloading shoe; podiatry."],
        day=day + timedelta(days=2),
    )


def plant_trap_traumatic_brain_injury(chart: Chart) -> None:
    chart.condition(
        c.icd("S06.9X0S", "Unspecified intracranial injury without loss of consciousness, sequela"),
        old_day(chart),
    )
    simple_note(
        chart,
        "Headaches",
        [
            "History of TBI after a motor vehicle collision with residual "
            "headaches and poor concentration.",
            "TBI 2 years ago per patient.",
        ],
        ["Post-concussive headaches: TBI clinic follow-up."],
    )
