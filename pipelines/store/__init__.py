"""The worklist store: the only code that talks to the worklist database.

SQLite file by default (`sqlite:///var/vascreen.db`), PostgreSQL in production
(`postgresql://user@host/db`). The schema lives in `sql/worklist/` as numbered migrations,
applied by `Store.connect`. The nightly flow opens a run with `recorded_run` (marked "failed"
if its work raises), calls `save_quarantine` and `publish`, then `finish_run`; the review app
uses the reader and decision methods from `pipelines.store.review` (mixed in here so both share
one engine).
"""

from __future__ import annotations

import csv
import json
import os
import uuid
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from pipelines.errors import StoreError
from pipelines.spreadsheet_cell import cell_text
from pipelines.store.access import AccessStoreMixin
from pipelines.store.engine import create_store_engine, store_failure
from pipelines.store.patients import PatientStoreMixin
from pipelines.store.publish import PublishCounts, publish_run
from pipelines.store.review import ReviewStoreMixin
from pipelines.store.schedule import ScheduleStoreMixin
from pipelines.store.schema import migrate, quarantine, run, source_watermark, utcnow
from pipelines.store.schema import worklist_item as item_t
from pipelines.store.status import OPEN_STATUSES
from pipelines.store.teamwork import TeamworkStoreMixin
from pipelines.store.trends import TrendStoreMixin
from pipelines.store.worklist import WorklistStoreMixin
from screens.model import PRIORITY_RANK, QUARANTINE, assert_schema

__all__ = ["CSV_COLUMNS", "WORKLIST_VIEW", "PublishCounts", "Store"]

# Columns of Store.worklist(), in order.
WORKLIST_VIEW: dict[str, type[pl.DataType]] = {
    "patient_id": pl.String,
    "screen": pl.String,
    "priority": pl.String,
    "status": pl.String,
    "first_flagged_on": pl.Date,
    "last_evidence_on": pl.Date,
    "criteria": pl.String,
    "evidence": pl.String,
    "mimics": pl.String,
    "alerts": pl.String,
    "screen_version": pl.Int64,
    "item_id": pl.String,
    "is_flagged": pl.Boolean,
    "last_flagged_on": pl.Date,
    "reflagged_on": pl.Date,
    "resolved_on": pl.Date,
    "snoozed_until": pl.Date,
    "last_action": pl.String,
    "decision_count": pl.Int64,
    "as_of": pl.Date,
}

# worklist.csv (design.md contract first, extras after). No run ids, timestamps or note text,
# so the same data and as_of give the same bytes.
CSV_COLUMNS = [
    "patient_id",
    "screen",
    "priority",
    "status",
    "first_flagged_on",
    "last_evidence_on",
    "criteria",
    "evidence",
    "mimics",
    "alerts",
    "screen_version",
]
RUN_STATUSES = ("running", "succeeded", "failed")


class Store(
    ScheduleStoreMixin,
    ReviewStoreMixin,
    AccessStoreMixin,
    PatientStoreMixin,
    WorklistStoreMixin,
    TeamworkStoreMixin,
    TrendStoreMixin,
):
    """A migrated worklist database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def connect(cls, url: str) -> Store:
        """Open the store at `url` and migrate it to the latest schema (idempotent)."""
        engine = create_store_engine(url)
        try:
            migrate(engine)
        except sa.exc.OperationalError as exc:
            engine.dispose()
            raise StoreError(f"cannot open the worklist store ({engine.dialect.name})") from exc
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        """Raise StoreError when the database does not answer (health checks)."""
        try:
            with self.read() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(
                f"the worklist store does not answer ({self.engine.dialect.name})"
            ) from exc

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A write transaction (SQLite: BEGIN IMMEDIATE; committed on exit).

        Raises:
            StoreError: a statement or the commit failed (one line, no values).
        """
        failure: StoreError | None = None
        try:
            with (
                self.engine.connect().execution_options(vascreen_write=True) as conn,
                conn.begin(),
            ):
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            failure = store_failure(exc, self.engine.dialect.name)
        if failure is not None:
            raise failure  # outside the except block: no chained driver message

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read transaction: one consistent snapshot on SQLite WAL and per statement on PG.

        Raises:
            StoreError: a statement failed (one line, no values).
        """
        failure: StoreError | None = None
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            failure = store_failure(exc, self.engine.dialect.name)
        if failure is not None:
            raise failure

    def start_run(
        self, *, as_of: date, source: str, screens: list[str], rule_versions: dict[str, int]
    ) -> str:
        run_id = str(uuid.uuid4())
        with self.write() as conn:
            conn.execute(
                run.insert().values(
                    run_id=run_id,
                    as_of=as_of,
                    source=source,
                    screens=" ".join(sorted(screens)),
                    rule_versions=json.dumps(rule_versions, sort_keys=True),
                    status="running",
                    started_at=utcnow(),
                )
            )
        return run_id

    @contextmanager
    def recorded_run(
        self, *, as_of: date, source: str, screens: list[str], rule_versions: dict[str, int]
    ) -> Iterator[str]:
        """`start_run`, then the caller's work; a run whose work raises is marked failed.

        The caller calls `finish_run` with "succeeded" as its last step. A failure before that
        leaves the run "failed" (counts name the exception class only: no PHI), not "running";
        only a killed process leaves a "running" row behind, for the next run to mark
        (`mark_interrupted`).
        """
        run_id = self.start_run(
            as_of=as_of, source=source, screens=screens, rule_versions=rule_versions
        )
        try:
            yield run_id
        except BaseException as exc:
            with suppress(Exception):  # the original failure is the one to report
                self.finish_run(run_id, status="failed", counts={"error": type(exc).__name__})
            raise

    def mark_interrupted(self, *, before: str) -> int:
        """Mark failed the runs still "running" that started before run `before` (their process
        was killed: the caller knows from the mirror's unpublished marker). Returns how many."""
        with self.write() as conn:
            started = sa.select(run.c.started_at).where(run.c.run_id == before).scalar_subquery()
            done = conn.execute(
                run.update()
                .where(run.c.status == "running", run.c.started_at < started)
                .values(
                    status="failed",
                    counts=json.dumps({"error": "interrupted"}),
                    finished_at=utcnow(),
                )
            )
        return int(done.rowcount)

    def save_quarantine(self, run_id: str, quarantine_rows: pl.DataFrame) -> int:
        """Replace the run's quarantine rows (idempotent per run). Returns the row count."""
        frame = assert_schema(quarantine_rows, QUARANTINE, "quarantine")
        rows = [{"run_id": run_id, "ordinal": i, **r} for i, r in enumerate(frame.to_dicts())]
        with self.write() as conn:
            self._require_run(conn, run_id)
            conn.execute(quarantine.delete().where(quarantine.c.run_id == run_id))
            if rows:
                conn.execute(quarantine.insert(), rows)
        return len(rows)

    def publish(
        self,
        run_id: str,
        *,
        as_of: date,
        screens: list[str],
        items: pl.DataFrame,
        evidence: pl.DataFrame,
        patients: Collection[str] | None = None,
        merged: Mapping[str, str] | None = None,
    ) -> PublishCounts:
        """Publish a run's items and evidence in one transaction (see store_publish).

        With `patients`, the run evaluated only those patients (an incremental run): items of
        other patients are neither resolved nor changed. `merged`: replaced patient id ->
        survivor id; their items resolve as merged.
        """
        with self.write() as conn:
            return publish_run(
                conn,
                run_id,
                as_of=as_of,
                screens=sorted(set(screens)),
                items=items,
                evidence=evidence,
                patients=None if patients is None else frozenset(patients),
                merged=merged,
            )

    def last_published(self, screens: list[str]) -> tuple[date, str, str] | None:
        """(as_of, rule versions JSON, evaluation key) of the latest succeeded run over exactly
        these screens; the key is "" for runs recorded before it was kept."""
        with self.read() as conn:
            row = conn.execute(
                sa.select(run.c.as_of, run.c.rule_versions, run.c.counts)
                .where(run.c.status == "succeeded", run.c.screens == " ".join(sorted(screens)))
                .order_by(run.c.started_at.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        counts = json.loads(row.counts) if row.counts else {}
        key = counts.get("evaluation_key", "") if isinstance(counts, dict) else ""
        return row.as_of, row.rule_versions, str(key)

    def latest_published_as_of(self) -> date | None:
        """The as_of of the latest succeeded run over any screens (None: none yet)."""
        with self.read() as conn:
            return conn.execute(
                sa.select(sa.func.max(run.c.as_of)).where(run.c.status == "succeeded")
            ).scalar()

    def recent_run_summaries(self, limit: int = 60) -> list[dict[str, Any]]:
        """The summaries (counts JSON) of the latest succeeded runs, newest first."""
        with self.read() as conn:
            rows = conn.execute(
                sa.select(run.c.counts)
                .where(run.c.status == "succeeded", run.c.counts.is_not(None))
                .order_by(run.c.started_at.desc())
                .limit(limit)
            ).scalars()
            found = [json.loads(r) for r in rows]
        return [f for f in found if isinstance(f, dict)]

    def watermarks(self, source: str) -> dict[str, datetime]:
        """Per resource type, the transaction time the last completed pull of `source` reached."""
        with self.read() as conn:
            rows = conn.execute(
                sa.select(
                    source_watermark.c.resource_type, source_watermark.c.transaction_time
                ).where(source_watermark.c.source == source)
            ).all()
        return {r.resource_type: r.transaction_time for r in rows}

    def save_watermarks(
        self,
        run_id: str,
        source: str,
        transaction_time: datetime,
        since_honoured: Mapping[str, bool],
    ) -> None:
        """Record `transaction_time` as the next `since` for each pulled type of `source`."""
        tt = (
            transaction_time.astimezone(UTC).replace(tzinfo=None)
            if transaction_time.tzinfo
            else transaction_time
        )
        now = utcnow()
        with self.write() as conn:
            self._require_run(conn, run_id)
            conn.execute(
                source_watermark.delete().where(
                    source_watermark.c.source == source,
                    source_watermark.c.resource_type.in_(sorted(since_honoured)),
                )
            )
            if since_honoured:
                conn.execute(
                    source_watermark.insert(),
                    [
                        {
                            "source": source,
                            "resource_type": t,
                            "transaction_time": tt,
                            "since_honoured": bool(h),
                            "run_id": run_id,
                            "updated_at": now,
                        }
                        for t, h in sorted(since_honoured.items())
                    ],
                )

    def clear_watermarks(self, source: str) -> None:
        """Forget `source`'s watermarks: the next pull is a full one."""
        with self.write() as conn:
            conn.execute(source_watermark.delete().where(source_watermark.c.source == source))

    def finish_run(self, run_id: str, *, status: str, counts: dict[str, Any]) -> None:
        if status not in RUN_STATUSES:
            raise StoreError(f"unknown run status {status!r}")
        with self.write() as conn:
            self._require_run(conn, run_id)
            conn.execute(
                run.update()
                .where(run.c.run_id == run_id)
                .values(
                    status=status,
                    counts=json.dumps(counts, sort_keys=True, default=str),
                    finished_at=utcnow(),
                )
            )

    def runs(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            rows = conn.execute(sa.select(run).order_by(run.c.started_at.desc())).mappings()
            return [dict(r) for r in rows]

    def worklist(self, *, include_closed: bool = False) -> pl.DataFrame:
        """Items sorted by priority (urgent, soon, routine), patient_id, screen.

        Without `include_closed`, only items a coordinator still has to work (new, open,
        needs more information).
        """
        query = sa.select(*(item_t.c[c] for c in WORKLIST_VIEW))
        if not include_closed:
            query = query.where(item_t.c.status.in_([str(s) for s in OPEN_STATUSES]))
        with self.read() as conn:
            rows = [tuple(r) for r in conn.execute(query)]
        frame = pl.DataFrame(rows, schema=WORKLIST_VIEW, orient="row")
        rank = pl.col("priority").replace_strict(PRIORITY_RANK, default=len(PRIORITY_RANK))
        return frame.sort(rank, pl.col("patient_id"), pl.col("screen"))

    def export_worklist_csv(self, path: Path) -> int:
        """Write worklist.csv (open items; design.md contract). Returns the row count."""
        frame = self.worklist().select(CSV_COLUMNS)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside it, then rename: a crash mid-write never leaves a half worklist.csv
        # that a scheduler or coordinator could pick up as complete.
        partial = path.with_name(f".{path.name}.partial")
        try:
            with partial.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(CSV_COLUMNS)
                for row in frame.iter_rows():
                    writer.writerow([cell_text(v) for v in row])
                handle.flush()
                os.fsync(handle.fileno())
            Path(partial).replace(path)
        except BaseException:
            partial.unlink(missing_ok=True)  # no half file for anyone to pick up
            raise
        return frame.height

    @staticmethod
    def _require_run(conn: sa.Connection, run_id: str) -> None:
        if conn.execute(sa.select(run.c.run_id).where(run.c.run_id == run_id)).first() is None:
            raise StoreError(f"unknown run_id {run_id}")
