"""Scoped publish (incremental runs) and FHIR watermarks, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pipelines.errors import StoreError
from pipelines.store import Store
from pipelines.store.testing import Hit, frames
from screens.rules import rule_versions

D1 = date(2026, 3, 1)


def _publish(
    store: Store, as_of: date, hits: list[Hit], patients: set[str] | None
) -> dict[str, int]:
    run_id = store.start_run(
        as_of=as_of, source="files", screens=["pad"], rule_versions=rule_versions()
    )
    items, evidence = frames(hits, as_of)
    counts = store.publish(
        run_id, as_of=as_of, screens=["pad"], items=items, evidence=evidence, patients=patients
    )
    store.finish_run(run_id, status="succeeded", counts={})
    return counts.as_dict()


def test_scoped_publish_leaves_other_patients_items_alone(store: Store) -> None:
    _publish(
        store,
        D1,
        [
            Hit("p1", "pad", "pad.low_abi", "Observation/1", D1),
            Hit("p2", "pad", "pad.low_abi", "Observation/2", D1),
        ],
        None,
    )
    before = store.worklist().filter(store.worklist()["patient_id"] == "p2").to_dicts()
    counts = _publish(store, D1, [], {"p1"})  # p1 changed and no longer flags; p2 untouched
    after = store.worklist(include_closed=True)
    status = dict(zip(after["patient_id"].to_list(), after["status"].to_list(), strict=True))
    assert status == {"p1": "resolved", "p2": "new"}
    assert counts["resolved"] == 1 and counts["evidence_retracted"] == 1
    assert store.worklist().filter(store.worklist()["patient_id"] == "p2").to_dicts() == before


def test_scoped_publish_rejects_items_outside_its_scope(store: Store) -> None:
    with pytest.raises(StoreError, match="outside the publish scope"):
        _publish(store, D1, [Hit("p9", "pad", "pad.low_abi", "Observation/9", D1)], {"p1"})


def test_watermarks_round_trip_per_resource_type(store: Store) -> None:
    run_id = store.start_run(
        as_of=D1, source="fhir", screens=["pad"], rule_versions=rule_versions()
    )
    tt = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)
    store.save_watermarks(run_id, "http://ehr/fhir", tt, {"Observation": True, "Patient": False})
    assert store.watermarks("http://ehr/fhir") == {
        "Observation": datetime(2026, 3, 1, 2, 30),
        "Patient": datetime(2026, 3, 1, 2, 30),
    }
    assert store.watermarks("http://other/fhir") == {}
    store.clear_watermarks("http://ehr/fhir")
    assert store.watermarks("http://ehr/fhir") == {}
