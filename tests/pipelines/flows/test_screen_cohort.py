"""The nightly flow end to end under a real (test) Prefect server: files in, worklist out."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest

from devtools.synth import write_cohort
from pipelines.evaluation import read_labels
from pipelines.flows.screen_cohort import screen_cohort
from pipelines.run_summary import RunSummary

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cohort")
    write_cohort(250, 11, out)
    return out


def _run(cohort: Path, tmp: Path, name: str) -> tuple[RunSummary, str]:
    result = screen_cohort(
        source=str(cohort),
        as_of=AS_OF,
        store_url=f"sqlite:///{tmp / 'store.db'}",
        export_dir=str(tmp / name),
    )
    return result, (tmp / name / "worklist.csv").read_text(encoding="utf-8")


def test_flow_publishes_worklist_matching_labels_and_rerun_is_identical(
    prefect_harness: None, cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default work dir is relative
    first, csv_first = _run(cohort, tmp_path, "a")
    _, csv_second = _run(cohort, tmp_path, "b")
    assert csv_first == csv_second
    labels = read_labels(cohort / "labels.csv")
    rows = [line.split(",") for line in csv_first.splitlines()[1:]]
    assert rows, "the cohort plants positives for every screen"
    for patient_id, screen, *_ in rows:
        assert screen in labels[patient_id], (patient_id, screen)
    assert first.quarantined == 0 and sum(first.flagged.values()) == len(rows)
    assert csv_first.splitlines()[0].startswith(
        "patient_id,screen,priority,status,first_flagged_on,last_evidence_on,criteria,evidence"
    )


def test_flow_artifact_carries_counts_only(
    prefect_harness: None, cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import ArtifactSort

    monkeypatch.chdir(tmp_path)
    _run(cohort, tmp_path, "c")

    async def latest_markdown() -> str:
        # Newest first by creation: the server's default order is by id, and Prefect's ids are
        # random (uuid4), so another test's run (the Prefect server is the session's) could
        # come first, e.g. one whose tables are empty.
        async with get_client() as client:
            artifacts = await client.read_artifacts(sort=ArtifactSort.CREATED_DESC, limit=50)
        summaries = [a for a in artifacts if a.key == "screen-summary"]
        return str(summaries[0].data)

    markdown = asyncio.run(latest_markdown())
    assert "| Observation |" in markdown and "| pad |" in markdown
    notes = [line for line in (cohort / "DocumentReference.ndjson").read_text().splitlines()[:5]]
    assert notes and all(line[-60:] not in markdown for line in notes)
