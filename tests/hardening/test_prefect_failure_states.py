"""Prefect's record of a failed night holds no PHI, and says what failed in one line.

The real nightly flow (`pipelines.flows.screen_cohort`) runs on the canary cohort under the
session's Prefect test server, with a Prefect home of its own (result storage included),
through each documented failure where patient data could reach a message: a malformed source
file, a FHIR server whose OperationOutcome repeats a patient's details, a rule that fails on
the data, a store failing mid-publish, the quarantine and unread-note thresholds, and an
export that cannot be written. After each, every state of the flow run and its task runs
(message and data, read back through the Prefect client), the run's logs, any persisted result
file, the Prefect database's text and the process's stdout/stderr are scanned for markers,
and the final state's message is the failure's one line.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import subprocess
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import polars as pl
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pipelines.errors import ExitCode, ScreeningError
from tests import builders as b
from tests.hardening import canary
from tests.hardening.conftest import tally
from tests.hardening.test_phi_canaries import _assert_clean
from tests.hardening.test_phi_store_failures import _refuse_inserts
from tests.pipelines.fhir.loopback import serve

AS_OF = date(2026, 6, 30)
CANARY_TEXT = f"patient {canary.NAME} {canary.GIVEN} born {canary.BIRTH}: {canary.NOTE}"


@dataclass
class Night:
    """One failing night: the flow's arguments, its environment and the exit code it must give."""

    root: Path
    source: str
    code: ExitCode
    kwargs: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.root / 'var' / 'vascreen.db'}"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cohort")
    tally("markers planted", canary.write_canary_cohort(out))
    return out


def _copy(cohort: Path, root: Path) -> Path:
    return Path(shutil.copytree(cohort, root / "source"))


def _source_error(cohort: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Night:
    source = _copy(cohort, root)
    # Named .gz, but plain NDJSON: the canary lines must not come back in the error.
    (source / "Observation.001.ndjson.gz").write_bytes(b"\n".join(canary.bad_lines()) + b"\n")
    tally("markers planted", len(canary.bad_lines()))
    return Night(root, str(source), ExitCode.SOURCE)


def _outcome_server() -> Starlette:
    """CapabilityStatement on /metadata; every search refused with PHI in its diagnostics."""

    async def metadata(_request: Request) -> JSONResponse:
        return JSONResponse(canary.SEARCH_CAPABILITY, media_type="application/fhir+json")

    async def refuse(_request: Request) -> JSONResponse:
        return JSONResponse(canary.PHI_OUTCOME, 400, media_type="application/fhir+json")

    return Starlette(routes=[Route("/fhir/metadata", metadata), Route("/fhir/{rest:path}", refuse)])


@contextmanager
def _fhir_error(cohort: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Night]:
    with serve(_outcome_server()) as origin:
        tally("markers planted", canary.PHI_OUTCOME_MARKERS)
        yield Night(root, f"{origin}/fhir", ExitCode.FHIR_SERVER, {"mode": "search"})


def _rule_error(cohort: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Night:
    """A rule that meets data it cannot compare: polars names the values it failed on."""
    import screens.engine

    real = screens.engine.evaluate_screens

    def comparing_text(screens: Any, tables: dict[str, pl.DataFrame], as_of: date) -> Any:
        real(screens, tables, as_of)
        texts = tables["observation"].filter(pl.col("value_str").is_not_null())
        texts.select(pl.col("value_str").cast(pl.Float64, strict=True))  # names what it failed on
        raise AssertionError("the canary's valueString is not a number: the cast raises")

    monkeypatch.setattr(screens.engine, "evaluate_screens", comparing_text)
    return Night(root, str(_copy(cohort, root)), ExitCode.INVALID_RULE)


def _store_error(cohort: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Night:
    night = Night(root, str(_copy(cohort, root)), ExitCode.STORE)
    _refuse_inserts(night.store_url, "evidence")
    return night


def _quarantine(cohort: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Night:
    env = {"VASCREEN_MAX_QUARANTINE_RATIO": "0.0"}
    return Night(root, str(_copy(cohort, root)), ExitCode.QUARANTINE_THRESHOLD, env=env)


def _unread_notes(cohort: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Night:
    source = _copy(cohort, root)
    notes = []
    for k in range(25):  # past the threshold's minimum of 20 notes, every one unread
        note = b.note(
            canary.PATIENT,
            CANARY_TEXT,  # a Word file: a type not read
            on="2026-06-11",
            nid=f"canary-unread-{k}",
            content_type="application/msword",
        )
        note["content"][0]["attachment"]["title"] = CANARY_TEXT
        notes.append(json.dumps(note))
    (source / "DocumentReference.901.ndjson").write_text("\n".join(notes) + "\n")
    tally("markers planted", 4)
    env = {"VASCREEN_MAX_UNREAD_NOTE_SHARE": "0.0"}
    return Night(root, str(source), ExitCode.QUARANTINE_THRESHOLD, env=env)


@contextmanager
def _export_error(cohort: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Night]:
    out = root / "out"
    out.mkdir()
    # Root ignores modes; the immutable attribute holds for root too (a read-only share).
    subprocess.run(["chattr", "+i", str(out)], check=True)
    try:
        kwargs = {"export_dir": str(out)}
        yield Night(root, str(_copy(cohort, root)), ExitCode.EXPORT, kwargs)
    finally:
        subprocess.run(["chattr", "-i", str(out)], check=True)


def _unexpected_in_task(cohort: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Night:
    """A bug in a task whose exception quotes the data it failed on."""
    import pipelines.cohort_run

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"could not merge {CANARY_TEXT}")

    monkeypatch.setattr(pipelines.cohort_run, "prepare", failing)
    tally("markers planted", 4)
    return Night(root, str(_copy(cohort, root)), ExitCode.ERROR)


def _unexpected_in_flow(cohort: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Night:
    """A bug in the flow's own body, between tasks (the check before publish)."""
    import pipelines.night

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise KeyError(CANARY_TEXT)

    monkeypatch.setattr(pipelines.night, "before_publish", failing)
    tally("markers planted", 4)
    return Night(root, str(_copy(cohort, root)), ExitCode.ERROR)


FAILURES: dict[str, Callable[..., Any]] = {
    "source": _source_error,
    "fhir": _fhir_error,
    "rule": _rule_error,
    "store": _store_error,
    "quarantine": _quarantine,
    "unread-notes": _unread_notes,
    "export": _export_error,
    "unexpected-in-task": _unexpected_in_task,
    "unexpected-in-flow": _unexpected_in_flow,
}


@pytest.fixture
def prefect_home(prefect_harness: None, tmp_path: Path) -> Iterator[Path]:
    from prefect.settings import PREFECT_HOME, PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    home = tmp_path / "prefect-home"
    home.mkdir()
    with temporary_settings({PREFECT_HOME: home, PREFECT_LOCAL_STORAGE_PATH: home / "storage"}):
        yield home


async def _run_records(flow_run_id: UUID) -> tuple[str, list[tuple[str, str]]]:
    """The final state's message, and every state, log and result reference of the flow run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )

    out: list[tuple[str, str]] = []
    async with get_client() as client:
        run = await client.read_flow_run(flow_run_id)
        assert run.state is not None
        for state in await client.read_flow_run_states(flow_run_id):
            out.append((f"flow state {state.name}", state.model_dump_json()))
        runs = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        for task in await client.read_task_runs(flow_run_filter=runs):
            for state in await client.read_task_run_states(task.id):
                out.append((f"task {task.name} state {state.name}", state.model_dump_json()))
        logs = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        out += [("log", log.message) for log in await client.read_logs(log_filter=logs)]
    return str(run.state.message), out


def _persisted(records: list[tuple[str, str]], home: Path) -> list[Path]:
    """Result files the states point at (a storage key), and whatever lies in the home."""
    keys: list[Path] = []
    for _, text in records:
        data = json.loads(text).get("data") if text.startswith("{") else None
        if isinstance(data, dict) and data.get("storage_key"):
            keys.append(Path(str(data["storage_key"])))
    return keys + [p for p in home.rglob("*") if p.is_file()]


def _prefect_database_text() -> str:
    """Every row of every table of the Prefect server's SQLite database, as text."""
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    path = str(PREFECT_SERVER_DATABASE_CONNECTION_URL.value()).split(":///", 1)[1]
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(repr(row) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"'))


@pytest.mark.parametrize("kind", list(FAILURES))
def test_a_failed_night_leaves_no_marker_in_prefect(
    kind: str,
    cohort: Path,
    prefect_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from pipelines.flows.screen_cohort import screen_cohort

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VASCREEN_WORKDIR", str(tmp_path / "work"))
    monkeypatch.setenv("VASCREEN_NLP_CACHE", "false")
    make = FAILURES[kind]
    made = make(cohort, tmp_path, monkeypatch)
    context = made if isinstance(made, AbstractContextManager) else nullcontext(made)
    with context as night:
        for name, value in night.env.items():
            monkeypatch.setenv(name, value)
        state = screen_cohort(
            source=night.source,
            as_of=AS_OF,
            store_url=night.store_url,
            return_state=True,
            **night.kwargs,
        )
    tally("faults injected")
    assert state.is_failed(), state
    error = state.result(raise_on_failure=False)
    assert isinstance(error, ScreeningError), repr(error)
    assert error.exit_code == night.code, str(error)
    assert "\n" not in str(error)
    _assert_clean(f"{kind}: exception text", str(error) + repr(error.args))
    traceback.clear_frames(error.__traceback__)  # release DuckDB connections held by frames

    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None
    message, records = asyncio.run(_run_records(flow_run_id))
    assert "\n" not in message and message.endswith(str(error)), message
    assert any(where.startswith("task ") for where, _ in records), "task runs were read"
    for where, text in records:
        _assert_clean(f"{kind}: Prefect {where}", text)
    for path in _persisted(records, prefect_home):
        _assert_clean(f"{kind}: Prefect file {path}", path.read_bytes())
    database = _prefect_database_text()
    assert str(error) in database, "the database scanned holds this run's states"
    _assert_clean(f"{kind}: Prefect database", database)
    out, err = capfd.readouterr()
    _assert_clean(f"{kind}: stdout", out)
    _assert_clean(f"{kind}: stderr", err)
