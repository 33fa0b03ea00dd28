"""Publish one run's worklist items and evidence into the store, in one transaction.

Grain: `worklist_item` one row per patient x screen ever flagged (stable `item_id`);
`evidence` one row per item x criterion hit, kept across runs with `is_current` marking the
hits of the latest evaluation. Publish writes only these two tables and `run`; it reads
`review_decision` to derive statuses and never writes it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Set
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import polars as pl
import sqlalchemy as sa

from pipelines.errors import StoreError
from pipelines.store.schema import evidence as ev_t
from pipelines.store.schema import review_decision, run, utcnow
from pipelines.store.schema import worklist_item as item_t
from pipelines.store.status import (
    DecisionAction,
    ItemFacts,
    LatestDecision,
    derive_status,
    is_reflag,
)
from screens.model import EVIDENCE, WORKLIST_ITEM, ItemStatus, Priority, assert_schema

# Fixed namespace: item ids are a pure function of (screen, patient_id), so two stores fed
# the same data agree, and a write-back identifier can be derived from the item id.
ITEM_NAMESPACE = uuid.UUID("6f1d1f7e-3c1b-5b8e-9a52-7a7363726565")
_PG_PUBLISH_LOCK = 0x76617370  # serialises concurrent publishes on PostgreSQL
_EVIDENCE_FIELDS = [c for c in EVIDENCE if c not in ("as_of",)]
_KEY_FIELDS = (
    "criterion_id",
    "role",
    "source_ref",
    "laterality",
    "span_start",
    "span_end",
    "observed_on",
    "value",
    "unit",
)


@dataclass(frozen=True, slots=True)
class PublishCounts:
    """PHI-free counts of one publish."""

    flagged: int
    created: int
    reflagged: int
    resolved: int
    evidence_added: int
    evidence_retracted: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def item_id_for(patient_id: str, screen: str) -> str:
    return str(uuid.uuid5(ITEM_NAMESPACE, f"{screen}/{patient_id}"))


def evidence_key_for(row: dict[str, Any]) -> str:
    parts = ["" if row.get(f) is None else repr(row[f]) for f in _KEY_FIELDS]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def publish_run(
    conn: sa.Connection,
    run_id: str,
    *,
    as_of: date,
    screens: list[str],
    items: pl.DataFrame,
    evidence: pl.DataFrame,
    patients: Set[str] | None = None,
    merged: Mapping[str, str] | None = None,
) -> PublishCounts:
    """Apply one run's flags to the store inside the caller's write transaction.

    `patients` scopes the publish to the patients the run evaluated (an incremental run):
    items and evidence of other patients are left exactly as they are. None: every patient.
    `merged` maps replaced patient ids to their survivors (`pipelines.mirror.patient_merges`):
    such a patient is not evaluated, so its items resolve, and ``merged_into`` says why.
    """
    merged = merged or {}
    flagged = _check_items(items, as_of, screens)
    ev_rows = _check_evidence(evidence, screens)
    if patients is not None and any(r["patient_id"] not in patients for r in flagged.values()):
        raise StoreError("worklist item for a patient outside the publish scope")
    in_scope = _scope(patients)
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_PUBLISH_LOCK})
    if conn.execute(sa.select(run.c.run_id).where(run.c.run_id == run_id)).first() is None:
        raise StoreError(f"unknown run_id {run_id}")
    existing = {
        r.item_id: r
        for r in conn.execute(
            sa.select(item_t)
            .where(item_t.c.screen.in_(screens))
            .order_by(item_t.c.item_id)
            .with_for_update()
        )
        if in_scope(r.patient_id)
    }
    now = utcnow()
    created = [iid for iid in flagged if iid not in existing]
    if created:
        conn.execute(
            item_t.insert(),
            [_new_item(flagged[iid], iid, run_id, as_of, now) for iid in sorted(created)],
        )
    added, retracted = _sync_evidence(
        conn, run_id, as_of, screens, ev_rows, set(existing) | set(flagged)
    )
    facts = _facts(conn, screens, set(existing) | set(flagged))
    updates: list[dict[str, Any]] = []
    reflagged = resolved = 0
    for iid in sorted(set(existing) | set(flagged)):
        prev = existing.get(iid)
        row = _evaluated_values(prev, flagged.get(iid), as_of, run_id, now)
        newest, decision = facts.get(iid, (None, None))
        first = prev.first_flagged_on if prev is not None else as_of
        status = derive_status(ItemFacts(row["is_flagged"], first, as_of, newest, decision))
        before = ItemStatus(prev.status) if prev is not None else None
        if is_reflag(before, status, prev.is_flagged if prev is not None else None):
            row["reflagged_on"] = as_of
            reflagged += 1
        if prev is not None and prev.is_flagged and not row["is_flagged"]:
            resolved += 1
        patient_id = prev.patient_id if prev is not None else flagged[iid]["patient_id"]
        row["merged_into"] = None if row["is_flagged"] else merged.get(patient_id)
        updates.append({**row, "status": str(status), "b_item_id": iid})
    _update_items(conn, updates)
    if patients is not None:
        _carry_forward(conn, screens, patients, as_of, run_id, now)
    conn.execute(run.update().where(run.c.run_id == run_id).values(published_at=now))
    return PublishCounts(len(flagged), len(created), reflagged, resolved, added, retracted)


def _carry_forward(
    conn: sa.Connection, screens: list[str], patients: Set[str], as_of: date, run_id: str, now: Any
) -> None:
    """Items of patients a scoped night did not evaluate, moved to its as_of as a full
    re-evaluation would leave them: the night's scope holds every patient whose result could
    change (`screens.schedule`), so theirs is the same, only a day older. A flag first raised
    on an earlier night is no longer new."""
    rows = conn.execute(
        sa.select(item_t.c.item_id, item_t.c.patient_id, item_t.c.is_flagged, item_t.c.status)
        .where(item_t.c.screen.in_(screens), item_t.c.as_of < as_of)
        .order_by(item_t.c.item_id)
    ).all()
    updates = []
    for r in rows:
        if r.patient_id in patients:
            continue
        row: dict[str, Any] = {"as_of": as_of, "run_id": run_id, "b_item_id": r.item_id}
        if r.is_flagged:
            row["last_flagged_on"] = as_of
        if r.status == str(ItemStatus.NEW):
            row["status"] = str(ItemStatus.OPEN)
        updates.append(row)
    _update_items(conn, updates)


def _scope(patients: Set[str] | None) -> Any:
    if patients is None:
        return lambda _patient_id: True
    return lambda patient_id: patient_id in patients


def _update_items(conn: sa.Connection, updates: list[dict[str, Any]]) -> None:
    """Executemany per distinct column set (flagged and unflagged items set different ones)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in updates:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for cols, batch in groups.items():
        conn.execute(
            item_t.update()
            .where(item_t.c.item_id == sa.bindparam("b_item_id"))
            .values({c: sa.bindparam(c) for c in cols if c != "b_item_id"}),
            batch,
        )


def _check_items(items: pl.DataFrame, as_of: date, screens: list[str]) -> dict[str, dict[str, Any]]:
    assert_schema(items, WORKLIST_ITEM, "worklist_item")
    out: dict[str, dict[str, Any]] = {}
    priorities = {str(p) for p in Priority}
    for row in items.to_dicts():
        if row["screen"] not in screens:
            raise StoreError(f"worklist item for screen {row['screen']} not in this run")
        if row["priority"] not in priorities:
            raise StoreError(f"unknown priority {row['priority']!r}")
        if row["as_of"] is not None and row["as_of"] != as_of:
            raise StoreError("worklist item as_of differs from the run's as_of")
        if row["patient_id"] is None or row["screen_version"] is None:
            raise StoreError("worklist item without patient_id or screen_version")
        iid = item_id_for(row["patient_id"], row["screen"])
        if iid in out:
            raise StoreError(f"duplicate worklist item for screen {row['screen']}")
        out[iid] = row
    return out


def _check_evidence(evidence: pl.DataFrame, screens: list[str]) -> list[dict[str, Any]]:
    if "sentence_start" not in evidence.columns:  # older callers: no highlighting offsets
        evidence = evidence.with_columns(sentence_start=pl.lit(None, dtype=pl.Int64))
    frame = assert_schema(evidence.select(list(EVIDENCE)), EVIDENCE, "evidence")
    bad = frame.filter(~pl.col("screen_id").is_in(screens)).height
    if bad:
        raise StoreError(f"{bad} evidence rows for screens not in this run")
    return frame.to_dicts()


def _text(value: str | None) -> str:
    return value or ""


def _new_item(row: dict[str, Any], iid: str, run_id: str, as_of: date, now: Any) -> dict[str, Any]:
    return {
        "item_id": iid,
        "patient_id": row["patient_id"],
        "screen": row["screen"],
        "screen_version": row["screen_version"],
        "priority": row["priority"],
        "status": str(ItemStatus.NEW),
        "is_flagged": True,
        "first_flagged_on": as_of,
        "last_flagged_on": as_of,
        "last_evidence_on": row["last_evidence_on"],
        "criteria": _text(row["criteria"]),
        "evidence": _text(row["evidence"]),
        "mimics": _text(row["mimics"]),
        "alerts": _text(row["alerts"]),
        "as_of": as_of,
        "run_id": run_id,
        "decision_count": 0,
        "updated_at": now,
    }


def _evaluated_values(
    prev: Any, row: dict[str, Any] | None, as_of: date, run_id: str, now: Any
) -> dict[str, Any]:
    """Column values after this evaluation; the flag fields keep their last flagged values."""
    if row is None:
        return {
            "is_flagged": False,
            "resolved_on": prev.resolved_on if not prev.is_flagged else as_of,
            "as_of": as_of,
            "run_id": run_id,
            "reflagged_on": prev.reflagged_on,
            "updated_at": now,
        }
    return {
        "is_flagged": True,
        "resolved_on": None,
        "screen_version": row["screen_version"],
        "priority": row["priority"],
        "last_flagged_on": as_of,
        "last_evidence_on": row["last_evidence_on"],
        "criteria": _text(row["criteria"]),
        "evidence": _text(row["evidence"]),
        "mimics": _text(row["mimics"]),
        "alerts": _text(row["alerts"]),
        "as_of": as_of,
        "run_id": run_id,
        "reflagged_on": prev.reflagged_on if prev is not None else None,
        "updated_at": now,
    }


def _sync_evidence(
    conn: sa.Connection,
    run_id: str,
    as_of: date,
    screens: list[str],
    rows: list[dict[str, Any]],
    item_ids: set[str],
) -> tuple[int, int]:
    incoming: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        iid = item_id_for(row["patient_id"], row["screen_id"])
        if iid in item_ids:  # evidence of never-flagged patients is not kept
            incoming.setdefault((iid, evidence_key_for(row)), row)
    current: dict[tuple[str, str], bool] = {
        (r.item_id, r.evidence_key): r.is_current
        for r in conn.execute(
            sa.select(ev_t.c.item_id, ev_t.c.evidence_key, ev_t.c.is_current)
            .join(item_t, item_t.c.item_id == ev_t.c.item_id)
            .where(item_t.c.screen.in_(screens))
        )
        if r.item_id in item_ids  # items outside an incremental run's scope stay untouched
    }
    seen = {"is_current": True, "last_seen_on": as_of, "last_run_id": run_id}
    inserts = [
        {
            **_ev_values(row),
            **seen,
            "item_id": k[0],
            "evidence_key": k[1],
            "first_seen_on": as_of,
            "first_run_id": run_id,
        }
        for k, row in sorted(incoming.items())
        if k not in current
    ]
    updates = [
        {**_ev_values(row), **seen, "b_item_id": k[0], "b_key": k[1]}
        for k, row in sorted(incoming.items())
        if k in current
    ]
    retract = [
        {"b_item_id": k[0], "b_key": k[1], "is_current": False}
        for k, is_current in sorted(current.items())
        if is_current and k not in incoming
    ]
    if inserts:
        conn.execute(ev_t.insert(), inserts)
    where = (ev_t.c.item_id == sa.bindparam("b_item_id")) & (
        ev_t.c.evidence_key == sa.bindparam("b_key")
    )
    for batch in (updates, retract):
        if batch:
            cols = [k for k in batch[0] if not k.startswith("b_")]
            conn.execute(
                ev_t.update().where(where).values({c: sa.bindparam(c) for c in cols}), batch
            )
    return len(inserts), len(retract)


def _ev_values(row: dict[str, Any]) -> dict[str, Any]:
    return {f: row[f] for f in _EVIDENCE_FIELDS}


def _facts(
    conn: sa.Connection, screens: list[str], item_ids: set[str]
) -> dict[str, tuple[date | None, LatestDecision | None]]:
    """Per item of `screens`: newest current include evidence date and the latest decision."""
    newest = dict(
        conn.execute(
            sa.select(ev_t.c.item_id, sa.func.max(ev_t.c.observed_on))
            .join(item_t, item_t.c.item_id == ev_t.c.item_id)
            .where(item_t.c.screen.in_(screens), ev_t.c.is_current, ev_t.c.role == "include")
            .group_by(ev_t.c.item_id)
        ).all()
    )
    decisions = {
        r.item_id: LatestDecision(DecisionAction(r.action), r.item_as_of, r.snooze_until)
        for r in conn.execute(
            sa.select(review_decision)
            .join(
                item_t,
                (item_t.c.item_id == review_decision.c.item_id)
                & (item_t.c.decision_count == review_decision.c.seq),
            )
            .where(item_t.c.screen.in_(screens))
        )
    }
    return {
        iid: (newest.get(iid), decisions.get(iid))
        for iid in (set(newest) | set(decisions)) & item_ids
    }
