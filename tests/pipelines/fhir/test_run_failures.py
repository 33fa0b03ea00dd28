"""A FHIR source that cannot be pulled fails the run loudly and leaves the last worklist alone.

``vascreen run`` (the real CLI, in a subprocess) against a port where nothing listens and
against a server answering HTTP 500 to everything must exit non-zero with a one-line
``vascreen: ...`` reason, and leave the previous ``worklist.csv`` and store items unchanged.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest

from pipelines.errors import ExitCode
from pipelines.store import Store
from tests.pipelines.fhir.worklist_runs import SCENARIOS, Run, run_cli, run_in_process

# A handful of scenario stories is enough for a non-empty previous worklist.
PREVIOUS_SCENARIOS = (
    "pad_low_abi_coded_right_leg",
    "clti_dry_gangrene_second_toe",
    "may_thurner_acute_left_iliofemoral_dvt_on_ocps",
)


class _Always500(BaseHTTPRequestHandler):
    def _fail(self) -> None:
        body = b'{"resourceType":"OperationOutcome","issue":[{"severity":"fatal"}]}'
        self.send_response(500)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _fail

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def always_500() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Always500)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/fhir"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def previous_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A store and worklist.csv from an earlier successful run on files."""
    source = tmp_path_factory.mktemp("previous-source")
    for name in PREVIOUS_SCENARIOS:
        shutil.copy(SCENARIOS / name / "bundle.json", source / f"{name}.json")
    run = Run(tmp_path_factory.mktemp("previous"))
    run_in_process(str(source), run)
    assert len(run.worklist.read_text().splitlines()) > 1
    return run


def _items(run: Run) -> pl.DataFrame:
    store = Store.connect(run.store_url)
    try:
        return store.worklist(include_closed=True)
    finally:
        store.close()


def _copy_of(previous: Run, root: Path) -> Run:
    shutil.copytree(previous.root, root)
    return Run(root)


@pytest.mark.parametrize("server", ["nothing_listening", "always_500"])
def test_unreachable_or_failing_server_fails_in_one_line_and_keeps_the_worklist(
    server: str, previous_run: Run, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        "http://127.0.0.1:1/fhir"
        if server == "nothing_listening"
        else request.getfixturevalue("always_500")
    )
    run = _copy_of(previous_run, tmp_path / "run")
    worklist_before, items_before = run.worklist.read_bytes(), _items(run)

    result = run_cli(url, run, "--mode", "bulk", timeout_s=240)

    assert result.returncode == ExitCode.FHIR_SERVER, result.stderr[-2000:]
    reasons = [line for line in result.stderr.splitlines() if line.startswith("vascreen: ")]
    assert len(reasons) == 1 and "metadata" in reasons[0], result.stderr[-2000:]
    assert result.stdout == ""
    assert run.worklist.read_bytes() == worklist_before
    assert _items(run).equals(items_before)
    assert not (run.workdir / "landing" / "Patient.ndjson").exists()
