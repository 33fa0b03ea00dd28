"""Known lines: NDJSON records the mirror already holds are recognised by hash, not parsed.

A nightly file snapshot is mostly last night's snapshot again. The mirror (`pipelines.mirror`)
keeps, per staged resource, the hash and length of the record it came from, and per resource of
an unstaged type (Encounter, ...) the same in ``ignored_line``. Landing (`pipelines.land`)
hashes every record into ``raw_line`` and parses only the records those keys do not match.

A known record is the resource the mirror holds, byte for byte, so its outcome is the one it had:
staged (with the mirror's patient id) or ignored. The exception is an id that lands more than
once (a known record twice, or a known record and a parsed one): those known records go to
``known_resource`` with their meta, and the outcome SQL ranks them with the others, as a full
parse would. ``known_count`` counts the rest per type and outcome.

The line key is the XXH3-128 (128 bits) of the record text plus its length
(`pipelines.line_keys.line_keys`): a changed record is missed only if its 128-bit hash equals an
unchanged one's. DuckDB's own 64-bit ``hash`` is no fingerprint (near-identical records
collide: `pipelines.land`), which mirror version 4 replaced with MD5, and version 5 with
XXH3-128 (MD5 in DuckDB took 2 to 3 times the scan of the same files).
Sampled R4B validation (`pipelines.quarantine.sample_validation`) samples
the parsed records: a known record passed the checks when it first landed, and content alone
decides them.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.land import KNOWN_LINE_DDL

PRIOR = "prior"  # the mirror, attached read-only while landing

KNOWN_RESOURCE_DDL = (
    "CREATE OR REPLACE TEMP TABLE known_resource (src VARCHAR, src_pos BIGINT, "
    "resourcetype VARCHAR, id VARCHAR, version_id VARCHAR, last_updated VARCHAR, "
    "patient_id VARCHAR, known_outcome VARCHAR)"
)
KNOWN_COUNT_DDL = (
    "CREATE OR REPLACE TEMP TABLE known_count (resourcetype VARCHAR, outcome VARCHAR, n BIGINT)"
)


def _has_line_tables(con: duckdb.DuckDBPyConnection) -> bool:
    names = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [PRIOR]
        ).fetchall()
    }
    return {"resource", "ignored_line"} <= names


def attach_prior(con: duckdb.DuckDBPyConnection, mirror: Path | None) -> bool:
    """Attach `mirror` read-only and load its line keys into ``known_line``; False if none.

    ``known_line`` is created empty when there is no mirror (a first run, a new fingerprint).
    """
    con.execute(KNOWN_LINE_DDL)
    con.execute("DELETE FROM known_line")
    if mirror is None or not mirror.exists():
        return False
    con.execute(f"ATTACH '{mirror}' AS {PRIOR} (READ_ONLY)")
    if not _has_line_tables(con):
        # A mirror whose first merge never finished: nothing in it can be trusted as known.
        con.execute(f"DETACH {PRIOR}")
        return False
    con.execute(
        f"INSERT INTO known_line SELECT line_hash, line_len, resourcetype "  # noqa: S608
        f"FROM {PRIOR}.resource WHERE line_hash IS NOT NULL UNION ALL "
        f"SELECT line_hash, line_len, resourcetype FROM {PRIOR}.ignored_line"
    )
    return True


def classify_known(con: duckdb.DuckDBPyConnection, *, attached: bool) -> None:
    """Fill ``known_resource`` (known records to rank) and ``known_count`` (the others).

    Needs ``raw_line`` and ``raw_resource`` (landed) and, when `attached`, the prior mirror;
    detaches it afterwards.
    """
    con.execute(KNOWN_RESOURCE_DDL)
    con.execute(KNOWN_COUNT_DDL)
    if not attached:
        return
    try:
        # Known records to rank: the mirror's records whose id also landed as a parsed row (a
        # newer or older version, or the same resource from a Bundle), and those whose line
        # landed more than once. One scan of each mirror table looks both up (the second set
        # is usually empty, and so cheap to probe).
        con.execute(
            "CREATE OR REPLACE TEMP TABLE dup_line AS SELECT line_hash, line_len FROM raw_line "
            "WHERE known_type IS NOT NULL GROUP BY line_hash, line_len HAVING count(*) > 1"
        )
        wanted = (
            "((m.resourcetype, m.id) IN (SELECT resourcetype, id FROM raw_resource) "
            "OR (m.line_hash, m.line_len) IN (SELECT line_hash, line_len FROM dup_line))"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE rank_key AS "  # noqa: S608
            "SELECT m.line_hash, m.line_len, m.resourcetype, m.id, m.version_id, m.last_updated, "
            f"m.patient_id, 'staged' AS known_outcome FROM {PRIOR}.resource AS m "
            f"WHERE m.line_hash IS NOT NULL AND {wanted} UNION ALL "
            "SELECT m.line_hash, m.line_len, m.resourcetype, m.id, m.version_id, "
            f"m.last_updated, NULL, 'ignored' FROM {PRIOR}.ignored_line AS m WHERE {wanted}"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE rank_line AS "
            "SELECT DISTINCT line_hash, line_len FROM rank_key"
        )
    finally:
        con.execute(f"DETACH {PRIOR}")
    con.execute(
        "INSERT INTO known_resource SELECT l.src, l.src_pos, k.resourcetype, k.id, k.version_id, "
        "k.last_updated, k.patient_id, k.known_outcome "
        "FROM rank_key AS k JOIN raw_line AS l USING (line_hash, line_len)"
    )
    con.execute(
        "INSERT INTO known_count SELECT known_type, "
        "CASE WHEN known_staged THEN 'staged' ELSE 'ignored' END, count(*) "
        "FROM raw_line ANTI JOIN rank_line USING (line_hash, line_len) "
        "WHERE known_type IS NOT NULL GROUP BY ALL"
    )
    for table in ("dup_line", "rank_line", "rank_key"):
        con.execute(f"DROP TABLE {table}")


def landing_counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(NDJSON records seen, records parsed) of this landing: what known lines saved."""
    seen, known = con.execute("SELECT count(*), count(known_type) FROM raw_line").fetchone() or (
        0,
        0,
    )
    return int(seen), int(seen) - int(known)
