"""Positive stories for `pad` (undiagnosed PAD) and `clti` (possible CLTI).

Planted evidence lies within the last ~6 months before as_of. Undiagnosed-PAD notes never name
PAD, PVD or a revascularization, so nothing in them reads as an existing diagnosis.
"""

from __future__ import annotations

from datetime import timedelta

from devtools.synth import codes as c
from devtools.synth import phrases as ph
from devtools.synth.background import CONSULTATION
from devtools.synth.chart import Chart
from devtools.synth.codes import Code
from devtools.synth.notes import NoteParts
from devtools.synth.planting import (
    abi_observations,
    clinic_note,
    lab_visit,
    side_pair,
    vascular_value,
)

_SIDE_DIGIT = {"right": "1", "left": "2"}
_ULCER_SITE = {"3": "ankle", "4": "heel and midfoot", "5": "other part of foot"}
_ULCER_DEPTH = {
    "1": "limited to breakdown of skin",
    "2": "with fat layer exposed",
    "3": "with necrosis of muscle",
}


def ensure_dm(chart: Chart) -> None:
    if "dm" not in chart.flags:
        chart.flags.add("dm")
        chart.condition(c.T2DM, chart.history_start)
        chart.medication(c.METFORMIN, chart.history_start, sig="500 mg twice daily with meals")


def ulcer_code(side: str, site: str, depth: str) -> Code:
    return c.icd(
        f"L97.{site}{_SIDE_DIGIT[side]}{depth}",
        f"Non-pressure chronic ulcer of {side} {_ULCER_SITE[site]} {_ULCER_DEPTH[depth]}",
    )


def _plan_workup(chart: Chart) -> list[str]:
    return chart.rng.sample(
        [
            "Start aspirin 81 mg daily and high-intensity statin.",
            "Smoking cessation counseling provided; nicotine replacement offered.",
            "Supervised exercise program discussed.",
            "Arterial duplex ordered; vascular medicine referral placed.",
            "Foot care and daily foot inspection reviewed.",
        ],
        k=3,
    )


def plant_pad_claudication_note(chart: Chart) -> None:
    side = chart.rng.choice(("right", "left"))
    hpi = [ph.claudication(chart.rng, side, chart.sex), "Symptoms for several months."]
    plan = [f"Exertional {side} leg pain typical of vascular claudication; ABI ordered."]
    exam = {"Extremities": ph.arterial_exam(chart.rng, side)}
    parts = NoteParts("Progress note", "Leg pain with walking", hpi, plan + _plan_workup(chart))
    parts.exam.update(exam)
    clinic_note(chart, chart.recent_day(), parts)


def plant_pad_note_abi(chart: Chart) -> None:
    side, right, left = side_pair(chart, (0.55, 0.89), (0.92, 1.12))
    abi = ph.abi_sentence(chart.rng, right, left)
    extra = chart.rng.choice(
        (f"Monophasic {side} PT signal.", "Patient denies symptoms.", f"Weak {side} DP signal.")
    )
    hpi = ["Here for vascular risk review.", f"{abi} {extra}"]
    plan = [f"Abnormal resting ABI on the {side}; discussed findings and next steps."]
    parts = NoteParts("Progress note", "Follow-up of risk factors", hpi, plan + _plan_workup(chart))
    clinic_note(chart, chart.recent_day(), parts)


def _coded_abi(chart: Chart, *, form: str) -> None:
    _, right, left = side_pair(chart, (0.45, 0.89), (0.9, 1.15))
    day = chart.recent_day()
    hpi = ["Here to review risk factors.", "ABI ordered for screening given risk factors."]
    parts = NoteParts("Progress note", "Risk factor follow-up", hpi, ["ABI ordered."])
    clinic_note(chart, day - timedelta(days=chart.rng.randint(7, 21)), parts)
    unit = chart.rng.choice(("1", "{ratio}"))
    abi_observations(chart, lab_visit(chart, day), right, left, form=form, unit=unit)


def plant_pad_abi_coded(chart: Chart) -> None:
    _coded_abi(chart, form="bodysite")


def plant_pad_abi_components(chart: Chart) -> None:
    _coded_abi(chart, form="components")


def plant_pad_noncompressible_tbi(chart: Chart) -> None:
    ensure_dm(chart)
    rng, day = chart.rng, chart.recent_day()
    right, left = round(rng.uniform(1.42, 1.65), 2), round(rng.uniform(1.41, 1.6), 2)
    tbi_r, tbi_l = round(rng.uniform(0.35, 0.68), 2), round(rng.uniform(0.4, 0.69), 2)
    visit = lab_visit(chart, day)
    abi_observations(chart, visit, right, left, form="bodysite")
    if rng.random() < 0.5:
        vascular_value(chart, visit, c.TBI, tbi_r, "1", site=c.RIGHT_ANKLE)
        vascular_value(chart, visit, c.TBI, tbi_l, "1", site=c.LEFT_ANKLE)
    hpi = [
        f"Diabetic. ABI {right:.2f} right and {left:.2f} left (noncompressible); "
        f"TBI {tbi_r:.2f} right, {tbi_l:.2f} left."
    ]
    plan = ["Noncompressible tibial vessels with low toe-brachial indices; vascular referral."]
    parts = NoteParts(
        "Progress note", "Review of vascular studies", hpi, plan + _plan_workup(chart)
    )
    clinic_note(chart, day + timedelta(days=rng.randint(1, 7)), parts)


def plant_pad_borderline_exertional(chart: Chart) -> None:
    rng, day = chart.rng, chart.recent_day()
    side, right, left = side_pair(chart, (0.91, 0.99), (0.98, 1.1))
    if rng.random() < 0.5:
        abi_observations(chart, lab_visit(chart, day), right, left, form="bodysite")
        abi_text = "Resting ABI borderline as reported by the vascular lab."
    else:
        abi_text = ph.abi_sentence(rng, right, left) + " Borderline."
    hpi = [ph.claudication(rng, side, chart.sex), abi_text]
    if rng.random() < 0.5:
        post = round(rng.uniform(0.55, 0.7), 2)
        hpi.append(
            f"Exercise treadmill test: ABI fell from {min(right, left):.2f} at rest to {post:.2f} "
            f"at 1 minute, and walking stopped for {side} calf pain."
        )
    plan = ["Exertional leg symptoms with borderline resting ABI; exercise ABI and duplex."]
    parts = NoteParts("Progress note", "Leg pain with walking", hpi, plan + _plan_workup(chart))
    clinic_note(chart, day + timedelta(days=rng.randint(1, 10)), parts)


def _clti_note(chart: Chart, hpi: list[str], exam: str, plan: str) -> None:
    parts = NoteParts(
        "Consult note",
        "Foot pain",
        hpi,
        [plan, "Urgent vascular surgery evaluation; arterial imaging ordered."],
        exam={"Extremities": exam},
    )
    clinic_note(chart, chart.recent_day(10, 90), parts, kind=CONSULTATION, doc_type=c.CONSULT_NOTE)


def plant_clti_rest_pain(chart: Chart) -> None:
    side, right, left = side_pair(chart, (0.25, 0.55), (0.7, 0.95))
    rng = chart.rng
    hpi = [
        ph.rest_pain(rng, side, chart.sex),
        f"Previously had calf pain after {rng.choice(('one block', 'two blocks'))} of walking; "
        "over the past month the pain now comes on at rest.",
        ph.abi_sentence(rng, right, left),
    ]
    _clti_note(chart, hpi, ph.arterial_exam(rng, side), f"Ischemic rest pain, {side} foot.")


def plant_clti_gangrene_code(chart: Chart) -> None:
    rng, day = chart.rng, chart.recent_day(10, 90)
    side, right, left = side_pair(chart, (0.3, 0.6), (0.7, 0.95))
    toe = rng.choice(("2nd", "3rd", "great", "4th"))
    chart.condition(c.icd("I96", "Gangrene, not elsewhere classified"), day)
    chart.condition(ulcer_code(side, "5", "3"), day)
    visit = lab_visit(chart, day)
    abi_observations(chart, visit, right, left, form="bodysite")
    toe_p = rng.randint(12, 28)
    site = c.RIGHT_ANKLE if side == "right" else c.LEFT_ANKLE
    vascular_value(chart, visit, c.TOE_PRESSURE, toe_p, "mm[Hg]", site=site)
    hpi = [
        f"Dry gangrene of the {side} {toe} toe with a 1 cm black eschar; no pedal pulses.",
        f"Toe pressure {toe_p} mmHg on the {side}.",
    ]
    _clti_note(
        chart, hpi, f"No palpable {side} DP or PT pulse; dry black {toe} toe.", "Dry gangrene."
    )


def plant_clti_arterial_ulcer(chart: Chart) -> None:
    rng, day = chart.rng, chart.recent_day(10, 90)
    side, right, left = side_pair(chart, (0.4, 0.7), (0.8, 1.0))
    site = rng.choice(("3", "4"))
    chart.condition(ulcer_code(side, site, "2"), day)
    toe_p = rng.randint(14, 29)
    where = "lateral malleolus" if site == "3" else "heel"
    hpi = [
        f"Nonhealing ulcer on the {side} {where} for {rng.randint(4, 10)} weeks, punched-out base, "
        f"no granulation; toe pressure {toe_p} mmHg.",
        ph.abi_sentence(rng, right, left),
    ]
    if rng.random() < 0.5:
        hpi.append(f"Wound care: arterial ulcer, {side} {where}, fat layer exposed.")
    _clti_note(chart, hpi, ph.arterial_exam(rng, side), f"Arterial ulcer, {side} {where}.")


def plant_clti_hemodynamic(chart: Chart) -> None:
    rng, day = chart.rng, chart.recent_day(10, 90)
    side, right, left = side_pair(chart, (0.22, 0.39), (0.6, 0.9))
    tcpo2, ankle = rng.randint(10, 28), rng.randint(30, 48)
    visit = lab_visit(chart, day)
    site = c.RIGHT_ANKLE if side == "right" else c.LEFT_ANKLE
    abi_observations(chart, visit, right, left, form=rng.choice(("bodysite", "components")))
    vascular_value(chart, visit, c.TCPO2, tcpo2, "mm[Hg]", site=site)
    vascular_value(chart, visit, c.ANKLE_PRESSURE, ankle, "mm[Hg]", site=site)
    worst = min(right, left)
    hpi = [
        f"TcPO2 at the {side} forefoot {tcpo2} mmHg; ankle pressure {ankle} mmHg.",
        f"ABI {worst:.2f} {side} with monophasic DP/PT signals and a tip-of-toe ulcer.",
    ]
    _clti_note(chart, hpi, ph.arterial_exam(rng, side), "Severe hemodynamic compromise.")


def plant_clti_known_pad(chart: Chart) -> None:
    rng = chart.rng
    side = rng.choice(("right", "left"))
    old = chart.history_start + timedelta(days=rng.randint(30, 400))
    if rng.random() < 0.5:
        chart.condition(
            c.icd(
                f"I70.21{_SIDE_DIGIT[side]}",
                "Atherosclerosis of native arteries "
                f"of extremities with intermittent claudication, {side} leg",
            ),
            old,
        )
        chart.medication(c.CILOSTAZOL, old, sig="100 mg twice daily")
        hpi = [
            f"Known PAD with {side} calf claudication on cilostazol.",
            ph.rest_pain(rng, side, chart.sex),
        ]
        toe_p = rng.randint(12, 28)
        hpi.append(f"Toe pressure {toe_p} mmHg on the {side}.")
        _clti_note(
            chart, hpi, ph.arterial_exam(rng, side), f"Progression to ischemic rest pain, {side}."
        )
        return
    ensure_dm(chart)
    chart.condition(
        c.icd(
            "E11.51",
            "Type 2 diabetes mellitus with diabetic peripheral angiopathy without gangrene",
        ),
        old,
    )
    day = chart.recent_day(10, 90)
    chart.condition(c.icd("E11.621", "Type 2 diabetes mellitus with foot ulcer"), day)
    chart.condition(ulcer_code(side, "5", "2"), day)
    tcpo2 = rng.randint(12, 27)
    hpi = [
        f"Diabetic angiopathy. Nonhealing ulcer at the tip of the {side} 2nd toe for 6 weeks.",
        f"TcPO2 at the {side} forefoot {tcpo2} mmHg.",
    ]
    _clti_note(chart, hpi, ph.arterial_exam(rng, side), f"Ischemic toe ulcer, {side}.")
