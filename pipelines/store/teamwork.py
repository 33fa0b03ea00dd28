"""Store methods for teamwork: assignment, comments, bulk decisions, an item's history.

Mixed into `pipelines.store.Store`. Every change is audited in the same transaction as the change
(as decisions are), under the signed-in user's name, which the caller takes from the session,
never from a form. Decisions stay append-only (`review_decision`); comments have their own
append-only table and leave the item's status alone. A bulk decision locks each item and checks
the decision count the reviewer saw, so an item someone else decided meanwhile is skipped and
reported, never overwritten.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from pipelines.errors import StoreError
from pipelines.store.access import insert_audit
from pipelines.store.engine import StoreMixin
from pipelines.store.review import append_decision, check_decision
from pipelines.store.schema import app_user, audit_log, review_comment, review_decision, utcnow
from pipelines.store.schema import worklist_item as item_t
from pipelines.store.status import DecisionAction

MAX_BULK = 500  # items per bulk action (a worklist page is at most 200)


@dataclass(frozen=True, slots=True)
class BulkResult:
    done: tuple[str, ...]  # item ids changed
    skipped: tuple[str, ...]  # item ids decided by someone else meanwhile, or unknown


class TeamworkStoreMixin(StoreMixin):
    def assignees(self) -> list[str]:
        """Active users an item can be assigned to, by name."""
        with self.read() as conn:
            query = sa.select(app_user.c.username).where(app_user.c.is_active)
            return list(conn.execute(query.order_by(app_user.c.username)).scalars())

    def assign(self, item_ids: Sequence[str], assignee: str | None, *, username: str) -> BulkResult:
        """Assign items to `assignee` (None: unassign), audited per item, plus one bulk row.

        Raises:
            StoreError: `assignee` is not an active user, or too many items.
        """
        _check_bulk(item_ids)
        now = utcnow()
        done: list[str] = []
        skipped: list[str] = []
        with self.write() as conn:
            if assignee is not None and not _is_active(conn, assignee):
                raise StoreError("assignee is not an active user")
            # Locks in item id order, as publish takes them: no deadlock between the two.
            for item_id in sorted(set(item_ids)):
                item = _locked(conn, item_id)
                if item is None:
                    skipped.append(item_id)
                    continue
                conn.execute(
                    item_t.update()
                    .where(item_t.c.item_id == item_id)
                    .values(assigned_to=assignee, assigned_at=now if assignee else None)
                )
                detail = {"from": item.assigned_to, "to": assignee}
                insert_audit(conn, username, "assign", "worklist_item", item_id, detail, None)
                done.append(item_id)
            if len(item_ids) > 1:
                detail = {"to": assignee, "items": len(done), "skipped": len(skipped)}
                insert_audit(conn, username, "bulk_assign", None, None, detail, None)
        return BulkResult(tuple(done), tuple(skipped))

    def bulk_decide(
        self,
        items: Sequence[tuple[str, int]],
        *,
        username: str,
        action: DecisionAction | str,
        reason: str | None = None,
        comment: str | None = None,
        snooze_until: date | None = None,
    ) -> BulkResult:
        """One decision on many items, each at the decision count the reviewer saw.

        Args:
            items: (item id, decision count when the page was loaded) pairs.
        """
        _check_bulk([i for i, _ in items])
        action = check_decision(action, reason, snooze_until)
        now = utcnow()
        done: list[str] = []
        skipped: list[str] = []
        with self.write() as conn:
            for item_id, expected in sorted(dict(items).items()):
                item = _locked(conn, item_id)
                if item is None or item.decision_count != expected:
                    skipped.append(item_id)
                    continue
                append_decision(
                    conn,
                    item,
                    username=username,
                    action=action,
                    reason=reason,
                    comment=comment,
                    snooze_until=snooze_until,
                    when=now,
                )
                done.append(item_id)
            detail = {"action": str(action), "items": len(done), "skipped": len(skipped)}
            insert_audit(conn, username, "bulk_decide", None, None, detail, None)
        return BulkResult(tuple(done), tuple(skipped))

    def add_comment(self, item_id: str, comment: str, *, username: str) -> None:
        """Append a comment to an item without changing its status (audited)."""
        if not comment.strip():
            raise StoreError("a comment needs text")
        with self.write() as conn:
            if _locked(conn, item_id) is None:
                raise StoreError(f"unknown item {item_id}")
            comment_id = str(uuid.uuid4())
            conn.execute(
                review_comment.insert().values(
                    comment_id=comment_id,
                    item_id=item_id,
                    comment=comment,
                    commented_by=username,
                    commented_at=utcnow(),
                )
            )
            detail = {"comment_id": comment_id}
            insert_audit(conn, username, "comment", "worklist_item", item_id, detail, None)

    def item_history(self, item_id: str) -> list[dict[str, Any]]:
        """Decisions, comments and assignments of an item, oldest first.

        Each entry: kind ("decision" | "comment" | "assignment"), at, by, and the kind's fields
        (action, reason, comment, snooze_until; comment; assigned_to).
        """
        with self.read() as conn:
            decisions = conn.execute(
                sa.select(review_decision).where(review_decision.c.item_id == item_id)
            ).mappings()
            out = [
                {"kind": "decision", "at": d["decided_at"], "by": d["decided_by"], **dict(d)}
                for d in decisions
            ]
            comments = conn.execute(
                sa.select(review_comment).where(review_comment.c.item_id == item_id)
            ).mappings()
            out += [
                {"kind": "comment", "at": c["commented_at"], "by": c["commented_by"], **dict(c)}
                for c in comments
            ]
            assignments = conn.execute(
                sa.select(audit_log).where(
                    audit_log.c.target_id == item_id, audit_log.c.action == "assign"
                )
            ).mappings()
            out += [
                {
                    "kind": "assignment",
                    "at": a["at"],
                    "by": a["username"],
                    "assigned_to": json.loads(a["detail"] or "{}").get("to"),
                }
                for a in assignments
            ]
        return sorted(out, key=lambda e: (e["at"], e.get("seq") or 0))


def _check_bulk(item_ids: Sequence[str]) -> None:
    if not item_ids:
        raise StoreError("no items chosen")
    if len(item_ids) > MAX_BULK:
        raise StoreError(f"at most {MAX_BULK} items at once")


def _locked(conn: sa.Connection, item_id: str) -> Any:
    query = sa.select(item_t).where(item_t.c.item_id == item_id).with_for_update()
    return conn.execute(query).first()


def _is_active(conn: sa.Connection, username: str) -> bool:
    query = sa.select(app_user.c.username).where(
        app_user.c.username == username, app_user.c.is_active
    )
    return conn.execute(query).first() is not None
