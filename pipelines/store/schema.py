"""Worklist store schema: SQLAlchemy Core tables and the migration runner.

The DDL of record is `sql/worklist/NNNN_<name>.sql` (portable SQL, applied in order and
recorded in `schema_migration`). The `Table` objects below mirror it so that queries bind
and parse dates, booleans and timestamps the same way on SQLite and PostgreSQL; a test
reflects a migrated database and checks that the two agree.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from pipelines.errors import StoreError

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "sql" / "worklist"
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Any constant works; it only has to be the same for every vascreen process.
_PG_MIGRATION_LOCK = 0x76617363  # "vasc"

metadata = sa.MetaData()

schema_migration = sa.Table(
    "schema_migration",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("checksum", sa.Text, nullable=False),
    sa.Column("applied_at", sa.DateTime, nullable=False),
)

run = sa.Table(
    "run",
    metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("screens", sa.Text, nullable=False),
    sa.Column("rule_versions", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("counts", sa.Text),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("published_at", sa.DateTime),
    sa.Column("finished_at", sa.DateTime),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("run_id", sa.Text, sa.ForeignKey("run.run_id"), primary_key=True),
    sa.Column("ordinal", sa.Integer, primary_key=True),
    sa.Column("resource_type", sa.Text),
    sa.Column("resource_id", sa.Text),
    sa.Column("source", sa.Text),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("detail", sa.Text),
)

worklist_item = sa.Table(
    "worklist_item",
    metadata,
    sa.Column("item_id", sa.Text, primary_key=True),
    sa.Column("patient_id", sa.Text, nullable=False),
    sa.Column("screen", sa.Text, nullable=False),
    sa.Column("screen_version", sa.Integer, nullable=False),
    sa.Column("priority", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("is_flagged", sa.Boolean, nullable=False),
    sa.Column("first_flagged_on", sa.Date, nullable=False),
    sa.Column("last_flagged_on", sa.Date, nullable=False),
    sa.Column("reflagged_on", sa.Date),
    sa.Column("resolved_on", sa.Date),
    sa.Column("last_evidence_on", sa.Date),
    sa.Column("criteria", sa.Text, nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),
    sa.Column("mimics", sa.Text, nullable=False),
    sa.Column("alerts", sa.Text, nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("run_id", sa.Text, sa.ForeignKey("run.run_id"), nullable=False),
    sa.Column("decision_count", sa.Integer, nullable=False),
    sa.Column("last_action", sa.Text),
    sa.Column("last_decided_at", sa.DateTime),
    sa.Column("last_decided_by", sa.Text),
    sa.Column("snoozed_until", sa.Date),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("assigned_to", sa.Text),
    sa.Column("assigned_at", sa.DateTime),
    sa.Column("merged_into", sa.Text),  # survivor's id once this patient was merged (0006)
)

evidence = sa.Table(
    "evidence",
    metadata,
    sa.Column("item_id", sa.Text, sa.ForeignKey("worklist_item.item_id"), primary_key=True),
    sa.Column("evidence_key", sa.Text, primary_key=True),
    sa.Column("patient_id", sa.Text, nullable=False),
    sa.Column("screen_id", sa.Text, nullable=False),
    sa.Column("screen_version", sa.Integer, nullable=False),
    sa.Column("criterion_id", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("source_ref", sa.Text, nullable=False),
    sa.Column("observed_on", sa.Date),
    sa.Column("value", sa.Float),
    sa.Column("unit", sa.Text),
    sa.Column("laterality", sa.Text),
    sa.Column("span_start", sa.BigInteger),
    sa.Column("span_end", sa.BigInteger),
    sa.Column("sentence_start", sa.BigInteger),
    sa.Column("snippet", sa.Text),
    sa.Column("modifiers", sa.Text),
    sa.Column("is_current", sa.Boolean, nullable=False),
    sa.Column("first_seen_on", sa.Date, nullable=False),
    sa.Column("last_seen_on", sa.Date, nullable=False),
    sa.Column("first_run_id", sa.Text, nullable=False),
    sa.Column("last_run_id", sa.Text, nullable=False),
)

review_decision = sa.Table(
    "review_decision",
    metadata,
    sa.Column("decision_id", sa.Text, primary_key=True),
    sa.Column("item_id", sa.Text, sa.ForeignKey("worklist_item.item_id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("comment", sa.Text),
    sa.Column("snooze_until", sa.Date),
    sa.Column("decided_by", sa.Text, nullable=False),
    sa.Column("decided_at", sa.DateTime, nullable=False),
    sa.Column("item_as_of", sa.Date, nullable=False),
    sa.Column("status_before", sa.Text, nullable=False),
)

source_watermark = sa.Table(
    "source_watermark",
    metadata,
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("resource_type", sa.Text, primary_key=True),
    sa.Column("transaction_time", sa.DateTime, nullable=False),
    sa.Column("since_honoured", sa.Boolean, nullable=False),
    sa.Column("run_id", sa.Text, sa.ForeignKey("run.run_id"), nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

store_owner = sa.Table(
    "store_owner",
    metadata,
    sa.Column("singleton", sa.Integer, primary_key=True),
    sa.Column("workdir_id", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("claimed_at", sa.DateTime, nullable=False),
    sa.Column("last_run_at", sa.DateTime, nullable=False),
)

patient_schedule = sa.Table(
    "patient_schedule",
    metadata,
    sa.Column("patient_id", sa.Text, primary_key=True),
    sa.Column("next_change", sa.Date),
    sa.Column("evaluated_as_of", sa.Date, nullable=False),
)

patient = sa.Table(
    "patient",
    metadata,
    sa.Column("patient_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("birth_date", sa.Date),
    sa.Column("gender", sa.Text),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

patient_identifier = sa.Table(
    "patient_identifier",
    metadata,
    sa.Column("patient_id", sa.Text, sa.ForeignKey("patient.patient_id"), primary_key=True),
    sa.Column("ordinal", sa.Integer, primary_key=True),
    sa.Column("system", sa.Text),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("type_code", sa.Text),
)

review_comment = sa.Table(
    "review_comment",
    metadata,
    sa.Column("comment_id", sa.Text, primary_key=True),
    sa.Column("item_id", sa.Text, sa.ForeignKey("worklist_item.item_id"), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("commented_by", sa.Text, nullable=False),
    sa.Column("commented_at", sa.DateTime, nullable=False),
)

app_user = sa.Table(
    "app_user",
    metadata,
    sa.Column("username", sa.Text, primary_key=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("password_changed_at", sa.DateTime, nullable=False),
)

app_session = sa.Table(
    "app_session",
    metadata,
    sa.Column("session_hash", sa.Text, primary_key=True),
    sa.Column("username", sa.Text, sa.ForeignKey("app_user.username"), nullable=False),
    sa.Column("csrf_token", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_seen_at", sa.DateTime, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("audit_id", sa.Text, primary_key=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("username", sa.Text),
    sa.Column("client", sa.Text),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target_type", sa.Text),
    sa.Column("target_id", sa.Text),
    sa.Column("detail", sa.Text),
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def statements(self) -> list[str]:
        """Split on `;` at end of line after dropping `--` comment lines (no `;` in literals)."""
        body = "\n".join(
            line for line in self.sql.splitlines() if not line.lstrip().startswith("--")
        )
        return [s.strip() for s in re.split(r";\s*(?:\n|$)", body) if s.strip()]


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """All migrations in version order; numbering must be 1..n without gaps."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if match is None:
            raise StoreError(f"migration file name not NNNN_name.sql: {path.name}")
        found.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise StoreError("migration versions must be numbered 1..n without gaps")
    return found


def utcnow() -> datetime:
    """Naive UTC, which is what the TIMESTAMP columns hold."""
    return datetime.now(UTC).replace(tzinfo=None)


def migrate(engine: sa.Engine) -> list[int]:
    """Bring the database to the latest schema; idempotent and safe under concurrent callers.

    PostgreSQL serialises callers with a transaction-scoped advisory lock; SQLite with
    `BEGIN IMMEDIATE` (see `pipelines.store.engine`). DDL is transactional on both, so a
    failed migration leaves the previous version.

    Returns:
        The versions applied by this call (empty when already up to date).
    """
    migrations = load_migrations()
    with engine.connect().execution_options(vascreen_write=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        schema_migration.create(conn, checkfirst=True)
        applied = {row.version: row.checksum for row in conn.execute(sa.select(schema_migration))}
        done: list[int] = []
        for migration in migrations:
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise StoreError(f"migration {migration.version} changed after it was applied")
                continue
            for statement in migration.statements():
                conn.exec_driver_sql(statement)
            conn.execute(
                schema_migration.insert().values(
                    version=migration.version,
                    name=migration.name,
                    checksum=migration.checksum,
                    applied_at=utcnow(),
                )
            )
            done.append(migration.version)
        unknown = set(applied) - {m.version for m in migrations}
        if unknown:
            raise StoreError(f"database schema is newer than this code: {sorted(unknown)}")
        return done
