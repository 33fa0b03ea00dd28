"""Land FHIR files into DuckDB's ``raw_resource`` view: one row per line or Bundle entry.

Reading is DuckDB's ``read_json`` with an explicit, narrow column schema per resource type
(`TYPE_FIELDS`: the fields staging reads that the type has; `BASE_FIELDS` for unstaged types),
which extracts them while parsing and is several times faster than schema inference or Python
parsing (design.md, "Known traps"). ``raw_resource`` has the union of the columns
(`RESOURCE_FIELDS`); a type's other columns are NULL. Fields absent from a resource, or of
an unexpected JSON shape, read as NULL; the structural checks in ``sql/staging`` and the
sampled R4B validation in `pipelines.fhir.validate` catch what matters.

Grain of ``raw_resource``: one row per NDJSON line, per single-resource ``.json`` file and per
Bundle ``entry.resource``; ``src`` (file name) and ``src_pos`` (non-blank line ordinal, or
1-based entry index) locate it. Lines DuckDB could not read become NULL rows, which are
re-read in Python (only in the files that have them) to quarantine them by file:line.

NDJSON is the bulk path: a file parsed whole goes to its own table (``raw_file_<n>``), read on
every thread with insertion order kept, so a row's rowid + 1 is its record ordinal (`_ordered`;
``WITH ORDINALITY`` reads on one thread, half the speed on two cores). ``raw_resource`` is a
view over those tables and ``raw_parsed``, which holds what lands any other way (with
``src_pos`` stored). ``.json`` files (single resources, Bundles) take a slower path: read as
JSON values, unpacked, then transformed per type with ``json_transform``; fine for the Bundle
volumes seen (Synthea-style transaction Bundles), not tuned for health-system scale.

Known lines (a run with a mirror, `pipelines.ingest.known_lines`): every NDJSON record's text is
keyed
first (XXH3-128 and length of the text ``read_json_objects`` returns, which numbers records
exactly as ``read_json`` does; a file laid out as a bulk export is keyed from its bytes, whose
lines are those records, `pipelines.ingest.line_keys.export_keys`; any other has its texts streamed
to
polars in file order and hashed there), into ``raw_line`` (src, src_pos, line_hash, line_len).
A record whose key the mirror already holds (table ``known_line``) is not parsed: ``raw_line``
says what it is. The bytes of the files are keyed on a thread of their own
(`pipelines.ingest.line_keys.KeysAhead`), largest type first, while the landing's connection loads
the mirror's keys and looks up each type's keys as soon as its files are keyed: the walk and
DuckDB's statements overlap. Only the other records land: their texts are read at their byte
offsets (a file of one record per line) or taken by ordinal from a second streamed scan, each
checked against its key, copied byte for byte to a small delta file and read with the same
``read_json`` options; or, when more than `DELTA_MAX_SHARE` of a file is unknown or it has
unreadable records, the whole file is parsed and filtered by ordinal. Either way a record lands
or is rejected exactly as in a full parse, at its own file ordinal.

Bundles of any type are unpacked (transaction, collection, searchset, batch, document, ...).
Entries without a resource (e.g. batch GET requests) are skipped. A Bundle nested inside a
Bundle's entry is quarantined as ``nested_bundle`` rather than unpacked: nested Bundles only
occur in responses and messages, which are not a data source.
"""

from __future__ import annotations

import logging
import mmap
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson
import polars as pl

from pipelines.errors import ScreeningError
from pipelines.fhir.files import (
    MAX_LINE_BYTES,
    NdjsonFile,
    SourceFiles,
    json_file_problem,
    locate_lines,
)
from pipelines.ingest.line_keys import U64, KeysAhead, NotExport, line_keys
from screens.model import QuarantineReason

log = logging.getLogger("vascreen")

# A field shape: a DuckDB scalar type name, a dict (JSON object) or a one-item list (array).
Shape = str | dict[str, "Shape"] | list["Shape"]

_CODING: Shape = {"system": "VARCHAR", "code": "VARCHAR", "display": "VARCHAR"}
_CC: Shape = {"coding": [_CODING], "text": "VARCHAR"}
_QTY: Shape = {
    # Text, cast at staging: a string such as "1e-999" must not silently become 0
    # (pipelines.value_checks quarantines what is not a finite, plausible decimal).
    "value": "VARCHAR",
    "unit": "VARCHAR",
    "system": "VARCHAR",
    "code": "VARCHAR",
    "comparator": "VARCHAR",
}
_ATT: Shape = {"contentType": "VARCHAR", "data": "VARCHAR", "url": "VARCHAR", "size": "BIGINT"}
_PERIOD: Shape = {"start": "VARCHAR"}
_PERIOD_BOTH: Shape = {"start": "VARCHAR", "end": "VARCHAR"}
_REF: Shape = {"reference": "VARCHAR", "display": "VARCHAR"}
# A body site with the extensions that carry a laterality qualifier (Condition, Procedure).
_SITE: Shape = {
    "coding": [_CODING],
    "text": "VARCHAR",
    "extension": [{"url": "VARCHAR", "valueCodeableConcept": _CC}],
}

# Fields every resource lands with, whatever its type (counts, dedupe, entered-in-error).
BASE_FIELDS: dict[str, Shape] = {
    "resourceType": "VARCHAR",
    "id": "VARCHAR",
    "meta": {"versionId": "VARCHAR", "lastUpdated": "VARCHAR"},
    "status": "VARCHAR",
}

# Union of the fields staging reads, across staged types. Names shared between staged types
# have the same FHIR shape in each of them (e.g. `code` is a CodeableConcept in all).
RESOURCE_FIELDS: dict[str, Shape] = {
    **BASE_FIELDS,
    "docStatus": "VARCHAR",
    "subject": {"reference": "VARCHAR", "display": "VARCHAR"},
    "birthDate": "VARCHAR",
    "gender": "VARCHAR",
    # Patient identity for the review app only (store, never logs): name and identifiers.
    "name": [{"use": "VARCHAR", "text": "VARCHAR", "family": "VARCHAR", "given": ["VARCHAR"]}],
    "identifier": [{"use": "VARCHAR", "system": "VARCHAR", "value": "VARCHAR", "type": _CC}],
    "code": _CC,
    "clinicalStatus": _CC,
    "verificationStatus": _CC,
    "onsetDateTime": "VARCHAR",
    "onsetPeriod": _PERIOD,
    "recordedDate": "VARCHAR",
    "effectiveDateTime": "VARCHAR",
    "effectivePeriod": _PERIOD,
    "effectiveInstant": "VARCHAR",
    "issued": "VARCHAR",
    "valueQuantity": _QTY,
    "valueString": "VARCHAR",
    "valueCodeableConcept": _CC,
    "bodySite": _CC,  # Observation.bodySite (0..1)
    "component": [
        {"code": _CC, "valueQuantity": _QTY, "valueString": "VARCHAR", "valueCodeableConcept": _CC}
    ],
    "performedDateTime": "VARCHAR",
    "performedPeriod": _PERIOD,
    "medicationCodeableConcept": _CC,
    "authoredOn": "VARCHAR",
    "type": _CC,  # DocumentReference.type
    "date": "VARCHAR",
    "context": {"period": _PERIOD},
    "content": [{"attachment": _ATT}],
    "presentedForm": [_ATT],
    "conclusion": "VARCHAR",
    "period": _PERIOD_BOTH,  # Encounter.period
    "encounter": _REF,  # Condition, Observation, Procedure, MedicationRequest
    "bodySites": [_SITE],  # Condition.bodySite, Procedure.bodySite (0..*; JSON key `JSON_KEYS`)
    "abatementDateTime": "VARCHAR",
    "abatementPeriod": _PERIOD_BOTH,
    "abatementString": "VARCHAR",
    "medicationReference": _REF,
    # Contained resources, as far as a contained Medication goes (MedicationRequest).
    "contained": [{"resourceType": "VARCHAR", "id": "VARCHAR", "code": _CC}],
}

# Landed columns named apart from their JSON key: staged types that share a key with different
# shapes (Condition.bodySite and Procedure.bodySite are arrays, Observation.bodySite is one).
JSON_KEYS: dict[str, str] = {"bodySites": "bodySite"}

# Per staged type, the fields of `RESOURCE_FIELDS` that type has in R4 and staging reads: each
# file is read with this narrow schema (design.md, "Known traps": explicit narrow columns=), the
# other columns of ``raw_resource`` stay NULL for its rows.
_TYPE_FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "Patient": ("birthDate", "gender", "name", "identifier"),
    "Condition": (
        "subject",
        "code",
        "clinicalStatus",
        "verificationStatus",
        "onsetDateTime",
        "onsetPeriod",
        "recordedDate",
        "encounter",
        "bodySites",
        "abatementDateTime",
        "abatementPeriod",
        "abatementString",
    ),
    "Observation": (
        "subject",
        "code",
        "effectiveDateTime",
        "effectivePeriod",
        "effectiveInstant",
        "issued",
        "valueQuantity",
        "valueString",
        "valueCodeableConcept",
        "bodySite",
        "component",
        "encounter",
    ),
    "Procedure": (
        "subject",
        "code",
        "performedDateTime",
        "performedPeriod",
        "encounter",
        "bodySites",
    ),
    "MedicationRequest": (
        "subject",
        "medicationCodeableConcept",
        "authoredOn",
        "encounter",
        "medicationReference",
        "contained",
    ),
    "DocumentReference": ("docStatus", "subject", "type", "date", "context", "content"),
    "DiagnosticReport": (
        "subject",
        "code",
        "effectiveDateTime",
        "effectivePeriod",
        "issued",
        "presentedForm",
        "conclusion",
    ),
    "Encounter": ("subject", "period"),
    # No patient: a lookup that MedicationRequest.medicationReference resolves against.
    "Medication": ("code",),
}
TYPE_FIELDS: dict[str, dict[str, Shape]] = {
    t: {**BASE_FIELDS, **{k: RESOURCE_FIELDS[k] for k in names}}
    for t, names in _TYPE_FIELD_NAMES.items()
}
STAGED_TYPES = frozenset(TYPE_FIELDS)


def fields_for(resource_type: str | None) -> dict[str, Shape]:
    """The landed schema of one resource type: its staged fields, or the base fields only."""
    return TYPE_FIELDS.get(resource_type or "", BASE_FIELDS)


def json_fields(fields: dict[str, Shape]) -> dict[str, Shape]:
    """`fields` keyed by their JSON keys, as ``read_json`` and ``json_transform`` take them."""
    return {JSON_KEYS.get(k, k): v for k, v in fields.items()}


def renamed(resource_type: str | None) -> str:
    """The ``RENAME`` clause that gives a scan of `resource_type` its landed column names."""
    pairs = [f'"{JSON_KEYS[k]}" AS "{k}"' for k in fields_for(resource_type) if k in JSON_KEYS]
    return f" RENAME ({', '.join(pairs)})" if pairs else ""


def duckdb_type(shape: Shape) -> str:
    """Render a field shape as a DuckDB type, e.g. ``STRUCT(code VARCHAR)[]``."""
    if isinstance(shape, str):
        return shape
    if isinstance(shape, list):
        return duckdb_type(shape[0]) + "[]"
    return "STRUCT(" + ", ".join(f'"{k}" {duckdb_type(v)}' for k, v in shape.items()) + ")"


def _json_structure(shape: Shape) -> object:
    if isinstance(shape, str):
        return shape
    if isinstance(shape, list):
        return [_json_structure(shape[0])]
    return {k: _json_structure(v) for k, v in shape.items()}


@dataclass(frozen=True, slots=True)
class LandingProblem:
    resource_type: str
    resource_id: str | None
    source: str
    reason: QuarantineReason
    detail: str


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _columns_literal(fields: dict[str, Shape]) -> str:
    return (
        "{"
        + ", ".join(f"{_sql_str(k)}: {_sql_str(duckdb_type(v))}" for k, v in fields.items())
        + "}"
    )


def typed_scan(path: Path, file_type: str) -> str:
    """The landing's ``read_json`` of one NDJSON file (its type's narrow schema)."""
    # Each type lands with its own narrow schema; unstaged types with the base fields only:
    # parsing other fields against the staged shapes would only produce type mismatches (slow).
    return (
        f"read_json({_sql_str(str(path))}, format = 'newline_delimited', "
        f"columns = {_columns_literal(json_fields(fields_for(file_type)))}, "
        f"ignore_errors = true, maximum_object_size = {MAX_LINE_BYTES})"
    )


def _objects_scan(path: Path) -> str:
    return (
        f"read_json_objects({_sql_str(str(path))}, format = 'newline_delimited', "
        f"ignore_errors = true, maximum_object_size = {MAX_LINE_BYTES})"
    )


def _ordered(con: duckdb.DuckDBPyConnection, statement: str) -> None:
    """Run a ``CREATE TABLE ... AS SELECT ... FROM <one file scan>`` keeping the file's order.

    With insertion order preserved, DuckDB still reads the file on every thread and writes the
    rows in file order, so a row's ``rowid + 1`` is its record ordinal (the numbering ``WITH
    ORDINALITY`` gives, which instead reads on one thread: half the speed on two cores). Only a
    plain scan and projection keep that order: no join may sit in `statement`.
    """
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(statement)
    finally:
        con.execute("SET preserve_insertion_order = false")


def _file_branch(table: str, f: NdjsonFile) -> str:
    """A whole-file table as ``raw_resource`` rows: its ordinal is its rowid + 1."""
    return (
        f"SELECT {_sql_str(f.path.name)} AS src, rowid + 1 AS src_pos, 'ndjson' AS src_kind, "  # noqa: S608
        f"{_sql_str(f.resource_type)} AS file_type, CAST(NULL AS VARCHAR) AS full_url, * "
        f"FROM {table}"
    )


def _land_whole(con: duckdb.DuckDBPyConnection, f: NdjsonFile, table: str) -> None:
    """Parse every record of `f` into `table`, in file order (`_ordered`)."""
    scan = typed_scan(f.path, f.resource_type)
    rename = renamed(f.resource_type)
    _ordered(con, f"CREATE OR REPLACE TABLE {table} AS SELECT *{rename} FROM {scan}")  # noqa: S608


def _land_ndjson(
    con: duckdb.DuckDBPyConnection,
    files: SourceFiles,
    *,
    track_lines: bool,
    scratch: Path,
    memo_dir: Path | None,
    load_known: Callable[[], None] | None,
) -> tuple[list[str], list[LandingProblem]]:
    """Land the NDJSON files; return the ``raw_resource`` branches of whole-file tables."""
    if track_lines:
        branches = _land_unknown_lines(con, files, scratch, memo_dir, load_known)
    else:
        branches = []
        for i, f in enumerate(files.ndjson):
            _land_whole(con, f, f"raw_file_{i}")
            branches.append(_file_branch(f"raw_file_{i}", f))
    landed = " UNION ALL ".join(
        [
            *(f"SELECT src, src_pos, resourceType FROM ({b})" for b in branches),  # noqa: S608
            "SELECT src, src_pos, resourceType FROM raw_parsed WHERE src_kind = 'ndjson'",
        ]
    )
    bad = con.execute(
        f"SELECT src, list(src_pos ORDER BY src_pos) FROM ({landed}) "  # noqa: S608
        "WHERE resourceType IS NULL GROUP BY src ORDER BY src"
    ).fetchall()
    by_name = {f.path.name: f for f in files.ndjson}
    problems: list[LandingProblem] = []
    for src, ordinals in bad:
        ndjson_file = by_name[src]
        for p in locate_lines(ndjson_file.path, ordinals):
            problems.append(
                LandingProblem(
                    ndjson_file.resource_type, None, f"{src}:{p.line}", p.reason, p.detail
                )
            )
    return branches, problems


# Above this share of unknown records, a file is parsed whole and filtered: copying most of it
# to a delta file would cost more than it saves.
DELTA_MAX_SHARE = 0.2


# The mirror's line keys (`pipelines.ingest.known_lines.load_known_lines` fills it): a record with
# one of
# these hashes and lengths is the resource of that type the mirror holds (staged, or ignored if
# the type is not staged). Filled by one insert, so its rowids number its keys 0..n-1: a landed
# record keeps the rowid of the key it matched (``raw_line.known_row``), and the records are
# counted per key by that number (`pipelines.ingest.known_lines.classify_known`).
KNOWN_LINE_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS known_line "
    "(line_hash UHUGEINT, line_len BIGINT, resourcetype VARCHAR)"
)


# Records per Arrow batch when streaming a file's record texts out of DuckDB to key them
# (about 45 MB of the bench cohort's Observation text).
_KEY_BATCH = 1 << 16
# Keyed rows gathered before they are written to DuckDB: memory follows this, not the file.
_KEY_FLUSH_ROWS = 1 << 20
# Keyed rows the keying thread may hold ahead of the landing
# (`pipelines.ingest.line_keys.KeysAhead`,
# about 32 bytes each).
_KEYS_AHEAD = 2 * _KEY_FLUSH_ROWS
# A line key as DuckDB holds it, from the two 64-bit halves Arrow can carry, and back.
_KEY_SQL = "(key_hi::UHUGEINT << 64) | key_lo::UHUGEINT"
_KEY_HALVES_SQL = (
    f"(line_hash >> 64)::UBIGINT AS key_hi, (line_hash & {U64 - 1}::UHUGEINT)::UBIGINT AS key_lo"
)


def _records(con: duckdb.DuckDBPyConnection, path: Path) -> Iterator[pl.DataFrame]:
    """The records of `path` as ``read_json_objects`` numbers them, in file order, streamed.

    Each batch has ``src_pos`` (the record ordinal, as ``WITH ORDINALITY`` gives it) and
    ``line`` (the record text, NULL when DuckDB cannot read it). The scan runs on a cursor of
    its own with insertion order kept for its session only, on every thread: DuckDB hands the
    batches over in file order (tests/pipelines/test_land_order.py checks it against ``WITH
    ORDINALITY``), and `con` stays free for writes between batches.
    """
    cursor = con.cursor()
    try:
        cursor.execute("SET SESSION preserve_insertion_order = true")
        reader = cursor.sql(
            f"SELECT json::VARCHAR AS line FROM {_objects_scan(path)}"  # noqa: S608
        ).to_arrow_reader(_KEY_BATCH)
        start = 1
        for batch in reader:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield frame.with_row_index("src_pos", offset=start).with_columns(
                pl.col("src_pos").cast(pl.Int64)
            )
            start += frame.height
    finally:
        cursor.close()


def _insert_frames(
    con: duckdb.DuckDBPyConnection,
    table: str,
    select: str,
    frames: Iterable[pl.DataFrame],
    *,
    flush_rows: int,
) -> None:
    """``INSERT INTO table SELECT <select> FROM`` the frames, stacked about `flush_rows` rows
    at a time: memory follows `flush_rows`, not the stream."""
    pending: list[pl.DataFrame] = []
    rows = 0
    for frame in frames:
        pending.append(frame)
        rows += frame.height
        if rows >= flush_rows:
            _insert_stacked(con, table, select, pending)
            rows = 0
    _insert_stacked(con, table, select, pending)


def _insert_stacked(
    con: duckdb.DuckDBPyConnection, table: str, select: str, frames: list[pl.DataFrame]
) -> None:
    """``INSERT INTO table SELECT <select> FROM`` the frames, stacked; empties `frames`."""
    if not frames:
        return
    stacked = pl.concat(frames)
    frames.clear()
    con.register("frame_batch", stacked)
    try:
        con.execute(f"INSERT INTO {table} SELECT {select} FROM frame_batch")  # noqa: S608
    finally:
        con.unregister("frame_batch")


def _key_file(con: duckdb.DuckDBPyConnection, f: NdjsonFile, table: str, ahead: KeysAhead) -> None:
    """Every record of `f` into `table` (src_pos, line_hash, line_len): its ordinal and key.

    A file laid out as a bulk export writes it is keyed from its bytes (`ahead`, on a thread of
    its own: `pipelines.ingest.line_keys.export_keys`, 3 times faster); any other (compressed, CRLF,
    blank or padded lines, a control byte, a line that is no single object) from DuckDB's
    ``read_json_objects``, its texts streamed to polars (`_records`). The keys are the same.
    With a memo directory, an export file's keys are read back from the memo of the last file
    of its name where its bytes recur, and remembered for the next run
    (`pipelines.ingest.line_memo`).
    """
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} "
        "(src_pos BIGINT, line_hash UHUGEINT, line_len BIGINT)"
    )
    select = f"src_pos, {_KEY_SQL}, line_len"
    try:
        _insert_frames(con, table, select, ahead.frames(f.path), flush_rows=_KEY_FLUSH_ROWS)
        return
    except NotExport as why:
        # Slower (about 3 times): say so, a run that suddenly takes longer is then explained.
        log.info("%s: not laid out as an export (%s), keyed from DuckDB's stream", f.path.name, why)
        con.execute(f"DELETE FROM {table}")  # noqa: S608
    keys = (line_keys(texts) for texts in _records(con, f.path))
    _insert_frames(con, table, select, keys, flush_rows=_KEY_FLUSH_ROWS)


def _hash_lines(
    con: duckdb.DuckDBPyConnection,
    resource_type: str,
    files: list[tuple[int, NdjsonFile]],
    ahead: KeysAhead,
) -> None:
    """One type's files: each record's line key into ``raw_line``, and whether it is known.

    Each file is keyed in file order (`_key_file`, no lookup in that pass); then one statement
    looks every key up among the mirror's keys of that type (one hash table built on them,
    probed by all the type's records) and keeps the matched mirror row (``known_row``). A
    record of another type in the file is simply parsed. Texts are fetched afterwards, for
    unknown records only (`_fetch_unknown_texts`). While the statement runs, `ahead` keys the
    next type's files.

    Raises:
        ScreeningError: the mirror holds a line key twice (each of its rows has its own record,
            so only a damaged mirror can): the lookup would count records twice.
    """
    for i, f in files:
        _key_file(con, f, f"line_file_{i}", ahead)
    rtype = _sql_str(resource_type)
    staged = "true" if resource_type in STAGED_TYPES else "false"
    scans = " UNION ALL ".join(
        f"SELECT {_sql_str(f.path.name)} AS src, src_pos, line_hash, line_len "  # noqa: S608
        f"FROM line_file_{i}"
        for i, f in files
    )
    ((keyed,),) = con.execute(f"SELECT count(*) FROM ({scans})").fetchall()  # noqa: S608
    ((inserted,),) = con.execute(
        "INSERT INTO raw_line SELECT l.src, l.src_pos, l.line_hash, l.line_len, "  # noqa: S608
        f"CASE WHEN k.known_row IS NOT NULL THEN {rtype} END, "
        f"CASE WHEN k.known_row IS NOT NULL THEN {staged} END, NULL, k.known_row "
        f"FROM ({scans}) AS l LEFT JOIN (SELECT line_hash, line_len, rowid AS known_row "
        f"FROM known_line WHERE resourcetype = {rtype}) AS k USING (line_hash, line_len)"
    ).fetchall()
    if inserted != keyed:
        raise ScreeningError(
            f"{resource_type}: the mirror holds a line key more than once; delete the "
            "work directory's mirror/ to rebuild it"
        )
    for i, _ in files:
        con.execute(f"DROP TABLE line_file_{i}")


def _fetch_unknown_texts(con: duckdb.DuckDBPyConnection, f: NdjsonFile) -> None:
    """Keep in ``raw_line.line_text`` the text of `f`'s unknown records.

    Read at their byte offsets when the file allows it (`_read_at_offsets`), else taken by
    ordinal from a second streamed scan of the file (`_records`, every thread). Either way a
    text is kept only if its key is its record's: one that is not (the file changed between the
    passes) is left out, and the file is then parsed whole (`_land_delta`).
    """
    if _read_at_offsets(con, f):
        return
    name = _sql_str(f.path.name)
    wanted = pl.from_arrow(
        con.sql(
            f"SELECT src_pos FROM raw_line WHERE src = {name} "  # noqa: S608
            "AND known_type IS NULL AND line_len IS NOT NULL"
        ).to_arrow_table()
    )
    assert isinstance(wanted, pl.DataFrame)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE unknown_text "
        "(src_pos BIGINT, line_hash UHUGEINT, line_len BIGINT, line_text VARCHAR)"
    )
    kept = (texts.join(wanted, on="src_pos", how="semi") for texts in _records(con, f.path))
    _insert_frames(
        con,
        "unknown_text",
        f"src_pos, {_KEY_SQL}, line_len, line_text",
        (line_keys(k).with_columns(line_text=k["line"]) for k in kept if k.height),
        flush_rows=_KEY_FLUSH_ROWS // 16,  # texts, not keys: flushed sooner
    )
    con.execute(
        "UPDATE raw_line SET line_text = t.line_text FROM unknown_text AS t "  # noqa: S608
        f"WHERE raw_line.src = {name} AND raw_line.known_type IS NULL "
        "AND raw_line.src_pos = t.src_pos AND raw_line.line_hash = t.line_hash "
        "AND raw_line.line_len = t.line_len"
    )
    con.execute("DROP TABLE unknown_text")


def _read_at_offsets(con: duckdb.DuckDBPyConnection, f: NdjsonFile) -> bool:
    """Keep the unknown records' texts of `f`, read at their byte offsets; False if it cannot.

    In a file of one record per line, each followed by one newline (what a bulk export writes:
    no blank, padded or CRLF lines), record k starts after the lengths of records 1..k-1 plus
    their newlines. The texts read there are kept only if each one's key and length are its
    record's, so a file laid out otherwise is never misread: any mismatch returns False with
    nothing kept, and the caller scans instead. Compressed files are always scanned.
    """
    if f.path.suffix == ".gz":
        return False
    src = f.path.name
    offsets = _unknown_offsets(con, src)
    if offsets is None:
        return False
    unknown = pl.from_arrow(
        con.sql(
            f"SELECT src_pos, {_KEY_HALVES_SQL}, line_len FROM raw_line "  # noqa: S608
            "WHERE src = ? AND known_type IS NULL ORDER BY src_pos",
            params=[src],
        ).to_arrow_table()
    )
    assert isinstance(unknown, pl.DataFrame)
    texts: list[str] = []
    try:
        with f.path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            for length, start in zip(unknown["line_len"], offsets, strict=True):
                texts.append(mm[start : start + length].decode("utf-8"))
    except (OSError, ValueError):  # unreadable, changed or not UTF-8: scan instead
        return False
    fetched = unknown.select("src_pos").with_columns(line=pl.Series(texts, dtype=pl.String))
    read_keys = line_keys(fetched)
    if not read_keys.select(["key_hi", "key_lo", "line_len"]).equals(
        unknown.select(["key_hi", "key_lo", "line_len"])
    ):
        return False  # laid out otherwise: some text read there is not its record's
    con.register("fetched_text", fetched.rename({"line": "line_text"}))
    try:
        con.execute(
            "UPDATE raw_line SET line_text = t.line_text FROM fetched_text AS t "
            "WHERE raw_line.src = ? AND raw_line.src_pos = t.src_pos",
            [src],
        )
    finally:
        con.unregister("fetched_text")
    return True


# Rows of ``raw_line`` per batch when summing record lengths into offsets.
_OFFSET_BATCH = 1 << 20


def _unknown_offsets(con: duckdb.DuckDBPyConnection, src: str) -> list[int] | None:
    """Byte offset of each unknown record of `src` (in ordinal order), were each record one
    line; None if the file has an unreadable record. Streams the lengths in ordinal order, so
    memory follows the batch, not the file."""
    reader = con.sql(
        "SELECT src_pos, line_len, known_type IS NULL AS unknown FROM raw_line "  # noqa: S608
        f"WHERE src = {_sql_str(src)} ORDER BY src_pos"
    ).to_arrow_reader(_OFFSET_BATCH)
    offsets: list[int] = []
    start = 0  # of the batch's first record
    ordinal = 1
    try:
        for batch in reader:
            rows = pl.DataFrame(batch)
            step = rows["line_len"] + 1
            if step.null_count() or rows["src_pos"][0] != ordinal:
                return None
            ordinal += rows.height
            if rows["src_pos"][-1] != ordinal - 1:
                return None  # ordinals are unique per file: first and last fix the run
            starts = step.cum_sum() - step + start
            offsets += starts.filter(rows["unknown"]).to_list()
            start += int(step.sum())
    finally:
        reader.close()
    return offsets


def _land_unknown_lines(
    con: duckdb.DuckDBPyConnection,
    files: SourceFiles,
    scratch: Path,
    memo_dir: Path | None,
    load_known: Callable[[], None] | None,
) -> list[str]:
    """Hash every record into ``raw_line``; parse only unknown ones; return whole-file branches.

    A record is known when ``known_line`` (the mirror's line keys; empty on a first run) has
    its hash and length. An unreadable record (NULL key) is never known. A file with no known
    record lands whole (its own table, a ``raw_resource`` branch); one with few unknown records
    lands them from a delta file, one with many from the whole file, filtered; both into
    ``raw_parsed``. `load_known` (if given) fills ``known_line`` while the first file is keyed.
    """
    con.execute(KNOWN_LINE_DDL)
    by_type: dict[str, list[tuple[int, NdjsonFile]]] = {}
    for i, f in enumerate(files.ndjson):
        by_type.setdefault(f.resource_type, []).append((i, f))
    # The largest type first: each type's lookup runs while the next types are keyed, and
    # only the last (smallest) one's is left to wait for.
    order = sorted(
        by_type.items(), key=lambda kv: (-sum(f.path.stat().st_size for _, f in kv[1]), kv[0])
    )
    paths = [f.path for _, same_type in order for _, f in same_type]
    ((threads,),) = con.execute("SELECT current_setting('threads')::INTEGER").fetchall()
    with KeysAhead(paths, threads=threads, memo_dir=memo_dir, max_rows=_KEYS_AHEAD) as ahead:
        if load_known is not None:
            load_known()
        for resource_type, same_type in order:
            _hash_lines(con, resource_type, same_type, ahead)
    stats = {
        src: (int(total), int(unknown), int(unreadable))
        for src, total, unknown, unreadable in con.execute(
            "SELECT src, count(*), count(*) FILTER (WHERE known_type IS NULL), "
            "count(*) FILTER (WHERE line_len IS NULL) FROM raw_line GROUP BY src"
        ).fetchall()
    }
    branches: list[str] = []
    for i, f in enumerate(files.ndjson):
        total, unknown, unreadable = stats.get(f.path.name, (0, 0, 0))
        if unknown == 0:
            continue
        table = f"raw_file_{i}"
        if unknown == total:
            _land_whole(con, f, table)
            branches.append(_file_branch(table, f))
            continue
        unknown_pos = (
            "SELECT src_pos FROM raw_line WHERE known_type IS NULL "  # noqa: S608
            f"AND src = {_sql_str(f.path.name)}"
        )
        if unreadable == 0 and unknown <= DELTA_MAX_SHARE * total:
            _fetch_unknown_texts(con, f)
            if _land_delta(con, f, unknown, unknown_pos, scratch):
                continue
        _land_whole(con, f, table)
        con.execute(
            f"INSERT INTO raw_parsed BY NAME SELECT * FROM ({_file_branch(table, f)}) "  # noqa: S608
            f"WHERE src_pos IN ({unknown_pos})"
        )
        con.execute(f"DROP TABLE {table}")
    return branches


def clear_line_text(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the kept record texts once validation has read them (they hold PHI)."""
    con.execute("UPDATE raw_line SET line_text = NULL WHERE line_text IS NOT NULL")


def _land_delta(
    con: duckdb.DuckDBPyConnection, f: NdjsonFile, unknown: int, unknown_pos: str, scratch: Path
) -> bool:
    """Write the unknown records of `f` to a delta file and land them at their own ordinals.

    The copy is each record's text as read, one per line, so ``read_json`` parses it as it
    would in the whole file. False (nothing landed) if a text is missing (the file changed
    while it was read) or DuckDB cannot write the copy.
    """
    name = _sql_str(f.path.name)
    found = con.execute(
        f"SELECT count(line_text) FROM raw_line WHERE src = {name} AND known_type IS NULL"  # noqa: S608
    ).fetchone()
    if not found or found[0] != unknown:
        return False
    scratch.mkdir(parents=True, exist_ok=True)
    delta = scratch / f"delta-{f.path.name.removesuffix('.gz')}"
    try:
        try:
            con.execute(
                f"COPY (SELECT line_text FROM raw_line WHERE src = {name} "  # noqa: S608
                "AND known_type IS NULL ORDER BY src_pos) "
                f"TO {_sql_str(str(delta))} (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', "
                "DELIMITER '\x01')"
            )
        except duckdb.Error:
            return False
        con.execute(
            f"INSERT INTO raw_parsed BY NAME SELECT {name} AS src, m.src_pos, "  # noqa: S608
            "'ndjson' AS src_kind, "
            f"{_sql_str(f.resource_type)} AS file_type, CAST(NULL AS VARCHAR) AS full_url, "
            f"d.* EXCLUDE (ordinality){renamed(f.resource_type)} "
            f"FROM (SELECT * FROM {typed_scan(delta, f.resource_type)} "
            "WITH ORDINALITY) AS d JOIN (SELECT src_pos, row_number() OVER (ORDER BY src_pos) "
            f"AS delta_pos FROM ({unknown_pos})) AS m ON d.ordinality = m.delta_pos"
        )
        return True
    finally:
        delta.unlink(missing_ok=True)


def _json_scan(paths: list[Path]) -> str:
    files = "[" + ", ".join(_sql_str(str(p)) for p in paths) + "]"
    return (
        f"read_json_objects({files}, format = 'unstructured', filename = true, "
        f"maximum_object_size = {MAX_LINE_BYTES})"
    )


def _readable_json_files(
    con: duckdb.DuckDBPyConnection, paths: list[Path]
) -> tuple[list[Path], list[LandingProblem]]:
    """Find the .json files DuckDB can parse; one bad file must not sink the others."""
    try:
        con.execute(f"SELECT count(*) FROM {_json_scan(paths)}").fetchall()  # noqa: S608
    except duckdb.Error:
        pass  # DuckDB's message quotes file content; re-check file by file instead.
    else:
        return paths, []
    good: list[Path] = []
    problems: list[LandingProblem] = []
    for path in paths:
        try:
            con.execute(f"SELECT count(*) FROM {_json_scan([path])}").fetchall()  # noqa: S608
            good.append(path)
        except duckdb.Error:
            reason, detail = json_file_problem(path)
            problems.append(LandingProblem("Bundle", None, f"{path.name}:1", reason, detail))
    return good, problems


def _land_json(con: duckdb.DuckDBPyConnection, files: SourceFiles) -> list[LandingProblem]:
    """Land single-resource and Bundle ``.json`` files via JSON values, then typed fields.

    Resources are kept as JSON until their type is known, so only staged types are
    transformed against the staged field shapes (`json_transform` is lenient: a field of an
    unexpected shape becomes NULL).
    """
    good, problems = _readable_json_files(con, list(files.json))
    if not good:
        return problems
    files_list = "[" + ", ".join(_sql_str(str(p)) for p in good) + "]"
    bundle_columns = _columns_literal(
        {"resourceType": "VARCHAR", "entry": [{"fullUrl": "VARCHAR", "resource": "JSON"}]}
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE json_resource AS "  # noqa: S608
        "SELECT parse_filename(filename) AS src, 1::BIGINT AS src_pos, 'json' AS src_kind, "
        f"NULL::VARCHAR AS full_url, json AS resource FROM {_json_scan(good)} "
        "WHERE (json ->> 'resourceType') IS DISTINCT FROM 'Bundle' "
        "UNION ALL "
        "SELECT src, src_pos, 'bundle' AS src_kind, e.fullUrl, e.resource FROM ("
        "SELECT parse_filename(filename) AS src, generate_subscripts(entry, 1) AS src_pos, "
        f"unnest(entry) AS e FROM read_json({files_list}, format = 'unstructured', "
        f"columns = {bundle_columns}, filename = true, ignore_errors = true, "
        f"maximum_object_size = {MAX_LINE_BYTES}) WHERE resourceType = 'Bundle') "
        "WHERE e.resource IS NOT NULL"
    )
    staged = ", ".join(_sql_str(t) for t in sorted(STAGED_TYPES))
    groups = [(t, f"= {_sql_str(t)}") for t in sorted(STAGED_TYPES)]
    for rtype, cond in [*groups, (None, f"NOT IN ({staged})")]:
        fields = json_fields(fields_for(rtype))
        structure = _sql_str(orjson.dumps(_json_structure(fields)).decode())
        con.execute(
            f"INSERT INTO raw_parsed BY NAME SELECT *{renamed(rtype)} FROM ("  # noqa: S608
            "SELECT src, src_pos, src_kind, NULL AS file_type, full_url, "
            f"unnest(json_transform(resource, {structure})) FROM json_resource "
            f"WHERE coalesce((resource ->> 'resourceType'), '') {cond})"
        )
    con.execute("DROP TABLE json_resource")
    rows = con.execute(
        "SELECT src, src_kind, resourceType, id, src_pos FROM raw_parsed "
        "WHERE src_kind <> 'ndjson' AND (resourceType IS NULL OR "
        "(src_kind = 'bundle' AND resourceType = 'Bundle')) ORDER BY src, src_pos"
    ).fetchall()
    for src, kind, rtype, rid, pos in rows:
        where = f"{src}#entry={pos}" if kind == "bundle" else f"{src}:1"
        if rtype is None:
            problems.append(
                LandingProblem(
                    "Bundle",
                    None,
                    where,
                    QuarantineReason.NOT_A_RESOURCE,
                    "resourceType missing or not a string",
                )
            )
        else:
            problems.append(
                LandingProblem(
                    "Bundle",
                    rid,
                    where,
                    QuarantineReason.NESTED_BUNDLE,
                    "Bundle inside a Bundle entry is not unpacked",
                )
            )
    return problems


def land_source(
    con: duckdb.DuckDBPyConnection,
    files: SourceFiles,
    *,
    track_lines: bool = False,
    scratch: Path | None = None,
    line_memo: Path | None = None,
    load_known: Callable[[], None] | None = None,
) -> list[LandingProblem]:
    """Create and fill ``raw_resource``; return the lines and files that could not be landed.

    ``raw_resource`` is a view: the whole-file tables (``raw_file_<n>``, one per NDJSON file
    parsed whole, its ordinal the rowid + 1) and ``raw_parsed`` (records landed any other way:
    delta files, filtered files, ``.json`` files and Bundles). Unreadable rows are left out of
    it once reported, so every row has a resourceType. With `track_lines`, NDJSON records are
    hashed into ``raw_line`` and only those not in ``known_line`` are parsed (module docstring);
    delta files go to `scratch`, and an export file's line keys are remembered in `line_memo`
    (a directory; `pipelines.ingest.line_memo`), so that the next run reads back those of its
    unchanged stretches; `load_known` fills ``known_line`` (`pipelines.ingest.known_lines`) while
    the first file is keyed. ``raw_line.line_text`` keeps the text of records landed from a delta
    file for the sampled validation; the caller clears it (`clear_line_text`). Without
    `track_lines`, ``raw_line`` is created empty.
    """
    con.execute("LOAD json")
    # Row order is carried by src/src_pos, so scans need not keep it (`_ordered` asks for it).
    con.execute("SET preserve_insertion_order = false")
    fields = ", ".join(f'"{k}" {duckdb_type(v)}' for k, v in RESOURCE_FIELDS.items())
    con.execute(
        "CREATE OR REPLACE TABLE raw_parsed (src VARCHAR, src_pos BIGINT, src_kind VARCHAR, "
        f"file_type VARCHAR, full_url VARCHAR, {fields})"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE raw_line (src VARCHAR, src_pos BIGINT, "
        "line_hash UHUGEINT, line_len BIGINT, known_type VARCHAR, "
        "known_staged BOOLEAN, line_text VARCHAR, known_row BIGINT)"
    )
    problems: list[LandingProblem] = []
    branches: list[str] = []
    if files.ndjson:
        if track_lines and scratch is None:
            raise ValueError("track_lines needs a scratch directory for delta files")
        branches, found = _land_ndjson(
            con,
            files,
            track_lines=track_lines,
            scratch=scratch or Path(),
            memo_dir=line_memo,
            load_known=load_known,
        )
        problems += found
    if files.json:
        problems += _land_json(con, files)
    # Transaction Bundles may POST resources without an id; their fullUrl names them, and
    # references inside the Bundle use that same fullUrl ('urn:uuid:<id>' or '.../Type/<id>').
    con.execute(
        "UPDATE raw_parsed SET id = coalesce(nullif(regexp_extract(full_url, "
        "'^urn:uuid:(.+)$', 1), ''), nullif(regexp_extract(full_url, '/' || resourceType || "
        "'/([^/]+)$', 1), '')) WHERE src_kind = 'bundle' AND nullif(trim(id), '') IS NULL"
    )
    con.execute(
        "DELETE FROM raw_parsed WHERE resourceType IS NULL "
        "OR (src_kind = 'bundle' AND resourceType = 'Bundle')"
    )
    # raw_parsed first: the view has its (every landed field's) column order.
    whole = "".join(
        f" UNION ALL BY NAME SELECT * FROM ({b}) WHERE resourceType IS NOT NULL"  # noqa: S608
        for b in branches
    )
    con.execute(f"CREATE OR REPLACE VIEW raw_resource AS SELECT * FROM raw_parsed{whole}")  # noqa: S608
    return problems
