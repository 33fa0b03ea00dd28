"""Land FHIR files into DuckDB's ``raw_resource`` view: one row per line or Bundle entry.

Each NDJSON file is read by ``read_json`` with its type's narrow column schema
(`pipelines.ingest.fields`); a field absent or of an unexpected shape reads as NULL, and the
checks in ``sql/staging`` and the sampled R4B validation catch what matters. ``src`` (file
name) and ``src_pos`` (record ordinal, or Bundle entry index) locate a row. Lines DuckDB cannot
read become NULL rows, re-read in Python to quarantine them by file:line. A file parsed whole
goes to its own table, read on every thread in file order (`_ordered`).

Known lines (a run with a mirror, `pipelines.ingest.known_lines`): every NDJSON record is first
keyed in SQL (``md5_number`` and byte length of the text ``read_json_objects`` returns, which
numbers records as ``read_json`` does) into ``raw_line`` and looked up among the mirror's keys
(``known_line``): a known record is the resource the mirror holds, byte for byte, and is not
parsed. The unknown records' texts are taken by ordinal from a second scan, checked against
their keys, copied to a delta file and read with the same ``read_json`` options, so a record
lands or is rejected exactly as in a full parse. Above `DELTA_MAX_SHARE` unknown, or with
unreadable records, the file is parsed whole and filtered.

``.json`` files (single resources, Bundles of any type) are read as JSON values, unpacked and
transformed per type with ``json_transform``. A Bundle nested in a Bundle's entry is quarantined
as ``nested_bundle`` (nested Bundles occur in responses and messages, not data sources).
"""

from __future__ import annotations

import hashlib
import mmap
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson

from pipelines.errors import ScreeningError
from pipelines.fhir.files import (
    MAX_LINE_BYTES,
    NdjsonFile,
    SourceFiles,
    json_file_problem,
    locate_lines,
)
from pipelines.ingest.fields import (
    RESOURCE_FIELDS,
    STAGED_TYPES,
    columns_literal,
    duckdb_type,
    fields_for,
    json_fields,
    json_structure,
    renamed,
    sql_str,
)
from screens.model import QuarantineReason

# Above this share of unknown records, a file is parsed whole and filtered: copying most of it
# to a delta file would cost more than it saves.
DELTA_MAX_SHARE = 0.2

# The mirror's line keys (`pipelines.ingest.known_lines.attach_prior` fills it): a record with
# one of these hashes and lengths is the resource of that type the mirror holds (staged, or
# ignored if the type is not staged). A landed record keeps the rowid of the key it matched
# (``raw_line.known_row``), so the records can be counted per mirror key.
KNOWN_LINE_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS known_line "
    "(line_hash UHUGEINT, line_len BIGINT, resourcetype VARCHAR)"
)
# One row per NDJSON record: its key, the mirror type it is known as (NULL: parse it), and the
# text of an unknown record landed from a delta file (for the sampled validation; PHI, cleared
# by `clear_line_text`).
_RAW_LINE_DDL = (
    "CREATE OR REPLACE TEMP TABLE raw_line (src VARCHAR, src_pos BIGINT, line_hash UHUGEINT, "
    "line_len BIGINT, known_type VARCHAR, known_staged BOOLEAN, line_text VARCHAR, "
    "known_row BIGINT)"
)


@dataclass(frozen=True, slots=True)
class LandingProblem:
    resource_type: str
    resource_id: str | None
    source: str
    reason: QuarantineReason
    detail: str


def typed_scan(path: Path, file_type: str) -> str:
    """The landing's ``read_json`` of one NDJSON file (its type's narrow schema)."""
    # Unstaged types land with the base fields only: parsing other fields against the staged
    # shapes would only produce type mismatches (slow).
    return (
        f"read_json({sql_str(str(path))}, format = 'newline_delimited', "
        f"columns = {columns_literal(json_fields(fields_for(file_type)))}, "
        f"ignore_errors = true, maximum_object_size = {MAX_LINE_BYTES})"
    )


def _objects_scan(path: Path) -> str:
    return (
        f"read_json_objects({sql_str(str(path))}, format = 'newline_delimited', "
        f"ignore_errors = true, maximum_object_size = {MAX_LINE_BYTES})"
    )


def _ordered(con: duckdb.DuckDBPyConnection, statement: str) -> None:
    """Run a ``CREATE TABLE ... AS SELECT ... FROM <one file scan>`` keeping the file's order.

    With insertion order preserved, DuckDB still reads the file on every thread and writes the
    rows in file order, so a row's ``rowid + 1`` is its record ordinal. Only a plain scan and
    projection keep that order: no join may sit in `statement`.
    """
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(statement)
    finally:
        con.execute("SET preserve_insertion_order = false")


def _file_branch(table: str, f: NdjsonFile) -> str:
    """A whole-file table as ``raw_resource`` rows: its ordinal is its rowid + 1."""
    return (
        f"SELECT {sql_str(f.path.name)} AS src, rowid + 1 AS src_pos, 'ndjson' AS src_kind, "  # noqa: S608
        f"{sql_str(f.resource_type)} AS file_type, CAST(NULL AS VARCHAR) AS full_url, * "
        f"FROM {table}"
    )


def _land_whole(con: duckdb.DuckDBPyConnection, f: NdjsonFile, table: str) -> None:
    """Parse every record of `f` into `table`, in file order (`_ordered`)."""
    scan = typed_scan(f.path, f.resource_type)
    rename = renamed(f.resource_type)
    _ordered(con, f"CREATE OR REPLACE TABLE {table} AS SELECT *{rename} FROM {scan}")  # noqa: S608


def _key_lines(con: duckdb.DuckDBPyConnection, f: NdjsonFile) -> None:
    """Every record of `f` into ``raw_line``: ordinal, key, and the mirror key it matches.

    The key is the 128-bit MD5 and byte length of the record's text, computed by DuckDB on
    every thread (a fingerprint: DuckDB's ``hash()`` collides on near-identical records).

    Raises:
        ScreeningError: the mirror holds a line key twice (each of its rows has its own record,
            so only a damaged mirror can): the lookup would count records twice.
    """
    _ordered(
        con,
        "CREATE OR REPLACE TEMP TABLE line_file AS SELECT md5_number(json::VARCHAR) "  # noqa: S608
        f"AS line_hash, strlen(json::VARCHAR) AS line_len FROM {_objects_scan(f.path)}",
    )
    rtype = f.resource_type
    ((keyed,),) = con.execute("SELECT count(*) FROM line_file").fetchall()
    ((inserted,),) = con.execute(
        "INSERT INTO raw_line SELECT ?, l.rowid + 1, l.line_hash, l.line_len, "
        "CASE WHEN k.known_row IS NOT NULL THEN ? END, "
        "CASE WHEN k.known_row IS NOT NULL THEN ? END, NULL, k.known_row FROM line_file AS l "
        "LEFT JOIN (SELECT line_hash, line_len, rowid AS known_row FROM known_line "
        "WHERE resourcetype = ?) AS k USING (line_hash, line_len)",
        [f.path.name, rtype, rtype in STAGED_TYPES, rtype],
    ).fetchall()
    con.execute("DROP TABLE line_file")
    if inserted != keyed:
        raise ScreeningError(
            f"{rtype}: the mirror holds a line key more than once; delete the "
            "work directory's mirror/ to rebuild it"
        )


def _fetch_unknown_texts(con: duckdb.DuckDBPyConnection, f: NdjsonFile) -> None:
    """Keep in ``raw_line.line_text`` the text of `f`'s unknown records.

    Read at their byte offsets when the file allows it (`_texts_at_offsets`), else taken by
    ordinal from a second scan. A text is kept only if its key is its record's: one that is not
    (the file changed between the passes) is left out, and the file is then parsed whole.
    """
    if _texts_at_offsets(con, f):
        return
    con.execute(
        "UPDATE raw_line SET line_text = t.text FROM (SELECT o.ordinality AS src_pos, "  # noqa: S608
        f"o.json::VARCHAR AS text FROM {_objects_scan(f.path)} WITH ORDINALITY AS o "
        "WHERE o.ordinality IN (SELECT src_pos FROM raw_line WHERE src = $src "
        "AND known_type IS NULL)) AS t WHERE raw_line.src = $src "
        "AND raw_line.src_pos = t.src_pos AND raw_line.line_hash = md5_number(t.text) "
        "AND raw_line.line_len = strlen(t.text)",
        {"src": f.path.name},
    )


def _texts_at_offsets(con: duckdb.DuckDBPyConnection, f: NdjsonFile) -> bool:
    """The unknown records' texts of `f`, read where they start were every record one line
    ended by one newline (what a bulk export writes); False, with nothing kept, if any text
    read there is not its record's (another layout, a compressed file). Decision 008: the
    second scan's text took 5 s of a realistic night at 20,000 patients."""
    if f.path.suffix == ".gz":
        return False
    rows = con.execute(
        "SELECT src_pos, line_hash, line_len, start FROM (SELECT *, sum(line_len + 1) OVER "
        "(ORDER BY src_pos ROWS UNBOUNDED PRECEDING) - line_len - 1 AS start FROM raw_line "
        "WHERE src = ?) WHERE known_type IS NULL ORDER BY src_pos",
        [f.path.name],
    ).fetchall()
    texts: dict[int, str] = {}
    try:
        with f.path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            for pos, key, length, start in rows:
                raw = mm[start : start + length]
                if int.from_bytes(hashlib.md5(raw).digest(), "little") != key:  # noqa: S324
                    return False
                texts[pos] = raw.decode()
    except (OSError, ValueError):  # unreadable, empty, not UTF-8
        return False
    if texts:
        con.execute(
            "UPDATE raw_line SET line_text = t.text FROM (SELECT unnest($pos) AS src_pos, "
            "unnest($text) AS text) AS t WHERE raw_line.src = $src "
            "AND raw_line.src_pos = t.src_pos",
            {"pos": list(texts), "text": list(texts.values()), "src": f.path.name},
        )
    return True


def _land_ndjson(
    con: duckdb.DuckDBPyConnection, files: SourceFiles, *, track_lines: bool, scratch: Path
) -> tuple[list[str], list[LandingProblem]]:
    """Land the NDJSON files; return the ``raw_resource`` branches of whole-file tables."""
    if track_lines:
        for f in files.ndjson:
            _key_lines(con, f)
    stats = {
        src: (int(total), int(unknown), int(unreadable))
        for src, total, unknown, unreadable in con.execute(
            "SELECT src, count(*), count(*) FILTER (WHERE known_type IS NULL), "
            "count(*) FILTER (WHERE line_len IS NULL) FROM raw_line GROUP BY src"
        ).fetchall()
    }
    branches: list[str] = []
    for i, f in enumerate(files.ndjson):
        table = f"raw_file_{i}"
        total, unknown, unreadable = stats.get(f.path.name, (0, 0, 0))
        if not track_lines or unknown == total:
            _land_whole(con, f, table)
            branches.append(_file_branch(table, f))
            continue
        if unknown == 0:
            continue
        unknown_pos = (
            "SELECT src_pos FROM raw_line WHERE known_type IS NULL "  # noqa: S608
            f"AND src = {sql_str(f.path.name)}"
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
    return branches, _unreadable_lines(con, files, branches)


def _unreadable_lines(
    con: duckdb.DuckDBPyConnection, files: SourceFiles, branches: list[str]
) -> list[LandingProblem]:
    """The NDJSON records DuckDB could not read, located by file:line."""
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
    return [
        LandingProblem(by_name[src].resource_type, None, f"{src}:{p.line}", p.reason, p.detail)
        for src, ordinals in bad
        for p in locate_lines(by_name[src].path, ordinals)
    ]


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
    name = sql_str(f.path.name)
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
                f"TO {sql_str(str(delta))} (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', "
                "DELIMITER '\x01')"
            )
        except duckdb.Error:
            return False
        con.execute(
            f"INSERT INTO raw_parsed BY NAME SELECT {name} AS src, m.src_pos, "  # noqa: S608
            "'ndjson' AS src_kind, "
            f"{sql_str(f.resource_type)} AS file_type, CAST(NULL AS VARCHAR) AS full_url, "
            f"d.* EXCLUDE (ordinality){renamed(f.resource_type)} "
            f"FROM (SELECT * FROM {typed_scan(delta, f.resource_type)} "
            "WITH ORDINALITY) AS d JOIN (SELECT src_pos, row_number() OVER (ORDER BY src_pos) "
            f"AS delta_pos FROM ({unknown_pos})) AS m ON d.ordinality = m.delta_pos"
        )
        return True
    finally:
        delta.unlink(missing_ok=True)


def _json_scan(paths: list[Path]) -> str:
    files = "[" + ", ".join(sql_str(str(p)) for p in paths) + "]"
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
    files_list = "[" + ", ".join(sql_str(str(p)) for p in good) + "]"
    bundle_columns = columns_literal(
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
    staged = ", ".join(sql_str(t) for t in sorted(STAGED_TYPES))
    groups = [(t, f"= {sql_str(t)}") for t in sorted(STAGED_TYPES)]
    for rtype, cond in [*groups, (None, f"NOT IN ({staged})")]:
        fields = json_fields(fields_for(rtype))
        structure = sql_str(orjson.dumps(json_structure(fields)).decode())
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
            reason, detail = QuarantineReason.NOT_A_RESOURCE, "resourceType missing or not a string"
            rid = None
        else:
            reason, detail = (
                QuarantineReason.NESTED_BUNDLE,
                "Bundle inside a Bundle entry is not unpacked",
            )
        problems.append(LandingProblem("Bundle", rid, where, reason, detail))
    return problems


def land_source(
    con: duckdb.DuckDBPyConnection,
    files: SourceFiles,
    *,
    track_lines: bool = False,
    scratch: Path | None = None,
) -> list[LandingProblem]:
    """Create and fill ``raw_resource``; return the lines and files that could not be landed.

    ``raw_resource`` is a view: the whole-file tables (``raw_file_<n>``) and ``raw_parsed``
    (delta files, filtered files, ``.json`` files and Bundles). Unreadable rows are left out of
    it once reported, so every row has a resourceType. With `track_lines`, NDJSON records are
    keyed into ``raw_line`` and only those not in ``known_line`` are parsed (module docstring;
    the caller fills ``known_line`` first); delta files go to `scratch`. Without `track_lines`,
    ``raw_line`` is created empty.
    """
    con.execute("LOAD json")
    # Row order is carried by src/src_pos, so scans need not keep it (`_ordered` asks for it).
    con.execute("SET preserve_insertion_order = false")
    fields = ", ".join(f'"{k}" {duckdb_type(v)}' for k, v in RESOURCE_FIELDS.items())
    con.execute(
        "CREATE OR REPLACE TABLE raw_parsed (src VARCHAR, src_pos BIGINT, src_kind VARCHAR, "
        f"file_type VARCHAR, full_url VARCHAR, {fields})"
    )
    con.execute(_RAW_LINE_DDL)
    con.execute(KNOWN_LINE_DDL)
    problems: list[LandingProblem] = []
    branches: list[str] = []
    if files.ndjson:
        if track_lines and scratch is None:
            raise ValueError("track_lines needs a scratch directory for delta files")
        branches, problems = _land_ndjson(
            con, files, track_lines=track_lines, scratch=scratch or Path()
        )
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
