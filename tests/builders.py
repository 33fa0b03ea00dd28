"""Unit builders for FHIR R4 resources in tests: readable defaults, validated against R4B.

Every builder returns a plain dict that `fhir.resources.R4B` accepts, with every field staging
reads filled in. All content is synthetic.
"""

from __future__ import annotations

import base64
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
SIDES = {"left": ("7771000", "Left"), "right": ("24028007", "Right")}


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


def patient(
    pid: str = "p1", *, birth_date: str = "1958-03-02", gender: str = "male"
) -> dict[str, Any]:
    return validated(
        {
            "resourceType": "Patient",
            "id": pid,
            "birthDate": birth_date,
            "gender": gender,
            "name": [{"family": "Synthetic", "given": ["Test"]}],
        }
    )


def observation(
    patient: str = "p1",
    *,
    code: str = "77194-9",
    system: str = LOINC,
    display: str = "Ankle-brachial index",
    value: float | None = None,
    unit: str = "1",
    value_string: str | None = None,
    on: str = "2026-05-01",
    status: str = "final",
    side: str | None = None,
    oid: str | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid or f"{patient}-obs-{code}-{on}",
        "status": status,
        "code": {"coding": [{"system": system, "code": code, "display": display}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": on,
    }
    if value is not None:
        resource["valueQuantity"] = {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        }
    if value_string is not None:
        resource["valueString"] = value_string
    if side is not None:
        code_, text = SIDES[side]
        resource["bodySite"] = {
            "coding": [{"system": SNOMED, "code": code_, "display": text}],
            "text": text,
        }
    return validated(resource)


def condition(
    patient: str = "p1",
    *,
    code: str = "I10",
    system: str = ICD10,
    display: str = "condition",
    on: str = "2026-05-01",
    clinical_status: str = "active",
    cid: str | None = None,
    verification: str = "confirmed",
) -> dict[str, Any]:
    cs = "http://terminology.hl7.org/CodeSystem/condition-clinical"
    vs = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
    return validated(
        {
            "resourceType": "Condition",
            "id": cid or f"{patient}-cond-{code}",
            "clinicalStatus": {"coding": [{"system": cs, "code": clinical_status}]},
            "verificationStatus": {"coding": [{"system": vs, "code": verification}]},
            "code": {"coding": [{"system": system, "code": code, "display": display}]},
            "subject": {"reference": f"Patient/{patient}"},
            "onsetDateTime": on,
        }
    )


def procedure(
    patient: str = "p1",
    *,
    code: str,
    system: str,
    display: str = "procedure",
    on: str = "2026-05-01",
    pid: str | None = None,
) -> dict[str, Any]:
    return validated(
        {
            "resourceType": "Procedure",
            "id": pid or f"{patient}-proc-{code}",
            "status": "completed",
            "code": {"coding": [{"system": system, "code": code, "display": display}]},
            "subject": {"reference": f"Patient/{patient}"},
            "performedDateTime": on,
        }
    )


def medication(
    patient: str = "p1", *, code: str, display: str, on: str = "2026-05-01", mid: str | None = None
) -> dict[str, Any]:
    return validated(
        {
            "resourceType": "MedicationRequest",
            "id": mid or f"{patient}-med-{code}",
            "status": "active",
            "intent": "order",
            "authoredOn": on,
            "subject": {"reference": f"Patient/{patient}"},
            "medicationCodeableConcept": {
                "coding": [
                    {
                        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                        "code": code,
                        "display": display,
                    }
                ]
            },
        }
    )


def note(
    patient: str = "p1",
    text: str = "",
    *,
    on: str = "2026-05-01",
    nid: str | None = None,
    content_type: str = "text/plain; charset=utf-8",
) -> dict[str, Any]:
    return validated(
        {
            "resourceType": "DocumentReference",
            "id": nid or f"{patient}-note-{on}",
            "status": "current",
            "type": {"coding": [{"system": LOINC, "code": "11506-3", "display": "Progress note"}]},
            "subject": {"reference": f"Patient/{patient}"},
            "date": f"{on}T09:00:00Z",
            "content": [
                {
                    "attachment": {
                        "contentType": content_type,
                        "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                    }
                }
            ],
        }
    )


def bundle(resources: list[dict[str, Any]], *, bundle_type: str = "collection") -> dict[str, Any]:
    entries = [
        {"fullUrl": f"urn:uuid:{r['resourceType']}-{r['id']}", "resource": r} for r in resources
    ]
    return validated({"resourceType": "Bundle", "type": bundle_type, "entry": entries})
