"""Optional FHIR fields that no resource in the input carries must not break staging or screening.

A source where, say, no Patient has ``birthDate`` is legal FHIR (and common in narrow exports).
Staging must still produce every STG_* table with its contract schema (the absent field NULL),
and the screens must still evaluate. Each case strips one optional field (or value type) from
every resource of a small synthetic cohort, as NDJSON and as a Bundle (the two landing paths).
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from screens.engine import evaluate_screens
from screens.model import STG_NOTE_MENTION, assert_schema
from screens.notes import extract_mention_frame
from screens.rules import select_screens
from tests.pipelines.stage_inputs import write_bundle, write_ndjson
from tests.stage_oracle import stage_source

AS_OF = date(2026, 6, 30)
Resource = dict[str, Any]


def _note(nid: str, pid: str, text: str) -> Resource:
    return {
        "resourceType": "DocumentReference",
        "id": nid,
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "date": "2026-05-01T10:00:00Z",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(text.encode()).decode(),
                }
            }
        ],
    }


def _cohort() -> list[Resource]:
    """Two synthetic patients with every optional field staging reads present."""
    loinc, snomed = "http://loinc.org", "http://snomed.info/sct"
    return [
        {"resourceType": "Patient", "id": "p1", "birthDate": "1950-01-01", "gender": "male"},
        {"resourceType": "Patient", "id": "p2", "birthDate": "1995-01-01", "gender": "female"},
        {
            "resourceType": "Observation",
            "id": "o1",
            "status": "final",
            "code": {"coding": [{"system": loinc, "code": "76497-3"}]},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2026-05-01",
            "valueQuantity": {"value": 0.7, "unit": "1"},
            "bodySite": {"coding": [{"system": snomed, "code": "24028007"}]},
        },
        {
            "resourceType": "Observation",
            "id": "o2",
            "status": "final",
            "code": {"coding": [{"system": loinc, "code": "8867-4"}]},
            "subject": {"reference": "Patient/p2"},
            "effectiveDateTime": "2026-05-01",
            "valueQuantity": {"value": 70, "unit": "/min"},
            "component": [
                {
                    "code": {"coding": [{"system": loinc, "code": "8480-6"}]},
                    "valueQuantity": {"value": 120, "unit": "mm[Hg]"},
                }
            ],
        },
        {
            "resourceType": "Condition",
            "id": "c1",
            "code": {
                "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I82.412"}]
            },
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "verificationStatus": {"coding": [{"code": "confirmed"}]},
            "subject": {"reference": "Patient/p2"},
            "onsetDateTime": "2026-04-01",
            "recordedDate": "2026-04-02",
        },
        {
            "resourceType": "Procedure",
            "id": "pr1",
            "status": "completed",
            "code": {"coding": [{"system": snomed, "code": "71388002"}]},
            "subject": {"reference": "Patient/p1"},
            "performedDateTime": "2020-01-01",
        },
        {
            "resourceType": "MedicationRequest",
            "id": "m1",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {"coding": [{"code": "1364430"}]},
            "subject": {"reference": "Patient/p2"},
            "authoredOn": "2026-04-02",
        },
        _note(
            "d1",
            "p1",
            "Calf pain when walking two blocks, relieved by rest. ABI 0.62 on the right.",
        ),
        _note("d2", "p2", "Left leg swelling for three months. Left iliofemoral DVT on duplex."),
        {
            "resourceType": "DiagnosticReport",
            "id": "dr1",
            "status": "final",
            "code": {"coding": [{"system": loinc, "code": "18748-4"}]},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2026-05-01",
            "conclusion": "Low ABI.",
            "presentedForm": [
                {"contentType": "text/plain", "data": base64.b64encode(b"ABI 0.6 right").decode()}
            ],
        },
    ]


def _strip(rtype: str, *fields: str) -> Callable[[list[Resource]], list[Resource]]:
    def edit(resources: list[Resource]) -> list[Resource]:
        for r in resources:
            if r["resourceType"] == rtype:
                for name in fields:
                    r.pop(name, None)
        return resources

    return edit


def _observation_value(name: str, value: object) -> Callable[[list[Resource]], list[Resource]]:
    """Every Observation carries only ``name`` as its value (no quantity, no components)."""

    def edit(resources: list[Resource]) -> list[Resource]:
        for r in resources:
            if r["resourceType"] == "Observation":
                r.pop("valueQuantity", None)
                r.pop("component", None)
                if name:
                    r[name] = value
        return resources

    return edit


def _without_type(*rtypes: str) -> Callable[[list[Resource]], list[Resource]]:
    return lambda resources: [r for r in resources if r["resourceType"] not in rtypes]


# case -> (edit, (staged table, column that must then be all NULL) or None)
CASES: dict[str, tuple[Callable[[list[Resource]], list[Resource]], tuple[str, str] | None]] = {
    "no_patient_birthdate": (_strip("Patient", "birthDate"), ("patient", "birth_date")),
    "no_patient_gender": (_strip("Patient", "gender"), ("patient", "gender")),
    "no_observation_bodysite": (_strip("Observation", "bodySite"), None),
    "no_observation_component": (_strip("Observation", "component"), None),
    "no_observation_date": (
        _strip("Observation", "effectiveDateTime"),
        ("observation", "effective_on"),
    ),
    "only_value_string": (_observation_value("valueString", "0.7"), ("observation", "value_num")),
    "only_value_codeable_concept": (
        _observation_value("valueCodeableConcept", {"text": "abnormal"}),
        ("observation", "value_num"),
    ),
    "no_observation_value": (_observation_value("", None), ("observation", "value_num")),
    "no_condition_onset": (_strip("Condition", "onsetDateTime"), None),
    "no_condition_dates": (
        _strip("Condition", "onsetDateTime", "recordedDate"),
        ("condition", "recorded_on"),
    ),
    "no_condition_statuses": (
        _strip("Condition", "clinicalStatus", "verificationStatus"),
        ("condition", "clinical_status"),
    ),
    "no_note_date": (_strip("DocumentReference", "date"), None),
    "no_note_type": (_strip("DocumentReference", "type"), None),
    "no_report_conclusion_or_form": (
        _strip("DiagnosticReport", "conclusion", "presentedForm"),
        None,
    ),
    "no_procedure_performed": (
        _strip("Procedure", "performedDateTime"),
        ("procedure", "performed_on"),
    ),
    "no_medication_authored": (
        _strip("MedicationRequest", "authoredOn"),
        ("medication", "authored_on"),
    ),
    "no_codings_only_text": (
        lambda rs: [{**r, "code": {"text": "text only"}} if "code" in r else r for r in rs],
        ("condition", "code"),
    ),
    "no_notes": (_without_type("DocumentReference", "DiagnosticReport"), ("note", "text")),
    "patients_only": (
        _without_type(
            "Observation",
            "Condition",
            "Procedure",
            "MedicationRequest",
            "DocumentReference",
            "DiagnosticReport",
        ),
        None,
    ),
}


def _write(src: Path, resources: list[Resource], layout: str) -> None:
    src.mkdir()
    if layout == "bundle":
        write_bundle(src / "cohort.json", resources)
        return
    by_type: dict[str, list[dict[str, Any] | str]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(r)
    for rtype in (
        "Patient",
        "Condition",
        "Observation",
        "Procedure",
        "MedicationRequest",
        "DocumentReference",
        "DiagnosticReport",
    ):
        # A pull lands an empty file for a type the server had none of.
        write_ndjson(src / f"{rtype}.ndjson", by_type.get(rtype, []))


@pytest.mark.parametrize("layout", ["ndjson", "bundle"])
@pytest.mark.parametrize("case", list(CASES))
def test_absent_optional_field_stages_and_screens(case: str, layout: str, tmp_path: Path) -> None:
    edit, null_column = CASES[case]
    resources = edit(copy.deepcopy(_cohort()))
    assert json.dumps(_cohort()) != json.dumps(resources)  # the case really changed something
    _write(tmp_path / "src", resources, layout)

    staged = stage_source(tmp_path / "src", workdir=tmp_path / "work", max_quarantine_ratio=1.0)

    assert staged.quarantine.height == 0
    assert staged.tables["patient"].height == 2
    if null_column is not None:
        table, column = null_column
        frame = staged.tables[table]
        assert frame.height == 0 or frame[column].is_null().all(), frame[column].to_list()
    mentions = assert_schema(
        extract_mention_frame(staged.tables["note"]), STG_NOTE_MENTION, "mentions"
    )
    result = evaluate_screens(
        select_screens(None), {**staged.tables, "note_mention": mentions}, AS_OF
    )
    assert isinstance(result.items, pl.DataFrame)
