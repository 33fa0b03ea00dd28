"""Background history for every patient: demographics, risk factors, visits, vitals, labs, notes."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from devtools.synth import codes as c
from devtools.synth.chart import Chart, Resource, Visit, quantity
from devtools.synth.notes import NoteParts, compose_note
from devtools.synth.topics import ACUTE, CHRONIC

_GIVEN_F = ("Ana", "Beth", "Carla", "Dana", "Elena", "Fay", "Gina", "Hana", "Iris", "June")
_GIVEN_M = ("Alan", "Ben", "Carl", "Dev", "Eli", "Finn", "Gus", "Hugo", "Ivan", "Jon")
_FAMILY = ("Synthe", "Testa", "Examplo", "Mockley", "Fakson", "Demoor", "Sampleby", "Placer")
_V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"  # identifier types (MR: the MRN)
CHECKUP = c.sct("185349003", "Encounter for check up (procedure)")
SYMPTOM_VISIT = c.sct("185345009", "Encounter for symptom")
FOLLOW_UP = c.sct("390906007", "Follow-up encounter")
CONSULTATION = c.sct("11429006", "Consultation")
ED_VISIT = c.sct("50849002", "Emergency room admission (procedure)")


@dataclass(frozen=True, slots=True)
class Profile:
    """Who a story needs: age range at as_of, sex (None = either) and risk pattern."""

    age: tuple[int, int] = (18, 90)
    sex: str | None = None
    risk: str = "general"  # general | vascular | young_active
    history_years: tuple[int, int] = (4, 7)


def new_chart(
    patient_id: str, index: int, rng: random.Random, as_of: date, profile: Profile
) -> Chart:
    """Create the chart and its Patient resource."""
    age = _pick_age(rng, profile)
    sex = profile.sex or rng.choice(("female", "male"))
    birth = as_of - timedelta(days=age * 365 + rng.randint(30, 330))
    years = rng.randint(*profile.history_years)
    start = as_of - timedelta(days=years * 365 + rng.randint(0, 120))
    chart = Chart(patient_id, rng, as_of, birth, sex, start)
    given = rng.choice(_GIVEN_F if sex == "female" else _GIVEN_M)
    chart.out["Patient"].append(
        {
            "resourceType": "Patient",
            "id": patient_id,
            "identifier": [
                {
                    "type": {"coding": [{"system": _V2_0203, "code": "MR"}]},
                    "system": "http://vascreen.example.org/fhir/mrn",
                    "value": f"SYN{index:08d}",
                }
            ],
            "active": True,
            "name": [{"use": "official", "family": rng.choice(_FAMILY), "given": [given]}],
            "gender": sex,
            "birthDate": birth.isoformat(),
            "address": [{"city": "Exampleton", "state": "MA", "country": "US"}],
        }
    )
    return chart


def _pick_age(rng: random.Random, profile: Profile) -> int:
    lo, hi = profile.age
    if profile.risk == "general" and (lo, hi) == (18, 90):
        return min(90, max(18, int(rng.triangular(18, 90, 62))))
    return rng.randint(lo, hi)


def add_risk_factors(chart: Chart, risk: str) -> None:
    """Assign chronic conditions, smoking status and their medications."""
    rng, age = chart.rng, chart.age_on(chart.as_of)
    scale = max(0.0, min(1.0, (age - 30) / 50))
    probs = {"htn": 0.7 * scale, "dm": 0.25 * scale, "hld": 0.6 * scale, "cur": 0.13, "former": 0.2}
    if risk == "vascular":
        probs = {"htn": 0.85, "dm": 0.5, "hld": 0.8, "cur": 0.5, "former": 0.45}
    elif risk == "young_active":
        probs = {"htn": 0.02, "dm": 0.0, "hld": 0.02, "cur": 0.04, "former": 0.03}
    onset = chart.history_start - timedelta(days=rng.randint(30, 2000))
    if rng.random() < probs["cur"]:
        chart.flags.add("current_smoker")
        chart.condition(c.NICOTINE_DEPENDENCE, onset)
    elif rng.random() < probs["former"]:
        chart.flags.add("former_smoker")
        chart.condition(c.FORMER_SMOKER, onset)
    if rng.random() < probs["htn"]:
        chart.flags.add("htn")
        chart.condition(c.HYPERTENSION if rng.random() < 0.8 else c.HYPERTENSION_SCT, onset)
        chart.medication(rng.choice((c.LISINOPRIL, c.AMLODIPINE, c.HCTZ)), onset, sig="1 tab daily")
    if rng.random() < probs["dm"]:
        chart.flags.add("dm")
        chart.condition(c.T2DM if rng.random() < 0.8 else c.T2DM_SCT, onset)
        chart.medication(c.METFORMIN, onset, sig="500 mg twice daily with meals")
    if rng.random() < probs["hld"]:
        chart.flags.add("hld")
        chart.condition(c.HYPERLIPIDEMIA if rng.random() < 0.8 else c.HYPERLIPIDEMIA_SCT, onset)
        chart.medication(rng.choice((c.ATORVASTATIN, c.SIMVASTATIN)), onset, sig="1 tab nightly")
    _add_other_problems(chart, age, risk, onset)


def _add_other_problems(chart: Chart, age: int, risk: str, onset: date) -> None:
    rng = chart.rng
    if age > 60 and rng.random() < (0.3 if risk == "vascular" else 0.08):
        chart.condition(c.CAD, onset)
        chart.medication(c.ASPIRIN, onset, sig="81 mg daily")
    if age > 60 and rng.random() < 0.1:
        chart.condition(c.CKD3A, onset)
    extras = [
        (c.GERD, 0.12, 25),
        (c.ANXIETY, 0.08, 16),
        (c.HYPOTHYROID, 0.06, 30),
        (c.DEPRESSION, 0.07, 16),
        (c.ALLERGIC_RHINITIS, 0.1, 0),
        (c.KNEE_OA, 0.1, 50),
    ]
    for code, p, min_age in extras:
        if age >= min_age and rng.random() < p:
            chart.condition(code, onset)
    if rng.random() < 0.07:
        chart.flags.add("asthma")
        chart.condition(c.ASTHMA, onset)
        chart.medication(c.ALBUTEROL, onset, sig="2 puffs q4-6h PRN wheeze")
    bmi = rng.gauss(29.0 if risk != "young_active" else 23.5, 4.0)
    height = rng.gauss(176 if chart.sex == "male" else 163, 7)
    chart.baseline.update(bmi=max(18.5, bmi), height=height, sbp=rng.gauss(122, 8))
    if bmi >= 31 and rng.random() < 0.6:
        chart.condition(c.OBESITY if rng.random() < 0.7 else c.OBESITY_SCT, onset)


def record_vitals(chart: Chart, visit: Visit) -> str:
    """Write a vital-signs set for the visit and return the line a note shows."""
    rng, base = chart.rng, chart.baseline
    sbp = int(base["sbp"] + (12 if "htn" in chart.flags else 0) + rng.gauss(0, 9))
    dbp = int(sbp * 0.6 + rng.gauss(4, 5))
    hr = rng.randint(58, 94)
    bmi = round(base["bmi"] + rng.gauss(0, 0.4), 1)
    weight = round(bmi * (base["height"] / 100) ** 2, 1)
    components: list[dict[str, Any]] = [
        {"code": _cc(c.SYSTOLIC), "valueQuantity": quantity(sbp, "mm[Hg]")},
        {"code": _cc(c.DIASTOLIC), "valueQuantity": quantity(dbp, "mm[Hg]")},
    ]
    chart.observation(visit, c.BP_PANEL, components=components)
    chart.observation(visit, c.HEART_RATE, value=quantity(hr, "/min"))
    chart.observation(visit, c.BODY_WEIGHT, value=quantity(weight, "kg"))
    chart.observation(visit, c.BMI, value=quantity(bmi, "kg/m2"))
    if rng.random() < 0.5:
        chart.observation(visit, c.RESP_RATE, value=quantity(rng.randint(12, 18), "/min"))
        chart.observation(visit, c.SPO2, value=quantity(rng.randint(95, 100), "%"))
    return f"BP {sbp}/{dbp}, HR {hr}, weight {weight} kg, BMI {bmi}"


def _cc(code: c.Code) -> dict[str, Any]:
    return {"coding": [{"system": code.system, "code": code.code, "display": code.display}]}


def record_labs(chart: Chart, visit: Visit) -> None:
    rng, dm = chart.rng, "dm" in chart.flags
    lab = "laboratory"

    def put(code: c.Code, value: float, unit: str) -> Resource:
        return chart.observation(visit, code, value=quantity(value, unit), category=lab)

    if dm or rng.random() < 0.3:
        put(c.HBA1C, round(rng.uniform(6.4, 9.4) if dm else rng.uniform(4.9, 6.1), 1), "%")
    if chart.age_on(visit.day) >= 30 or rng.random() < 0.3:
        ldl = rng.randint(70, 120) if "hld" in chart.flags else rng.randint(80, 170)
        hdl, tg = rng.randint(35, 72), rng.randint(70, 260)
        put(c.CHOLESTEROL, ldl + hdl + tg // 5, "mg/dL")
        put(c.LDL, ldl, "mg/dL")
        put(c.HDL, hdl, "mg/dL")
        put(c.TRIGLYCERIDES, tg, "mg/dL")
    creat = round(rng.uniform(0.6, 1.25), 2)
    put(c.CREATININE, creat, "mg/dL")
    put(c.EGFR, int(min(120, 95 / creat)), "mL/min/{1.73_m2}")
    put(c.GLUCOSE, rng.randint(105, 190) if dm else rng.randint(78, 104), "mg/dL")


def add_history(chart: Chart, *, quiet_days: int = 0) -> None:
    """Visits from history_start to as_of: vitals at each, labs yearly, a note at most.

    Args:
        quiet_days: leave the last N days before as_of free of background visits.
    """
    rng = chart.rng
    burden = len(chart.flags & {"htn", "dm", "hld", "current_smoker"})
    per_year = 2 + burden // 2 + (1 if chart.age_on(chart.as_of) >= 65 else 0)
    day = chart.history_start
    end = chart.as_of - timedelta(days=max(quiet_days, 3))
    last_labs = date.min
    while day <= end:
        _background_visit(chart, day, labs=(day - last_labs).days > 330)
        if (day - last_labs).days > 330:
            last_labs = day
        day += timedelta(days=int(rng.uniform(0.5, 1.5) * 365 / per_year))


def _background_visit(chart: Chart, day: date, *, labs: bool) -> None:
    rng = chart.rng
    chronic = [t for t in CHRONIC if t.needs in chart.flags]
    age = chart.age_on(day)
    if chronic and rng.random() < 0.5:
        topic, kind = rng.choice(chronic), FOLLOW_UP
    else:
        topics = [t for t in ACUTE if t.min_age <= age <= t.max_age]
        topic = rng.choice(topics)
        kind = CHECKUP if topic.id == "annual_physical" else SYMPTOM_VISIT
    visit = chart.visit(day, kind, reason=topic.dx)
    vitals = record_vitals(chart, visit)
    if labs:
        record_labs(chart, visit)
        for resource in list(chart.active_meds.values()):  # yearly renewals of chronic meds
            med = resource["medicationCodeableConcept"]["coding"][0]
            sig = resource["dosageInstruction"][0]["text"]
            chart.medication(c.Code(med["system"], med["code"], med["display"]), day, sig=sig)
        if rng.random() < 0.8:
            chart.observation(
                visit,
                c.SMOKING_STATUS,
                value=_cc(_smoking_code(chart)),
                category="social-history",
                value_key="valueCodeableConcept",
            )
    if topic.rx is not None and rng.random() < 0.7:
        chart.medication(topic.rx, day, sig="as directed, short course", status="completed")
    if topic.dx is not None and rng.random() < 0.6:
        chart.condition(
            topic.dx, day, visit=visit, clinical="resolved", category="encounter-diagnosis"
        )
    if rng.random() < 0.75:
        hpi = rng.sample(topic.hpi, k=min(len(topic.hpi), rng.randint(3, 4)))
        plan = rng.sample(topic.plan, k=min(len(topic.plan), rng.randint(2, 3)))
        parts = NoteParts("Progress note", topic.chief_complaint, hpi, plan)
        doc_type = c.HP_NOTE if topic.id == "annual_physical" else c.PROGRESS_NOTE
        chart.note(visit, doc_type, compose_note(chart, visit, parts, vitals))


def _smoking_code(chart: Chart) -> c.Code:
    if "current_smoker" in chart.flags:
        return c.sct("449868002", "Smokes tobacco daily (finding)")
    if "former_smoker" in chart.flags:
        return c.sct("8517006", "Ex-smoker (finding)")
    return c.sct("266919005", "Never smoked tobacco (finding)")
