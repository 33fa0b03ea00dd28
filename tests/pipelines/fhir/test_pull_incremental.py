"""Incremental pulls: `since` returns only what changed, and deletions are reported."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipelines.fhir import bulk
from pipelines.fhir.auth import BearerTokenAuth
from pipelines.fhir.client import FhirClient
from pipelines.fhir.export_pull import ExportState
from pipelines.fhir.progress import Progress
from pipelines.fhir.pull import DEFAULT_TYPES, pull_to_directory
from tests.pipelines.fhir.landing_helpers import read_landing
from tests.pipelines.fhir.server import DEV_TOKEN, SekmetServer

BEARER = BearerTokenAuth(DEV_TOKEN)


@pytest.fixture(scope="module")
def changed_server(fresh_sekmet: SekmetServer, tmp_path_factory: pytest.TempPathFactory):
    """Full pull, then one update, one create and one delete on the server."""
    full = pull_to_directory(
        fresh_sekmet.base_url, tmp_path_factory.mktemp("full"), mode="bulk", auth=BEARER
    )
    assert full.transaction_time is not None
    time.sleep(0.05)  # lastUpdated has millisecond precision
    with fresh_sekmet.admin() as http:
        observation = http.get("Observation/pull-alpha-abi").json()
        observation["valueQuantity"]["value"] = 0.71
        assert http.put("Observation/pull-alpha-abi", json=observation).status_code == 200
        condition = {
            "resourceType": "Condition",
            "id": "pull-beta-new",
            "subject": {"reference": "Patient/pull-beta"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "399957001"}]},
        }
        assert http.put("Condition/pull-beta-new", json=condition).status_code == 201
        assert http.delete("Procedure/pull-beta-duplex").status_code == 200
    return fresh_sekmet, full.transaction_time


@pytest.mark.parametrize("mode", ["bulk", "search"])
def test_incremental_pull_returns_only_changed_resources_and_deletions(
    changed_server: tuple[SekmetServer, object], tmp_path: Path, mode: str
) -> None:
    server, since = changed_server

    report = pull_to_directory(server.base_url, tmp_path, mode=mode, since=since, auth=BEARER)  # type: ignore[arg-type]

    assert sorted(read_landing(tmp_path)) == [
        ("Condition", "pull-beta-new"),
        ("Observation", "pull-alpha-abi"),
    ]
    assert (
        read_landing(tmp_path)[("Observation", "pull-alpha-abi")]["valueQuantity"]["value"] == 0.71
    )
    assert report.deleted["Procedure"] == ("pull-beta-duplex",)
    assert all(report.deleted[t] == () for t in DEFAULT_TYPES if t != "Procedure")
    assert all(report.deletions_checked.values())
    assert report.since_honoured == dict.fromkeys(DEFAULT_TYPES, True)


def test_interrupted_export_resumes_from_its_saved_status_url(
    fresh_sekmet: SekmetServer, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    request = bulk.ExportRequest(types=("Patient",))
    with FhirClient(fresh_sekmet.base_url, auth=BEARER) as client:
        # A previous run kicked off this export and died before downloading.
        status_url = bulk.kick_off(client, request)
        ExportState(state).save(request.fingerprint(client.base_url), status_url)

    report = pull_to_directory(
        fresh_sekmet.base_url,
        tmp_path / "out",
        mode="bulk",
        types=["Patient"],
        auth=BEARER,
        state_dir=state,
    )

    assert report.status_url == status_url
    assert report.counts == {"Patient": 2}
    assert not (state / bulk.STATE_FILE).exists()


def test_progress_lines_name_types_and_counts_only(
    fresh_sekmet: SekmetServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pull_to_directory(
        fresh_sekmet.base_url,
        tmp_path,
        mode="bulk",
        types=["DocumentReference"],
        auth=BEARER,
        progress=True,
    )

    err = capsys.readouterr().err
    assert "export" in err and "DocumentReference" in err
    assert "Synthetic" not in err and "pull-" not in err
    assert Progress(enabled=False).enabled is False
