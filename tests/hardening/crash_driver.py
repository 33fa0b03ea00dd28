"""Run the `vascreen` CLI with a SIGKILL planted at one point of the nightly run (tests only).

    python -m tests.hardening.crash_driver POINT [vascreen args...]

The kill is a monkeypatch in this throwaway process (no hook in the product code): the
process dies exactly as it would under the OOM killer or a power cut, with no cleanup,
no `finally` and no Prefect state change. POINT is one of `KILL_POINTS`.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

KILL_POINTS = (
    "fetch",
    "stage",
    "merged",
    "notes",
    "evaluate",
    "publish",
    "published",
    "worklist-write",
)
# Not this process: the FHIR server (process group in HARDENING_SERVER_PGID) dies once the
# $export manifest is in and the first file download starts.
SERVER_POINTS = ("server-gone-mid-export",)


def _die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _before(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _die()
        return fn(*args, **kwargs)

    return wrapper


def _after(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        fn(*args, **kwargs)
        _die()

    return wrapper


class _DyingWriter:
    """A csv writer that flushes the header and two rows to disk, then the process dies."""

    def __init__(self, handle: Any, real: Any) -> None:
        self.handle, self.real, self.rows = handle, real, 0

    def writerow(self, row: Any) -> Any:
        out = self.real.writerow(row)
        self.rows += 1
        if self.rows == 3:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            _die()
        return out


def install(point: str) -> None:
    from pipelines import cohort_run, shards
    from pipelines.store import Store

    if point == "server-gone-mid-export":
        from pipelines.fhir import bulk

        real = bulk.download_file

        def kill_server_then_download(*args: Any, **kwargs: Any) -> Any:
            pgid = int(os.environ.pop("HARDENING_SERVER_PGID", "0"))
            if pgid:
                os.killpg(pgid, signal.SIGKILL)
            return real(*args, **kwargs)

        bulk.download_file = kill_server_then_download  # type: ignore[assignment]
    elif point == "fetch":
        cohort_run.fetch = _before(cohort_run.fetch)  # type: ignore[method-assign]
    elif point == "stage":
        cohort_run.land_and_classify = _before(cohort_run.land_and_classify)  # type: ignore[attr-defined]
    elif point == "merged":  # the mirror holds the new data; nothing is published yet
        cohort_run.merge_staged = _after(cohort_run.merge_staged)  # type: ignore[attr-defined]
    elif point == "notes":
        shards._read_notes = _before(shards._read_notes)  # type: ignore[attr-defined]
    elif point == "evaluate":
        import screens.engine

        screens.engine.evaluate_screens = _before(screens.engine.evaluate_screens)  # type: ignore[assignment]
    elif point == "publish":  # run row and quarantine written, items not yet
        Store.publish = _before(Store.publish)  # type: ignore[method-assign]
    elif point == "published":  # items committed; run not finished, no worklist.csv
        Store.publish = _after(Store.publish)  # type: ignore[method-assign]
    elif point == "worklist-write":
        import csv

        import pipelines.store as store_module

        class _Csv:
            def __getattr__(self, name: str) -> Any:
                return getattr(csv, name)

            @staticmethod
            def writer(handle: Any, *args: Any, **kwargs: Any) -> _DyingWriter:
                return _DyingWriter(handle, csv.writer(handle, *args, **kwargs))

        store_module.csv = _Csv()  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown kill point {point!r}; one of {', '.join(KILL_POINTS)}")


def main() -> None:
    point, args = sys.argv[1], sys.argv[2:]
    install(point)
    from pipelines.cli import app

    sys.argv = ["vascreen", *args]
    app()


if __name__ == "__main__":
    main()
