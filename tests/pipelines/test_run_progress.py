"""Stage bars on a terminal, nothing when stderr is not one (a scheduler's log)."""

from __future__ import annotations

import io
import os
import pty
import select
from datetime import date
from pathlib import Path

import pytest

from devtools.synth import write_cohort
from pipelines.night import run_night
from pipelines.run_progress import RunProgress
from pipelines.settings import Settings


def _stages(bars: RunProgress) -> None:
    with bars.stage("land and merge"):
        pass
    with bars.stage("screen shards", total=3) as advance:
        for _ in range(3):
            advance()


def _drain(fd: int) -> str:
    chunks = []
    while select.select([fd], [], [], 0.5)[0]:
        chunks.append(os.read(fd, 65536))
    return b"".join(chunks).decode(errors="replace")


def test_a_terminal_gets_a_bar_per_stage_with_counts() -> None:
    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as terminal:
        with RunProgress(True, terminal) as bars:
            _stages(bars)
        terminal.flush()
        shown = _drain(master)
    os.close(master)
    assert "land and merge" in shown and "1/1" in shown
    assert "screen shards" in shown and "3/3" in shown


def test_a_stream_that_is_not_a_terminal_gets_nothing() -> None:
    stream = io.StringIO()
    with RunProgress(True, stream) as bars:
        _stages(bars)
    assert not bars.enabled and stream.getvalue() == ""


def test_a_run_with_progress_on_and_stderr_captured_writes_nothing_to_it(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    write_cohort(30, 3, tmp_path / "source")
    capfd.readouterr()
    settings = Settings(workdir=tmp_path / "work", store_url=f"sqlite:///{tmp_path / 's.db'}")
    summary = run_night(
        str(tmp_path / "source"), as_of=date(2026, 6, 30), settings=settings, progress=True
    )
    assert summary.shards == 1
    assert capfd.readouterr().err == ""
