"""Clinical note text: section layout, templated review of systems, exam, social history.

Every note, ordinary or planted, goes through `compose_note`, so planted sentences sit inside the
same boilerplate (templated ROS negatives, copy-forward exam) that real notes carry.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from devtools.synth.chart import Chart, Visit

ROS_TEMPLATES: tuple[str, ...] = (
    "Constitutional: negative for fever, chills, unintended weight loss.\n"
    "Cardiovascular: negative for chest pain, palpitations, leg swelling.\n"
    "Respiratory: negative for cough, shortness of breath.\n"
    "Gastrointestinal: negative for abdominal pain, nausea, change in bowel habits.\n"
    "Neurological: negative for focal weakness or numbness.\n"
    "All other systems reviewed and negative.",
    "A 10-point review of systems was performed and is negative except as noted in the HPI.",
    "CV: Negative for chest pain, claudication, leg swelling. Resp: Negative for wheezing, "
    "dyspnea. GI: Negative for melena, hematochezia. GU: Negative for dysuria. Skin: no rashes "
    "or wounds. Psych: mood stable.",
    "Patient denies fevers, chest pain, shortness of breath, abdominal pain, dysuria, or new "
    "rashes. Remainder of ROS negative.",
    "General: no fatigue or night sweats. Eyes: no vision change. ENT: no sore throat. "
    "Cardiac: no orthopnea or PND. Pulmonary: no hemoptysis. Endocrine: no polyuria or "
    "polydipsia. Heme: no easy bruising.",
)

_GENERAL = (
    "Well-appearing, in no acute distress.",
    "Alert, pleasant, NAD.",
    "Comfortable, conversant, appears stated age.",
)
_HEENT = (
    "Normocephalic, atraumatic. Oropharynx clear, moist mucous membranes.",
    "PERRL, EOMI. TMs clear bilaterally. No sinus tenderness.",
)
_CV = (
    "Regular rate and rhythm, no murmurs, rubs or gallops.",
    "RRR, S1/S2 normal, no murmur.",
)
_LUNGS = (
    "Clear to auscultation bilaterally, no wheezes or crackles.",
    "CTAB, normal work of breathing.",
)
_ABDOMEN = ("Soft, non-tender, non-distended, normal bowel sounds.", "Soft, NT/ND, no masses.")
EXTREMITIES_NORMAL = (
    "No edema. Dorsalis pedis pulses 2+ bilaterally.",
    "Warm and well perfused, no clubbing, cyanosis or edema.",
    "No lower extremity edema; distal pulses intact.",
)
# Charts of patients with planted arterial findings get no copy-forward "pulses 2+" line, which
# would contradict the planted exam.
EXTREMITIES_NEUTRAL = ("No edema.", "No clubbing or cyanosis.", "No calf tenderness.")
_SKIN = ("Warm and dry, no rashes.", "No suspicious lesions, no wounds.")
_NEURO = ("Alert and oriented x3, grossly nonfocal.", "CN II-XII intact, strength 5/5 throughout.")
_PSYCH = ("Normal mood and affect.", "Appropriate affect, good insight.")


@dataclass(slots=True)
class NoteParts:
    """What a note says; unset parts are filled with ordinary boilerplate."""

    title: str
    chief_complaint: str
    hpi: list[str]
    assessment: list[str]
    ros: str | None = None
    exam: dict[str, str] = field(default_factory=dict)
    social_extra: str = ""


def social_history(chart: Chart, rng: random.Random) -> str:
    if "current_smoker" in chart.flags:
        tobacco = rng.choice(
            (
                "Current smoker, about 1 pack per day.",
                "Smokes half a pack daily; 30+ pack-year history.",
                "Active cigarette smoker, counseled on cessation today.",
            )
        )
    elif "former_smoker" in chart.flags:
        tobacco = rng.choice(
            ("Former smoker, quit several years ago.", "Ex-smoker (20 pack-years), quit.")
        )
    else:
        tobacco = rng.choice(("Never smoker.", "No tobacco use."))
    alcohol = rng.choice(
        ("Drinks socially.", "Occasional alcohol.", "No alcohol use.", "1-2 beers on weekends.")
    )
    return f"{tobacco} {alcohol}"


def compose_note(chart: Chart, visit: Visit, parts: NoteParts, vitals_line: str) -> str:
    """Render a full outpatient note (roughly 1-3 KB) around the given parts."""
    rng = chart.rng
    age = chart.age_on(visit.day)
    person = "woman" if chart.sex == "female" else "man"
    hpi = f"{age}-year-old {person} seen today. " + " ".join(parts.hpi)
    pmh = "; ".join(chart.problems) if chart.problems else "No significant past medical history."
    meds = "\n".join(f"- {m}" for m in chart.med_names) if chart.med_names else "None."
    exam = {
        "General": rng.choice(_GENERAL),
        "HEENT": rng.choice(_HEENT),
        "Cardiovascular": rng.choice(_CV),
        "Lungs": rng.choice(_LUNGS),
        "Abdomen": rng.choice(_ABDOMEN),
        "Extremities": rng.choice(
            EXTREMITIES_NEUTRAL if "arterial_story" in chart.flags else EXTREMITIES_NORMAL
        ),
        "Skin": rng.choice(_SKIN),
        "Neuro": rng.choice(_NEURO),
        "Psych": rng.choice(_PSYCH),
    }
    exam.update(parts.exam)
    exam_text = "\n".join(f"{k}: {v}" for k, v in exam.items())
    plan = "\n".join(f"{i}. {line}" for i, line in enumerate(parts.assessment, start=1))
    social = social_history(chart, rng) + (f" {parts.social_extra}" if parts.social_extra else "")
    follow_up = rng.choice(
        (
            "Return in 3 months or sooner as needed.",
            "Follow up in 6 months for routine care.",
            "RTC 4-6 weeks to reassess.",
            "Patient verbalized understanding of the plan.",
        )
    )
    return (
        f"{parts.title.upper()}\nDate of service: {visit.day.isoformat()}\n\n"
        f"CHIEF COMPLAINT: {parts.chief_complaint}\n\n"
        f"HISTORY OF PRESENT ILLNESS:\n{hpi}\n\n"
        f"PAST MEDICAL HISTORY:\n{pmh}\n\n"
        f"MEDICATIONS:\n{meds}\n\n"
        f"SOCIAL HISTORY:\n{social}\n\n"
        f"REVIEW OF SYSTEMS:\n{parts.ros or rng.choice(ROS_TEMPLATES)}\n\n"
        f"PHYSICAL EXAM:\nVitals: {vitals_line}\n{exam_text}\n\n"
        f"ASSESSMENT AND PLAN:\n{plan}\n{follow_up}\n"
    )


def compose_report(title: str, indication: str, findings: list[str], impression: str) -> str:
    """Render an imaging or vascular-lab report."""
    body = "\n".join(findings)
    return (
        f"{title.upper()}\n\nINDICATION: {indication}\n\nTECHNIQUE: Standard protocol. "
        f"Images and waveforms reviewed by the interpreting physician.\n\n"
        f"FINDINGS:\n{body}\n\nIMPRESSION:\n{impression}\n"
    )
