"""Helpers for the worklist-level integration tests: load a cohort into sekmet, run the pipeline.

``run_in_process`` runs the same steps as the Prefect flow (`pipelines/flows/screen_cohort.py`)
through `pipelines.night.run_night`, so only one test pays for Prefect's ephemeral server
by going through the real CLI in a subprocess (``run_cli``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from devtools.synth.cohort import AS_OF_DEFAULT
from pipelines.run_summary import RunSummary
from pipelines.settings import Settings
from tests.pipelines.fhir.server import DEV_TOKEN, SekmetServer

REPO = Path(__file__).resolve().parents[3]
SCENARIOS = REPO / "tests" / "scenarios"
AS_OF: date = AS_OF_DEFAULT
COHORT_PATIENTS, COHORT_SEED = 120, 20260630
LOAD_CHUNK = 1000
CLI_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Run:
    """Where one pipeline run keeps its state; separate per source so nothing is shared."""

    root: Path

    @property
    def store_url(self) -> str:
        return f"sqlite:///{(self.root / 'vascreen.db').as_posix()}"

    @property
    def workdir(self) -> Path:
        return self.root / "work"

    @property
    def export_dir(self) -> Path:
        return self.root / "export"

    @property
    def worklist(self) -> Path:
        return self.export_dir / "worklist.csv"

    def settings(self) -> Settings:
        return Settings(
            store_url=self.store_url, workdir=self.workdir, fhir_auth="bearer", fhir_token=DEV_TOKEN
        )  # type: ignore[arg-type]

    def env(self) -> dict[str, str]:
        """CLI subprocess environment: auth and workdir; no VASCREEN_* from the caller."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("VASCREEN_")}
        env |= {
            "VASCREEN_WORKDIR": str(self.workdir),
            "VASCREEN_FHIR_AUTH": "bearer",
            "VASCREEN_FHIR_TOKEN": DEV_TOKEN,
            "PREFECT_HOME": str(self.root / "prefect"),
        }
        return env


def scenario_resources() -> list[dict[str, Any]]:
    """Every resource of the scenario bundles under tests/scenarios (none when absent)."""
    out: list[dict[str, Any]] = []
    for path in sorted(SCENARIOS.glob("*/bundle.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        out += [e["resource"] for e in bundle.get("entry", []) if "resource" in e]
    return out


def ndjson_resources(directory: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(directory.glob("*.ndjson")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield json.loads(line)


def transaction(resources: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A transaction Bundle of PUTs, so the server keeps the resources' own ids."""
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources
        ],
    }


def load_resources(server: SekmetServer, resources: list[dict[str, Any]]) -> None:
    for start in range(0, len(resources), LOAD_CHUNK):
        server.load_bundle(transaction(resources[start : start + LOAD_CHUNK]))


def write_scenario_bundle(directory: Path, resources: list[dict[str, Any]]) -> None:
    """The scenario resources as one collection Bundle file beside the NDJSON (file source)."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }
    (directory / "scenarios.json").write_text(json.dumps(bundle), encoding="utf-8")


def run_in_process(
    source: str, run: Run, *, mode: str | None = None, full: bool = False
) -> RunSummary:
    """One nightly run without Prefect: the steps the flow runs, shards one after another."""
    from pipelines.night import run_night

    return run_night(
        source,
        settings=run.settings(),
        as_of=AS_OF,
        full=full,
        export_dir=run.export_dir,
        mode=mode,
    )


def run_cli(
    source: str,
    run: Run,
    *extra: str,
    timeout_s: float = CLI_TIMEOUT_S,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``vascreen run`` through the real entry point (python -m pipelines.cli) in a subprocess;
    `env` adds variables to the run's own (`Run.env`)."""
    argv = [
        sys.executable,
        "-m",
        "pipelines.cli",
        "run",
        "--source",
        source,
        "--as-of",
        AS_OF.isoformat(),
        "--export",
        str(run.export_dir),
        "--store",
        run.store_url,
        *extra,
    ]
    return subprocess.run(
        argv,
        cwd=REPO,
        env=run.env() | (env or {}),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def worklist_rows(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """worklist.csv rows keyed by (patient_id, screen)."""
    return worklist_rows_from(path.read_bytes())


def worklist_rows_from(data: bytes) -> dict[tuple[str, str], dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    return {(r["patient_id"], r["screen"]): r for r in rows}
