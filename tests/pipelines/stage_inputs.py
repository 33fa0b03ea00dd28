"""Small hand-written FHIR inputs for staging tests (synthetic, no PHI)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any


def patient(pid: str = "p1", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "birthDate": "1950-03-04",
        "gender": "female",
        **extra,
    }


def observation(
    oid: str,
    *,
    patient_id: str = "p1",
    code: str = "76497-3",
    value: float = 0.8,
    unit: str | None = "1",
    **extra: Any,
) -> dict[str, Any]:
    qty: dict[str, Any] = {"value": value}
    if unit is not None:
        qty["unit"] = unit
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": "ABI"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": "2025-01-10T09:30:00Z",
        "valueQuantity": qty,
        **extra,
    }


def condition(
    cid: str, *, code: str, patient_ref: str = "Patient/p1", **extra: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]},
        "subject": {"reference": patient_ref},
        "recordedDate": "2024-06-01",
        **extra,
    }


def write_ndjson(path: Path, lines: list[dict[str, Any] | str]) -> Path:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def write_bundle(path: Path, resources: list[dict[str, Any]], kind: str = "collection") -> Path:
    entries = [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]
    path.write_text(json.dumps({"resourceType": "Bundle", "type": kind, "entry": entries}))
    return path


def encounter(
    eid: str,
    *,
    patient_id: str = "p1",
    start: str | None = "2025-02-03T09:00:00Z",
    end: str | None = "2025-02-03T09:45:00Z",
    **extra: Any,
) -> dict[str, Any]:
    period = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
    return {
        "resourceType": "Encounter",
        "id": eid,
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{patient_id}"},
        **({"period": period} if period else {}),
        **extra,
    }


def medication_request(mid: str, *, patient_id: str = "p1", **extra: Any) -> dict[str, Any]:
    """A MedicationRequest without its medication[x]: tests add the one they need."""
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": "2025-03-01",
        **extra,
    }


def medication(
    mid: str, *codings: tuple[str, str, str | None], text: str | None = None
) -> dict[str, Any]:
    """A Medication resource (no patient); codings are (system, code, display or None)."""
    code: dict[str, Any] = {
        "coding": [{"system": s, "code": c, **({"display": d} if d else {})} for s, c, d in codings]
    }
    if text:
        code["text"] = text
    return {"resourceType": "Medication", "id": mid, "code": code}
