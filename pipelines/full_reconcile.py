"""When a FHIR night reads the source in full: the periodic reconciliation that finds deletions.

An incremental (``_since``) night learns of deletions only from the server's deletion list
(Bulk Data manifest ``deleted``) or its ``_history``; a server with neither never says that a
result was removed, and its effect would stay on the worklist. So an incremental night becomes
a full read when the source's last full read is ``VASCREEN_FULL_RECONCILE_DAYS`` (default 7) days
old or older: every type then arrives as a snapshot and what is absent is deleted. Each run's
summary records the date of the last full read (``full_read_on``), carried forward on delta
nights, and says when it was ("last full reconciliation: 2026-06-30 (3 days ago)").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date


def last_full_read(previous_runs: Iterable[Mapping[str, object]]) -> date | None:
    """The newest ``full_read_on`` among earlier runs' summaries (newest first); None if none."""
    for summary in previous_runs:
        value = summary.get("full_read_on")
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                continue
    return None


def reconciliation_due(last: date | None, today: date, every_days: int) -> bool:
    """True when no full read is on record or the last one is `every_days` old or older."""
    return last is None or (today - last).days >= every_days


def reconcile_line(full_read_on: date | None, today: date, *, tonight: bool) -> str | None:
    """The run summary's line on the last full read of a FHIR source (None: not a FHIR night)."""
    if tonight:
        return f"full read of the source (reconciliation): tonight ({today.isoformat()})"
    if full_read_on is None:
        return None
    days = (today - full_read_on).days
    return f"last full reconciliation: {full_read_on.isoformat()} ({days} days ago)"
