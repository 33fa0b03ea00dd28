"""Traps and mimics for the arterial screens (`pad`, `clti`): none of these patients flags."""

from __future__ import annotations

from datetime import date, timedelta

from devtools.synth import codes as c
from devtools.synth import phrases as ph
from devtools.synth.chart import Chart
from devtools.synth.codes import Code
from devtools.synth.planting import (
    abi_observations,
    lab_visit,
    side_pair,
    simple_note,
    vascular_value,
)
from devtools.synth.stories_arterial import ensure_dm

_DM_VISIT = [
    "Follow-up of diabetes and blood pressure.",
    "Feels well; walking 30 minutes most days.",
]
DIAGNOSED_PAD: tuple[Code, ...] = (
    c.icd(
        "I70.213",
        "Atherosclerosis of native arteries of extremities with intermittent "
        "claudication, bilateral legs",
    ),
    Code(
        c.ICD10,
        "I70213",
        "Atherosclerosis of native arteries of extremities with intermittent "
        "claudication, bilateral legs",
    ),
    c.icd("I73.9", "Peripheral vascular disease, unspecified"),
    c.icd(
        "E11.51", "Type 2 diabetes mellitus with diabetic peripheral angiopathy without gangrene"
    ),
    c.sct("399957001", "Peripheral arterial occlusive disease (disorder)"),
    c.sct("840580004", "Peripheral arterial disease (disorder)"),
    Code(
        c.ICD9,
        "440.21",
        "Atherosclerosis of native arteries of the extremities with intermittent claudication",
    ),
)
_FEM_POP_STENT = Code(
    c.CPT,
    "37226",
    "Revascularization, endovascular, femoral/popliteal artery, unilateral; with stent placement",
)
_ANGIOPLASTY_STATUS = c.icd(
    "Z95.820", "Peripheral vascular angioplasty status with implants and grafts"
)


def old_day(chart: Chart) -> date:
    return chart.history_start + timedelta(days=chart.rng.randint(20, 300))


def plant_trap_negated_claudication(chart: Chart) -> None:
    negation = chart.rng.choice(
        (
            "Denies claudication, rest pain, or nonhealing wounds.",
            "No claudication or rest pain; walks two miles daily without leg symptoms.",
            "Negative for claudication. No foot wounds.",
            "He denies leg pain with walking and denies rest pain.",
        )
    )
    simple_note(
        chart,
        "Chronic disease follow-up",
        [*_DM_VISIT, negation],
        ["Risk factors reviewed; continue current regimen."],
    )


def plant_trap_templated_ros(chart: Chart) -> None:
    ros = chart.rng.choice(
        (
            "ROS negative for: chest pain, palpitations, leg pain with walking, leg swelling.",
            "CV: Negative for chest pain, claudication, leg swelling. Skin: no ulcers or wounds.",
            "Cardiovascular: denies chest pain, claudication, rest pain, edema. "
            "Extremities: no ulcers.",
        )
    )
    simple_note(
        chart,
        "Annual visit",
        ["Here for annual visit.", "No complaints."],
        ["Health maintenance reviewed."],
        ros=ros,
    )


def plant_trap_family_pad(chart: Chart) -> None:
    chart.condition(
        c.icd(
            "Z82.49",
            "Family history of ischemic heart disease and other diseases of the circulatory system",
        ),
        old_day(chart),
    )
    fam = chart.rng.choice(
        (
            "Family history of PAD (father s/p bilateral BKA).",
            "Mother had a leg amputation from poor circulation.",
            "Brother with peripheral arterial disease s/p fem-pop bypass.",
        )
    )
    simple_note(
        chart,
        "Check-up",
        [fam, "Patient asymptomatic, pulses 2+ throughout."],
        ["Family history noted; risk factor control discussed."],
        exam={"Extremities": "DP and PT pulses 2+ throughout, no edema."},
    )


def plant_mimic_neurogenic(chart: Chart) -> None:
    day = chart.recent_day()
    chart.condition(
        c.icd("M48.062", "Spinal stenosis, lumbar region with neurogenic claudication"), day
    )
    he = ph.pronoun(chart.sex)[0]
    hpi = chart.rng.choice(
        (
            f"Leg pain with walking is relieved only when {he} sits down or bends forward over the "
            "cart; MRI shows severe L4-5 stenosis.",
            "Bilateral buttock and thigh pain with standing and walking; relieved by sitting or "
            "leaning forward on a shopping cart.",
            "Pain begins after standing at the sink for 5 minutes; easier walking uphill than "
            "downhill. Can bicycle for 30 minutes without symptoms.",
        )
    )
    simple_note(
        chart,
        "Back and leg pain",
        [hpi, "Pedal pulses 2+ bilaterally."],
        [
            "Neurogenic claudication, MRI severe central canal stenosis at L4-5.",
            "Physical therapy; spine surgery referral.",
        ],
        day=day,
    )


def plant_mimic_jaw_claudication(chart: Chart) -> None:
    day = chart.recent_day()
    visit = simple_note(
        chart,
        "Headache",
        [
            "New temporal headache for 3 weeks.",
            "Jaw claudication and headache, ESR 90; temporal artery biopsy planned.",
        ],
        ["Suspected giant cell arteritis: start prednisone 60 mg daily."],
        day=day,
    )
    chart.observation(
        visit,
        c.ESR,
        value={"value": 90, "unit": "mm/h", "system": c.UCUM, "code": "mm/h"},
        category="laboratory",
    )
    chart.condition(c.icd("M31.6", "Other giant cell arteritis"), day, visit=visit)
    chart.medication(c.PREDNISONE, day, sig="60 mg daily")


def plant_trap_diagnosed_pad(chart: Chart) -> None:
    rng = chart.rng
    code = rng.choice(DIAGNOSED_PAD)
    if code.code == "E11.51":
        ensure_dm(chart)
    chart.condition(code, old_day(chart), clinical=rng.choice(("active", "active", "inactive")))
    side, right, left = side_pair(chart, (0.55, 0.85), (0.85, 1.05))
    hpi = [ph.claudication(rng, side, chart.sex), ph.abi_sentence(rng, right, left)]
    if rng.random() < 0.5:
        hpi.insert(0, "Known peripheral arterial disease, stable.")
    simple_note(
        chart,
        "Leg pain with walking",
        hpi,
        ["Stable claudication; continue statin, antiplatelet and walking program."],
    )


def plant_trap_prior_revascularization(chart: Chart) -> None:
    rng = chart.rng
    # CPT 37226 exists for dates of service through 2025 only (clinical-reference §1.6).
    day = min(chart.as_of - timedelta(days=rng.randint(400, 2200)), date(2025, 12, 31))
    side = rng.choice(("right", "left"))
    variant = rng.randint(0, 2)
    if variant in (0, 2):
        chart.procedure(_FEM_POP_STENT, day)
    if variant in (1, 2):
        chart.condition(_ANGIOPLASTY_STATUS, day)
    chart.medication(c.CLOPIDOGREL, day, sig="75 mg daily")
    hpi = [f"S/p {side} SFA stent {day.year}.", ph.claudication(rng, side, chart.sex)]
    simple_note(chart, "Vascular follow-up", hpi, ["Surveillance duplex ordered."])


def plant_trap_normal_abi(chart: Chart) -> None:
    right, left = round(chart.rng.uniform(1.0, 1.3), 2), round(chart.rng.uniform(1.0, 1.3), 2)
    day = chart.recent_day()
    abi_observations(
        chart, lab_visit(chart, day), right, left, form=chart.rng.choice(("bodysite", "components"))
    )
    simple_note(
        chart,
        "Results review",
        [f"ABI {right:.2f} right, {left:.2f} left — normal."],
        ["Normal ABI; continue risk factor management."],
        day=day + timedelta(days=3),
    )


def plant_trap_entered_in_error_abi(chart: Chart) -> None:
    rng, day = chart.rng, chart.recent_day()
    visit = lab_visit(chart, day)
    bad_r, bad_l = round(rng.uniform(0.4, 0.7), 2), round(rng.uniform(0.4, 0.7), 2)
    abi_observations(chart, visit, bad_r, bad_l, form="bodysite", status="entered-in-error")
    good_r, good_l = round(rng.uniform(1.0, 1.2), 2), round(rng.uniform(1.0, 1.2), 2)
    abi_observations(chart, visit, good_r, good_l, form="bodysite")


def plant_trap_old_abi_outside_lookback(chart: Chart) -> None:
    rng = chart.rng
    day = chart.as_of - timedelta(days=rng.randint(3 * 365 + 60, 4 * 365 + 300))
    _, right, left = side_pair(chart, (0.7, 0.88), (0.9, 1.05))
    abi_observations(chart, lab_visit(chart, day), right, left, form="bodysite")


def plant_trap_wrong_unit(chart: Chart) -> None:
    rng, day = chart.rng, chart.recent_day()
    visit = lab_visit(chart, day)
    if rng.random() < 0.5:
        right, left = round(rng.uniform(0.6, 0.8), 2), round(rng.uniform(0.6, 0.8), 2)
        abi_observations(chart, visit, right, left, form="bodysite", unit="mm[Hg]")
    else:
        vascular_value(chart, visit, c.TOE_PRESSURE, rng.randint(18, 28), "mmHgg", ucum=False)
