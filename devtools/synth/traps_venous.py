"""Traps for `may_thurner`: venous look-alikes and already-managed disease; none flags."""

from __future__ import annotations

from datetime import date, timedelta

from devtools.synth import codes as c
from devtools.synth.background import ED_VISIT
from devtools.synth.chart import Chart
from devtools.synth.notes import compose_report
from devtools.synth.planting import lab_visit, simple_note

_NEG_DUPLEX = "No deep venous thrombosis. Veins fully compressible with normal phasic flow."


def _negative_duplex(chart: Chart, day: date, code: c.Code, indication: str) -> None:
    text = compose_report(
        "Venous duplex ultrasound", indication, [_NEG_DUPLEX], "Negative for DVT."
    )
    chart.report(lab_visit(chart, day), code, text, conclusion="Negative for DVT.", category="VUS")


def plant_trap_right_dvt(chart: Chart) -> None:
    day = chart.recent_day()
    surgery = day - timedelta(days=chart.rng.randint(7, 20))
    chart.procedure(
        c.Code(c.CPT, "29881", "Arthroscopy, knee, surgical; with meniscectomy"), surgery
    )
    finding = "Occlusive thrombus in the right popliteal vein; femoral veins compressible."
    text = compose_report(
        "Venous duplex ultrasound",
        "Right calf swelling after knee arthroscopy.",
        [finding],
        "Acute right popliteal DVT.",
    )
    chart.report(
        lab_visit(chart, day),
        c.VENOUS_DUPLEX_RIGHT,
        text,
        conclusion="Acute right popliteal DVT.",
        category="VUS",
    )
    visit = simple_note(
        chart,
        "Right calf swelling",
        ["Right popliteal DVT after knee arthroscopy, provoked."],
        ["Rivaroxaban for 3 months."],
        day=day,
    )
    chart.condition(
        c.icd("I82.431", "Acute embolism and thrombosis of right popliteal vein"),
        day,
        visit=visit,
        category="encounter-diagnosis",
    )
    chart.medication(c.RIVAROXABAN, day, sig="15 mg twice daily with food for 21 days")


def plant_trap_bilateral_chf_edema(chart: Chart) -> None:
    day = chart.recent_day()
    visit = simple_note(
        chart,
        "Leg swelling and dyspnea",
        [
            "Bilateral pitting edema to the shins; CHF exacerbation, BNP 1,900.",
            "Orthopnea, 3-pillow.",
        ],
        ["Acute on chronic HFrEF: increase furosemide, daily weights."],
        day=day,
    )
    chart.observation(
        visit,
        c.BNP,
        value={"value": 1900, "unit": "pg/mL", "system": c.UCUM, "code": "pg/mL"},
        category="laboratory",
    )
    chart.condition(c.icd("I50.9", "Heart failure, unspecified"), day - timedelta(days=400))
    chart.condition(
        c.icd("R60.0", "Localized edema"), day, visit=visit, category="encounter-diagnosis"
    )
    chart.medication(c.FUROSEMIDE, day, sig="40 mg twice daily")


def plant_trap_mt_stented(chart: Chart) -> None:
    rng = chart.rng
    stent_day = chart.history_start + timedelta(days=rng.randint(30, 300))
    chart.condition(
        c.icd("I82.422", "Acute embolism and thrombosis of left iliac vein"),
        stent_day - timedelta(days=20),
        clinical="resolved",
    )
    variant = rng.randint(0, 2)
    if variant in (0, 2):
        chart.procedure(
            c.Code(
                c.PCS,
                "067D3DZ",
                "Dilation of Left Common Iliac Vein with "
                "Intraluminal Device, Percutaneous Approach",
            ),
            stent_day,
        )
    note = (
        f"History of May-Thurner, s/p left common iliac vein stent {stent_day.year}, stent patent "
        "on surveillance."
        if variant in (1, 2)
        else "Iliac vein stent surveillance visit."
    )
    chart.medication(c.ASPIRIN, stent_day, sig="81 mg daily")
    simple_note(
        chart,
        "Venous follow-up",
        [note, "Left leg swelling much improved."],
        ["Continue aspirin; surveillance duplex in 1 year."],
    )


def plant_trap_cellulitis_left_leg(chart: Chart) -> None:
    day = chart.recent_day()
    _negative_duplex(chart, day, c.VENOUS_DUPLEX_LEFT, "Left leg swelling and redness.")
    visit = simple_note(
        chart,
        "Red swollen left leg",
        ["Left leg swelling due to cellulitis, erythema and warmth, duplex negative."],
        ["Cephalexin for 7 days; elevate the leg."],
        day=day,
    )
    chart.condition(
        c.icd("L03.116", "Cellulitis of left lower limb"),
        day,
        visit=visit,
        category="encounter-diagnosis",
    )
    chart.medication(c.CEPHALEXIN, day, sig="500 mg four times daily for 7 days")


def plant_trap_rule_out_dvt(chart: Chart) -> None:
    day = chart.recent_day()
    visit = simple_note(
        chart,
        "Left calf pain",
        [
            "Rule out DVT: left calf pain after a long day on her feet."
            if chart.sex == "female"
            else "Rule out DVT: left calf pain."
        ],
        ["Venous duplex ordered; D-dimer sent."],
        day=day,
        kind=ED_VISIT,
        doc_type=c.ED_NOTE,
        cls="EMER",
        title="Emergency department note",
    )
    chart.condition(
        c.icd("M79.662", "Pain in left lower leg"), day, visit=visit, category="encounter-diagnosis"
    )
    _negative_duplex(chart, day, c.VENOUS_DUPLEX_LEFT, "Rule out DVT, left calf pain.")


def plant_trap_mesial_temporal_sclerosis(chart: Chart) -> None:
    onset = chart.history_start + timedelta(days=chart.rng.randint(10, 200))
    chart.condition(c.icd("G93.81", "Temporal sclerosis"), onset)
    chart.condition(
        c.icd(
            "G40.209",
            "Localization-related symptomatic epilepsy with complex "
            "partial seizures, not intractable, without status epilepticus",
        ),
        onset,
    )
    chart.medication(c.LEVETIRACETAM, onset, sig="500 mg twice daily")
    simple_note(
        chart,
        "Seizure follow-up",
        ["MTS noted on MRI brain, on levetiracetam.", "Seizure-free for 8 months."],
        ["Continue levetiracetam; neurology follow-up."],
    )
