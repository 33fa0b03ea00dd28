"""Ordinary visit topics for background notes: nothing vascular, the bulk of what a screen reads.

Each topic is a pool of HPI sentences and plan lines; a note picks a few of each, so thousands
of notes read differently while staying clinically plain.
"""

from __future__ import annotations

from dataclasses import dataclass

from devtools.synth import codes as c
from devtools.synth.codes import Code


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    chief_complaint: str
    hpi: tuple[str, ...]
    plan: tuple[str, ...]
    dx: Code | None = None  # encounter diagnosis, recorded as resolved for acute topics
    needs: str | None = None  # chart flag required (htn, dm, hld, ...)
    rx: Code | None = None  # short-course prescription written at the visit
    min_age: int = 0
    max_age: int = 120


CHRONIC: tuple[Topic, ...] = (
    Topic(
        "htn_followup",
        "Hypertension follow-up",
        (
            "Here for blood pressure follow-up.",
            "Home readings mostly 120s-140s systolic.",
            "Taking medications as prescribed, no missed doses.",
            "No headaches, vision changes or chest pain.",
            "Trying to cut back on salt and walks the dog most days.",
            "Reports mild ankle puffiness at the end of the day on amlodipine, tolerable.",
        ),
        (
            "Essential hypertension: at goal on current regimen, continue.",
            "Hypertension: above goal today; recheck home readings and consider titration.",
            "BMP reviewed, potassium and creatinine stable.",
            "Lifestyle: DASH diet handout given, continue regular walking.",
        ),
        needs="htn",
    ),
    Topic(
        "dm_followup",
        "Diabetes follow-up",
        (
            "Follow-up of type 2 diabetes.",
            "Checks fingersticks a few times a week, fasting 110-150.",
            "No hypoglycemic episodes.",
            "Denies polyuria or polydipsia.",
            "Last eye exam within the year, no retinopathy reported.",
            "Occasional tingling in the toes at night, stable.",
        ),
        (
            "Type 2 diabetes: A1c reviewed, continue metformin.",
            "Diabetic foot exam performed: monofilament sensation intact, skin intact.",
            "Urine microalbumin ordered; annual eye exam reminder.",
            "Discussed carbohydrate portions and regular activity.",
        ),
        needs="dm",
    ),
    Topic(
        "lipid_followup",
        "Cholesterol follow-up",
        (
            "Here to review lipid panel.",
            "Tolerating statin without myalgias.",
            "Diet has been inconsistent over the holidays.",
        ),
        (
            "Hyperlipidemia: LDL reviewed, continue statin.",
            "10-year ASCVD risk discussed; continue moderate-intensity statin.",
        ),
        needs="hld",
    ),
    Topic(
        "copd_asthma",
        "Asthma check",
        (
            "Uses albuterol about twice a month.",
            "Worse with seasonal allergies.",
            "No night-time awakenings.",
        ),
        ("Asthma, mild intermittent: well controlled, continue PRN albuterol.",),
        needs="asthma",
    ),
)

ACUTE: tuple[Topic, ...] = (
    Topic(
        "annual_physical",
        "Annual physical",
        (
            "Here for annual wellness visit.",
            "Feels well overall.",
            "Sleeping 6-7 hours a night.",
            "Exercises two or three times a week.",
            "Up to date on influenza vaccine.",
            "No new concerns today.",
        ),
        (
            "Health maintenance: age-appropriate screening reviewed and ordered.",
            "Immunizations reviewed; influenza vaccine given.",
            "Fasting labs ordered.",
            "Counseled on diet, exercise and sleep hygiene.",
        ),
    ),
    Topic(
        "uri",
        "Cough and congestion",
        (
            "Four days of nasal congestion, sore throat and dry cough.",
            "Low-grade temperature at home, now resolved.",
            "Sick contacts at home.",
            "No shortness of breath or chest pain.",
        ),
        (
            "Viral upper respiratory infection: supportive care, fluids, rest.",
            "Return if fever persists beyond 3 days or shortness of breath develops.",
        ),
        dx=c.icd("J06.9", "Acute upper respiratory infection, unspecified"),
    ),
    Topic(
        "sinusitis",
        "Sinus pressure",
        (
            "Ten days of facial pressure and purulent nasal discharge.",
            "Symptoms improved then worsened again.",
            "Mild frontal headache, no vision change.",
        ),
        (
            "Acute bacterial sinusitis: amoxicillin-clavulanate for 7 days.",
            "Saline irrigation, follow up if not improving.",
        ),
        dx=c.icd("J01.90", "Acute sinusitis, unspecified"),
        rx=c.AMOX_CLAV,
    ),
    Topic(
        "knee_pain",
        "Right knee pain",
        (
            "Several months of right knee pain, worse with stairs and after gardening.",
            "Morning stiffness lasting about 15 minutes.",
            "No locking or giving way.",
            "Acetaminophen helps somewhat.",
        ),
        (
            "Right knee osteoarthritis: weight-bearing films ordered, home exercise program.",
            "Trial of topical diclofenac; consider PT referral.",
        ),
        dx=c.icd("M25.561", "Pain in right knee"),
        rx=c.ACETAMINOPHEN,
        min_age=35,
    ),
    Topic(
        "back_strain",
        "Low back pain",
        (
            "Low back pain for one week after moving furniture.",
            "Pain is across the lower back without radiation.",
            "No bowel or bladder changes, no saddle numbness.",
            "Improving with heat and ibuprofen.",
        ),
        (
            "Acute mechanical low back strain: NSAIDs, heat, activity as tolerated.",
            "Red flags reviewed and absent; no imaging indicated.",
        ),
        dx=c.icd("M54.50", "Low back pain, unspecified"),
        rx=c.IBUPROFEN,
        min_age=20,
    ),
    Topic(
        "gerd",
        "Heartburn",
        (
            "Burning epigastric discomfort after large meals.",
            "Worse lying down after dinner.",
            "No dysphagia, no weight loss, no melena.",
        ),
        (
            "GERD: lifestyle measures and a trial of a proton pump inhibitor for 8 weeks.",
            "Avoid late meals; elevate head of bed.",
        ),
        dx=c.GERD,
        min_age=20,
    ),
    Topic(
        "rash",
        "Itchy rash",
        (
            "Itchy rash on both forearms for a week after yard work.",
            "No fever; no new medications.",
            "Over-the-counter hydrocortisone helped a little.",
        ),
        (
            "Contact dermatitis: topical triamcinolone twice daily for 2 weeks.",
            "Avoid the suspected plant exposure.",
        ),
        dx=c.icd("L25.9", "Unspecified contact dermatitis, unspecified cause"),
    ),
    Topic(
        "anxiety",
        "Stress and poor sleep",
        (
            "Increased stress at work over the past two months.",
            "Trouble falling asleep, ruminating thoughts.",
            "No thoughts of self-harm.",
        ),
        (
            "Generalized anxiety symptoms: PHQ-9 and GAD-7 reviewed, counseling referral.",
            "Sleep hygiene discussed; follow up in 6 weeks.",
        ),
        dx=c.icd("F41.9", "Anxiety disorder, unspecified"),
        min_age=16,
    ),
    Topic(
        "shoulder",
        "Left shoulder pain",
        (
            "Left shoulder pain for three weeks, worse reaching overhead.",
            "Pain at night when lying on that side.",
            "No trauma.",
        ),
        (
            "Rotator cuff tendinopathy: home exercises, physical therapy referral.",
            "NSAIDs as needed with food.",
        ),
        dx=c.icd("M75.102", "Unspecified rotator cuff tear or rupture of left shoulder"),
        rx=c.NAPROXEN,
        min_age=25,
    ),
    Topic(
        "uti",
        "Burning with urination",
        (
            "Two days of dysuria and urinary frequency.",
            "No fever or flank pain.",
            "No vaginal discharge.",
        ),
        (
            "Uncomplicated cystitis: nitrofurantoin for 5 days.",
            "Urine culture sent; push fluids.",
        ),
        dx=c.icd("N39.0", "Urinary tract infection, site not specified"),
        rx=c.NITROFURANTOIN,
        min_age=16,
    ),
    Topic(
        "headache",
        "Headaches",
        (
            "Episodic throbbing headaches twice a month with light sensitivity.",
            "Relieved by sleep and ibuprofen.",
            "No neurologic symptoms, no change in pattern.",
        ),
        (
            "Migraine without aura: abortive therapy reviewed, headache diary.",
            "Limit analgesic use to avoid rebound.",
        ),
        dx=c.MIGRAINE,
        max_age=70,
    ),
    Topic(
        "ankle_sprain",
        "Ankle injury",
        (
            "Rolled the right ankle stepping off a curb yesterday.",
            "Able to bear weight with a limp.",
            "Swelling over the lateral ankle.",
        ),
        (
            "Right lateral ankle sprain: RICE, ankle brace, Ottawa rules negative.",
            "Home strengthening exercises once pain allows.",
        ),
        dx=c.icd("S93.401A", "Sprain of unspecified ligament of right ankle, initial encounter"),
        max_age=65,
    ),
)
