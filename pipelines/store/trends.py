"""Store methods for the admin trends: per night counts from the run records, PPV per screen.

Mixed into `pipelines.store.Store`. Everything returned is counts per night (no PHI). A night is
a run's ``as_of``; when a night was run more than once, levels (items flagged, open,
quarantine, unread notes) come from its last succeeded run and changes (new, resolved) add up.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from pipelines.store.engine import StoreMixin
from pipelines.store.schema import review_decision, run
from pipelines.store.schema import worklist_item as item_t
from pipelines.store.status import OPEN_STATUSES

TREND_NIGHTS = 90


@dataclass(slots=True)
class Night:
    as_of: date
    flagged: dict[str, int] = field(default_factory=dict)  # items flagged per screen
    created: int = 0
    resolved: int = 0
    reflagged: int = 0
    quarantined: int = 0
    notes_unread: int = 0


@dataclass(frozen=True, slots=True)
class Trends:
    nights: list[Night]
    # Per screen, per night: PPV of the decisions made on worklists up to that night (None
    # while no item of the screen is referred or dismissed).
    ppv: dict[str, list[float | None]]


class TrendStoreMixin(StoreMixin):
    def item_counts(self) -> dict[str, dict[str, int]]:
        """Per screen: items flagged by the latest run and items open (to do) now."""
        open_statuses = [str(s) for s in OPEN_STATUSES]
        query = sa.select(
            item_t.c.screen,
            sa.func.sum(sa.case((item_t.c.is_flagged, 1), else_=0)),
            sa.func.sum(sa.case((item_t.c.status.in_(open_statuses), 1), else_=0)),
        ).group_by(item_t.c.screen)
        with self.read() as conn:
            rows = conn.execute(query.order_by(item_t.c.screen)).all()
        return {
            "flagged": {str(s): int(f or 0) for s, f, _ in rows},
            "open": {str(s): int(o or 0) for s, _, o in rows},
        }

    def trends(self, nights: int = TREND_NIGHTS) -> Trends:
        """The last `nights` nights up to the latest succeeded run's as_of."""
        with self.read() as conn:
            latest = conn.execute(
                sa.select(sa.func.max(run.c.as_of)).where(run.c.status == "succeeded")
            ).scalar()
            if latest is None:
                return Trends([], {})
            since = latest - timedelta(days=nights - 1)
            runs = conn.execute(
                sa.select(run.c.as_of, run.c.counts)
                .where(run.c.status == "succeeded", run.c.as_of >= since)
                .order_by(run.c.as_of, run.c.started_at)
            ).all()
            decisions = conn.execute(
                sa.select(
                    item_t.c.screen,
                    review_decision.c.item_id,
                    review_decision.c.item_as_of,
                    review_decision.c.action,
                )
                .join(item_t, item_t.c.item_id == review_decision.c.item_id)
                .where(review_decision.c.action.in_(("referred", "dismissed", "open")))
                .order_by(review_decision.c.item_id, review_decision.c.seq)
            ).all()
        by_night = _nights(runs)
        return Trends(by_night, _ppv(by_night, decisions))


def _nights(runs: Sequence[Any]) -> list[Night]:
    out: dict[date, Night] = {}
    for as_of, counts_json in runs:
        counts = json.loads(counts_json or "{}")
        night = out.setdefault(as_of, Night(as_of))
        publish = counts.get("publish", counts)  # runs recorded by tests keep publish counts flat
        night.created += int(publish.get("created", 0))
        night.resolved += int(publish.get("resolved", 0))
        night.reflagged += int(publish.get("reflagged", 0))
        # Levels: the night's last run wins. Whole-store counts when recorded, else the run's own.
        flagged = counts.get("items", {}).get("flagged") or counts.get("flagged")
        if isinstance(flagged, dict):  # publish counts alone carry a total, not per screen
            night.flagged = {str(k): int(v) for k, v in flagged.items()}
        night.quarantined = int(counts.get("quarantined", 0))
        night.notes_unread = int(counts.get("notes_unread", counts.get("notes_unavailable", 0)))
    return [out[d] for d in sorted(out)]


def _ppv(nights: list[Night], decisions: Sequence[Any]) -> dict[str, list[float | None]]:
    """Each night: referred / (referred + dismissed) over the items' latest such decision made
    on a worklist of that night or before ("open" reopens: the item counts no more)."""
    per_item: dict[str, tuple[str, list[tuple[date, str]]]] = {}
    for screen, item_id, item_as_of, action in decisions:
        per_item.setdefault(item_id, (screen, []))[1].append((item_as_of, action))
    screens = sorted({s for s, _ in per_item.values()})
    out: dict[str, list[float | None]] = {s: [] for s in screens}
    for night in nights:
        tally = {s: [0, 0] for s in screens}
        for screen, history in per_item.values():
            latest = [a for on, a in history if on <= night.as_of]
            if latest and latest[-1] != "open":
                tally[screen][0 if latest[-1] == "referred" else 1] += 1
        for screen, (referred, dismissed) in tally.items():
            total = referred + dismissed
            out[screen].append(referred / total if total else None)
    return out
