"""Known lines: NDJSON records the mirror already holds are recognised by key, not parsed.

A nightly file snapshot is mostly last night's snapshot again. The mirror (`pipelines.mirror.merge`)
keeps, per staged resource, the key (MD5 and byte length) of the record it came from, and per
resource of an unstaged type (AllergyIntolerance, ...) the same in ``ignored_line``. Landing
(`pipelines.ingest.land`) keys every record into ``raw_line`` and parses only the records those
keys do not match.

A known record is the resource the mirror holds, byte for byte, so its outcome is the one it had:
staged (with the mirror's patient id) or ignored. The exception is an id that lands more than
once (a known record twice, or a known record and a parsed one): those known records go to
``known_resource`` with their meta, and the outcome SQL ranks them with the others, as a full
parse would. ``known_count`` counts the rest per type and outcome. The known records are
counted per mirror key: a key matched twice is a repeated line (ranked), a key matched by none
a resource this snapshot no longer holds (``unseen_known``; the merge removes it unless it was
parsed and staged). Sampled R4B validation samples the parsed records: a known record passed
the checks when it first landed, and content alone decides them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

from pipelines.ingest.land import KNOWN_LINE_DDL

PRIOR = "prior"  # the mirror, attached read-only while landing

# known_resource: known records to rank; known_count: the other known records, per outcome;
# unseen_known: the mirror's resources no known record matched, or without a line key (the
# merge removes those that did not land as parsed records either, `pipelines.mirror.merge`).
_KNOWN_DDL = (
    "CREATE OR REPLACE TEMP TABLE known_resource (src VARCHAR, src_pos BIGINT, "
    "resourcetype VARCHAR, id VARCHAR, version_id VARCHAR, last_updated VARCHAR, "
    "known_outcome VARCHAR); CREATE OR REPLACE TEMP TABLE known_count (resourcetype VARCHAR, "
    "outcome VARCHAR, n BIGINT); CREATE OR REPLACE TEMP TABLE unseen_known "
    "(resourcetype VARCHAR, id VARCHAR)"
)


def attach_prior(con: duckdb.DuckDBPyConnection, mirror: Path | None) -> bool:
    """Attach `mirror` read-only and fill ``known_line`` with its line keys; False if there is
    none (a first run, a new fingerprint): ``known_line`` is then empty."""
    con.execute("DROP TABLE IF EXISTS known_line")  # a new table: its rowids start at 0
    con.execute(KNOWN_LINE_DDL)
    if mirror is None or not mirror.exists():
        return False
    con.execute(f"ATTACH '{mirror}' AS {PRIOR} (READ_ONLY)")
    ((tables,),) = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? "
        "AND table_name IN ('resource', 'ignored_line')",
        [PRIOR],
    ).fetchall()
    if tables != 2:
        # A mirror whose first merge never finished: nothing in it can be trusted as known.
        con.execute(f"DETACH {PRIOR}")
        return False
    con.execute(
        f"INSERT INTO known_line SELECT line_hash, line_len, resourcetype "  # noqa: S608
        f"FROM {PRIOR}.resource WHERE line_hash IS NOT NULL UNION ALL "
        f"SELECT line_hash, line_len, resourcetype FROM {PRIOR}.ignored_line"
    )
    return True


def classify_known(
    con: duckdb.DuckDBPyConnection, *, attached: bool, snapshot_types: Iterable[str] | None = None
) -> None:
    """Fill ``known_resource`` (known records to rank), ``known_count`` (the other known
    records) and ``unseen_known`` (the mirror's resources no known record matched).

    Needs ``raw_line`` (with the mirror key each known record matched, ``known_row``) and
    ``raw_resource`` (landed) and, when `attached`, the prior mirror; detaches it afterwards.
    Without a prior mirror (a first run, or one whose first merge never committed) the mirror
    holds no resources, and ``unseen_known`` stays empty. Only resources of `snapshot_types`
    (None: every type) can be unseen: the others were not asked for (a delta pull).
    """
    con.execute(_KNOWN_DDL)
    if not attached:
        return
    try:
        # Known records to rank: the mirror's records whose id also landed as a parsed row (a
        # newer or older version, or the same resource from a Bundle), and those whose line
        # landed more than once. Resources to check for removal: those whose line did not land,
        # and those without a line key (from a .json file or a Bundle). One scan of each mirror
        # table finds them all, probing the keys seen other than once (`odd_key`: few).
        again = "(m.resourcetype, m.id) IN (SELECT resourcetype, id FROM raw_resource)"
        unseen = "(o.n = 0 OR m.line_hash IS NULL)"
        if snapshot_types is not None:
            con.execute("CREATE OR REPLACE TEMP TABLE snapshot_type (resourcetype VARCHAR)")
            types = sorted(set(snapshot_types))
            if types:
                con.executemany("INSERT INTO snapshot_type VALUES (?)", [[t] for t in types])
            unseen = f"({unseen} AND m.resourcetype IN (SELECT * FROM snapshot_type))"  # noqa: S608
        _count_known_rows(con, every_type=snapshot_types is None)
        odd = "LEFT JOIN odd_key AS o ON m.line_hash = o.line_hash AND m.line_len = o.line_len"
        con.execute(
            "CREATE OR REPLACE TEMP TABLE odd_known AS "  # noqa: S608
            "SELECT m.line_hash, m.line_len, m.resourcetype, m.id, m.version_id, m.last_updated, "
            f"'staged' AS known_outcome, coalesce(o.n, 1) AS n, {again} AS again, "
            f"coalesce({unseen}, false) AS unseen "
            f"FROM {PRIOR}.resource AS m {odd} "
            f"WHERE o.n > 1 OR {unseen} OR {again} UNION ALL "
            "SELECT m.line_hash, m.line_len, m.resourcetype, m.id, m.version_id, "
            f"m.last_updated, 'ignored', coalesce(o.n, 1), {again}, false "
            f"FROM {PRIOR}.ignored_line AS m {odd} WHERE o.n > 1 OR {again}"
        )
    finally:
        con.execute(f"DETACH {PRIOR}")
    con.execute("INSERT INTO unseen_known SELECT resourcetype, id FROM odd_known WHERE unseen")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE rank_key AS SELECT * FROM odd_known "
        "WHERE line_hash IS NOT NULL AND (again OR n > 1)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE rank_line AS "
        "SELECT DISTINCT line_hash, line_len FROM rank_key"
    )
    con.execute(
        "INSERT INTO known_resource SELECT l.src, l.src_pos, k.resourcetype, k.id, k.version_id, "
        "k.last_updated, k.known_outcome "
        "FROM rank_key AS k JOIN raw_line AS l USING (line_hash, line_len)"
    )
    con.execute(
        "INSERT INTO known_count SELECT known_type, "
        "CASE WHEN known_staged THEN 'staged' ELSE 'ignored' END, count(*) "
        "FROM raw_line ANTI JOIN rank_line USING (line_hash, line_len) "
        "WHERE known_type IS NOT NULL GROUP BY ALL"
    )
    for table in ("odd_key", "odd_known", "rank_line", "rank_key", "snapshot_type"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _count_known_rows(con: duckdb.DuckDBPyConnection, *, every_type: bool) -> None:
    """``odd_key`` (line_hash, line_len, n): the mirror's keys that this landing's records
    matched other than once (n = 0 or n > 1), counted by the ``known_line`` row each known
    record matched (``raw_line.known_row``). Keys matched by none (n = 0) only of snapshot
    types (``snapshot_type``, or `every_type`): a delta night keeps few keys (decision 009)."""
    unmatched = "true" if every_type else "k.resourcetype IN (SELECT * FROM snapshot_type)"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE odd_key AS SELECT k.line_hash, k.line_len, "  # noqa: S608
        "coalesce(c.n, 0) AS n FROM known_line AS k LEFT JOIN (SELECT known_row, count(*) AS n "
        "FROM raw_line WHERE known_row IS NOT NULL GROUP BY known_row) AS c "
        f"ON k.rowid = c.known_row WHERE c.n > 1 OR (c.n IS NULL AND {unmatched})"
    )


def landing_counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(NDJSON records seen, records parsed) of this landing: what known lines saved."""
    seen, known = con.execute("SELECT count(*), count(known_type) FROM raw_line").fetchone() or (
        0,
        0,
    )
    return int(seen), int(seen) - int(known)
