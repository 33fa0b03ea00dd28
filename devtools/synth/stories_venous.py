"""Positive stories for `may_thurner` and `cecs`."""

from __future__ import annotations

from datetime import date, timedelta

from devtools.synth import codes as c
from devtools.synth import phrases as ph
from devtools.synth.background import CONSULTATION, ED_VISIT
from devtools.synth.chart import Chart
from devtools.synth.notes import NoteParts, compose_report
from devtools.synth.planting import clinic_note, lab_visit, vascular_value

LEFT_SWELLING = c.icd("R22.42", "Localized swelling, mass and lump, left lower limb")
_LEFT_PROXIMAL_DVT = (
    c.icd("I82.412", "Acute embolism and thrombosis of left femoral vein"),
    c.icd("I82.422", "Acute embolism and thrombosis of left iliac vein"),
    c.icd(
        "I82.4Y2",
        "Acute embolism and thrombosis of unspecified deep veins of left proximal lower extremity",
    ),
    c.icd("I80.12", "Phlebitis and thrombophlebitis of left femoral vein"),
)


def _duplex(
    chart: Chart, day: date, finding: str, impression: str, code: c.Code = c.VENOUS_DUPLEX_LEFT
) -> None:
    text = compose_report(
        "Venous duplex ultrasound", "Left leg swelling and pain.", [finding], impression
    )
    chart.report(lab_visit(chart, day), code, text, conclusion=impression, category="VUS")


def plant_mt_left_iliofemoral_dvt(chart: Chart) -> None:
    rng, day = chart.rng, chart.recent_day(10, 120)
    trigger = rng.choice(
        (
            "Takes a combined oral contraceptive.",
            "Postpartum day 10.",
            "Returned from a 9-hour car trip three days ago.",
            "No clear provoking factor.",
        )
    )
    if trigger.startswith("Takes"):
        chart.medication(c.ORAL_CONTRACEPTIVE, chart.history_start, sig="1 tab daily")
    finding = ph.left_dvt_finding(rng)
    _duplex(chart, day, finding, "Acute occlusive left iliofemoral deep vein thrombosis.")
    hpi = [
        f"Presents with a {rng.randint(2, 5)}-day history of a swollen, painful left leg from "
        f"the thigh down. {trigger}",
        finding,
    ]
    plan = [
        "Acute left iliofemoral DVT: start anticoagulation.",
        "Given young age and left-sided iliofemoral thrombus, outpatient vascular follow-up.",
    ]
    parts = NoteParts("Emergency department note", "Left leg swelling", hpi, plan)
    visit = clinic_note(chart, day, parts, kind=ED_VISIT, doc_type=c.ED_NOTE, cls="EMER")
    chart.condition(
        rng.choice(_LEFT_PROXIMAL_DVT), day, visit=visit, category="encounter-diagnosis"
    )
    chart.medication(rng.choice((c.APIXABAN, c.RIVAROXABAN)), day, sig="per DVT loading protocol")


def plant_mt_recurrent_left_dvt(chart: Chart) -> None:
    rng, day = chart.rng, chart.recent_day(10, 120)
    first = day - timedelta(days=rng.randint(700, 1100))
    chart.condition(c.icd("I82.512", "Chronic embolism and thrombosis of left femoral vein"), first)
    chart.condition(
        c.icd("Z86.718", "Personal history of other venous thrombosis and embolism"), first
    )
    chart.medication(c.WARFARIN, first, sig="as directed per INR", status="completed")
    _duplex(
        chart, day, ph.left_dvt_finding(rng), "New acute left femoral DVT on a chronic background."
    )
    hpi = [
        "Second left-leg DVT in 3 years despite anticoagulation; evaluate for iliac vein "
        "compression.",
        "Presents with recurrent left thigh swelling and heaviness.",
    ]
    plan = ["Recurrent left femoral DVT: restart anticoagulation; CT venogram of the pelvis."]
    parts = NoteParts("Consult note", "Recurrent left leg DVT", hpi, plan)
    visit = clinic_note(chart, day, parts, kind=CONSULTATION, doc_type=c.CONSULT_NOTE)
    chart.condition(_LEFT_PROXIMAL_DVT[0], day, visit=visit, category="encounter-diagnosis")
    chart.medication(c.APIXABAN, day, sig="10 mg twice daily for 7 days then 5 mg twice daily")


def plant_mt_iliac_compression_imaging(chart: Chart) -> None:
    rng, day = chart.rng, chart.recent_day(10, 120)
    chart.condition(LEFT_SWELLING, day - timedelta(days=rng.randint(20, 60)))
    if rng.random() < 0.5:
        title, code = "CT venogram abdomen and pelvis", c.CT_VENOGRAM
        finding = (
            f"The right common iliac artery crosses and compresses the left common iliac vein, "
            f"about {rng.choice((60, 70, 75, 80))}% narrowing, with pelvic collaterals."
        )
    else:
        title, code = "Venogram with intravascular ultrasound", c.CT_VENOGRAM
        finding = (
            f"IVUS: {rng.choice((55, 65, 72))}% area reduction of the left CIV at the arterial "
            "crossing point, consistent with non-thrombotic iliac vein lesion."
        )
    impression = "Compression of the left common iliac vein by the right common iliac artery."
    text = compose_report(title, "Persistent left leg swelling.", [finding], impression)
    chart.report(lab_visit(chart, day), code, text, conclusion=impression)
    hpi = ["Persistent left leg swelling for several months.", f"Imaging reviewed: {finding}"]
    plan = ["Left common iliac vein compression on imaging; vascular surgery referral."]
    parts = NoteParts("Progress note", "Left leg swelling", hpi, plan)
    clinic_note(chart, day + timedelta(days=rng.randint(3, 9)), parts)


def plant_mt_persistent_swelling(chart: Chart) -> None:
    rng, day = chart.rng, chart.recent_day(10, 150)
    chart.condition(LEFT_SWELLING, day - timedelta(days=rng.randint(60, 200)))
    hpi = [
        "Persistent left calf and thigh swelling and a bursting ache after walking that eases "
        "when she lies with the leg up.",
        rng.choice(
            (
                "Tight, heavy left thigh with exercise; right leg normal.",
                "Exercise intolerance and left leg heaviness for a year.",
                "Left-sided post-thrombotic changes on prior duplex.",
            )
        ),
    ]
    plan = [
        "Venous claudication of the left leg in a young woman; CT venogram to assess the iliac "
        "veins.",
        "Compression stockings in the meantime.",
    ]
    exam = {"Extremities": "Left leg 3 cm larger at the calf than right, varicosities, pulses 2+."}
    parts = NoteParts("Progress note", "Left leg swelling", hpi, plan, exam=exam)
    clinic_note(chart, day, parts)


def _cecs_note(
    chart: Chart,
    activity: str,
    hpi_extra: list[str],
    day: date | None = None,
    plan: str | None = None,
) -> None:
    rng = chart.rng
    day = day or chart.recent_day()
    age = chart.age_on(day)
    side = rng.choice(("right", "left"))
    hpi = [ph.cecs_story(rng, age, chart.sex, activity), *hpi_extra]
    exam = {
        "Extremities": rng.choice(
            (
                "Pulses 2+ DP/PT bilaterally; no tibial tenderness.",
                f"Fascial defect palpable over the lower third of the {side} leg; pulses normal.",
                "Normal resting exam; no bony tenderness; DP and PT pulses 2+.",
            )
        )
    }
    assessment = plan or rng.choice(
        (
            "Exertional leg pain pattern suggests chronic exertional compartment syndrome; "
            "sports medicine referral for compartment pressure testing.",
            "Suspect CECS; compartment pressure testing ordered.",
            "Exertional compartment syndrome suspected; activity modification until testing.",
        )
    )
    imaging = "MRI tibia without stress fracture." if rng.random() < 0.5 else "X-rays normal."
    plan_lines = [assessment, imaging]
    parts = NoteParts(
        "Sports medicine note",
        "Leg pain with running",
        hpi,
        plan_lines,
        exam=exam,
        social_extra=f"Active {activity}.",
    )
    clinic_note(chart, day, parts, kind=CONSULTATION, doc_type=c.CONSULT_NOTE)


def plant_cecs_runner(chart: Chart) -> None:
    _cecs_note(
        chart, chart.rng.choice(("cross-country runner", "marathon trainee", "track athlete")), []
    )


def plant_cecs_soccer(chart: Chart) -> None:
    _cecs_note(chart, "soccer midfielder", ["Pulses normal between episodes."])


def plant_cecs_military(chart: Chart) -> None:
    _cecs_note(
        chart,
        "army recruit",
        ["Bilateral lateral leg pain on ruck marches that resolves with rest."],
    )


def plant_cecs_pressures(chart: Chart) -> None:
    rng, day = chart.rng, chart.recent_day(10, 120)
    side = rng.choice(("right", "left"))
    pre, one, five = rng.randint(15, 25), rng.randint(31, 52), rng.randint(21, 34)
    site = c.local(
        f"anterior-compartment-{side}", f"{side.capitalize()} anterior compartment of leg"
    )
    visit = lab_visit(chart, day)
    chart.procedure(
        c.Code(c.CPT, "20950", "Monitoring of interstitial fluid pressure"), day, visit=visit
    )
    for code, value in (
        (c.COMPARTMENT_PRE, pre),
        (c.COMPARTMENT_1MIN, one),
        (c.COMPARTMENT_5MIN, five),
    ):
        vascular_value(chart, visit, code, value, "mm[Hg]", site=site)
    summary = (
        f"Compartment pressures, {side} anterior: {pre} mmHg pre-exercise, {one} at 1 minute, "
        f"{five} at 5 minutes after treadmill, consistent with CECS."
    )
    activity = rng.choice(("runner", "lacrosse player", "infantry soldier"))
    plan = "Chronic exertional compartment syndrome confirmed by pressures; fasciotomy discussed."
    _cecs_note(chart, activity, [summary], day + timedelta(days=rng.randint(2, 9)), plan)
