"""Progress lines on stderr while exporting and downloading (counts and types only, never data)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Writes short status lines to a stream; silent when disabled."""

    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self._stream = stream if stream is not None else sys.stderr
        self._started = time.monotonic()

    def say(self, message: str) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self._started
        self._stream.write(f"[fhir {elapsed:6.1f}s] {message}\n")
        self._stream.flush()

    def export_status(self, progress: str | None, polls: int) -> None:
        self.say(f"export in progress ({progress or 'no progress reported'}, poll {polls})")

    def downloaded(self, rtype: str, files_done: int, files_total: int, resources: int) -> None:
        self.say(f"downloaded {rtype} file {files_done}/{files_total}: {resources} resources")
