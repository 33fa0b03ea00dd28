"""The mirror: every staged resource seen so far, one row per resource type + id.

A run lands its source (`pipelines.ingest.stage.land_and_classify`) and merges the staged rows
(``stg_resource``) into ``<workdir>/mirror/mirror-<store>-<fingerprint>.duckdb``, yielding the
change set: the patients with a resource added, changed or removed. A file source is a full
snapshot (absent = deleted); a FHIR pull with ``since`` is a delta (``PullReport.deleted``
lists deletions; types the server could not filter merge as snapshots). A resource that no
longer stages (entered-in-error, quarantined, no patient) leaves like a deletion, so the
mirror holds exactly what a full run would stage; a changed note that gives no text tonight
keeps its earlier, read version (`pipelines.mirror.kept_notes`).
``resource`` keeps one row per resource (patient id, ``content_hash``, the key of the NDJSON
record it came from, its meta); ``ignored_line`` the same for unstaged types, so the next
landing recognises those records without parsing them (`pipelines.ingest.known_lines`). One
table per staged shape keeps the flattened rows with ``patient_bucket``, written in bucket
order: a shard (a bucket range, `pipelines.shards`) reads only its own row groups. Change
detection is an anti-join on ``content_hash`` (the typed fields staging reads, without
``meta``: a narrative or meta change re-evaluates nobody); only changed resources go through
the staging SQL. A change of the landed fields, the staging SQL or the bucketing makes a new
fingerprint, hence a fresh mirror (a full run).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.ingest.fields import RESOURCE_FIELDS, TYPE_FIELDS, duckdb_type
from pipelines.ingest.stage import MEDICATION_CODES, ROW_ORDER, SQL_DIR, TABLE_SQL
from pipelines.mirror.content_hash import content_hash_sql
from pipelines.mirror.kept_notes import keep_earlier_notes

BUCKETS = 65536  # patient hash buckets; a shard is a contiguous range of them
# md5_number(patient_id) % BUCKETS, taken with a mask (BUCKETS is a power of two): DuckDB's
# UHUGEINT modulo took 4.2 s over 3.2 million rows, the mask 0.2 s, for the same buckets.
BUCKET_EXPR = f"(md5_number(patient_id) & {BUCKETS - 1}::UHUGEINT)::UINTEGER"

# Staged shapes kept in the mirror, with patient buckets (their row order: `ROW_ORDER`).
STAGED_TABLES = tuple(t for t in ROW_ORDER if t != MEDICATION_CODES)
# Staged shapes without patients (lookups other rows name), kept whole and without buckets:
# every shard reads all of them (`pipelines.shards.read_shard`).
LOOKUP_TABLES = (MEDICATION_CODES,)

# Long texts kept with ZSTD instead of DuckDB 2.0's default string compression (dict_fsst): on
# the 246,734 notes of the 20,000-patient bench cohort, 1.1 s to write and 33 MB instead of 3.2 s
# and 319 MB, and read as fast (docs/performance.md). Other columns keep DuckDB's own choice.
ZSTD_COLUMNS: dict[str, tuple[str, ...]] = {"stg_note_attachment": ("data",)}

# The mirror's own layout; a new version makes a new fingerprint, hence a fresh mirror.
# 6: content_hash a 128-bit fingerprint; 7: MD5 in DuckDB (decision 003); 8: line keys MD5 in
# DuckDB, not XXH3-128 through polars (decision 007).
MIRROR_VERSION = 8


def fingerprint() -> str:
    """Changes whenever the landed field shapes change (the mirror is then rebuilt)."""
    shapes = f"mirror:{MIRROR_VERSION};"
    shapes += ";".join(f"{k}:{duckdb_type(v)}" for k, v in RESOURCE_FIELDS.items())
    shapes += ";".join(f"{t}:{','.join(f)}" for t, f in sorted(TYPE_FIELDS.items()))
    sql = "".join((SQL_DIR / name).read_text() for name in TABLE_SQL)
    return hashlib.sha256((shapes + sql + BUCKET_EXPR).encode()).hexdigest()[:12]


def mirror_path(workdir: Path, *, store_url: str) -> Path:
    """One mirror per store: what a store was told must match what its mirror holds.

    Stores sharing a work directory would otherwise share a mirror, and a later run could find
    "nothing changed" for a store that never saw the change. Sources are not part of the key: a
    nightly export lands in a new directory each night and is still the same population.
    """
    key = hashlib.sha256(store_url.encode()).hexdigest()[:12]
    return workdir / "mirror" / f"mirror-{key}-{fingerprint()}.duckdb"


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What one merge changed. Counts and patient ids only (no PHI)."""

    touched: tuple[str, ...]  # sorted patient ids with an added, changed or removed resource
    added: int
    changed: int
    removed: int
    unchanged: int
    patients: int  # patients in the mirror after the merge
    # Changed notes unread tonight whose earlier, read version was kept, by `UnreadReason`
    # value (`pipelines.mirror.kept_notes`).
    notes_kept: Mapping[str, int] = field(default_factory=dict)


def merge_staged(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    snapshot_types: Iterable[str] | None,
    deleted: Mapping[str, Iterable[str]] | None = None,
) -> ChangeSet:
    """Merge this run's ``stg_resource`` rows into the mirror at `path`.

    Args:
        con: the landing connection (``stg_resource``, ``stg_resource_outcome`` and
            ``unseen_known`` exist: `pipelines.ingest.stage.land_and_classify`, given the same
            `snapshot_types`, against this mirror).
        path: the mirror file (created when missing).
        snapshot_types: resource types this source holds in full (absent = deleted); None
            means every type (a file source).
        deleted: per type, ids the server reported deleted (delta pulls).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"ATTACH '{path}' AS mirror")
    try:
        con.execute(
            "CREATE TABLE IF NOT EXISTS mirror.resource (resourcetype VARCHAR, id VARCHAR, "
            "patient_id VARCHAR, content_hash UHUGEINT, line_hash UHUGEINT, line_len BIGINT, "
            "version_id VARCHAR, last_updated VARCHAR)"
        )
        con.execute(
            "CREATE TABLE IF NOT EXISTS mirror.ignored_line (line_hash UHUGEINT, line_len BIGINT, "
            "resourcetype VARCHAR, id VARCHAR, version_id VARCHAR, last_updated VARCHAR)"
        )
        _stage_keys(con, deleted or {})
        kept = keep_earlier_notes(con)
        touched, added, changed, removed = _plan(con)
        # Every staged resource new to the mirror (a first run): the changed set is all, no joins.
        ((incoming,),) = con.execute("SELECT count(*) FROM incoming_key").fetchall()
        all_new = changed == 0 and added == incoming and not kept
        _flatten_changed(con, all_new=all_new)
        _find_ignored_lines(con)
        # Every write to the mirror in one transaction: a run killed mid-merge leaves the
        # mirror as it was, so the next run sees the same changes (and known lines stay true).
        with _mirror_compression(con):
            con.execute("BEGIN TRANSACTION")
            try:
                _write(con, every_type_is_snapshot=snapshot_types is None, all_new=all_new)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            # DuckDB picks a compression when it writes blocks out, up to the checkpoint.
            con.execute("CHECKPOINT mirror")
        for table in [*STAGED_TABLES, *LOOKUP_TABLES]:
            con.execute(f"DROP TABLE {table}")
        total, patients = con.execute(
            "SELECT count(*), count(DISTINCT patient_id) FROM mirror.resource"
        ).fetchone() or (0, 0)
    finally:
        con.execute("DETACH mirror")
    unchanged = int(total) - added - changed
    return ChangeSet(touched, added, changed, removed, unchanged, int(patients), kept)


def _stage_keys(
    con: duckdb.DuckDBPyConnection,
    deleted: Mapping[str, Iterable[str]],
) -> None:
    # Parsed rows that staged, with their record's line key (NULL for .json/Bundle rows). Two
    # statements, one hash join each: with both joins in one, DuckDB held a hash table of every
    # outcome and one of every line key at once, and a full run of 40,000 patients ran out of
    # the 1 GB memory_limit.
    con.execute(
        "CREATE OR REPLACE TABLE staged_key AS SELECT s.src, s.src_pos, s.resourcetype, s.id, "  # noqa: S608
        f"s.patient_id, {content_hash_sql('s')} AS content_hash, "
        's.meta."versionId" AS version_id, s.meta."lastUpdated" AS last_updated '
        "FROM stg_resource AS s"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE incoming_key AS SELECT s.resourcetype, s.id, s.patient_id, "
        "s.content_hash, l.line_hash, l.line_len, s.version_id, s.last_updated "
        "FROM staged_key AS s LEFT JOIN raw_line AS l USING (src, src_pos)"
    )
    con.execute("DROP TABLE staged_key")
    # Removed: keys of snapshot types that did not stage this time, landed keys that no longer
    # stage (entered-in-error, quarantined, no patient, or lost to such a version) and keys the
    # server reported deleted. The first are the mirror's resources of snapshot types that no
    # landed record matched (``unseen_known``, `pipelines.ingest.known_lines`) and that were not
    # parsed and staged either; a known record that landed and lost its rank is among the second.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE removed_key AS SELECT u.resourcetype, u.id "
        "FROM unseen_known AS u ANTI JOIN incoming_key AS i USING (resourcetype, id)"
    )
    # Only ids with a row that did not stage can have lost: those (few) are looked up among the
    # staged rows, rather than every row anti-joined with a hash table of every staged id (0.5
    # to 0.65 s of a full run of the bench cohort).
    con.execute(
        "INSERT INTO removed_key WITH lost AS (SELECT DISTINCT resourcetype, id "
        "FROM stg_resource_outcome WHERE outcome <> 'staged' AND id IS NOT NULL) "
        "SELECT l.resourcetype, l.id FROM lost AS l ANTI JOIN (SELECT resourcetype, id "
        "FROM stg_resource_outcome WHERE outcome = 'staged' "
        "AND (resourcetype, id) IN (SELECT resourcetype, id FROM lost)) AS s "
        "USING (resourcetype, id)"
    )
    pairs = [(t, i) for t, ids in deleted.items() for i in ids]  # one statement, not one a row:
    con.execute(
        "INSERT INTO removed_key SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
        [[t for t, _ in pairs], [i for _, i in pairs]],
    )


def _plan(con: duckdb.DuckDBPyConnection) -> tuple[tuple[str, ...], int, int, int]:
    """Changed, gone and dropped keys (temp tables); touched patients, added, changed, removed."""
    # One join of the incoming keys with the mirror's finds both the changed resources and the
    # unchanged ones landed from other bytes (``relined``, `_update_line_keys`): most nights
    # have none of the latter, and their update then need not scan the mirror's keys again.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE matched_key AS SELECT i.resourcetype, i.id, i.patient_id, "
        "m.patient_id AS old_patient_id, m.id IS NULL AS is_new, "
        "m.id IS NOT NULL AND m.content_hash = i.content_hash AS relined FROM incoming_key AS i "
        "LEFT JOIN mirror.resource AS m USING (resourcetype, id) "
        "WHERE m.id IS NULL OR m.content_hash <> i.content_hash "
        "OR m.line_hash IS DISTINCT FROM i.line_hash OR m.line_len IS DISTINCT FROM i.line_len "
        "OR m.version_id IS DISTINCT FROM i.version_id "
        "OR m.last_updated IS DISTINCT FROM i.last_updated"
    )
    con.execute(
        "CREATE OR REPLACE TEMP VIEW changed_key AS SELECT * EXCLUDE (relined) FROM matched_key "
        "WHERE NOT relined"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE gone AS SELECT m.resourcetype, m.id, m.patient_id "
        "FROM mirror.resource AS m SEMI JOIN (SELECT DISTINCT * FROM removed_key) AS r "
        "USING (resourcetype, id)"
    )
    touched = tuple(
        r[0]
        for r in con.execute(
            "SELECT DISTINCT p FROM (SELECT patient_id AS p FROM changed_key UNION ALL "  # noqa: S608
            "SELECT old_patient_id FROM changed_key UNION ALL SELECT patient_id FROM gone"
            f"{_naming_changed_medications(con)}) WHERE p IS NOT NULL ORDER BY p"
        ).fetchall()
    )
    added, changed = con.execute(
        "SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new) FROM changed_key"
    ).fetchone() or (0, 0)
    removed = con.execute("SELECT count(*) FROM gone").fetchone()[0]  # type: ignore[index]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE dropped_key AS SELECT resourcetype, id, "
        "resourcetype || '/' || id AS source_ref FROM (SELECT resourcetype, id FROM changed_key "
        "WHERE NOT is_new UNION ALL SELECT resourcetype, id FROM gone)"
    )
    return touched, int(added), int(changed), int(removed)


def _naming_changed_medications(con: duckdb.DuckDBPyConnection) -> str:
    """A ``UNION ALL`` branch: the patients whose requests in the mirror name a Medication that
    changed or went (requests take its codings on reading, `pipelines.ingest.medication_refs`); ''
    on a mirror without requests yet."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE database_name = 'mirror' AND table_name = 'stg_medication'"
    ).fetchone()
    if not found or not found[0]:
        return ""
    return (
        " UNION ALL SELECT m.patient_id FROM mirror.stg_medication AS m "
        "WHERE m.medication_ref IN (SELECT 'Medication/' || id FROM changed_key "
        "WHERE resourcetype = 'Medication' UNION ALL SELECT 'Medication/' || id FROM gone "
        "WHERE resourcetype = 'Medication')"
    )


@contextmanager
def _mirror_compression(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The mirror's writes use DuckDB's own compression choice (and `ZSTD_COLUMNS`).

    The landing connection forces ZSTD on its scratch tables (`pipelines.cohort_run.prepare`);
    the setting is the database instance's, so it would otherwise reach the mirror too.
    """
    found = con.execute("SELECT current_setting('force_compression')").fetchone()
    before = str(found[0]) if found else "auto"
    con.execute("SET force_compression = 'auto'")
    try:
        yield
    finally:
        con.execute("SET force_compression = ?", [before])


def _create_mirror_table(
    con: duckdb.DuckDBPyConnection, table: str, *, bucketed: bool = True
) -> None:
    """``mirror.<table>``: this run's staged columns plus ``patient_bucket``, if missing."""
    bucket = f", {BUCKET_EXPR} AS patient_bucket" if bucketed else ""
    columns = con.execute(f"DESCRIBE SELECT *{bucket} FROM {table}").fetchall()  # noqa: S608
    zstd = ZSTD_COLUMNS.get(table, ())
    defs = ", ".join(
        f'"{name}" {kind}' + (" USING COMPRESSION zstd" if name in zstd else "")
        for name, kind, *_ in columns
    )
    con.execute(f"CREATE TABLE IF NOT EXISTS mirror.{table} ({defs})")


def _write(con: duckdb.DuckDBPyConnection, *, every_type_is_snapshot: bool, all_new: bool) -> None:
    """Apply the planned changes to the mirror (the caller holds the transaction).

    With `all_new` (every incoming resource is new to the mirror) all of them are inserted and
    none can be updated in place.
    """
    con.execute(
        "DELETE FROM mirror.resource AS m USING dropped_key AS d "
        "WHERE m.resourcetype = d.resourcetype AND m.id = d.id"
    )
    changed = "" if all_new else " SEMI JOIN changed_key USING (resourcetype, id)"
    con.execute(
        "INSERT INTO mirror.resource SELECT resourcetype, id, patient_id, content_hash, "  # noqa: S608
        f"line_hash, line_len, version_id, last_updated FROM incoming_key{changed}"
    )
    # Same content, other bytes (a meta update, a re-serialised record): keep the new line key
    # and meta, so the record is known next time and ranks by its current version.
    if not all_new:
        _update_line_keys(con)
    for table in STAGED_TABLES:
        _create_mirror_table(con, table)
        match = (
            "d.resourcetype = 'Patient' AND m.patient_id = d.id"
            if table == "stg_patient"
            else "m.source_ref = d.source_ref"
        )
        con.execute(f"DELETE FROM mirror.{table} AS m USING dropped_key AS d WHERE {match}")  # noqa: S608
        # The rows go to the mirror in bucket order; a shard sorts its own rows on reading.
        con.execute(
            f"INSERT INTO mirror.{table} SELECT *, {BUCKET_EXPR} AS b FROM {table} ORDER BY b"  # noqa: S608
        )
    for table in LOOKUP_TABLES:
        _create_mirror_table(con, table, bucketed=False)
        con.execute(
            f"DELETE FROM mirror.{table} AS m USING dropped_key AS d "  # noqa: S608
            "WHERE m.source_ref = d.source_ref"
        )
        con.execute(f"INSERT INTO mirror.{table} SELECT * FROM {table}")  # noqa: S608
    _remember_ignored_lines(con, every_type_is_snapshot=every_type_is_snapshot)


def _update_line_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Unchanged resources landed from other bytes (``matched_key.relined``, `_plan`): their
    line key and meta are this run's."""
    ((relined,),) = con.execute("SELECT count(*) FROM matched_key WHERE relined").fetchall()
    if not relined:
        return
    con.execute(
        "UPDATE mirror.resource AS m SET line_hash = i.line_hash, line_len = i.line_len, "
        "version_id = i.version_id, last_updated = i.last_updated FROM (SELECT * FROM "
        "incoming_key SEMI JOIN (SELECT resourcetype, id FROM matched_key WHERE relined) "
        "USING (resourcetype, id)) AS i WHERE m.resourcetype = i.resourcetype AND m.id = i.id"
    )


def _flatten_changed(con: duckdb.DuckDBPyConnection, *, all_new: bool) -> None:
    """Run the staging SQL over the changed resources only, into this run's ``stg_*`` tables.

    With `all_new` the changed resources are every parsed one that staged: the staging SQL reads
    ``stg_resource`` itself. Tables, not views read by `_write`'s sorted insert: as views, a full
    run of 40,000 patients failed on the 1 GB memory_limit (docs/performance.md, 37fef47)."""
    source = "SELECT * FROM stg_resource"
    if not all_new:
        # The changed rows' locations first (narrow): the view then probes this small table.
        con.execute(
            "CREATE OR REPLACE TABLE delta_pos AS SELECT o.src, o.src_pos, o.resourcetype "
            "FROM stg_resource_outcome AS o SEMI JOIN changed_key AS c USING (resourcetype, id) "
            "WHERE o.outcome = 'staged' AND NOT o.known"
        )
        source = (
            "SELECT res.* FROM stg_resource AS res SEMI JOIN delta_pos AS d "
            "ON res.src = d.src AND res.src_pos = d.src_pos AND res.resourceType = d.resourcetype"
        )
    con.execute(f"CREATE OR REPLACE TEMP VIEW stg_input AS {source}")
    for name in TABLE_SQL:
        con.execute((SQL_DIR / name).read_text())
    con.execute("DROP VIEW stg_input")
    con.execute("DROP TABLE IF EXISTS delta_pos")


def _find_ignored_lines(con: duckdb.DuckDBPyConnection) -> None:
    """This run's parsed resources of unstaged types that were ignored, with their line keys."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE new_ignored AS SELECT l.line_hash, l.line_len, "
        'o.resourcetype, o.id, r.meta."versionId" AS version_id, '
        'r.meta."lastUpdated" AS last_updated FROM stg_resource_outcome AS o '
        "JOIN raw_line AS l USING (src, src_pos) JOIN raw_resource AS r USING (src, src_pos) "
        "WHERE o.outcome = 'ignored' AND NOT o.known"
    )


def _remember_ignored_lines(
    con: duckdb.DuckDBPyConnection, *, every_type_is_snapshot: bool
) -> None:
    """Keep the line keys of this run's ignored resources (unstaged types), one per id.

    On a file snapshot, lines not landed this time are forgotten; on a delta pull they stay (a
    stale key only ever matches the same bytes, which would be ignored again).
    """
    con.execute(
        "DELETE FROM mirror.ignored_line AS m USING new_ignored AS n "
        "WHERE m.resourcetype = n.resourcetype AND m.id = n.id"
    )
    if every_type_is_snapshot:
        con.execute(
            "DELETE FROM mirror.ignored_line WHERE (line_hash, line_len) NOT IN "
            "(SELECT line_hash, line_len FROM raw_line WHERE known_type IS NOT NULL "
            "AND NOT known_staged)"
        )
    con.execute("INSERT INTO mirror.ignored_line SELECT * FROM new_ignored")
