"""Encounters are staged (`stg_encounter`, one row per Encounter) and reach the engine as the
table "encounter" on both run paths: `pipelines.nightly` (stage_source) and the mirror's
shards (`pipelines.cohort_run`), incremental runs included."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.evaluation import evaluate_source
from pipelines.night import run_night
from screens.model import STG_ENCOUNTER, assert_schema
from tests.pipelines.engine_spy import EngineSpy, mirror_settings
from tests.pipelines.stage_inputs import encounter, patient, write_bundle, write_ndjson
from tests.stage_oracle import StagedData, stage_source

AS_OF = date(2026, 6, 30)


def _stage(src: Path, tmp_path: Path) -> StagedData:
    return stage_source(src, workdir=tmp_path / "work", max_quarantine_ratio=1.0)


def _rows(staged: StagedData) -> list[tuple[Any, ...]]:
    frame = assert_schema(staged.tables["encounter"], STG_ENCOUNTER, "stg_encounter")
    return frame.rows()


def test_an_encounter_is_one_row_with_its_period_as_dates(src: Path, tmp_path: Path) -> None:
    write_ndjson(
        src / "Encounter.ndjson",
        [
            encounter("e1", start="2025-02-03T23:30:00-05:00", end="2025-02-04T01:00:00-05:00"),
            encounter("e2", patient_id="p2", start="2024-05", end=None, status="in-progress"),
        ],
    )
    staged = _stage(src, tmp_path)
    assert _rows(staged) == [
        ("p1", "Encounter/e1", "e1", "finished", date(2025, 2, 3), date(2025, 2, 4)),
        ("p2", "Encounter/e2", "e2", "in-progress", date(2024, 5, 1), None),
    ]
    assert staged.counts["Encounter"]["staged"] == 2
    assert staged.counts["Encounter"].get("ignored", 0) == 0


def test_entered_in_error_no_patient_and_bad_dates_do_not_stage(src: Path, tmp_path: Path) -> None:
    no_subject = encounter("e3")
    del no_subject["subject"]
    write_ndjson(
        src / "Encounter.ndjson",
        [
            encounter("e1", status="entered-in-error"),
            encounter("e2", end="2025-02-31"),
            no_subject,
            encounter("e4", start=None, end=None),
        ],
    )
    staged = _stage(src, tmp_path)
    assert _rows(staged) == [("p1", "Encounter/e4", "e4", "finished", None, None)]
    counts = staged.counts["Encounter"]
    assert (counts["entered_in_error"], counts["quarantined"], counts["no_patient"]) == (1, 1, 1)
    assert staged.quarantine.select("source", "reason").rows() == [
        ("Encounter.ndjson:2", "invalid_date")
    ]


def test_the_latest_version_of_an_encounter_wins_and_bundles_stage_too(
    src: Path, tmp_path: Path
) -> None:
    old = encounter("e1", meta={"versionId": "1"}, status="in-progress", end=None)
    new = encounter("e1", meta={"versionId": "2"})
    write_ndjson(src / "Encounter.ndjson", [new, old])
    write_bundle(src / "visits.json", [encounter("e9", patient_id="p2")])
    staged = _stage(src, tmp_path)
    assert [(r[1], r[3]) for r in _rows(staged)] == [
        ("Encounter/e1", "finished"),
        ("Encounter/e9", "finished"),
    ]
    assert staged.counts["Encounter"]["duplicates"] == 1


# ---- the engine's tables on both run paths ---------------------------------------------------


def _source(root: Path, encounters: list[dict[str, Any]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_ndjson(root / "Patient.ndjson", [patient("p1"), patient("p2")])
    write_ndjson(root / "Encounter.ndjson", encounters)
    return root


def test_the_nightly_path_hands_the_engine_its_encounters(
    tmp_path: Path, engine_spy: EngineSpy
) -> None:
    spy = engine_spy
    source = _source(tmp_path / "src", [encounter("e1"), encounter("e2", patient_id="p2")])
    labels = tmp_path / "labels.csv"
    labels.write_text("patient_id,screens\np1,\np2,\n")
    evaluate_source(source, labels, AS_OF, None)
    (seen,) = spy.table("encounter")
    assert seen["source_ref"].to_list() == ["Encounter/e1", "Encounter/e2"]


def test_the_mirror_path_hands_the_engine_encounters_on_full_and_incremental_runs(
    tmp_path: Path, engine_spy: EngineSpy
) -> None:
    spy = engine_spy
    settings = mirror_settings(tmp_path / "work")
    first = _source(tmp_path / "night1", [encounter("e1"), encounter("e2", patient_id="p2")])
    run_night(str(first), settings=settings, as_of=AS_OF)
    moved = encounter("e2", patient_id="p2", start="2026-01-05T10:00:00Z", end=None)
    second = _source(tmp_path / "night2", [encounter("e1"), moved])
    summary = run_night(str(second), settings=settings, as_of=AS_OF)
    assert summary.evaluation == "incremental"
    full, *later = spy.table("encounter")
    incremental = pl.concat(later)
    assert full["source_ref"].to_list() == ["Encounter/e1", "Encounter/e2"]
    # Only the touched patient is evaluated, with the Encounter as it is now.
    assert incremental.select("patient_id", "start_on", "end_on").rows() == [
        ("p2", date(2026, 1, 5), None)
    ]
