"""Progress bars for the run's long stages, on stderr when it is a terminal; silent otherwise.

One row per stage (fetch, land and merge, screen shards, publish) with its elapsed time, kept
ticking by rich's refresh thread, so a stage that takes minutes is never silent. Stage names
and counts only: never an id or a value. A scheduler's log (not a TTY) gets nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)


class RunProgress:
    """Stage bars for one run; `enabled` is the caller's wish, the stream decides (TTY only)."""

    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        out = stream if stream is not None else sys.stderr
        self.enabled = enabled and out.isatty()
        self._bars: Progress | None = None
        if self.enabled:
            self._bars = Progress(
                SpinnerColumn(),
                TextColumn("{task.description:<16}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=out, force_terminal=True),
                refresh_per_second=4,
                redirect_stdout=False,
                redirect_stderr=False,
            )

    def __enter__(self) -> RunProgress:
        if self._bars is not None:
            self._bars.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bars is not None:
            self._bars.stop()

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Callable[[], None]]:
        """A row for stage `name`; yields `advance` (one step of `total`; a no-op when off).

        Without `total` the row pulses until the stage ends, then shows 1/1.
        """
        bars = self._bars
        if bars is None:
            yield lambda: None
            return
        task = bars.add_task(name, total=total)

        def advance() -> None:
            bars.advance(task)

        yield advance
        done = total if total is not None else 1
        bars.update(task, total=done, completed=done)
