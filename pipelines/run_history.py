"""What the runs did, in counts: the run summary a command prints and `vascreen runs`.

Both read the counts a run records (`pipelines.run_summary.summary_counts`): ids and numbers only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pipelines.errors import StoreError


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run of the run table, as `vascreen runs` lists it."""

    run_id: str
    as_of: date
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, Any]

    @property
    def minutes(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds() / 60


def _total(value: object) -> int:
    return sum(int(v) for v in value.values()) if isinstance(value, Mapping) else 0


def open_total(result: Mapping[str, Any]) -> int | None:
    """Items open (to do) in the whole store after the run; None when not recorded."""
    items = result.get("items") or {}
    return _total(items["open"]) if "open" in items else None


def recent_runs(store_url: str, limit: int) -> list[RunRow]:
    """The newest `limit` runs of the store, newest first (the store must exist)."""
    from pipelines.store import Store

    with Store.connect(store_url) as store:
        rows = store.runs()[:limit]
    return [
        RunRow(
            run_id=str(r["run_id"]),
            as_of=r["as_of"],
            status=str(r["status"]),
            started_at=r["started_at"],
            finished_at=r["finished_at"],
            counts=_counts(r["counts"]),
        )
        for r in rows
    ]


def _counts(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise StoreError("a run's counts are not JSON") from exc
    return value if isinstance(value, dict) else {}


RUNS_HEADER = (
    "run_id", "as_of", "status", "started_at", "min", "flagged", "new", "resolved", "open",
    "quarantined", "full_read", "note",
)  # fmt: skip


def format_runs(rows: list[RunRow]) -> str:
    """A fixed-width table, newest first; a failed run shows its error class in `note`.

    ``full_read`` is a FHIR source's last full read (the reconciliation that finds deletions a
    server does not report, `pipelines.full_reconcile`) as of that run.
    """
    table = [RUNS_HEADER]
    for row in rows:
        c = row.counts
        publish = c.get("publish") or {}
        opened = open_total(c)
        minutes = row.minutes
        table.append(
            (
                row.run_id[:8],
                row.as_of.isoformat(),
                row.status,
                row.started_at.strftime("%Y-%m-%d %H:%M"),
                "" if minutes is None else f"{minutes:.1f}",
                str(_total(c.get("flagged"))) if "flagged" in c else "",
                str(publish.get("created", "")),
                str(publish.get("resolved", "")),
                "" if opened is None else str(opened),
                str(c.get("quarantined", "")),
                str(c.get("full_read_on") or ""),
                str(c.get("error", "")),
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(RUNS_HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in table
    )
