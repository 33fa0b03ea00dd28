"""One run at a time per work directory: a second run is refused at once and changes nothing.

The holder is a real second process (the lock is the kernel's, per open file), and killing it
with SIGKILL frees the work directory: a crashed run never leaves a stale lock.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devtools.synth import write_cohort
from pipelines.cli import app
from pipelines.errors import ExitCode, WorkdirBusyError
from pipelines.night import run_night
from pipelines.settings import Settings

AS_OF = date(2026, 6, 30)
HOLD = """
import sys, time
from pathlib import Path
from pipelines.workdir_lock import hold_workdir
with hold_workdir(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cohort") / "source"
    write_cohort(40, 7, out)
    return out


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding `tmp_path / "work"`, as a run in progress would."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "work")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait()
    proc.stdout.close()


def _settings(tmp_path: Path) -> Settings:
    return Settings(workdir=tmp_path / "work", store_url=f"sqlite:///{tmp_path / 'store.db'}")


def test_a_second_run_is_refused_and_touches_nothing(
    cohort: Path, tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    before = sorted(p.name for p in (tmp_path / "work").iterdir())
    with pytest.raises(WorkdirBusyError) as refused:
        run_night(str(cohort), settings=_settings(tmp_path), as_of=AS_OF)
    message = str(refused.value)
    assert f"(pid {holder.pid})" in message and "\n" not in message
    # Nothing was landed, merged or published: no mirror, no scratch, no store.
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == before == ["vascreen.lock"]
    assert not (tmp_path / "store.db").exists()


def test_a_killed_holder_frees_the_work_directory(
    cohort: Path, tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    summary = run_night(str(cohort), settings=_settings(tmp_path), as_of=AS_OF)
    assert summary.evaluation == "full" and summary.evaluated_patients > 0
    # Released at the end of the run: the next one gets in.
    again = run_night(str(cohort), settings=_settings(tmp_path), as_of=AS_OF)
    assert again.evaluation == "incremental"


def test_cli_run_on_a_held_work_directory_exits_8_with_one_line(
    cohort: Path,
    tmp_path: Path,
    holder: subprocess.Popen[str],
    prefect_harness: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VASCREEN_WORKDIR", str(tmp_path / "work"))
    store = f"sqlite:///{tmp_path / 'store.db'}"
    result = CliRunner().invoke(
        app, ["run", "--source", str(cohort), "--as-of", "2026-06-30", "--store", store]
    )
    assert result.exit_code == ExitCode.WORKDIR_BUSY == 8
    assert result.output.startswith("vascreen: work directory ")
    assert result.output.strip().count("\n") == 0
    assert not (tmp_path / "store.db").exists()
