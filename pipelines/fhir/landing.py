"""The landing directory a pull writes: Bulk-style ``<Type>.ndjson`` files the file ingest reads.

Files are written as ``.part`` siblings and renamed only when the whole pull succeeds, so a
failed pull never leaves a half-written landing directory behind for the ingest to pick up.
Server-side export errors (OperationOutcome lines) go to ``_quarantine/OperationOutcome.ndjson``,
a subdirectory the resource ingest does not scan.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson

from pipelines.fhir.bulk import format_instant, parse_instant

QUARANTINE_DIR = "_quarantine"
QUARANTINE_FILE = "OperationOutcome.ndjson"
PART_SUFFIX = ".part"


class LandingWriter:
    """Collects resources per type into ``.part`` files and publishes them atomically."""

    def __init__(self, out_dir: Path, types: list[str]) -> None:
        self.out_dir = out_dir
        self.types = list(types)
        self.counts: Counter[str] = Counter({t: 0 for t in self.types})
        self.error_count = 0
        self._files: dict[str, IO[bytes]] = {}
        self._ids: dict[str, set[str]] = {t: set() for t in self.types}
        self._errors: IO[bytes] | None = None
        self._published = False
        out_dir.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> LandingWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._published:
            self.discard()

    @property
    def error_path(self) -> Path:
        return self.out_dir / QUARANTINE_DIR / QUARANTINE_FILE

    def write(self, resource: dict[str, Any]) -> bool:
        """Append one resource; returns False (and skips it) for a duplicate id within the pull."""
        rtype = str(resource["resourceType"])
        rid = str(resource.get("id", ""))
        seen = self._ids.setdefault(rtype, set())
        if rid and rid in seen:
            return False
        seen.add(rid)
        self._file(rtype).write(orjson.dumps(resource) + b"\n")
        self.counts[rtype] += 1
        return True

    def write_error(self, outcome: dict[str, Any]) -> None:
        if self._errors is None:
            self.error_path.parent.mkdir(parents=True, exist_ok=True)
            self._errors = self._part(self.error_path).open("wb")
        self._errors.write(orjson.dumps(outcome) + b"\n")
        self.error_count += 1

    def publish(self) -> None:
        """Rename every ``.part`` into place; each requested type gets a file, even if empty."""
        for rtype in self.types:
            self._file(rtype)
        for rtype, handle in self._files.items():
            handle.close()
            final = self.out_dir / f"{rtype}.ndjson"
            self._part(final).replace(final)
        if self._errors is not None:
            self._errors.close()
            self._part(self.error_path).replace(self.error_path)
        else:
            # A reused landing directory must not keep a previous run's export errors.
            self.error_path.unlink(missing_ok=True)
        self._published = True

    def discard(self) -> None:
        for rtype, handle in self._files.items():
            handle.close()
            self._part(self.out_dir / f"{rtype}.ndjson").unlink(missing_ok=True)
        if self._errors is not None:
            self._errors.close()
            self._part(self.error_path).unlink(missing_ok=True)
        self._files.clear()
        self._errors = None

    def _file(self, rtype: str) -> IO[bytes]:
        handle = self._files.get(rtype)
        if handle is None:
            handle = self._part(self.out_dir / f"{rtype}.ndjson").open("wb")
            self._files[rtype] = handle
        return handle

    @staticmethod
    def _part(path: Path) -> Path:
        return path.with_name(path.name + PART_SUFFIX)


@dataclass(slots=True)
class ModeOutcome:
    """What a mode learned besides the landed resources (see PullReport)."""

    since_honoured: dict[str, bool]
    deleted: dict[str, tuple[str, ...]] = field(default_factory=dict)
    deletions_checked: dict[str, bool] = field(default_factory=dict)
    status_url: str | None = None
    transaction_time: datetime | None = None
    error_files: int = 0
    failed_types: tuple[str, ...] = ()  # named by export error files (`fhir.failed_types`)


def check_since(
    resource: dict[str, Any], since: datetime | None, honoured: dict[str, bool]
) -> None:
    """A resource older than ``since`` in the result means the server ignored the filter."""
    if since is None:
        return
    updated = parse_instant((resource.get("meta") or {}).get("lastUpdated"))
    # Compare at the millisecond precision the filter was sent with.
    cutoff = parse_instant(format_instant(since))
    if updated is not None and cutoff is not None and updated < cutoff:
        honoured[str(resource["resourceType"])] = False
