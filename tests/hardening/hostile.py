"""Hostile FHIR inputs for the landing/staging path, each with the outcome staging must give.

A `Record` is one NDJSON line or one Bundle entry plus what staging must do with it
(`Outcome`) and the counts bucket it falls in. Every value a bad record carries includes a
marker (`CANARY-HOSTILE-...`) so tests can also check quarantine details never echo values.

Outcomes assume every staged-type resource is fully validated, which holds while each type has
at most `pipelines.fhir.validate.SAMPLE_HEAD` resources (the property suite stays under it).
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tests import builders as b

MARKER = "CANARY-HOSTILE-5e1d"


class Outcome(StrEnum):
    STAGED = "staged"
    QUARANTINED = "quarantined"
    DUPLICATE = "duplicates"
    ENTERED_IN_ERROR = "entered_in_error"
    NO_PATIENT = "no_patient"
    IGNORED = "ignored"


@dataclass(frozen=True)
class Record:
    payload: bytes  # one JSON document (no newline)
    outcome: Outcome
    bucket: str  # resource type the counts file it under
    ndjson_only: bool = False  # unreadable as JSON or id-less: cannot sit inside a Bundle
    kind: str = ""
    # NDJSON files are read with their type's fields: a record of another staged type goes to
    # a file of its own type (`bucket`), not to the base type's.
    own_file: bool = False


def _dump(resource: Any) -> bytes:
    return json.dumps(resource, separators=(",", ":")).encode()


def base_resource(base: str, rid: str, patient: str) -> dict[str, Any]:
    """A valid resource of type `base` (builders validate it against R4B)."""
    if base == "Patient":
        return b.patient(rid, birth_date="1961-07-19")
    if base == "Observation":
        return b.observation(patient, value=0.82, oid=rid)
    if base == "Condition":
        return b.condition(patient, code="I70.213", cid=rid)
    if base == "MedicationRequest":
        return b.medication(patient, code="32968", display="clopidogrel", mid=rid)
    return b.note(patient, "Calf pain when walking two blocks, relieved by rest.", nid=rid)


BASES = ("Patient", "Observation", "Condition", "MedicationRequest", "DocumentReference")

WRONG_TYPES: dict[str, list[tuple[str, Any]]] = {
    "Patient": [("gender", 7), ("birthDate", 19610719), ("name", MARKER)],
    "Observation": [
        ("status", 123),
        ("subject", f"Patient/{MARKER}"),
        ("valueQuantity", MARKER),
        ("code", {"coding": MARKER}),
    ],
    "Condition": [("subject", [MARKER]), ("code", 5), ("onsetDateTime", {"v": MARKER})],
    "MedicationRequest": [("intent", False), ("medicationCodeableConcept", [1, 2])],
    "DocumentReference": [("content", {"attachment": MARKER}), ("status", ["current"])],
}
REQUIRED: dict[str, list[str]] = {
    "Observation": ["status", "code"],
    "Condition": ["subject"],
    "MedicationRequest": ["status", "intent", "subject"],
    "DocumentReference": ["status", "content"],
}
DATE_FIELD = {
    "Patient": "birthDate",
    "Observation": "effectiveDateTime",
    "Condition": "onsetDateTime",
    "MedicationRequest": "authoredOn",
    "DocumentReference": "date",
}
BAD_DATES = [
    "2020-13-45",
    "2021-02-30",
    "yesterday",
    "20200101",
    "2020-1-1",
    f"{MARKER}",
    "2020-05-01T25:00:00Z",
    "-0001-01-01",
]
PARTIAL_DATES = ["2019", "2019-04", "2019-04-07T10:30:00+02:00", "2019-04-07T10:30:00.123Z"]


def _with(resource: dict[str, Any], **fields: Any) -> dict[str, Any]:
    out = copy.deepcopy(resource)
    out.update(fields)
    return out


def records_for(kind: str, base: str, rid: str, patient: str, choice: int) -> list[Record]:
    """The record(s) mutation `kind` makes from a valid `base` resource.

    `choice` picks a variant of the mutation.
    """
    r = base_resource(base, rid, patient)
    ok, bad = Outcome.STAGED, Outcome.QUARANTINED
    if kind == "valid":
        return [Record(_dump(r), ok, base, kind=kind)]
    if kind == "wrong_type":
        field, value = WRONG_TYPES[base][choice % len(WRONG_TYPES[base])]
        return [Record(_dump(_with(r, **{field: value})), bad, base, kind=kind)]
    if kind == "missing_required":
        if base == "Patient":  # Patient has no required element: drop the id instead
            r.pop("id")
            return [Record(_dump(r), bad, base, ndjson_only=True, kind=kind)]
        r.pop(REQUIRED[base][choice % len(REQUIRED[base])])
        return [Record(_dump(r), bad, base, kind=kind)]
    if kind == "missing_id":
        r.pop("id")
        return [Record(_dump(r), bad, base, ndjson_only=True, kind=kind)]
    if kind == "invalid_date":
        r[DATE_FIELD[base]] = BAD_DATES[choice % len(BAD_DATES)]
        return [Record(_dump(r), bad, base, kind=kind)]
    if kind == "partial_date":
        value = PARTIAL_DATES[choice % len(PARTIAL_DATES)]
        r[DATE_FIELD[base]] = value[:10] if base == "Patient" else value
        return [Record(_dump(r), ok, base, kind=kind)]
    if kind == "huge_string":
        huge = (MARKER + " ") * (2000 + 1000 * (choice % 40))  # 40 kB .. 0.9 MB
        if base == "Patient":
            r["name"] = [{"family": huge}]
        else:
            key = (
                "medicationCodeableConcept"
                if base == "MedicationRequest"
                else ("type" if base == "DocumentReference" else "code")
            )
            r[key]["text"] = huge
        return [Record(_dump(r), ok, base, kind=kind)]
    if kind == "unknown_unit" and base == "Observation":
        r["valueQuantity"] = {"value": 3.5, "unit": "furlongs/fortnight"}
        return [Record(_dump(r), ok, base, kind=kind)]
    if kind == "older_version":
        newer = _with(r, meta={"versionId": "3", "lastUpdated": "2026-05-02T00:00:00Z"})
        older = _with(r, meta={"versionId": "2", "lastUpdated": "2026-05-01T00:00:00Z"})
        pair = [
            Record(_dump(newer), ok, base, kind=kind),
            Record(_dump(older), Outcome.DUPLICATE, base, kind=kind),
        ]
        return pair if choice % 2 else pair[::-1]
    if kind == "bad_base64" and base == "DocumentReference":
        r["content"][0]["attachment"]["data"] = ["!!!", f"{MARKER}===", "QQ=Q"][choice % 3]
        return [Record(_dump(r), bad, base, kind=kind)]
    if kind == "non_utf8_note" and base == "DocumentReference":
        raw = f"Caf\xe9 {MARKER}: pain at rest in the left foot".encode("latin-1")
        r["content"][0]["attachment"]["data"] = base64.b64encode(raw).decode()
        return [Record(_dump(r), ok, base, kind=kind)]
    if kind == "non_utf8_line":
        line = b'{"resourceType":"%s","id":"%s","note":"\xff\xfe\xc3("}' % (
            base.encode(),
            rid.encode(),
        )
        return [Record(line, bad, base, ndjson_only=True, kind=kind)]
    if kind == "truncated_json":
        line = _dump(r)
        return [
            Record(
                line[: max(1, len(line) // (2 + choice % 3))],
                bad,
                base,
                ndjson_only=True,
                kind=kind,
            )
        ]
    if kind == "not_an_object":
        return [
            Record(
                [b"[1,2,3]", b'"' + MARKER.encode() + b'"', b"42", b"null"][choice % 4],
                bad,
                base,
                ndjson_only=True,
                kind=kind,
            )
        ]
    if kind == "no_resource_type":
        r.pop("resourceType")
        return [Record(_dump(r), bad, base, ndjson_only=True, kind=kind)]
    if kind == "unknown_type":
        return [Record(_dump(_with(r, resourceType="Frobnicator")), bad, "Frobnicator", kind=kind)]
    if kind == "missing_patient" and base != "Patient":
        r["subject"] = {"reference": f"Patient/{MARKER}-absent-{rid}"}
        return [Record(_dump(r), ok, base, kind=kind)]
    if kind == "non_patient_subject" and base in ("Observation", "DocumentReference"):
        r["subject"] = {"reference": f"Group/{rid}"}
        return [Record(_dump(r), Outcome.NO_PATIENT, base, kind=kind)]
    if kind == "entered_in_error" and base in (
        "Observation",
        "DocumentReference",
        "MedicationRequest",
    ):
        return [
            Record(
                _dump(_with(r, status="entered-in-error")),
                Outcome.ENTERED_IN_ERROR,
                base,
                kind=kind,
            )
        ]
    if kind == "unstaged_type":
        allergy = {
            "resourceType": "AllergyIntolerance",
            "id": rid,
            "patient": {"reference": f"Patient/{patient}"},
        }
        return [Record(_dump(allergy), Outcome.IGNORED, "AllergyIntolerance", kind=kind)]
    if kind == "encounter":  # staged since issue 23 (stg_encounter)
        enc = {
            "resourceType": "Encounter",
            "id": rid,
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": f"Patient/{patient}"},
            "period": {"start": "2025-03-01T09:00:00Z", "end": "2025-03-01T09:40:00Z"},
        }
        return [Record(_dump(enc), Outcome.STAGED, "Encounter", kind=kind, own_file=True)]
    # A mutation that does not apply to this base: the unchanged resource.
    return [Record(_dump(r), ok, base, kind="valid")]


KINDS = (
    "valid",
    "wrong_type",
    "missing_required",
    "missing_id",
    "invalid_date",
    "partial_date",
    "huge_string",
    "unknown_unit",
    "older_version",
    "bad_base64",
    "non_utf8_note",
    "non_utf8_line",
    "truncated_json",
    "not_an_object",
    "no_resource_type",
    "unknown_type",
    "missing_patient",
    "non_patient_subject",
    "entered_in_error",
    "unstaged_type",
    "encounter",
)


def nested_bundle(rid: str) -> dict[str, Any]:
    inner = b.bundle([b.patient(f"{rid}-inner")])
    inner["id"] = rid
    return inner
