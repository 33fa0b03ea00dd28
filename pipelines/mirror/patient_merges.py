"""Merged patients: Patient.link kept in the mirror, resolved once, applied where shards read.

The one place merges happen. After a night's merge (`pipelines.mirror.merge.merge_staged`),
`update_merges` reads the links of the Patient records in that night's files (``Patient.link``
is not a landed field, `pipelines.ingest.land`: links are read here, from the Patient files),
keeps them in ``mirror.patient_link`` (one row per Patient x link, for patients
in ``mirror.stg_patient``), resolves them (`pipelines.mirror.patient_links.resolve_merges`) and
writes ``mirror.patient_merge`` (one row per replaced patient: its final survivor and the
survivor's hash bucket). A delta that brings one changed Patient updates that Patient's links
only; the mirror remembers the rest.

The mirror's staged rows keep the ids the source gave them. A shard reads a replaced patient's
rows with the survivor's (`remapped_rows`): under the survivor's id, in the survivor's shard,
and the replaced patient's own Patient row is not read, so it is never screened on its own.
Its worklist items resolve as merged (`pipelines.store.publish`). Ids and counts only: no PHI.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import orjson
import polars as pl

from pipelines.fhir.files import SourceFiles
from pipelines.mirror.merge import BUCKET_EXPR
from pipelines.mirror.patient_links import PatientLink, links_of, resolve_merges
from screens.schedule import NEXT_CHANGE

log = logging.getLogger("vascreen")

LINKS = "patient_link"
MERGES = "patient_merge"
_SURVIVOR_BUCKET = BUCKET_EXPR.replace("patient_id", "survivor_id")


@dataclass(frozen=True, slots=True)
class MergeReport:
    """What one night's merge resolution found. Ids and counts only."""

    survivor: Mapping[str, str] = field(default_factory=dict)  # replaced id -> surviving id
    problems: Mapping[str, int] = field(default_factory=dict)  # links left as is, by reason
    changed: tuple[str, ...] = ()  # patients whose merge state changed tonight (both sides)

    def unscheduled(self, schedule: pl.DataFrame) -> pl.DataFrame:
        """`schedule` (`screens.schedule.NEXT_CHANGE`) plus a never-due row per replaced
        patient: it is not evaluated on its own, so no date of its own may bring it back."""
        if not self.survivor:
            return schedule
        replaced = sorted(self.survivor)
        # An empty night's schedule can come back with untyped (Null) columns: typed first.
        schedule = schedule.cast(NEXT_CHANGE)  # type: ignore[arg-type]
        never_due = pl.DataFrame({"patient_id": replaced, "next_change": None}, schema=NEXT_CHANGE)
        return pl.concat([schedule.filter(~pl.col("patient_id").is_in(replaced)), never_due])

    def widen(self, patients: Iterable[str]) -> tuple[str, ...]:
        """`patients` plus the survivors of the replaced ones among them, sorted."""
        ids = set(patients)
        return tuple(sorted(ids | {self.survivor[p] for p in ids if p in self.survivor}))


def update_merges(con: duckdb.DuckDBPyConnection, mirror: Path, files: SourceFiles) -> MergeReport:
    """Keep tonight's Patient links in the mirror and resolve every merge it holds.

    `con` is the landing connection (``stg_resource``: tonight's parsed, staged rows); `files`
    the files it landed. A Patient record in them replaces that id's links; the links of other
    patients (a delta night) stay as the mirror has them.
    """
    parsed, links = _read_links(con, files)
    con.execute(f"ATTACH '{mirror}' AS mirror")
    try:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS mirror.{LINKS} "
            "(patient_id VARCHAR, other_id VARCHAR, link_type VARCHAR)"
        )
        con.execute(
            f"CREATE TABLE IF NOT EXISTS mirror.{MERGES} "
            "(patient_id VARCHAR, survivor_id VARCHAR, survivor_bucket UINTEGER)"
        )
        con.execute("BEGIN TRANSACTION")
        try:
            report = _store_and_resolve(con, parsed, links)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.execute("DETACH mirror")
    if report.survivor or report.problems:
        log.info(
            "merged patients: %d screened under their survivor; links left as is: %s",
            len(report.survivor),
            ", ".join(f"{k} {v}" for k, v in report.problems.items()) or "none",
        )
    return report


def _store_and_resolve(
    con: duckdb.DuckDBPyConnection, parsed: set[str], links: list[PatientLink]
) -> MergeReport:
    con.execute("CREATE OR REPLACE TEMP TABLE parsed_patient (patient_id VARCHAR)")
    _insert_columns(con, "parsed_patient", sorted(parsed))
    con.execute(f"DELETE FROM mirror.{LINKS} WHERE patient_id IN (SELECT * FROM parsed_patient)")  # noqa: S608
    _insert_columns(
        con,
        f"mirror.{LINKS}",
        [k.patient_id for k in links],
        [k.other_id for k in links],
        [k.link_type for k in links],
    )
    # Links of patients that left the mirror (deleted, entered in error) go with them.
    con.execute(
        f"DELETE FROM mirror.{LINKS} WHERE patient_id NOT IN "  # noqa: S608
        "(SELECT patient_id FROM mirror.stg_patient)"
    )
    con.execute("DROP TABLE parsed_patient")
    kept = [
        PatientLink(*row)
        for row in con.execute(
            f"SELECT patient_id, other_id, link_type FROM mirror.{LINKS} ORDER BY ALL"  # noqa: S608
        ).fetchall()
    ]
    named = sorted({k.patient_id for k in kept} | {k.other_id for k in kept})
    present: set[str] = set()
    if named:
        con.execute("CREATE OR REPLACE TEMP TABLE named_patient (patient_id VARCHAR)")
        _insert_columns(con, "named_patient", named)
        present = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT patient_id FROM mirror.stg_patient "
                "WHERE patient_id IN (SELECT * FROM named_patient)"
            ).fetchall()
        }
        con.execute("DROP TABLE named_patient")
    resolved = resolve_merges(kept, present)
    before = dict(
        con.execute(f"SELECT patient_id, survivor_id FROM mirror.{MERGES}").fetchall()  # noqa: S608
    )
    changed = {
        p
        for old in set(before) | set(resolved.survivor)
        if before.get(old) != resolved.survivor.get(old)
        for p in (old, before.get(old), resolved.survivor.get(old))
        if p is not None
    }
    if changed:
        con.execute(f"DELETE FROM mirror.{MERGES}")  # noqa: S608
        if resolved.survivor:
            pairs = sorted(resolved.survivor.items())
            _insert_columns(
                con, f"mirror.{MERGES}", [p[0] for p in pairs], [p[1] for p in pairs], None
            )
            con.execute(f"UPDATE mirror.{MERGES} SET survivor_bucket = {_SURVIVOR_BUCKET}")  # noqa: S608
    return MergeReport(dict(resolved.survivor), resolved.problem_counts(), tuple(sorted(changed)))


def _insert_columns(con: duckdb.DuckDBPyConnection, table: str, *columns: list[str] | None) -> None:
    """Insert rows given column by column (None: a NULL column) in one statement: DuckDB's
    ``executemany`` runs one statement per row (3.9 s for the 20,000 Patients of a bench night)."""
    if not any(columns):
        return
    values: list[list[str]] = []
    select = []
    for column in columns:
        if column is not None:
            values.append(column)
        select.append("NULL" if column is None else f"unnest(${len(values)}::VARCHAR[])")
    con.execute(f"INSERT INTO {table} SELECT {', '.join(select)}", values)


def _read_links(
    con: duckdb.DuckDBPyConnection, files: SourceFiles
) -> tuple[set[str], list[PatientLink]]:
    """Ids of the Patient records in tonight's files, and the links of each id's latest record.

    Every record of the Patient NDJSON files is read, whether or not landing parsed it (a
    record the mirror already held is not parsed: `pipelines.ingest.known_lines`), so a rerun
    after a crash, or a mirror older than this module, still learns every link its source
    holds. A ``.json`` file (single resources, Bundles) is always parsed by landing (no line
    keys): its Patients are in ``stg_resource``, and it is read again only when it names a link
    at all. A Patient line in an NDJSON file named for another type is found by its landing
    position. An id landed more than once keeps its latest record (``meta.lastUpdated``, then
    file order), as staging does.
    """
    placed = con.execute(
        "SELECT src, src_pos, id FROM stg_resource WHERE resourcetype = 'Patient'"
    ).fetchall()
    json_names = {p.name for p in files.json}
    staged_json = {pid for src, _, pid in placed if src in json_names}
    records: list[object] = []
    for f in files.ndjson:
        if f.resource_type == "Patient":
            records += _ndjson_records(f.path)
    for path in files.json:
        records += _json_records(path)
    records += _placed_patient_records(placed, files)
    latest: dict[str, dict[str, object]] = {}
    for record in records:
        if not isinstance(record, dict) or record.get("resourceType") != "Patient":
            continue
        pid = record.get("id")
        if not isinstance(pid, str):
            continue
        if pid not in latest or _updated(record) >= _updated(latest[pid]):
            latest[pid] = record
    links = [link for record in latest.values() for link in links_of(record)]
    return set(latest) | staged_json, links


def _updated(record: Mapping[str, object]) -> str:
    meta = record.get("meta")
    value = meta.get("lastUpdated") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else ""


def _placed_patient_records(placed: list[tuple[str, int, str]], files: SourceFiles) -> list[object]:
    """Patient records parsed tonight (`placed`: src, src_pos, id) from NDJSON files named for
    another type."""
    others = {f.path.name: f.path for f in files.ndjson if f.resource_type != "Patient"}
    wanted: dict[str, set[int]] = {}
    for src, pos, _ in placed:
        if src in others:
            wanted.setdefault(src, set()).add(int(pos))
    return [r for src, ordinals in wanted.items() for r in _ndjson_records(others[src], ordinals)]


def _ndjson_records(path: Path, ordinals: Set[int] | None = None) -> list[object]:
    """The records of an NDJSON file (only those at `ordinals`, non-blank lines from 1)."""
    out: list[object] = []
    ordinal = 0
    with path.open("rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            ordinal += 1
            if ordinals is None or ordinal in ordinals:
                try:
                    out.append(orjson.loads(line))
                except orjson.JSONDecodeError:  # quarantined by landing; nothing to link
                    continue
    return out


def _json_records(path: Path) -> list[object]:
    data = path.read_bytes()
    if b'"link"' not in data:  # no Patient in it has a link (its Patients are in stg_resource)
        return []
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:  # quarantined by landing
        return []
    if not isinstance(document, dict):
        return []
    if document.get("resourceType") != "Bundle":
        return [document]
    entries = document.get("entry")
    if not isinstance(entries, list):
        return []
    return [e.get("resource") for e in entries if isinstance(e, dict)]


def has_merges(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the attached ``mirror`` has any merged patient (else shards read as before)."""
    ((found,),) = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'mirror' AND table_name = ?",
        [MERGES],
    ).fetchall()
    if not found:
        return False
    ((rows,),) = con.execute(f"SELECT count(*) FROM mirror.{MERGES}").fetchall()  # noqa: S608
    return bool(rows)


def remapped_rows(table: str, where: str, survivor_where: str) -> str:
    """A shard's rows of ``mirror.<table>`` with merges applied, as a FROM item.

    `where` selects the shard's own rows (bucket range, scope); `survivor_where` the replaced
    patients whose survivor is in this shard (over ``m.survivor_bucket``, ``m.survivor_id``).
    Replaced patients' rows are read under the survivor's id; their Patient rows not at all.
    """
    merged = f"SELECT patient_id FROM mirror.{MERGES}"  # noqa: S608
    own = f"SELECT * FROM mirror.{table} WHERE {where} AND patient_id NOT IN ({merged})"  # noqa: S608
    if table == "stg_patient":
        return f"({own}) AS r"
    theirs = (
        f"SELECT t.* REPLACE (m.survivor_id AS patient_id) FROM mirror.{table} AS t "  # noqa: S608
        f"JOIN mirror.{MERGES} AS m ON t.patient_id = m.patient_id WHERE {survivor_where}"
    )
    return f"({own} UNION ALL {theirs}) AS r"
