"""Export error files name the types that were not (fully) exported; those are not snapshots:
a full read keeps their earlier records (issue 24 item 4)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from devtools.synth import write_cohort
from pipelines.cohort_run import fetch
from pipelines.fhir.failed_types import types_named
from pipelines.run_summary import summary_lines
from tests.pipelines.fhir.vendor_emulator import run_emulator
from tests.pipelines.fhir.vendor_nights import LaterNights
from tests.pipelines.fhir.worklist_runs import Run, run_in_process

TYPES = ("Patient", "Observation", "Encounter", "DocumentReference")


def outcome(**issue: Any) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", **issue}]}


def test_a_type_named_in_the_diagnostics_or_expression_failed() -> None:
    said = outcome(diagnostics="Encounter e-missing could not be exported")
    assert types_named(said, TYPES) == {"Encounter"}
    pointed = outcome(expression=["Observation.value"], details={"text": "bad unit"})
    assert types_named(pointed, TYPES) == {"Observation"}
    assert types_named(outcome(location=["DocumentReference/7"]), TYPES) == {"DocumentReference"}


def test_an_error_that_names_no_requested_type_concerns_every_type() -> None:
    assert types_named(outcome(diagnostics="internal error"), TYPES) == set(TYPES)
    assert types_named({"resourceType": "OperationOutcome"}, TYPES) == set(TYPES)
    # Whole words only: "Observations" is not a type name, and Procedure was not requested.
    vague = outcome(diagnostics="Observations and Procedure timed out")
    assert types_named(vague, TYPES) == set(TYPES)


@pytest.fixture
def small_cohort(tmp_path: Path) -> Path:
    directory = tmp_path / "cohort"
    write_cohort(8, 5, directory)
    (directory / "labels.csv").unlink()
    return directory


def _mirror_ids(run: Run, rtype: str) -> set[str]:
    (path,) = (run.workdir / "mirror").glob("mirror-*.duckdb")
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("SELECT id FROM resource WHERE resourcetype = ?", [rtype]).fetchall()
    return {r[0] for r in rows}


def _drop_first(path: Path) -> str:
    first, *rest = path.read_bytes().splitlines()
    path.write_bytes(b"\n".join(rest) + b"\n")
    return str(orjson.loads(first)["id"])


def test_a_full_read_keeps_the_earlier_records_of_a_type_an_error_file_names(
    small_cohort: Path, tmp_path: Path
) -> None:
    """The bulk-ig profile's error file names Encounter: a full read that lacks an Encounter
    keeps it, while an Observation absent from the same full read is deleted."""
    run = Run(tmp_path / "run")
    with run_emulator("bulk-ig", small_cohort, kind=LaterNights) as served:
        assert isinstance(served, LaterNights)
        run_in_process(served.fhir_url + "/fhir", run)
        encounters, observations = _mirror_ids(run, "Encounter"), _mirror_ids(run, "Observation")
        changed = tmp_path / "changed"
        shutil.copytree(small_cohort, changed)
        gone_encounter = _drop_first(changed / "Encounter.ndjson")
        gone_observation = _drop_first(changed / "Observation.ndjson")
        served.reload(changed)
        summary = run_in_process(served.fhir_url + "/fhir", run, full=True)
    assert summary.failed_types == ("Encounter",) and summary.full_read
    assert gone_encounter in encounters and _mirror_ids(run, "Encounter") == encounters
    assert _mirror_ids(run, "Observation") == observations - {gone_observation}
    assert "types with export errors (earlier records kept): Encounter" in summary_lines(summary)


def test_a_full_read_without_error_files_is_a_snapshot_of_every_type(
    small_cohort: Path, tmp_path: Path
) -> None:
    run = Run(tmp_path / "run")
    with run_emulator("athena", small_cohort, kind=LaterNights) as served:
        settings = run.settings().model_copy(update={"fhir_group_id": served.group_id})
        fetched = fetch(
            served.fhir_url + "/fhir", settings=settings, mode=None, full=True, progress=False
        )
    assert fetched.snapshot_types is None and fetched.failed_types == () and fetched.full_read
