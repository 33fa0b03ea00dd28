"""Refuse to publish a night whose intake cannot be trusted to speak for what is absent.

A worklist item is resolved when the evidence behind it is no longer there. So a night that
read nothing, or much less than the night before, or that screens an older date than the store
already shows, would resolve items for want of data it never saw. These checks run after
landing and before anything is merged or published; each failure is one line, ids and counts
only, and names the way out (`--accept-shrink`, or a store of its own for a backfill).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.errors import ExitCode, FhirServerError, ScreeningError, SourceError, StoreError

if TYPE_CHECKING:
    from pipelines.settings import Settings

# Below this many records last night, a type's count is too small for a share to mean much.
MIN_PREVIOUS_FOR_SHRINK = 20


class IntakeShrankError(ScreeningError):
    """Far fewer records of some type than the last full read of it: likely a partial pull."""

    exit_code = ExitCode.SOURCE


class BackfillRefusedError(ScreeningError):
    """An as_of older than the store's latest published night, into that same store."""

    exit_code = ExitCode.USAGE


def _failure(source_kind: str, message: str) -> ScreeningError:
    return FhirServerError(message) if source_kind == "fhir" else SourceError(message)


def refuse_empty(counts: Mapping[str, Mapping[str, int]], *, source_kind: str) -> None:
    """A night that read no Patient, or no record at all, publishes nothing (exit 3 or 4).

    An export that "succeeds" with an empty manifest or only an OperationOutcome, and a
    directory of empty files, both arrive here as zero records.
    """
    total = sum(c.get("read", 0) for c in counts.values())
    patients = counts.get("Patient", {}).get("read", 0)
    if total == 0:
        raise _failure(source_kind, "the source delivered no records: nothing is published")
    if patients == 0:
        raise _failure(
            source_kind,
            f"the source delivered {total} records but no Patient: nothing is published",
        )


def snapshot_reads(
    counts: Mapping[str, Mapping[str, int]], snapshot_types: Iterable[str] | None
) -> dict[str, int]:
    """Records read per type that arrived as a full snapshot tonight (None: every type)."""
    full = None if snapshot_types is None else set(snapshot_types)
    return {t: c.get("read", 0) for t, c in counts.items() if full is None or t in full}


def last_snapshot_reads(previous_runs: Iterable[Mapping[str, object]]) -> dict[str, int]:
    """Per type, the records read by the latest earlier run that read it in full.

    `previous_runs` are succeeded runs' summaries, newest first; each may carry
    ``snapshot_read`` ({type: records}).
    """
    found: dict[str, int] = {}
    for summary in previous_runs:
        reads = summary.get("snapshot_read")
        if not isinstance(reads, dict):
            continue
        for resource_type, n in reads.items():
            if isinstance(n, int):
                found.setdefault(str(resource_type), n)
    return found


def refuse_shrink(
    tonight: Mapping[str, int],
    before: Mapping[str, int],
    *,
    max_drop: float,
    accept: bool,
) -> None:
    """Fail when a type read in full has lost more than `max_drop` of its last full count."""
    if accept:
        return
    for resource_type in sorted(tonight):
        was, now = before.get(resource_type, 0), tonight[resource_type]
        if was >= MIN_PREVIOUS_FOR_SHRINK and now < was * (1 - max_drop):
            raise IntakeShrankError(
                f"{resource_type}: {now} records against {was} at its last full read "
                f"(a drop of {1 - now / was:.0%}, above {max_drop:.0%}); "
                "rerun with --accept-shrink if the source really shrank"
            )


def refuse_backfill(as_of: date, latest_published: date | None) -> None:
    """An older as_of would resolve today's items in the live store: it needs its own store."""
    if latest_published is not None and as_of < latest_published:
        raise BackfillRefusedError(
            f"as_of {as_of} is older than the store's latest published night "
            f"({latest_published}): run a backfill into a store of its own (--store)"
        )


def before_fetch(settings: Settings, as_of: date) -> StoreFile | None:
    """The checks a night makes before it fetches anything: the store is this work directory's
    (`pipelines.store.owner`) and the night is not older than the store's latest. Returns the
    SQLite store's file identity, for `before_publish`."""
    from pipelines.store import Store
    from pipelines.store.owner import claim_store

    with Store.connect(settings.store_url) as store:
        claim_store(store, settings.workdir, claim=settings.claim_store)
        refuse_backfill(as_of, store.latest_published_as_of())
    return store_file(settings.store_url)


StoreFile = tuple[Path, int, int]  # a SQLite store: its path, device and inode


def store_file(url: str) -> StoreFile | None:
    """The identity of a SQLite store's file (None for a server database or in-memory)."""
    from pipelines.store.engine import normalize_url

    parsed = normalize_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database or "")
    try:
        found = path.stat()
    except OSError:
        return None
    return path, found.st_dev, found.st_ino


def before_publish(settings: Settings, started_with: StoreFile | None) -> None:
    """A SQLite store that was deleted or replaced during the run is not published into (a new
    empty file would take the worklist and lose every decision): exit 6."""
    if started_with is None:
        return
    if store_file(settings.store_url) != started_with:
        raise StoreError(
            f"the store file {started_with[0]} was deleted or replaced during the run: "
            "nothing is published; restore it and run again"
        )


def after_landing(
    counts: Mapping[str, Mapping[str, int]],
    *,
    settings: Settings,
    source_kind: str,
    snapshot_types: Iterable[str] | None,
) -> None:
    """The checks a night makes on what it landed, before anything is merged or published."""
    from pipelines.store import Store

    if snapshot_types is None:  # a full snapshot of every type; a delta may well be empty
        refuse_empty(counts, source_kind=source_kind)
    tonight = snapshot_reads(counts, snapshot_types)
    if not tonight or settings.accept_shrink:
        return
    with Store.connect(settings.store_url) as store:
        before = last_snapshot_reads(store.recent_run_summaries())
    refuse_shrink(tonight, before, max_drop=settings.max_shrink, accept=False)
