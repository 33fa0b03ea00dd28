"""MedicationRequests that name their drug by reference count as the drug they name.

`medicationReference` to a contained Medication ("#id"), to a Medication resource of the source,
or to one the source does not hold; both run paths, and an incremental run in which only the
Medication changed.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.ingest.medication_refs import resolve_medication_refs
from pipelines.night import run_night
from screens.model import STG_MEDICATION, STG_MEDICATION_CODE
from tests.pipelines.engine_spy import EngineSpy, mirror_settings
from tests.pipelines.stage_inputs import (
    medication,
    medication_request,
    patient,
    write_bundle,
    write_ndjson,
)
from tests.stage_oracle import StagedData, stage_source

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
AS_OF = date(2026, 6, 30)


def _stage(src: Path, tmp_path: Path) -> StagedData:
    return stage_source(src, workdir=tmp_path / "work", max_quarantine_ratio=1.0)


def _rows(staged: StagedData) -> list[tuple[Any, ...]]:
    return (
        staged.tables["medication"]
        .select("source_ref", "system", "code", "display", "medication_ref")
        .rows()
    )


def test_a_contained_medication_gives_one_row_per_coding(src: Path, tmp_path: Path) -> None:
    contained = medication(
        "drug", (RXNORM, "1364430", None), (RXNORM, "1364435", "apixaban 5 MG"), text="Eliquis"
    )
    write_ndjson(
        src / "MedicationRequest.ndjson",
        [
            medication_request(
                "r1", medicationReference={"reference": "#drug"}, contained=[contained]
            ),
            # A contained Medication that is not the one referenced is not read.
            medication_request(
                "r2",
                medicationReference={"reference": "#other", "display": "compression hose"},
                contained=[contained],
            ),
        ],
    )
    assert _rows(_stage(src, tmp_path)) == [
        ("MedicationRequest/r1", RXNORM, "1364430", "Eliquis", None),
        ("MedicationRequest/r1", RXNORM, "1364435", "apixaban 5 MG", None),
        ("MedicationRequest/r2", None, None, "compression hose", None),
    ]


def test_a_referenced_medication_resource_lends_its_codes(src: Path, tmp_path: Path) -> None:
    write_ndjson(
        src / "MedicationRequest.ndjson",
        [
            medication_request(
                "r1", medicationReference={"reference": "Medication/w5", "display": "warfarin"}
            ),
            medication_request(
                "r2", medicationReference={"reference": "Medication/gone", "display": "rivaroxaban"}
            ),
            medication_request(
                "r3",
                medicationCodeableConcept={"coding": [{"system": RXNORM, "code": "855332"}]},
                encounter={"reference": "Encounter/v1"},
            ),
            medication_request("r4", medicationCodeableConcept={"text": "heparin drip"}),
        ],
    )
    write_ndjson(
        src / "Medication.ndjson",
        [
            medication("w5", (RXNORM, "855332", None), text="Warfarin 5 mg tablet"),
            medication("unused", (RXNORM, "1", "never named")),
        ],
    )
    staged = _stage(src, tmp_path)
    assert _rows(staged) == [
        ("MedicationRequest/r1", RXNORM, "855332", "Warfarin 5 mg tablet", "Medication/w5"),
        ("MedicationRequest/r2", None, None, "rivaroxaban", "Medication/gone"),
        ("MedicationRequest/r3", RXNORM, "855332", None, None),
        ("MedicationRequest/r4", None, None, "heparin drip", None),
    ]
    assert staged.tables["medication"]["encounter_id"].to_list() == [None, None, "v1", None]
    # A Medication has no patient: it stages as a lookup, not as "no_patient".
    assert staged.counts["Medication"]["staged"] == 2
    assert staged.counts["Medication"].get("no_patient", 0) == 0


def test_bundles_reference_medications_by_full_url(src: Path, tmp_path: Path) -> None:
    request = medication_request("r1", medicationReference={"reference": "urn:uuid:med-9"})
    write_bundle(src / "orders.json", [request, medication("med-9", (RXNORM, "1114195", None))])
    assert _rows(_stage(src, tmp_path)) == [
        ("MedicationRequest/r1", RXNORM, "1114195", None, "Medication/med-9")
    ]


def test_an_entered_in_error_medication_lends_nothing(src: Path, tmp_path: Path) -> None:
    voided = {**medication("w5", (RXNORM, "855332", None)), "status": "entered-in-error"}
    write_ndjson(src / "Medication.ndjson", [voided])
    write_ndjson(
        src / "MedicationRequest.ndjson",
        [medication_request("r1", medicationReference={"reference": "Medication/w5"})],
    )
    staged = _stage(src, tmp_path)
    assert _rows(staged) == [("MedicationRequest/r1", None, None, None, "Medication/w5")]
    assert staged.counts["Medication"]["entered_in_error"] == 1


def test_resolving_keeps_the_staging_order_and_leaves_unnamed_rows_alone() -> None:
    requests = pl.DataFrame(
        [
            (
                "p1",
                "MedicationRequest/a",
                "active",
                None,
                None,
                "by ref",
                None,
                None,
                "Medication/m",
            ),
            ("p1", "MedicationRequest/b", "active", "s", "9", "direct", None, "e1", None),
        ],
        schema=STG_MEDICATION,
        orient="row",
    )
    codes = pl.DataFrame(
        [("Medication/m", "s", "2", None), ("Medication/m", "s", "1", "one")],
        schema=STG_MEDICATION_CODE,
        orient="row",
    )
    got = resolve_medication_refs(requests, codes)
    assert got.select("source_ref", "code", "display").rows() == [
        ("MedicationRequest/a", "1", "one"),
        ("MedicationRequest/a", "2", "by ref"),
        ("MedicationRequest/b", "9", "direct"),
    ]
    assert resolve_medication_refs(requests, codes.clear()).equals(requests)


# ---- the mirror path: a Medication that changes alone ---------------------------------------


def _night(root: Path, code: str) -> Path:
    root.mkdir(parents=True)
    write_ndjson(root / "Patient.ndjson", [patient("p1"), patient("p2")])
    write_ndjson(
        root / "MedicationRequest.ndjson",
        [
            medication_request("r1", medicationReference={"reference": "Medication/m1"}),
            medication_request(
                "r2",
                patient_id="p2",
                medicationCodeableConcept={"coding": [{"system": RXNORM, "code": "7"}]},
            ),
        ],
    )
    write_ndjson(root / "Medication.ndjson", [medication("m1", (RXNORM, code, None))])
    return root


def test_a_medication_changed_alone_reevaluates_the_patients_who_take_it(
    tmp_path: Path, engine_spy: EngineSpy
) -> None:
    spy = engine_spy
    settings = mirror_settings(tmp_path / "work")
    run_night(str(_night(tmp_path / "n1", "855332")), settings=settings, as_of=AS_OF)
    summary = run_night(str(_night(tmp_path / "n2", "1364430")), settings=settings, as_of=AS_OF)
    assert summary.evaluation == "incremental"
    assert summary.touched_patients == 1
    first, second = spy.table("medication")
    assert first.select("patient_id", "code").rows() == [("p1", "855332"), ("p2", "7")]
    assert second.select("patient_id", "code").rows() == [("p1", "1364430")]
