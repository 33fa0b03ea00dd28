"""Non-finite and physiologically impossible values are quarantined at staging, never compared.

Each hostile Observation belongs to a patient of its own; after staging it must be one
quarantine row with its reason (no value in the detail), absent from the staged observations,
and its patient must get no worklist item. A control patient with a real low ABI is flagged,
so the screens did run.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from screens.engine import evaluate_screens
from screens.model import STG_NOTE_MENTION, assert_schema
from screens.notes import extract_mention_frame
from screens.rules import select_screens
from tests.builders import observation, patient
from tests.hardening.conftest import tally
from tests.pipelines.stage_inputs import write_ndjson
from tests.stage_oracle import stage_source

AS_OF = date(2026, 6, 30)
LOCAL = "http://vascreen.example.org/fhir/CodeSystem/vascular-lab"
ABI = {"system": "http://loinc.org", "code": "77194-9", "display": "Ankle-brachial index"}

# (patient, JSON text of valueQuantity.value, code, expected detail start)
HOSTILE: list[tuple[str, str, dict[str, str], str]] = [
    ("h-neg-inf-string", '"-Infinity"', ABI, "valueQuantity.value: not a finite"),
    ("h-inf-string", '"Infinity"', ABI, "valueQuantity.value: not a finite"),
    ("h-nan-string", '"NaN"', ABI, "valueQuantity.value: not a finite"),
    ("h-overflow", "-1e999", ABI, "valueQuantity.value: beyond"),
    ("h-overflow-string", '"-1e999"', ABI, "valueQuantity.value: beyond"),
    ("h-underflow-string", '"1e-999"', ABI, "valueQuantity.value: too small"),
    ("h-abi-negative", "-0.4", ABI, "ABI outside 0.0 to 5.0"),
    ("h-abi-huge", "7.5", ABI, "ABI outside 0.0 to 5.0"),
    (
        "h-tbi-negative",
        "-0.1",
        {"system": LOCAL, "code": "tbi", "display": "Toe-brachial index"},
        "TBI outside",
    ),
    (
        "h-toe-pressure",
        "450",
        {"system": LOCAL, "code": "toe-pressure", "display": "Toe systolic pressure"},
        "toe pressure (mmHg) outside 0.0 to 400.0",
    ),
    (
        "h-ankle-pressure",
        "-20",
        {"system": LOCAL, "code": "ankle-pressure", "display": "Ankle systolic pressure"},
        "ankle pressure (mmHg) outside",
    ),
    (
        "h-tcpo2",
        "1e5",
        {"system": LOCAL, "code": "tcpo2", "display": "TcPO2"},
        "TcPO2 (mmHg) outside",
    ),
    (  # named by its text only, the way uncoded entries arrive
        "h-text-abi",
        "-3",
        {"system": "", "code": "", "display": "R ABI"},
        "ABI outside",
    ),
]


def _hostile_line(pid: str, value: str, code: dict[str, str]) -> str:
    coding = {k: v for k, v in code.items() if v}
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"{pid}-obs",
        "status": "final",
        "code": {"coding": [coding]} if "code" in coding else {"text": code["display"]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": "2026-05-01",
        "valueQuantity": {"value": "VALUE", "unit": "1", "system": "http://unitsofmeasure.org"},
    }
    return json.dumps(resource).replace('"VALUE"', value)


def _component_line(pid: str) -> str:
    """A panel whose right-leg ABI component is -Infinity (ABI per leg arrives like this)."""
    resource = observation(pid, value=None, oid=f"{pid}-obs")
    resource["code"] = {"text": "ABI panel"}
    resource["component"] = [
        {"code": {"coding": [ABI | {"display": "R ABI"}]}, "valueQuantity": {"value": "VALUE"}},
        {"code": {"coding": [ABI | {"display": "L ABI"}]}, "valueQuantity": {"value": 1.1}},
    ]
    return json.dumps(resource).replace('"VALUE"', '"-Infinity"')


def test_each_impossible_value_is_one_quarantine_row_and_no_item(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    ids = [pid for pid, _, _, _ in HOSTILE] + ["h-component", "control"]
    write_ndjson(src / "Patient.ndjson", [patient(pid) for pid in ids])
    lines = [_hostile_line(pid, value, code) for pid, value, code, _ in HOSTILE]
    lines += [_component_line("h-component"), json.dumps(observation("control", value=0.62))]
    write_ndjson(src / "Observation.ndjson", lines)

    staged = stage_source(src, workdir=tmp_path / "work", max_quarantine_ratio=1.0)
    tally("bad inputs tried", len(HOSTILE) + 1)

    quarantine = staged.quarantine.filter(pl.col("resource_type") == "Observation")
    by_id = {row["resource_id"]: row for row in quarantine.iter_rows(named=True)}
    expected = {f"{pid}-obs": detail for pid, _, _, detail in HOSTILE}
    expected["h-component-obs"] = "valueQuantity.value: not a finite"
    assert set(by_id) == set(expected), sorted(by_id)
    for rid, detail in expected.items():
        assert by_id[rid]["reason"] == "implausible_value", rid
        assert by_id[rid]["detail"].startswith(detail), (rid, by_id[rid]["detail"])
    assert quarantine.height == len(expected)
    staged_refs = set(staged.tables["observation"]["source_ref"].to_list())
    assert staged_refs == {"Observation/control-obs-77194-9-2026-05-01"}
    assert staged.counts["Observation"]["quarantined"] == len(expected)

    mentions = assert_schema(
        extract_mention_frame(staged.tables["note"]), STG_NOTE_MENTION, "mentions"
    )
    result = evaluate_screens(
        select_screens(None), {**staged.tables, "note_mention": mentions}, AS_OF
    )
    flagged = set(result.items["patient_id"].to_list())
    assert flagged == {"control"}, flagged
    assert set(result.evidence["patient_id"].to_list()) <= {"control"}


def test_plausible_values_at_the_edges_stage(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    write_ndjson(src / "Patient.ndjson", [patient("edge")])
    values = ["0", "0.0", "5", "1.4e0", "1E-2"]
    lines = [
        _hostile_line("edge", v, ABI).replace('"edge-obs"', f'"edge-obs-{n}"')
        for n, v in enumerate(values)
    ]
    write_ndjson(src / "Observation.ndjson", lines)
    staged = stage_source(src, workdir=tmp_path / "work", max_quarantine_ratio=1.0)
    assert staged.quarantine.height == 0
    assert sorted(staged.tables["observation"]["value_num"].to_list()) == [0.0, 0.0, 0.01, 1.4, 5.0]
