"""Notes read on an earlier night are kept when tonight's copy of the same note gives no text.

A note resource (DocumentReference, DiagnosticReport) that arrives changed but whose attachments
could not be read tonight (its Binary answered 403, 404 or 5xx and only a ``url`` landed; a
format we do not read; bytes that do not decode) would otherwise replace the earlier, readable
version in the mirror: its mentions would vanish and the items they support would resolve, for
want of text the night never saw. Such a note keeps its earlier version (resource key, staged
rows and line key, as if it had not landed) when that version's attachments read; it is counted
by `UnreadReason`, shown in the run summary ("notes kept from an earlier night") and still counts
as unread for ``VASCREEN_MAX_UNREAD_NOTE_SHARE``. The next landing of the same bytes decides
again; a copy that reads replaces it. A DiagnosticReport's ``conclusion`` is not an attachment
here: a report whose presentedForm no longer reads keeps its earlier text too.

`keep_earlier_notes` runs inside `pipelines.mirror.merge.merge_staged`, after the incoming keys
are staged and before the merge plans its changes: it drops the kept notes from
``incoming_key``, which the plan, the flattening and the writes read.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.ingest.notes import decode_notes
from pipelines.ingest.stage import SQL_DIR

NOTE_TYPES = ("DocumentReference", "DiagnosticReport")


def keep_earlier_notes(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Drop from ``incoming_key`` the changed notes that give no text tonight while their
    mirror version did; returns how many were kept, by `UnreadReason` value.

    `con` has ``incoming_key`` and ``stg_resource``, and the mirror attached as ``mirror``.
    """
    if not _mirror_has_notes(con):
        return {}
    con.execute(
        "CREATE OR REPLACE TEMP TABLE note_candidate AS SELECT i.resourcetype, i.id, "
        "i.resourcetype || '/' || i.id AS source_ref FROM incoming_key AS i "
        "JOIN mirror.resource AS m USING (resourcetype, id) "
        "WHERE i.resourcetype IN ('DocumentReference', 'DiagnosticReport') "
        "AND m.content_hash <> i.content_hash"
    )
    try:
        ((candidates,),) = con.execute("SELECT count(*) FROM note_candidate").fetchall()
        if not candidates:
            return {}
        tonight = _tonight_attachments(con)
        earlier = _attachments(
            con.sql(
                "SELECT * EXCLUDE (patient_bucket) FROM mirror.stg_note_attachment "
                "WHERE source_ref IN (SELECT source_ref FROM note_candidate)"
            ).pl()
        )
        read_tonight = set(decode_notes(tonight).notes["source_ref"].to_list())
        read_before = set(decode_notes(earlier).notes["source_ref"].to_list())
        refs = con.execute("SELECT source_ref FROM note_candidate").fetchall()
        kept = sorted(r for (r,) in refs if r in read_before and r not in read_tonight)
        if not kept:
            return {}
        # One statement: ``executemany`` would scan incoming_key once per kept note.
        con.execute(
            "DELETE FROM incoming_key WHERE resourcetype || '/' || id IN "
            "(SELECT unnest(?::VARCHAR[]))",
            [kept],
        )
        return decode_notes(tonight.filter(pl.col("source_ref").is_in(kept))).unread
    finally:
        con.execute("DROP TABLE IF EXISTS note_candidate")


def _mirror_has_notes(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE database_name = 'mirror' AND table_name = 'stg_note_attachment'"
    ).fetchone()
    return bool(found and found[0])


def _tonight_attachments(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The candidates' ``stg_note_attachment`` rows as tonight's copies stage them: the staging
    SQL as it is, over a ``stg_input`` of the candidates (the merge redefines both after)."""
    con.execute(
        "CREATE OR REPLACE TEMP VIEW stg_input AS SELECT res.* "
        "FROM stg_resource AS res SEMI JOIN note_candidate USING (resourcetype, id)"
    )
    try:
        con.execute((SQL_DIR / "stg_note_attachment.sql").read_text())
        return _attachments(con.sql("SELECT * FROM stg_note_attachment").pl())
    finally:
        con.execute("DROP TABLE IF EXISTS stg_note_attachment")
        con.execute("DROP VIEW IF EXISTS stg_input")


def _attachments(frame: pl.DataFrame) -> pl.DataFrame:
    """Attachments only: a DiagnosticReport's conclusion (position 0) is not what was lost."""
    return frame.filter(pl.col("attachment_pos") > 0)
