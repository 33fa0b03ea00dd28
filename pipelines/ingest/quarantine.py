"""Sampled R4B validation and assembly of the QUARANTINE frame.

``validation_quarantine`` (src, src_pos, reason, detail) holds the sampled resources that
failed full R4B validation; ``sql/staging/stg_resource_outcome.sql`` excludes them from
staging. The QUARANTINE frame joins landing problems (unreadable lines and files, nested
Bundles) and the quarantined rows of ``stg_resource_outcome``, with NDJSON ordinals turned
into physical file:line locations.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import orjson
import polars as pl

from pipelines.fhir.files import SourceFiles, iter_nonblank_lines, read_lines_by_ordinal
from pipelines.fhir.validate import SAMPLE_CAP, SAMPLE_HEAD, SAMPLE_STRIDE, validate_json
from pipelines.ingest.fields import STAGED_TYPES
from pipelines.ingest.land import LandingProblem
from screens.model import QUARANTINE, QuarantineReason

MIN_READ_FOR_THRESHOLD = 20


def _sample_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, str]]:
    staged = ", ".join(f"'{t}'" for t in sorted(STAGED_TYPES))
    return con.execute(
        "SELECT src, src_pos, src_kind FROM ("  # noqa: S608
        "SELECT src, src_pos, src_kind, row_number() OVER "
        "(PARTITION BY resourceType ORDER BY src, src_pos) AS rn FROM raw_resource "
        f"WHERE resourceType IN ({staged})) "
        f"WHERE rn <= {SAMPLE_HEAD} OR rn % {SAMPLE_STRIDE} = 0 "
        f"QUALIFY row_number() OVER (PARTITION BY src_kind ORDER BY rn, src, src_pos) "
        f"<= {SAMPLE_CAP * len(STAGED_TYPES)} ORDER BY src, src_pos"
    ).fetchall()


def _raw_resources(
    source_dir: dict[str, Path], rows: list[tuple[str, int, str]]
) -> list[tuple[str, int, bytes | dict[str, Any]]]:
    by_file: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for src, pos, kind in rows:
        by_file[src].append((pos, kind))
    out: list[tuple[str, int, bytes | dict[str, Any]]] = []
    for src, items in by_file.items():
        path = source_dir[src]
        if items[0][1] == "ndjson":
            found = read_lines_by_ordinal(path, [pos for pos, _ in items])
            out += [(src, pos, raw) for pos, (_, raw) in found.items()]
            continue
        doc = orjson.loads(path.read_bytes())
        for pos, kind in items:
            if kind == "json":
                out.append((src, pos, doc))
            else:
                out.append((src, pos, doc["entry"][pos - 1]["resource"]))
    return out


def _kept_texts(
    con: duckdb.DuckDBPyConnection, rows: list[tuple[str, int, str]]
) -> dict[tuple[str, int], bytes]:
    """Sampled NDJSON records whose text landing kept in ``raw_line`` (the unknown records of a
    run with known lines): no need to re-read their files."""
    wanted = [(src, pos) for src, pos, kind in rows if kind == "ndjson"]
    if not wanted:
        return {}
    found = con.execute(
        "SELECT l.src, l.src_pos, l.line_text FROM raw_line AS l SEMI JOIN "
        "(SELECT unnest(?) AS src, unnest(?) AS src_pos) AS w USING (src, src_pos) "
        "WHERE l.line_text IS NOT NULL",
        [[w[0] for w in wanted], [w[1] for w in wanted]],
    ).fetchall()
    return {(src, pos): text.encode() for src, pos, text in found}


def sample_validation(con: duckdb.DuckDBPyConnection, files: SourceFiles) -> int:
    """Fully validate a deterministic sample of staged-type resources; return failures."""
    source_dir = {f.path.name: f.path for f in files.ndjson} | {p.name: p for p in files.json}
    rows = _sample_rows(con)
    kept = _kept_texts(con, rows)
    texts: list[tuple[str, int, bytes | dict[str, Any]]] = [
        (src, pos, kept[src, pos]) for src, pos, _ in rows if (src, pos) in kept
    ]
    texts += _raw_resources(source_dir, [r for r in rows if (r[0], r[1]) not in kept])
    failures: list[tuple[str, int, str, str]] = []
    for src, pos, raw in sorted(texts, key=lambda t: (t[0], t[1])):
        detail = validate_json(raw if isinstance(raw, bytes) else orjson.dumps(raw))
        if detail is not None:
            failures.append((src, pos, QuarantineReason.INVALID_RESOURCE.value, detail))
    con.execute(
        "CREATE OR REPLACE TABLE validation_quarantine "
        "(src VARCHAR, src_pos BIGINT, reason VARCHAR, detail VARCHAR)"
    )
    if failures:
        con.executemany("INSERT INTO validation_quarantine VALUES (?, ?, ?, ?)", failures)
    return len(failures)


def _line_numbers(path: Path, ordinals: set[int]) -> dict[int, int]:
    last = max(ordinals)
    found: dict[int, int] = {}
    for ordinal, line_no, _ in iter_nonblank_lines(path):
        if ordinal in ordinals:
            found[ordinal] = line_no
        if ordinal >= last:
            break
    return found


def build_quarantine(
    con: duckdb.DuckDBPyConnection, files: SourceFiles, problems: list[LandingProblem]
) -> pl.DataFrame:
    """One row per rejected line or resource (QUARANTINE schema), sorted for determinism."""
    rows = con.execute(
        "SELECT resourceType, id, src, src_pos, src_kind, quarantine_reason, quarantine_detail "
        "FROM stg_resource_outcome WHERE outcome = 'quarantined' ORDER BY src, src_pos"
    ).fetchall()
    ndjson_paths = {f.path.name: f.path for f in files.ndjson}
    wanted: dict[str, set[int]] = defaultdict(set)
    for _, _, src, pos, kind, _, _ in rows:
        if kind == "ndjson":
            wanted[src].add(pos)
    lines = {src: _line_numbers(ndjson_paths[src], ords) for src, ords in wanted.items()}
    records = [
        (p.resource_type, p.resource_id, p.source, p.reason.value, p.detail) for p in problems
    ]
    for rtype, rid, src, pos, kind, reason, detail in rows:
        if kind == "ndjson":
            where = f"{src}:{lines[src].get(pos, pos)}"
        elif kind == "bundle":
            where = f"{src}#entry={pos}"
        else:
            where = src
        records.append((rtype, rid, where, reason, detail))
    frame = pl.DataFrame(records, schema=QUARANTINE, orient="row")
    return frame.sort("source", "resource_type", "resource_id", nulls_last=True)
