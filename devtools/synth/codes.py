"""Code systems and the coded concepts the synthetic cohort uses.

A `Code` is (system, code, display). Displays follow the code system's title closely enough for a
reviewer to recognise; the pipeline matches on system + code, never on display.
"""

from __future__ import annotations

from typing import NamedTuple

ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
ICD9 = "http://hl7.org/fhir/sid/icd-9-cm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
# Toe pressure, ankle pressure, TBI, TcPO2 and compartment pressure have no verified LOINC code
# (clinical-reference §2), so the synthetic vascular lab sends them under a local code system, as
# most health systems do.
LOCAL_LAB = "http://vascreen.example.org/fhir/CodeSystem/vascular-lab"


class Code(NamedTuple):
    system: str
    code: str
    display: str


def icd(code: str, display: str) -> Code:
    return Code(ICD10, code, display)


def sct(code: str, display: str) -> Code:
    return Code(SNOMED, code, display)


def loinc(code: str, display: str) -> Code:
    return Code(LOINC, code, display)


def rx(code: str, display: str) -> Code:
    return Code(RXNORM, code, display)


def local(code: str, display: str) -> Code:
    return Code(LOCAL_LAB, code, display)


# --- vital signs and labs (LOINC) ---
BP_PANEL = loinc("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = loinc("8480-6", "Systolic blood pressure")
DIASTOLIC = loinc("8462-4", "Diastolic blood pressure")
HEART_RATE = loinc("8867-4", "Heart rate")
RESP_RATE = loinc("9279-1", "Respiratory rate")
BODY_WEIGHT = loinc("29463-7", "Body weight")
BODY_HEIGHT = loinc("8302-2", "Body height")
BMI = loinc("39156-5", "Body mass index (BMI) [Ratio]")
SPO2 = loinc("2708-6", "Oxygen saturation in Arterial blood")
SMOKING_STATUS = loinc("72166-2", "Tobacco smoking status")
HBA1C = loinc("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood")
CHOLESTEROL = loinc("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma")
LDL = loinc("18262-6", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay")
HDL = loinc("2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma")
TRIGLYCERIDES = loinc("2571-8", "Triglyceride [Mass/volume] in Serum or Plasma")
CREATININE = loinc("2160-0", "Creatinine [Mass/volume] in Serum or Plasma")
EGFR = loinc("33914-3", "Glomerular filtration rate/1.73 sq M.predicted")
GLUCOSE = loinc("2345-7", "Glucose [Mass/volume] in Serum or Plasma")
BNP = loinc("30934-4", "Natriuretic peptide B [Mass/volume] in Serum or Plasma")
ESR = loinc("4537-7", "Erythrocyte sedimentation rate by Westergren method")
D_DIMER = loinc("48065-7", "Fibrin D-dimer FEU [Mass/volume] in Platelet poor plasma")

# --- vascular measurements ---
ABI = loinc("77194-9", "Ankle-brachial index")
ABI_SCT = sct("446841001", "Ankle brachial pressure index (observable entity)")
ABI_RIGHT = local("abi-right", "Ankle-brachial index, right")
ABI_LEFT = local("abi-left", "Ankle-brachial index, left")
TBI = local("tbi", "Toe-brachial index")
TOE_PRESSURE = local("toe-pressure", "Toe systolic pressure")
ANKLE_PRESSURE = local("ankle-pressure", "Ankle systolic pressure")
TCPO2 = local("tcpo2", "Transcutaneous oxygen pressure")
COMPARTMENT_PRE = local("compartment-pressure-pre", "Compartment pressure, pre-exercise")
COMPARTMENT_1MIN = local("compartment-pressure-1min", "Compartment pressure, 1 min post-exercise")
COMPARTMENT_5MIN = local("compartment-pressure-5min", "Compartment pressure, 5 min post-exercise")

# Laterality body sites (SNOMED body structures) for per-leg observations.
RIGHT_ANKLE = sct("6685009", "Right ankle")
LEFT_ANKLE = sct("51636004", "Left ankle")

# --- report and note types (LOINC document ontology) ---
PROGRESS_NOTE = loinc("11506-3", "Progress note")
HP_NOTE = loinc("34117-2", "History and physical note")
CONSULT_NOTE = loinc("11488-4", "Consult note")
ED_NOTE = loinc("34111-5", "Emergency department note")
DISCHARGE_SUMMARY = loinc("18842-5", "Discharge summary")
ARTERIAL_DOPPLER = loinc("39421-3", "US.doppler Lower extremity arteries - bilateral")
VENOUS_DUPLEX_LEFT = loinc("39432-0", "US.doppler Lower extremity vein - left")
VENOUS_DUPLEX_RIGHT = loinc("39443-7", "US.doppler Lower extremity vein - right")
VENOUS_DUPLEX_BILAT = loinc("39420-5", "US.doppler Lower extremity vein - bilateral")
CT_VENOGRAM = loinc("87281-2", "CTA Lower extremity veins - bilateral W contrast IV")
PHYSIOLOGIC_STUDY = loinc(
    "72830-3", "Extremity arteries - bilateral US.doppler Multisection and physiologic study"
)

# --- background problems ---
HYPERTENSION = icd("I10", "Essential (primary) hypertension")
HYPERTENSION_SCT = sct("38341003", "Hypertensive disorder, systemic arterial (disorder)")
T2DM = icd("E11.9", "Type 2 diabetes mellitus without complications")
T2DM_SCT = sct("44054006", "Diabetes mellitus type 2 (disorder)")
T2DM_NEUROPATHY = icd("E11.42", "Type 2 diabetes mellitus with diabetic polyneuropathy")
HYPERLIPIDEMIA = icd("E78.5", "Hyperlipidemia, unspecified")
HYPERLIPIDEMIA_SCT = sct("55822004", "Hyperlipidemia (disorder)")
NICOTINE_DEPENDENCE = icd("F17.210", "Nicotine dependence, cigarettes, uncomplicated")
FORMER_SMOKER = icd("Z87.891", "Personal history of nicotine dependence")
OBESITY = icd("E66.9", "Obesity, unspecified")
OBESITY_SCT = sct("162864005", "Body mass index 30+ - obesity (finding)")
CKD3A = icd("N18.31", "Chronic kidney disease, stage 3a")
CAD = icd(
    "I25.10", "Atherosclerotic heart disease of native coronary artery without angina pectoris"
)
GERD = icd("K21.9", "Gastro-esophageal reflux disease without esophagitis")
KNEE_OA = icd("M17.11", "Unilateral primary osteoarthritis, right knee")
ASTHMA = icd("J45.909", "Unspecified asthma, uncomplicated")
DEPRESSION = icd("F32.A", "Depression, unspecified")
ANXIETY = icd("F41.1", "Generalized anxiety disorder")
HYPOTHYROID = icd("E03.9", "Hypothyroidism, unspecified")
ALLERGIC_RHINITIS = sct("446096008", "Perennial allergic rhinitis")
OSTEOPOROSIS = icd("M81.0", "Age-related osteoporosis without current pathological fracture")
BPH = icd("N40.0", "Benign prostatic hyperplasia without lower urinary tract symptoms")
MIGRAINE = icd("G43.909", "Migraine, unspecified, not intractable, without status migrainosus")
PREDIABETES = sct("15777000", "Prediabetes")

# --- background medications (RxNorm) ---
LISINOPRIL = rx("314076", "lisinopril 10 MG Oral Tablet")
AMLODIPINE = rx("197361", "Amlodipine 5 MG Oral Tablet")
HCTZ = rx("316049", "Hydrochlorothiazide 25 MG")
METFORMIN = rx("861007", "metformin hydrochloride 500 MG Oral Tablet")
ATORVASTATIN = rx("617310", "atorvastatin 20 MG Oral Tablet")
SIMVASTATIN = rx("312961", "Simvastatin 20 MG Oral Tablet")
METOPROLOL = rx("866414", "24 HR metoprolol succinate 100 MG Extended Release Oral Tablet")
ALBUTEROL = rx("745679", "200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler")
FLUTICASONE = rx("895994", "120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler")
ACETAMINOPHEN = rx("313782", "Acetaminophen 325 MG Oral Tablet")
NAPROXEN = rx("849574", "Naproxen sodium 220 MG Oral Tablet")
IBUPROFEN = rx("310965", "Ibuprofen 200 MG Oral Tablet")
AMOX_CLAV = rx("562251", "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet")
ALENDRONATE = rx("904419", "Alendronic acid 10 MG Oral Tablet")
ORAL_CONTRACEPTIVE = rx("748879", "Levora 0.15/30 28 Day Pack")
NITROFURANTOIN = rx("311995", "NITROFURANTOIN, MACROCRYSTALS 50 MG Oral Capsule")
FUROSEMIDE = rx("315971", "Lasix 40mg")
NITROGLYCERIN = rx("705129", "Nitroglycerin 0.4 MG/ACTUAT Mucosal Spray")
# Ingredient-level RxCUIs (clinical-reference §1.6): what the screens' supportive signals use.
ASPIRIN = rx("1191", "aspirin")
CLOPIDOGREL = rx("32968", "clopidogrel")
CILOSTAZOL = rx("21107", "cilostazol")
APIXABAN = rx("1364430", "apixaban")
RIVAROXABAN = rx("1114195", "rivaroxaban")
WARFARIN = rx("11289", "warfarin")
ENOXAPARIN = rx("67108", "enoxaparin")
LEVETIRACETAM = rx("114477", "levetiracetam")
PREDNISONE = rx("312617", "predniSONE 5 MG Oral Tablet")
GABAPENTIN = rx("25480", "gabapentin")
CEPHALEXIN = rx("2231", "cephalexin")
