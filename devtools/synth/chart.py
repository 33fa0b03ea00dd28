"""One synthetic patient's chart: builds FHIR R4 resources as plain dicts, ids in creation order.

Resources are plain dicts (no pydantic per resource: a 20,000-patient cohort holds millions of
them); tests validate samples against `fhir.resources.R4B`.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from devtools.synth.codes import UCUM, Code

Resource = dict[str, Any]

RESOURCE_TYPES: tuple[str, ...] = (
    "Patient",
    "Encounter",
    "Condition",
    "Observation",
    "Procedure",
    "MedicationRequest",
    "DocumentReference",
    "DiagnosticReport",
)
TZ = "-05:00"
_ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_DOC_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
_REPORT_CATEGORY = "http://terminology.hl7.org/CodeSystem/v2-0074"
_ID_PREFIX = {
    "Encounter": "enc",
    "Condition": "cond",
    "Observation": "obs",
    "Procedure": "proc",
    "MedicationRequest": "med",
    "DocumentReference": "doc",
    "DiagnosticReport": "rpt",
}
_CLASS_DISPLAY = {"AMB": "ambulatory", "EMER": "emergency", "IMP": "inpatient encounter"}


def coding(code: Code) -> dict[str, str]:
    return {"system": code.system, "code": code.code, "display": code.display}


def concept(*codes: Code, text: str | None = None) -> dict[str, Any]:
    return {"coding": [coding(c) for c in codes], "text": text or codes[0].display}


def quantity(value: float, unit: str, *, ucum: bool = True) -> dict[str, Any]:
    if not ucum:  # a unit string nobody can map: staging must mark it unit_unrecognized
        return {"value": value, "unit": unit}
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


@dataclass(frozen=True, slots=True)
class Visit:
    """An encounter already written to the chart; resources made during it point at it."""

    id: str
    day: date
    stamp: str  # FHIR dateTime with offset


@dataclass(slots=True)
class Chart:
    """Accumulates one patient's resources by type, in a fixed, deterministic order."""

    patient_id: str
    rng: random.Random
    as_of: date
    birth_date: date
    sex: str  # FHIR administrative gender: female | male
    history_start: date
    out: dict[str, list[Resource]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    med_names: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    baseline: dict[str, float] = field(default_factory=dict)
    active_meds: dict[str, Resource] = field(default_factory=dict)
    _seq: int = 0

    def __post_init__(self) -> None:
        self.out = {t: [] for t in RESOURCE_TYPES}

    @property
    def subject(self) -> dict[str, str]:
        return {"reference": f"Patient/{self.patient_id}"}

    def age_on(self, day: date) -> int:
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))

    def recent_day(self, lo: int = 10, hi: int = 170) -> date:
        """A day within the last ~6 months before as_of, where planted evidence goes."""
        return self.as_of - timedelta(days=self.rng.randint(lo, hi))

    def _add(self, rtype: str, body: Resource) -> Resource:
        self._seq += 1
        rid = f"{_ID_PREFIX[rtype]}-{self.patient_id}-{self._seq:04d}"
        resource: Resource = {"resourceType": rtype, "id": rid, **body}
        self.out[rtype].append(resource)
        return resource

    def visit(
        self, day: date, kind: Code, *, cls: str = "AMB", reason: Code | None = None
    ) -> Visit:
        hour, minute = self.rng.randint(7, 16), self.rng.choice((0, 15, 30, 45))
        stamp = f"{day.isoformat()}T{hour:02d}:{minute:02d}:00{TZ}"
        end = f"{day.isoformat()}T{hour + 1:02d}:{minute:02d}:00{TZ}"
        body: Resource = {
            "status": "finished",
            "class": {"system": _ACT, "code": cls, "display": _CLASS_DISPLAY[cls]},
            "type": [concept(kind)],
            "subject": self.subject,
            "period": {"start": stamp, "end": end},
        }
        if reason is not None:
            body["reasonCode"] = [concept(reason)]
        resource = self._add("Encounter", body)
        return Visit(resource["id"], day, stamp)

    def condition(
        self,
        code: Code,
        onset: date,
        *,
        visit: Visit | None = None,
        clinical: str = "active",
        category: str = "problem-list-item",
        verification: str = "confirmed",
        extra: tuple[Code, ...] = (),
    ) -> Resource:
        body: Resource = {
            "clinicalStatus": {"coding": [{"system": _CLINICAL, "code": clinical}]},
            "verificationStatus": {"coding": [{"system": _VERIFICATION, "code": verification}]},
            "category": [{"coding": [{"system": _CONDITION_CATEGORY, "code": category}]}],
            "code": concept(code, *extra),
            "subject": self.subject,
            "onsetDateTime": onset.isoformat(),
            "recordedDate": onset.isoformat(),
        }
        if visit is not None:
            body["encounter"] = {"reference": f"Encounter/{visit.id}"}
        if clinical in ("resolved", "inactive"):
            body["abatementDateTime"] = (onset + timedelta(days=14)).isoformat()
        if code.display not in self.problems and category == "problem-list-item":
            self.problems.append(code.display)
        return self._add("Condition", body)

    def observation(
        self,
        visit: Visit,
        code: Code | dict[str, Any],
        *,
        value: dict[str, Any] | None = None,
        category: str = "vital-signs",
        status: str = "final",
        components: list[dict[str, Any]] | None = None,
        body_site: Code | None = None,
        value_key: str = "valueQuantity",
    ) -> Resource:
        cat = {"system": _OBS_CATEGORY, "code": category}
        body: Resource = {
            "status": status,
            "category": [{"coding": [cat]}],
            "code": code if isinstance(code, dict) else concept(code),
            "subject": self.subject,
            "encounter": {"reference": f"Encounter/{visit.id}"},
            "effectiveDateTime": visit.stamp,
            "issued": visit.stamp,
        }
        if value is not None:
            body[value_key] = value
        if body_site is not None:
            body["bodySite"] = concept(body_site)
        if components:
            body["component"] = components
        return self._add("Observation", body)

    def procedure(self, code: Code, day: date, *, visit: Visit | None = None) -> Resource:
        body: Resource = {
            "status": "completed",
            "code": concept(code),
            "subject": self.subject,
            "performedDateTime": day.isoformat(),
        }
        if visit is not None:
            body["encounter"] = {"reference": f"Encounter/{visit.id}"}
        return self._add("Procedure", body)

    def medication(self, med: Code, day: date, *, sig: str, status: str = "active") -> Resource:
        """Order a medication; a new active order of the same drug completes the previous one."""
        if status == "active":
            previous = self.active_meds.get(med.code)
            if previous is not None:
                previous["status"] = "completed"
            elif med.display not in self.med_names:
                self.med_names.append(med.display)
        resource = self._add(
            "MedicationRequest",
            {
                "status": status,
                "intent": "order",
                "medicationCodeableConcept": concept(med),
                "subject": self.subject,
                "authoredOn": day.isoformat(),
                "dosageInstruction": [{"text": sig}],
            },
        )
        if status == "active":
            self.active_meds[med.code] = resource
        return resource

    def note(self, visit: Visit, doc_type: Code, text: str) -> Resource:
        return self._add(
            "DocumentReference",
            {
                "status": "current",
                "docStatus": "final",
                "type": concept(doc_type),
                "category": [{"coding": [{"system": _DOC_CATEGORY, "code": "clinical-note"}]}],
                "subject": self.subject,
                "date": visit.stamp,
                "content": [{"attachment": _attachment(text, visit.stamp)}],
                "context": {
                    "encounter": [{"reference": f"Encounter/{visit.id}"}],
                    "period": {"start": visit.stamp},
                },
            },
        )

    def report(
        self, visit: Visit, code: Code, text: str, *, conclusion: str, category: str = "RAD"
    ) -> Resource:
        """A DiagnosticReport (imaging or vascular lab) carrying its full text as presentedForm."""
        return self._add(
            "DiagnosticReport",
            {
                "status": "final",
                "category": [{"coding": [{"system": _REPORT_CATEGORY, "code": category}]}],
                "code": concept(code),
                "subject": self.subject,
                "encounter": {"reference": f"Encounter/{visit.id}"},
                "effectiveDateTime": visit.stamp,
                "issued": visit.stamp,
                "conclusion": conclusion,
                "presentedForm": [_attachment(text, visit.stamp)],
            },
        )


def _attachment(text: str, stamp: str) -> dict[str, str]:
    return {
        "contentType": "text/plain; charset=utf-8",
        "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
        "creation": stamp,
    }
