"""Staging steps of a night: land and classify files, flatten staged rows, count outcomes.

Hops: files (`pipelines.fhir.files`) -> ``raw_resource`` (`pipelines.ingest.land`, DuckDB) ->
sampled R4B validation (`pipelines.fhir.validate`) -> ``sql/staging/*.sql`` (structural
checks, dedupe, entered-in-error, flattening, units) -> note decoding (`pipelines.ingest.notes`).
`pipelines.cohort_run.prepare` lands and merges into the mirror; `pipelines.shards` reads the
staged tables back (`read_staged_tables`). The in-memory whole-source staging that once ran
beside the night is a test oracle now (`tests/stage_oracle.py`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb
import polars as pl

from pipelines.errors import QuarantineThresholdError
from pipelines.fhir.files import SourceFiles
from pipelines.fhir.validate import is_known_type
from pipelines.ingest.fields import STAGED_TYPES
from pipelines.ingest.known_lines import PRIOR, attach_prior, classify_known
from pipelines.ingest.land import LandingProblem, clear_line_text, land_source
from pipelines.ingest.medication_refs import resolve_medication_refs
from pipelines.ingest.notes import decode_notes
from pipelines.ingest.quarantine import (
    MIN_READ_FOR_THRESHOLD,
    sample_validation,
)
from pipelines.value_checks import find_implausible_values
from screens.model import (
    STG_CONDITION,
    STG_ENCOUNTER,
    STG_MEDICATION,
    STG_MEDICATION_CODE,
    STG_OBSERVATION,
    STG_PATIENT,
    STG_PROCEDURE,
    assert_schema,
)

SQL_DIR = Path(__file__).resolve().parents[2] / "sql" / "staging"
# Outcome SQL classifies every landed row and defines ``stg_resource``; table SQL flattens the
# view ``stg_input``, which its caller defines (`staged_tables`: every staged row;
# `pipelines.mirror.merge`: the changed ones), into STG_* tables.
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
# The row order of each staged table, declared here only: the staging SQL writes its rows in no
# order, and every reader (`read_staged_tables`, a shard reading the mirror) sorts by this.
ROW_ORDER: dict[str, str] = {
    "stg_patient": "patient_id",
    "stg_condition": "source_ref, system, code",
    "stg_observation": "source_ref, system, code, value_num",
    "stg_procedure": "source_ref, system, code",
    "stg_medication": "source_ref, system, code",
    "stg_note_attachment": "source_ref, attachment_pos",
    "stg_encounter": "source_ref",
    "stg_medication_code": "source_ref, system, code",
}
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


def land_and_classify(
    con: duckdb.DuckDBPyConnection,
    files: SourceFiles,
    *,
    track_lines: bool = False,
    prior: Path | None = None,
    scratch: Path | None = None,
    seconds: dict[str, float] | None = None,
    snapshot_types: Iterable[str] | None = None,
) -> list[LandingProblem]:
    """Land `files` into ``raw_resource``, validate a sample and build ``stg_resource_outcome``.

    Afterwards ``stg_resource`` (a view) holds one row per staged resource of these files that
    was parsed. With `track_lines` (a mirror run), NDJSON records are hashed into ``raw_line``
    and those the `prior` mirror already holds are not parsed (`pipelines.ingest.known_lines`): they
    are counted in ``known_count``, or ranked in ``stg_resource_outcome`` (``known``) when their
    id landed more than once; ``unseen_known`` lists the prior mirror's resources of
    `snapshot_types` (None: all) that no record matched. Delta files go to `scratch`.
    `seconds` receives the wall time of landing ("land") and of validation and outcomes
    ("checks").
    """
    clock = time.perf_counter()
    attached = track_lines and attach_prior(con, prior)
    try:
        problems = land_source(con, files, track_lines=track_lines, scratch=scratch)
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


def staged_tables(
    con: duckdb.DuckDBPyConnection,
) -> tuple[dict[str, pl.DataFrame], dict[str, int]]:
    """Flatten ``stg_resource`` into the STG_* frames (``note`` decoded); also unread notes by
    reason."""
    con.execute("CREATE OR REPLACE TEMP VIEW stg_input AS SELECT * FROM stg_resource")
    for name in TABLE_SQL:
        con.execute((SQL_DIR / name).read_text())
    return read_staged_tables(con)


def read_staged_tables(
    con: duckdb.DuckDBPyConnection, sources: Mapping[str, str] | None = None
) -> tuple[dict[str, pl.DataFrame], dict[str, int]]:
    """The STG_* tables and ``stg_note_attachment`` of `con` as frames (``note`` decoded), and
    the notes that gave no text by `pipelines.ingest.notes.UnreadReason`.

    `sources` gives, per table name, the relation to read its rows from instead of the table
    itself (`pipelines.shards.read_shard` reads a shard's rows out of the mirror). Rows come in
    `ROW_ORDER`.
    """
    sources = sources or {}

    def frame(table: str) -> pl.DataFrame:
        source = sources.get(table, table)
        query = f"SELECT * FROM {source} ORDER BY {ROW_ORDER[table]}"  # noqa: S608
        rows: pl.DataFrame = con.sql(query).pl()
        return rows

    tables = {
        key: assert_schema(frame(table), schema, table) for key, (table, schema) in TABLES.items()
    }
    codes = assert_schema(frame(MEDICATION_CODES), STG_MEDICATION_CODE, MEDICATION_CODES)
    tables["medication"] = resolve_medication_refs(tables["medication"], codes)
    decoded = decode_notes(frame("stg_note_attachment"))
    tables["note"] = decoded.notes
    return tables, decoded.unread


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


__all__ = ["SourceFiles", "land_and_classify", "staged_tables"]
