"""The FHIR server dies in the middle of a bulk $export: the run fails with one line and
publishes nothing; once the server is back (same URL, restarted), the rerun gives exactly the
worklist of an uninterrupted run (resuming or restarting the export; the landing directory
is only replaced by a complete pull).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from pipelines.errors import ExitCode
from pipelines.store import Store
from tests.hardening.conftest import CliResult, cli_env, tally, vascreen
from tests.pipelines.fhir.server import (
    DEV_TOKEN,
    SEKMET_CMD,
    SekmetServer,
    cohort_bundle,
    start_sekmet,
    stop_sekmet,
)
from tests.pipelines.fhir.worklist_runs import load_resources

AS_OF = "2026-06-30"
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
FLAGGED = [
    "pad_low_abi_coded_right_leg",
    "clti_rest_pain_dangling_dependent_rubor",
    "may_thurner_acute_left_iliofemoral_dvt_on_ocps",
]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    info: SekmetServer

    def restart(self) -> None:
        """Start the server again from its own root and settings (same port, same data)."""
        stop_sekmet(self.process)
        command = os.environ.get("VASCREEN_SEKMET_CMD")
        argv = [*(command.split() if command else SEKMET_CMD), "serve", "-c", "settings.yaml"]
        with (self.info.root / "sekmet-restart.log").open("ab") as log:
            self.process = subprocess.Popen(
                argv,
                cwd=self.info.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.info.base_url}/metadata", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("sekmet did not come back")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    process, info = start_sekmet(tmp_path_factory.mktemp("sekmet-gone"))
    running = Server(process, info)
    try:
        info.load_bundle(cohort_bundle())
        load_resources(
            info,
            [
                e["resource"]
                for name in FLAGGED
                for e in json.loads((SCENARIOS / name / "bundle.json").read_text())["entry"]
            ],
        )
        yield running
    finally:
        stop_sekmet(running.process)


def _run(root: Path, url: str, api: str, point: str | None = None, **env: str) -> CliResult:
    args = [
        "run",
        "--source",
        url,
        "--mode",
        "bulk",
        "--as-of",
        AS_OF,
        "--store",
        f"sqlite:///{root / 'var' / 'vascreen.db'}",
        "--export",
        str(root / "out"),
    ]
    return vascreen(
        [point, *args] if point else args,
        cwd=root,
        env=cli_env(
            root / "work", api, VASCREEN_FHIR_AUTH="bearer", VASCREEN_FHIR_TOKEN=DEV_TOKEN, **env
        ),
        driver=["tests.hardening.crash_driver"] if point else None,
    )


def test_server_gone_mid_export_then_back_gives_the_uninterrupted_worklist(
    server: Server, tmp_path: Path, prefect_api_url: str
) -> None:
    reference, night = tmp_path / "reference", tmp_path / "night"
    reference.mkdir()
    night.mkdir()
    done = _run(reference, server.info.base_url, prefect_api_url)
    assert done.code == 0, done.stderr[-3000:]
    expected = (reference / "out" / "worklist.csv").read_text()
    assert expected.count("\n") > 1, "the cohort flags somebody"

    crashed = _run(
        night,
        server.info.base_url,
        prefect_api_url,
        point="server-gone-mid-export",
        HARDENING_SERVER_PGID=str(server.process.pid),
    )
    tally("faults injected")
    assert crashed.code == int(ExitCode.FHIR_SERVER), crashed.stderr[-3000:]
    reasons = [line for line in crashed.stderr.splitlines() if line.startswith("vascreen: ")]
    assert len(reasons) == 1 and crashed.stderr.strip().splitlines()[-1] == reasons[0]
    assert not (night / "out" / "worklist.csv").exists(), "nothing published from half an export"
    store = Store.connect(f"sqlite:///{night / 'var' / 'vascreen.db'}")
    try:
        assert store.worklist().height == 0
    finally:
        store.close()

    server.restart()
    rerun = _run(night, server.info.base_url, prefect_api_url)
    assert rerun.code == 0, rerun.stderr[-3000:]
    got = (night / "out" / "worklist.csv").read_text()
    if got != expected:
        tally("items lost")
    assert got == expected
