"""One run at a time per work directory.

A run's writes under the work directory are single-writer: the landing scratch file (removed at
the start of every run), the mirror and its unpublished marker, shard outputs and the NLP cache
(merged at the end of a run). A second run started on the same work directory while the first
is still going (a scheduler firing while a slow night is still running, an operator starting one
by hand) is refused before it touches anything.

The lock is an advisory ``flock`` on ``<workdir>/vascreen.lock``, held by the flow's process from
fetch to publish. The kernel releases it when that process ends, however it ends, so a killed
run never leaves a stale lock behind. Shard tasks on Dask workers do not take it: they only
read the mirror and write their own outputs.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.errors import WorkdirBusyError

LOCK_NAME = "vascreen.lock"


@contextmanager
def hold_workdir(workdir: Path) -> Iterator[None]:
    """Hold `workdir` for this run; raise `WorkdirBusyError` at once if another run holds it."""
    workdir.mkdir(parents=True, exist_ok=True)
    fd = os.open(workdir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkdirBusyError(
                f"work directory {workdir} is in use by another vascreen run"
                f"{_holder(fd)}: wait for it to finish, or give this run another "
                "VASCREEN_WORKDIR"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    """`` (pid N)`` from the lock file, or nothing if the holder has not written it yet."""
    pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return f" (pid {pid})" if pid.isdigit() else ""
