"""Store methods for the review app: reading items and evidence, recording decisions, rule
yield. Mixed into `pipelines.store.Store` (users, sessions and audit: `store_access`).

Decisions are append-only rows of `review_decision`; recording one also refreshes the item's
derived status under a row lock, so a concurrent publish sees either the item before the
decision or after it, never half of it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from pipelines.errors import StoreError
from pipelines.store.access import insert_audit
from pipelines.store.engine import StoreMixin
from pipelines.store.schema import evidence as ev_t
from pipelines.store.schema import review_decision, utcnow
from pipelines.store.schema import worklist_item as item_t
from pipelines.store.status import DecisionAction, ItemFacts, LatestDecision, derive_status


class DecisionConflictError(StoreError):
    """Someone else decided on the item after the reviewer loaded it."""


class ReviewStoreMixin(StoreMixin):
    def item(self, item_id: str) -> dict[str, Any] | None:
        with self.read() as conn:
            row = conn.execute(sa.select(item_t).where(item_t.c.item_id == item_id)).mappings()
            found = row.first()
            return dict(found) if found is not None else None

    def patient_items(self, patient_id: str) -> list[dict[str, Any]]:
        with self.read() as conn:
            rows = conn.execute(
                sa.select(item_t).where(item_t.c.patient_id == patient_id).order_by(item_t.c.screen)
            ).mappings()
            return [dict(r) for r in rows]

    def item_evidence(self, item_id: str, *, current_only: bool = True) -> pl.DataFrame:
        """Evidence rows of an item (snippet included: store and UI only)."""
        query = sa.select(ev_t).where(ev_t.c.item_id == item_id)
        if current_only:
            query = query.where(ev_t.c.is_current)
        query = query.order_by(
            ev_t.c.role,
            ev_t.c.observed_on.desc(),
            ev_t.c.criterion_id,
            ev_t.c.source_ref,
            ev_t.c.evidence_key,
        )
        with self.read() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        schema = {c.name: polars_type(c.type) for c in ev_t.columns}
        return pl.DataFrame(rows, schema=schema)

    def decisions(self, item_id: str) -> list[dict[str, Any]]:
        with self.read() as conn:
            rows = conn.execute(
                sa.select(review_decision)
                .where(review_decision.c.item_id == item_id)
                .order_by(review_decision.c.seq)
            ).mappings()
            return [dict(r) for r in rows]

    def record_decision(
        self,
        item_id: str,
        *,
        username: str,
        action: DecisionAction | str,
        reason: str | None = None,
        comment: str | None = None,
        snooze_until: date | None = None,
        expected_count: int | None = None,
        decided_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Append a decision and refresh the item's status; returns the updated item.

        Raises:
            DecisionConflictError: `expected_count` is given and another decision came first.
            StoreError: unknown item or an incomplete decision.
        """
        action = check_decision(action, reason, snooze_until)
        with self.write() as conn:
            item = conn.execute(
                sa.select(item_t).where(item_t.c.item_id == item_id).with_for_update()
            ).first()
            if item is None:
                raise StoreError(f"unknown item {item_id}")
            if expected_count is not None and item.decision_count != expected_count:
                raise DecisionConflictError(f"item {item_id} changed since it was loaded")
            append_decision(
                conn,
                item,
                username=username,
                action=action,
                reason=reason,
                comment=comment,
                snooze_until=snooze_until,
                when=decided_at or utcnow(),
            )
            updated = conn.execute(sa.select(item_t).where(item_t.c.item_id == item_id))
            return dict(updated.mappings().one())

    def rule_yield(self) -> pl.DataFrame:
        """Per screen x criterion: items flagged, dispositions, and PPV.

        PPV = referred / (referred + dismissed), counting each item's latest decision;
        items already under vascular care are reported but left out of the PPV.
        """
        with self.read() as conn:
            rows = conn.execute(sa.select(item_t.c.screen, item_t.c.criteria, item_t.c.last_action))
            counts: dict[tuple[str, str], dict[str, int]] = {}
            for screen, criteria, last_action in rows:
                for criterion in (criteria or "").split():
                    c = counts.setdefault((screen, criterion), dict.fromkeys(_YIELD_COLS, 0))
                    c["items"] += 1
                    if last_action in _YIELD_COLS:
                        c[last_action] += 1
        out = [
            {
                "screen": s,
                "criterion_id": k,
                **c,
                "ppv": c["referred"] / (c["referred"] + c["dismissed"])
                if c["referred"] + c["dismissed"]
                else None,
            }
            for (s, k), c in sorted(counts.items())
        ]
        schema = {
            "screen": pl.String,
            "criterion_id": pl.String,
            **dict.fromkeys(_YIELD_COLS, pl.Int64),
            "ppv": pl.Float64,
        }
        return pl.DataFrame(out, schema=schema)


def check_decision(
    action: DecisionAction | str, reason: str | None, snooze_until: date | None
) -> DecisionAction:
    """The action, once the decision is complete (a snooze has a date, a dismissal a reason)."""
    action = DecisionAction(action)
    if action == DecisionAction.SNOOZED and snooze_until is None:
        raise StoreError("a snooze needs a date")
    if action == DecisionAction.DISMISSED and not reason:
        raise StoreError("a dismissal needs a reason")
    return action


def append_decision(
    conn: sa.Connection,
    item: Any,
    *,
    username: str,
    action: DecisionAction,
    reason: str | None,
    comment: str | None,
    snooze_until: date | None,
    when: datetime,
) -> None:
    """Append one decision on `item` (its row, locked by the caller) and refresh its status."""
    seq = item.decision_count + 1
    conn.execute(
        review_decision.insert().values(
            decision_id=str(uuid.uuid4()),
            item_id=item.item_id,
            seq=seq,
            action=str(action),
            reason=reason,
            comment=comment,
            snooze_until=snooze_until if action == DecisionAction.SNOOZED else None,
            decided_by=username,
            decided_at=when,
            item_as_of=item.as_of,
            status_before=item.status,
        )
    )
    newest = conn.execute(
        sa.select(sa.func.max(ev_t.c.observed_on)).where(
            ev_t.c.item_id == item.item_id, ev_t.c.is_current, ev_t.c.role == "include"
        )
    ).scalar()
    decision = LatestDecision(action, item.as_of, snooze_until)
    status = derive_status(
        ItemFacts(item.is_flagged, item.first_flagged_on, item.as_of, newest, decision)
    )
    conn.execute(
        item_t.update()
        .where(item_t.c.item_id == item.item_id)
        .values(
            decision_count=seq,
            last_action=str(action),
            last_decided_at=when,
            last_decided_by=username,
            status=str(status),
            snoozed_until=snooze_until if action == DecisionAction.SNOOZED else None,
        )
    )
    insert_audit(
        conn,
        username,
        "decide",
        "worklist_item",
        item.item_id,
        {"action": str(action), "seq": seq, "status": str(status)},
        None,
    )


_YIELD_COLS = ("items", "referred", "dismissed", "under_care", "needs_info", "snoozed")


def polars_type(sa_type: sa.types.TypeEngine[Any]) -> type[pl.DataType]:
    if isinstance(sa_type, sa.Boolean):
        return pl.Boolean
    if isinstance(sa_type, sa.DateTime):
        return pl.Datetime
    if isinstance(sa_type, sa.Date):
        return pl.Date
    if isinstance(sa_type, sa.Float):
        return pl.Float64
    if isinstance(sa_type, sa.Integer):
        return pl.Int64
    return pl.String
