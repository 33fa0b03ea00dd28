"""Stage a directory of FHIR files into the STG_* tables, a QUARANTINE frame and counts.

Hops: files (`pipelines.fhir.files`) -> ``raw_resource`` (`pipelines.land`, DuckDB) ->
sampled R4B validation (`pipelines.fhir.validate`) -> ``sql/staging/*.sql`` (structural
checks, dedupe, entered-in-error, flattening, units) -> note decoding (`pipelines.notes`).
Work runs in an in-memory DuckDB (spilling to ``<workdir>/duckdb_tmp``); the staged tables
and quarantine are then copied to ``<workdir>/stage.duckdb`` so ``sql/checks`` can run on them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import duckdb
import polars as pl
from tqdm import tqdm

from pipelines.errors import QuarantineThresholdError
from pipelines.fhir.files import SourceFiles, discover_source
from pipelines.fhir.validate import is_known_type
from pipelines.known_lines import PRIOR, attach_prior, classify_known, load_known_lines
from pipelines.land import STAGED_TYPES, LandingProblem, clear_line_text, land_source
from pipelines.medication_refs import resolve_medication_refs
from pipelines.notes import decode_notes
from pipelines.quarantine import (
    MIN_READ_FOR_THRESHOLD,
    build_quarantine,
    sample_validation,
)
from pipelines.value_checks import find_implausible_values
from screens.model import (
    QUARANTINE,
    STG_CONDITION,
    STG_ENCOUNTER,
    STG_MEDICATION,
    STG_MEDICATION_CODE,
    STG_OBSERVATION,
    STG_PATIENT,
    STG_PROCEDURE,
    assert_schema,
)

SQL_DIR = Path(__file__).resolve().parent.parent / "sql" / "staging"
# Outcome SQL classifies every landed row and defines ``stg_resource``; table SQL flattens
# ``stg_resource`` (a view over this run's rows, or a shard of the mirror) into STG_* tables.
OUTCOME_SQL = ("macros.sql", "stg_resource_outcome.sql")
TABLE_SQL = (
    "macros.sql",
    "stg_patient.sql",
    "stg_condition.sql",
    "stg_observation.sql",
    "stg_procedure.sql",
    "stg_medication.sql",
    "stg_note_attachment.sql",
    "stg_encounter.sql",
    "stg_medication_code.sql",
)
STAGING_SQL = OUTCOME_SQL + TABLE_SQL[1:]
TABLES: dict[str, tuple[str, Mapping[str, pl.DataType | type[pl.DataType]]]] = {
    "patient": ("stg_patient", STG_PATIENT),
    "condition": ("stg_condition", STG_CONDITION),
    "observation": ("stg_observation", STG_OBSERVATION),
    "procedure": ("stg_procedure", STG_PROCEDURE),
    "medication": ("stg_medication", STG_MEDICATION),
    "encounter": ("stg_encounter", STG_ENCOUNTER),
}
# Staged tables without patients, which the TABLES are resolved against on reading.
MEDICATION_CODES = "stg_medication_code"
COUNT_KEYS = ("read", "quarantined", "staged", "duplicates", "entered_in_error")
_OUTCOME_KEY = {
    "quarantined": "quarantined",
    "staged": "staged",
    "duplicate": "duplicates",
    "entered_in_error": "entered_in_error",
    "no_patient": "no_patient",
    "ignored": "ignored",
}


@dataclass(frozen=True)
class StagedData:
    tables: dict[str, pl.DataFrame]  # TABLES' keys (patient ... encounter) and note
    quarantine: pl.DataFrame  # QUARANTINE
    counts: dict[str, dict[str, int]]  # type -> read/quarantined/staged/duplicates/entered_in_error
    notes_unavailable: int


def stage_source(
    source: Path,
    *,
    workdir: Path,
    progress: bool = False,
    max_quarantine_ratio: float = 0.05,
) -> StagedData:
    """Read every FHIR file in `source` and return staged tables, quarantine and counts.

    Raises:
        SourceError: `source` is missing or unreadable, or holds no FHIR files.
        QuarantineThresholdError: some resource type had more than `max_quarantine_ratio` of
            its resources quarantined (and at least `MIN_READ_FOR_THRESHOLD` read).
    """
    files = discover_source(source)
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "stage.duckdb"
    db_path.unlink(missing_ok=True)
    with (
        duckdb.connect() as con,
        tqdm(total=5, desc="staging", unit="step", file=sys.stderr, disable=not progress) as bar,
    ):
        con.execute(f"SET temp_directory = '{workdir / 'duckdb_tmp'}'")
        con.execute(f"SET enable_progress_bar = {'true' if progress else 'false'}")
        bar.set_postfix_str("landing files")
        problems = land_and_classify(con, files)
        bar.update(2)
        bar.set_postfix_str("staging SQL")
        tables, unavailable = staged_tables(con)
        decoded_notes = tables["note"]
        bar.update(2)
        quarantine = assert_schema(build_quarantine(con, files, problems), QUARANTINE, "quarantine")
        counts = count_outcomes(con, problems)
        con.register("stg_note_frame", decoded_notes)
        con.register("stg_medication_frame", tables["medication"])  # references resolved
        con.register("quarantine_frame", quarantine)
        con.execute("CREATE OR REPLACE TABLE stg_note AS SELECT * FROM stg_note_frame")
        con.execute("CREATE OR REPLACE TABLE stg_medication AS SELECT * FROM stg_medication_frame")
        con.execute("CREATE OR REPLACE TABLE quarantine AS SELECT * FROM quarantine_frame")
        _persist(con, db_path)
        bar.update()
    _check_threshold(counts, max_quarantine_ratio)
    return StagedData(tables, quarantine, counts, unavailable)


def land_and_classify(
    con: duckdb.DuckDBPyConnection,
    files: SourceFiles,
    *,
    track_lines: bool = False,
    prior: Path | None = None,
    scratch: Path | None = None,
    seconds: dict[str, float] | None = None,
    snapshot_types: Iterable[str] | None = None,
    line_memo: Path | None = None,
) -> list[LandingProblem]:
    """Land `files` into ``raw_resource``, validate a sample and build ``stg_resource_outcome``.

    Afterwards ``stg_resource`` (a view) holds one row per staged resource of these files that
    was parsed. With `track_lines` (a mirror run), NDJSON records are hashed into ``raw_line``
    and those the `prior` mirror already holds are not parsed (`pipelines.known_lines`): they
    are counted in ``known_count``, or ranked in ``stg_resource_outcome`` (``known``) when their
    id landed more than once; ``unseen_known`` lists the prior mirror's resources of
    `snapshot_types` (None: all) that no record matched. Delta files go to `scratch`; line
    keys are remembered in `line_memo` (`pipelines.land.land_source`).
    `seconds` receives the wall time of landing ("land") and of validation and outcomes
    ("checks").
    """
    clock = time.perf_counter()
    attached = track_lines and attach_prior(con, prior)
    try:
        problems = land_source(
            con,
            files,
            track_lines=track_lines,
            scratch=scratch,
            line_memo=line_memo,
            load_known=partial(load_known_lines, con) if attached else None,
        )
    except BaseException:
        if attached:
            con.execute(f"DETACH {PRIOR}")
        raise
    classify_known(con, attached=attached, snapshot_types=snapshot_types)
    landed = time.perf_counter()
    _register_types(con)
    sample_validation(con, files)
    clear_line_text(con)
    find_implausible_values(con)
    for name in OUTCOME_SQL:
        con.execute((SQL_DIR / name).read_text())
    if seconds is not None:
        seconds["land"] = landed - clock
        seconds["checks"] = time.perf_counter() - landed
    return problems


def staged_tables(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, pl.DataFrame], int]:
    """Flatten ``stg_resource`` into the STG_* frames (``note`` decoded); also notes unavailable."""
    for name in TABLE_SQL:
        con.execute((SQL_DIR / name).read_text())
    return read_staged_tables(con)


def read_staged_tables(
    con: duckdb.DuckDBPyConnection, queries: Mapping[str, str] | None = None
) -> tuple[dict[str, pl.DataFrame], int]:
    """The STG_* tables and ``stg_note_attachment`` of `con` as frames (``note`` decoded).

    `queries` gives, per table name, the query that yields its rows instead of the table itself
    (`pipelines.shards.read_shard` reads a shard's rows straight out of the mirror).
    """
    queries = queries or {}

    def frame(table: str) -> pl.DataFrame:
        rows: pl.DataFrame = con.sql(queries.get(table, f"SELECT * FROM {table}")).pl()  # noqa: S608
        return rows

    tables = {
        key: assert_schema(frame(table), schema, table) for key, (table, schema) in TABLES.items()
    }
    codes = assert_schema(frame(MEDICATION_CODES), STG_MEDICATION_CODE, MEDICATION_CODES)
    tables["medication"] = resolve_medication_refs(tables["medication"], codes)
    decoded = decode_notes(frame("stg_note_attachment"))
    tables["note"] = decoded.notes
    return tables, decoded.unavailable


def _persist(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """Copy the staged tables and quarantine to `db_path` (work runs in memory: faster)."""
    con.execute(f"ATTACH '{db_path}' AS persisted")
    for table in [t for t, _ in TABLES.values()] + [MEDICATION_CODES, "stg_note", "quarantine"]:
        con.execute(f"CREATE TABLE persisted.{table} AS SELECT * FROM {table}")  # noqa: S608
    con.execute("DETACH persisted")


def _register_types(con: duckdb.DuckDBPyConnection) -> None:
    seen = [r[0] for r in con.execute("SELECT DISTINCT resourceType FROM raw_resource").fetchall()]
    unknown = sorted(t for t in seen if not is_known_type(t))
    con.execute("CREATE OR REPLACE TABLE unknown_resource_type (resource_type VARCHAR)")
    if unknown:
        con.executemany("INSERT INTO unknown_resource_type VALUES (?)", [[t] for t in unknown])


def count_outcomes(
    con: duckdb.DuckDBPyConnection, problems: list[LandingProblem]
) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}

    def bucket(resource_type: str) -> dict[str, int]:
        return counts.setdefault(resource_type, dict.fromkeys(COUNT_KEYS, 0))

    rows = con.execute(
        "SELECT resourceType, outcome, count(*) FROM stg_resource_outcome GROUP BY ALL "
        "UNION ALL SELECT resourcetype, outcome, n FROM known_count"
    ).fetchall()
    for resource_type, outcome, n in rows:
        b = bucket(resource_type)
        b["read"] += n
        key = _OUTCOME_KEY[outcome]
        b[key] = b.get(key, 0) + n
    for p in problems:
        b = bucket(p.resource_type)
        b["read"] += 1
        b["quarantined"] += 1
    for resource_type in STAGED_TYPES:
        bucket(resource_type)
    return dict(sorted(counts.items()))


def _check_threshold(counts: dict[str, dict[str, int]], max_ratio: float) -> None:
    for resource_type, c in counts.items():
        read, bad = c["read"], c["quarantined"]
        if read >= MIN_READ_FOR_THRESHOLD and bad / read > max_ratio:
            raise QuarantineThresholdError(
                f"{resource_type}: {bad} of {read} quarantined ({bad / read:.1%}), "
                f"above the {max_ratio:.1%} threshold"
            )


__all__ = ["SourceFiles", "StagedData", "stage_source"]
