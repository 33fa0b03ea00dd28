"""Unforeseen failures inside the nightly flow, with their messages withheld.

Prefect keeps a failed task's or flow's exception: its message in the state, its traceback in
the run's logs and database. A `ScreeningError` is already one PHI-free line; anything else (a
bug, a library error quoting the values it failed on) could carry patient data there. `withheld`
turns it into an `UnexpectedError` naming the stage, the exception class and where it was
raised (file, line and function of the innermost frames: code, never data), and logs that
location for whoever fixes it. The original message is dropped, not chained.
"""

from __future__ import annotations

import functools
import inspect
import logging
import traceback
import typing
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import ParamSpec, TypeVar

from pipelines.errors import ScreeningError, UnexpectedError

P = ParamSpec("P")
R = TypeVar("R")
FRAMES_SHOWN = 3
log = logging.getLogger("vascreen")


def code_location(tb: TracebackType | None) -> str:
    """``night.py:131 run_night <- merge.py:88 merge_staged``: innermost frames, code only."""
    frames = traceback.extract_tb(tb)[-FRAMES_SHOWN:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))


def withheld(stage: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the wrapped stage; an exception that is not a `ScreeningError` becomes one line."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except ScreeningError:
                raise
            except Exception as exc:  # any other class may quote the data it failed on
                kind, where = type(exc).__name__, code_location(exc.__traceback__)
                exc.__traceback__ = None  # its frames hold the data it failed on
            log.error("%s failed unexpectedly: %s at %s", stage, kind, where)
            # Raised outside the except block, so the original is not chained to it.
            raise UnexpectedError(
                f"{stage}: unexpected {kind} at {where} (message withheld: it may quote "
                "patient data; please report it with this line)"
            )

        # Prefect reads the parameters' types from the signature; resolved here, in the
        # wrapped function's own module (this one does not import them).
        run.__signature__ = inspect.signature(fn, eval_str=True)  # type: ignore[attr-defined]
        run.__annotations__ = typing.get_type_hints(fn)
        return run

    return wrap
