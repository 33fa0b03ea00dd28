"""Test oracle: stage a whole directory in memory, the way the retired second pipeline did.

`stage_source` runs the production staging steps (`pipelines.ingest.stage`: landing, sampled
validation, staging SQL, note decoding) on one in-memory DuckDB, without the mirror or shards,
and copies the staged tables to ``<workdir>/stage.duckdb`` so ``sql/checks`` can run on them.
Tests compare the night (`pipelines.night.run_night`) and the staging SQL against it; no
production code calls it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl
from tqdm import tqdm

from pipelines.fhir.files import discover_source
from pipelines.ingest.quarantine import build_quarantine
from pipelines.ingest.stage import (
    MEDICATION_CODES,
    TABLES,
    _check_threshold,
    count_outcomes,
    land_and_classify,
    staged_tables,
)
from screens.model import QUARANTINE, assert_schema


@dataclass(frozen=True)
class StagedData:
    tables: dict[str, pl.DataFrame]  # TABLES' keys (patient ... encounter) and note
    quarantine: pl.DataFrame  # QUARANTINE
    counts: dict[str, dict[str, int]]  # type -> read/quarantined/staged/duplicates/entered_in_error
    notes_unavailable: int
    notes_unread: dict[str, int] = field(default_factory=dict)  # by `UnreadReason`


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
        tables, unread = staged_tables(con)
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
    return StagedData(tables, quarantine, counts, sum(unread.values()), unread)


def _persist(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """Copy the staged tables and quarantine to `db_path` (work runs in memory: faster)."""
    con.execute(f"ATTACH '{db_path}' AS persisted")
    for table in [t for t, _ in TABLES.values()] + [MEDICATION_CODES, "stg_note", "quarantine"]:
        con.execute(f"CREATE TABLE persisted.{table} AS SELECT * FROM {table}")
    con.execute("DETACH persisted")
