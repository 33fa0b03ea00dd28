"""PHI canaries: markers planted in names, birth dates, values, notes and bad resources never
leave the access-controlled store (see `tests.hardening.canary` for what counts as the store).

Checked: CLI stdout/stderr (success, quarantine threshold, failing store, unreachable FHIR
server), exception text, Prefect flow and task run states, logs and artifacts read back through
the API, worklist.csv, `vascreen evaluate` output, files left in the run's directory and TMPDIR,
and the review app's CSV/XLSX exports (which carry the patient's name and MRN, as the pages
do, but no note text, values or birth date). Positive controls show the markers did reach the
store (snippets, quarantine), so a clean scan means something.
"""

from __future__ import annotations

import asyncio
import json
import socket
import traceback
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from pipelines.errors import ExitCode, FhirServerError, QuarantineThresholdError
from pipelines.store import Store
from tests.hardening import canary
from tests.hardening.conftest import CliResult, cli_env, tally, vascreen

AS_OF = "2026-06-30"


@dataclass(frozen=True)
class CanaryRun:
    root: Path
    source: Path
    store_file: Path
    result: CliResult


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _assert_clean(where: str, data: str | bytes) -> None:
    found = canary.find_markers(data)
    if found:
        tally("leaks found", len(found))
    context = [canary.marker_context(data, m) for m in found]
    assert not found, f"PHI marker(s) {found} in {where}, at {context}"


def _one_line_failure(result: CliResult, code: ExitCode) -> None:
    assert result.code == int(code), (result.code, result.stderr[-2000:])
    reasons = [line for line in result.stderr.splitlines() if line.startswith("vascreen: ")]
    assert len(reasons) == 1, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == reasons[0], "nothing after the reason"


@pytest.fixture(scope="module")
def canary_run(tmp_path_factory: pytest.TempPathFactory, prefect_api_url: str) -> CanaryRun:
    root = tmp_path_factory.mktemp("canary")
    source = root / "source"
    tally("markers planted", canary.write_canary_cohort(source))
    (root / "tmp").mkdir()
    store_file = root / "var" / "vascreen.db"
    env = cli_env(root / "work", prefect_api_url, TMPDIR=str(root / "tmp"))
    result = vascreen(
        [
            "run",
            "--source",
            str(source),
            "--as-of",
            AS_OF,
            "--store",
            f"sqlite:///{store_file}",
            "--export",
            str(root / "out"),
        ],
        cwd=root,
        env=env,
    )
    assert result.code == 0, result.stderr[-3000:]
    return CanaryRun(root, source, store_file, result)


def test_markers_reach_the_store_but_not_the_run_output(canary_run: CanaryRun) -> None:
    store = Store.connect(f"sqlite:///{canary_run.store_file}")
    try:
        with store.read() as conn:
            snippets = " ".join(
                str(s)
                for (s,) in conn.execute(
                    sa.text("SELECT snippet FROM evidence WHERE snippet IS NOT NULL")
                )
            )
            quarantined = conn.execute(sa.text("SELECT count(*) FROM quarantine")).scalar()
        items = store.worklist()
    finally:
        store.close()
    assert canary.NOTE in snippets, "positive control: the note marker reached a snippet"
    assert quarantined == len(canary.bad_lines())
    assert canary.PATIENT in items["patient_id"].to_list()
    _assert_clean("vascreen run stdout", canary_run.result.stdout)
    _assert_clean("vascreen run stderr", canary_run.result.stderr)
    worklist = (canary_run.root / "out" / "worklist.csv").read_text()
    assert canary.PATIENT in worklist
    _assert_clean("worklist.csv", worklist)


def test_failing_cli_runs_print_one_line_and_no_marker(
    canary_run: CanaryRun, prefect_api_url: str, tmp_path: Path
) -> None:
    src = str(canary_run.source)
    env = cli_env(tmp_path / "work", prefect_api_url, TMPDIR=str(canary_run.root / "tmp"))
    store = f"sqlite:///{tmp_path / 'var' / 'vascreen.db'}"
    breach = vascreen(
        ["run", "--source", src, "--as-of", AS_OF, "--store", store],
        cwd=tmp_path,
        env={**env, "VASCREEN_MAX_QUARANTINE_RATIO": "0.0"},
    )
    _one_line_failure(breach, ExitCode.QUARANTINE_THRESHOLD)
    assert "quarantined" in breach.stderr.strip().splitlines()[-1]
    assert "threshold" in breach.stderr.strip().splitlines()[-1]
    dead_store = vascreen(
        [
            "run",
            "--source",
            src,
            "--as-of",
            AS_OF,
            "--store",
            f"postgresql://nobody@127.0.0.1:{_closed_port()}/none",
        ],
        cwd=tmp_path,
        env=env,
    )
    _one_line_failure(dead_store, ExitCode.STORE)
    dead_fhir = vascreen(
        [
            "run",
            "--source",
            f"http://127.0.0.1:{_closed_port()}/fhir",
            "--as-of",
            AS_OF,
            "--store",
            store,
            "--mode",
            "search",
        ],
        cwd=tmp_path,
        env=env,
    )
    _one_line_failure(dead_fhir, ExitCode.FHIR_SERVER)
    tally("faults injected", 3)
    for name, result in (("threshold", breach), ("store", dead_store), ("fhir", dead_fhir)):
        _assert_clean(f"{name} failure stdout", result.stdout)
        _assert_clean(f"{name} failure stderr", result.stderr)


def test_evaluate_output_has_no_marker(
    canary_run: CanaryRun, tmp_path: Path, prefect_api_url: str
) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(
        (canary_run.source / "labels.csv").read_text() + f"{canary.PATIENT},clti,canary\n"
    )
    result = vascreen(
        ["evaluate", "--source", str(canary_run.source), "--labels", str(labels), "--as-of", AS_OF],
        cwd=tmp_path,
        env=cli_env(tmp_path / "work", prefect_api_url),
    )
    assert result.code == 0, result.stderr[-2000:]
    _assert_clean("evaluate stdout", result.stdout)
    _assert_clean("evaluate stderr", result.stderr)


def _failing_fhir_transport(calls: list[str]) -> httpx.MockTransport:
    """A server that errors with PHI in its bodies: 503 twice on /metadata, then 500 on searches."""
    outcome = canary.PHI_OUTCOME

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path.endswith("/metadata") and len(calls) <= 2:
            return httpx.Response(503, json=outcome, headers={"Retry-After": "0"})
        if request.url.path.endswith("/metadata"):
            return httpx.Response(200, json=canary.SEARCH_CAPABILITY)
        return httpx.Response(500, json=outcome)

    return httpx.MockTransport(handler)


def test_flow_failures_and_retries_leak_nothing(
    canary_run: CanaryRun,
    prefect_harness: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from pipelines.fhir import client as fhir_client
    from pipelines.fhir import pull
    from pipelines.flows.screen_cohort import screen_cohort

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VASCREEN_WORKDIR", str(tmp_path / "work"))
    calls: list[str] = []
    real = fhir_client.FhirClient

    def mocked(base_url: str, **kwargs: Any) -> fhir_client.FhirClient:
        kwargs.update(
            transport=_failing_fhir_transport(calls),
            sleep=lambda _s: None,
            retry=fhir_client.RetryPolicy(attempts=3, base_delay_s=0.0),
        )
        return real(base_url, **kwargs)

    monkeypatch.setattr(pull, "FhirClient", mocked)
    store = f"sqlite:///{tmp_path / 'var' / 'vascreen.db'}"
    with pytest.raises(FhirServerError) as fhir_err:
        screen_cohort(
            source="http://fhir.test/fhir",
            as_of=date.fromisoformat(AS_OF),
            store_url=store,
            mode="search",
        )
    assert len(calls) > 3, "the client retried"
    monkeypatch.setenv("VASCREEN_MAX_QUARANTINE_RATIO", "0.0")
    with pytest.raises(QuarantineThresholdError) as breach:
        screen_cohort(
            source=str(canary_run.source), as_of=date.fromisoformat(AS_OF), store_url=store
        )
    tally("faults injected", 4)  # two 503s, failing searches, threshold breach
    for err in (fhir_err.value, breach.value):
        _assert_clean("exception text", str(err) + repr(err.args))
        traceback.clear_frames(err.__traceback__)  # release DuckDB connections held by frames
    out, errs = capfd.readouterr()
    _assert_clean("in-process stdout", out)
    _assert_clean("in-process stderr", errs)
    leaks = canary.scan_tree(
        tmp_path, skip=(*canary.allowed_paths(tmp_path / "work", None), tmp_path / "var")
    )
    assert not leaks, leaks


async def _prefect_records() -> list[tuple[str, str]]:
    from prefect.client.orchestration import get_client

    out: list[tuple[str, str]] = []
    async with get_client() as client:
        offset = 0
        while batch := await client.read_flow_runs(limit=200, offset=offset):
            for run in batch:
                out.append(
                    (
                        f"flow run {run.name}",
                        json.dumps(
                            {
                                "state": run.state.model_dump(mode="json") if run.state else None,
                                "parameters": run.parameters,
                                "name": run.name,
                            },
                            default=str,
                        ),
                    )
                )
            offset += len(batch)
        offset = 0
        while batch := await client.read_task_runs(limit=200, offset=offset):
            for task in batch:
                out.append(
                    (
                        f"task run {task.name}",
                        json.dumps(
                            {
                                "state": task.state.model_dump(mode="json") if task.state else None,
                                "name": task.name,
                            },
                            default=str,
                        ),
                    )
                )
            offset += len(batch)
        offset = 0
        while batch := await client.read_logs(limit=200, offset=offset):
            out += [("log", log.message) for log in batch]
            offset += len(batch)
        offset = 0
        while batch := await client.read_artifacts(limit=200, offset=offset):
            out += [(f"artifact {a.key}", json.dumps(a.data, default=str)) for a in batch]
            offset += len(batch)
    return out


def test_prefect_api_holds_no_marker(canary_run: CanaryRun, prefect_harness: None) -> None:
    records = asyncio.run(_prefect_records())
    kinds = {k.split(" ")[0] for k, _ in records}
    assert {"flow", "task", "log", "artifact"} <= kinds, kinds
    for where, text in records:
        _assert_clean(f"Prefect {where}", text)


def test_run_directory_and_tmp_hold_no_marker_outside_the_store(canary_run: CanaryRun) -> None:
    root = canary_run.root
    skip = (*canary.allowed_paths(root / "work", canary_run.store_file), canary_run.source)
    leaks = canary.scan_tree(root, skip=skip)
    if leaks:
        tally("leaks found", len(leaks))
    assert not leaks, f"PHI markers in files left behind: {leaks}"


def test_review_exports_carry_identity_but_no_note_text(
    canary_run: CanaryRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher
    from starlette.testclient import TestClient

    from review import auth
    from review.app import create_app
    from tests.review.conftest import log_in

    monkeypatch.setattr(
        auth, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    url = f"sqlite:///{canary_run.store_file}"
    store = Store.connect(url)
    auth.add_user(store, "canary-coord", "coordinator", "correct horse battery staple")
    store.close()
    app = create_app(url, secret_key="canary", cookie_secure=False)
    with TestClient(app, follow_redirects=False) as client:
        log_in(client, "canary-coord", "correct horse battery staple")
        page = client.get(f"/patients/{canary.PATIENT}").text
        assert canary.NOTE in page, "positive control: the patient page shows the snippet"
        for path in (
            "/export.csv",
            "/export.xlsx",
            "/export.csv?q=canary",
            "/export.xlsx?screen=clti",
        ):
            response = client.get(path)
            assert response.status_code == 200
            body = response.content
            if path.startswith("/export.xlsx"):
                import io
                import zipfile

                with zipfile.ZipFile(io.BytesIO(body)) as archive:
                    body = b"".join(archive.read(n) for n in archive.namelist())
            assert canary.PATIENT.encode() in body or "q=" in path
            # Exports carry the patient's identity (name, MRN, age: the store's to show, like
            # the page) but no note text, values, birth date or quarantined content.
            if canary.PATIENT.encode() in body:
                assert canary.NAME.encode() in body, "positive control: the name is exported"
            identity = {canary.NAME, canary.GIVEN}
            leaked = [m for m in canary.find_markers(body) if m not in identity]
            assert not leaked, f"PHI marker(s) {leaked} in review export {path}"
    app.state.store.close()
