"""One patient-hash shard: mirror rows -> staged tables -> note mentions -> evidence and items.

A shard is every patient whose hash bucket falls in the shard's range (the mirror
stores ``md5_number(patient_id) % BUCKETS`` as ``patient_bucket`` next to each staged row, in
bucket order; a shard is a contiguous bucket range, so it reads only its own row groups of the
staged rows and never re-runs the staging SQL), so a
patient's whole history is in one shard, whatever the shard count, and the union of the
shards' results does not depend on it. A job takes and returns file paths (the mirror, a
Parquet list of patients, Parquet outputs), so it runs the same in-process or on a Dask
worker that sees the work directory. Peak memory follows the shard size, not the cohort.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from pipelines.ingest.stage import read_staged_tables
from pipelines.mirror.merge import BUCKETS, LOOKUP_TABLES, STAGED_TABLES
from pipelines.mirror.patient_merges import has_merges, remapped_rows
from screens.model import (
    EVIDENCE,
    EVIDENCE_ORDER,
    STG_NOTE_MENTION,
    STG_PATIENT,
    WORKLIST_ITEM,
    InvalidRuleError,
    assert_schema,
)
from screens.rules import select_screens
from screens.schedule import NEXT_CHANGE, next_change_dates

if TYPE_CHECKING:
    from screens.dsl import Screen
    from screens.engine import Evaluation


@dataclass(frozen=True, slots=True)
class DuckDBLimits:
    memory_limit: str = "1GB"
    threads: int = 2


@dataclass(frozen=True, slots=True)
class ShardJob:
    mirror: Path
    shard: int
    n_shards: int
    patients: Path | None  # Parquet with a patient_id column; None = every patient of the shard
    out_dir: Path
    as_of: date
    screens: tuple[str, ...]
    nlp_cache_dir: Path | None
    limits: DuckDBLimits = DuckDBLimits()
    nlp_workers: int = 1  # NLP processes for this shard (a Dask worker uses 1)


@dataclass(frozen=True, slots=True)
class ShardResult:
    shard: int
    items: Path
    evidence: Path
    patients: int
    notes: int
    mentions: int
    notes_unavailable: int
    undated_skipped: int
    seconds: dict[str, float]  # stage, nlp, engine
    schedule: Path | None = None  # (patient_id, next_change) of the shard's patients
    notes_unread: dict[str, int] = field(default_factory=dict)  # by `UnreadReason`


def shard_count(patients: int, shard_size: int) -> int:
    """Shards needed for `patients` at `shard_size` patients each (at least one)."""
    return max(1, math.ceil(patients / max(1, shard_size)))


def shard_filter(n_shards: int, shard: int, column: str = "patient_bucket") -> str:
    """Rows of shard `shard` of `n_shards`: a contiguous range of `column` (a patient bucket).

    A range, not a modulo, so DuckDB prunes row groups by their min/max (zone maps).
    """
    low, high = shard * BUCKETS // n_shards, (shard + 1) * BUCKETS // n_shards
    return f"{column} >= {int(low)} AND {column} < {int(high)}"


def configure(con: duckdb.DuckDBPyConnection, limits: DuckDBLimits, temp_dir: Path) -> None:
    con.execute(f"SET memory_limit = '{limits.memory_limit}'")
    con.execute(f"SET threads = {int(limits.threads)}")
    con.execute(f"SET temp_directory = '{temp_dir}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")


def evaluate_shard(
    shard: int, screens: list[Screen], tables: dict[str, pl.DataFrame], as_of: date
) -> tuple[Evaluation, pl.DataFrame]:
    """The engine's evaluation and the next-change dates of one shard's tables.

    Raises:
        InvalidRuleError: a rule failed on the data; one line without the values (polars names
            the values it could not compare or cast, and they are patient data).
    """
    from screens.engine import evaluate_screens

    try:
        evaluation = evaluate_screens(screens, tables, as_of)
        return evaluation, next_change_dates(tables, as_of, evaluation.leaving)
    except pl.exceptions.PolarsError as exc:
        kind = type(exc).__name__
    # Raised outside the except block: the polars message is not chained to it.
    raise InvalidRuleError(
        f"screen shard {shard}: a rule failed on the data ({kind}; values withheld)"
    )


def run_shard(job: ShardJob) -> ShardResult:
    """Stage, read notes and evaluate one shard; write its items and evidence as Parquet."""

    job.out_dir.mkdir(parents=True, exist_ok=True)
    clock = time.perf_counter()
    tables, unread = read_shard(job)
    seconds = {"stage": time.perf_counter() - clock}
    clock = time.perf_counter()
    mentions = _read_notes(tables["note"], job.nlp_cache_dir, job.nlp_workers)
    n_notes = tables.pop("note").height  # the engine reads mentions; free the note text early
    seconds["nlp"] = time.perf_counter() - clock
    clock = time.perf_counter()
    screens = select_screens(list(job.screens))
    tables = {**tables, "note_mention": mentions}
    evaluation, schedule = evaluate_shard(job.shard, screens, tables, job.as_of)
    items_path = job.out_dir / f"items-{job.shard:04d}.parquet"
    evidence_path = job.out_dir / f"evidence-{job.shard:04d}.parquet"
    evaluation.items.write_parquet(items_path)
    evaluation.evidence.write_parquet(evidence_path)
    schedule_path = job.out_dir / f"schedule-{job.shard:04d}.parquet"
    schedule.write_parquet(schedule_path)
    return ShardResult(
        job.shard,
        items_path,
        evidence_path,
        tables["patient"].height,
        n_notes,
        mentions.height,
        sum(unread.values()),
        sum(evaluation.undated_skipped.values()),
        seconds | {"engine": time.perf_counter() - clock},
        schedule=schedule_path,
        notes_unread=unread,
    )


def read_shard(job: ShardJob) -> tuple[dict[str, pl.DataFrame], dict[str, int]]:
    """The shard's staged rows from the mirror, as `pipelines.ingest.stage.read_staged_tables`
    gives them (in `ROW_ORDER`, ``note`` decoded), and the notes not decoded, by reason."""
    with duckdb.connect() as con:
        configure(con, job.limits, job.out_dir / "duckdb_tmp")
        con.execute("LOAD json")
        con.execute(f"ATTACH '{job.mirror}' AS mirror (READ_ONLY)")
        where = shard_filter(job.n_shards, job.shard)
        survivor_where = shard_filter(job.n_shards, job.shard, "m.survivor_bucket")
        if job.patients is not None:
            # A path the run wrote itself, not input data.
            scope = f"SELECT patient_id FROM read_parquet('{job.patients}')"  # noqa: S608
            where += f" AND patient_id IN ({scope})"
            survivor_where += f" AND m.survivor_id IN ({scope})"
        merges = has_merges(con)  # replaced patients are read with their survivor
        sources = {}
        for table in STAGED_TABLES:
            rows = f"mirror.{table} WHERE {where}"
            if merges:
                rows = remapped_rows(table, where, survivor_where)
            elif job.patients is not None:
                # A few patients' rows spread over the whole table (a nightly run's scope): find
                # their rowids first, reading only the filter's columns, then fetch just those
                # rows. Filtering in one pass read every column of every row: 0.27 s against
                # 0.19 s for the six tables and 200 patients of the bench cohort (median of 5).
                rows = f"mirror.{table} WHERE rowid IN (SELECT rowid FROM {rows})"  # noqa: S608
            # Straight into frames: copying the rows into a DuckDB table first and reading it
            # back took 0.82 to 0.99 s a shard of the bench cohort's full run, against 0.58 to
            # 0.61 s (docs/performance.md).
            sources[table] = f"(SELECT * EXCLUDE (patient_bucket) FROM {rows})"  # noqa: S608
        for table in LOOKUP_TABLES:  # no patients: every shard reads them whole
            sources[table] = f"mirror.{table}"
        tables, unread = read_staged_tables(con, sources)
        con.execute("DETACH mirror")
    return tables, unread


def read_patients(mirror: Path, patients: Path | None) -> pl.DataFrame:
    """Staged Patient rows from the mirror (of `patients` only, when given): the identity the
    publish keeps for patients with a worklist item."""
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{mirror}' AS mirror (READ_ONLY)")
        query = "SELECT * EXCLUDE (patient_bucket) FROM mirror.stg_patient"
        if patients is not None:  # a path the run wrote itself, not input data
            query += f" WHERE patient_id IN (SELECT patient_id FROM read_parquet('{patients}'))"  # noqa: S608
        rows: pl.DataFrame = con.sql(query + " ORDER BY patient_id").pl()
        con.execute("DETACH mirror")
    return assert_schema(rows, STG_PATIENT, "stg_patient")


def _read_notes(notes: pl.DataFrame, cache_dir: Path | None, workers: int) -> pl.DataFrame:
    from pipelines.nlp_cache import extract_frame, extract_with_cache

    if cache_dir is not None:
        mentions = extract_with_cache(notes, cache_dir=cache_dir, workers=workers)
    else:
        mentions = extract_frame(notes, workers=workers)
    return assert_schema(mentions, STG_NOTE_MENTION, "stg_note_mention")


def read_schedule(results: list[ShardResult]) -> pl.DataFrame:
    """The next-change dates of every evaluated patient (`screens.schedule.NEXT_CHANGE`)."""
    parts = [pl.read_parquet(r.schedule) for r in results if r.schedule is not None]
    return pl.concat(parts) if parts else pl.DataFrame(schema=NEXT_CHANGE)


def read_results(results: list[ShardResult]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Items and evidence of all shards, in one deterministic order."""
    ordered = sorted(results, key=lambda r: r.shard)
    items = pl.concat([pl.read_parquet(r.items) for r in ordered]) if ordered else None
    evidence = pl.concat([pl.read_parquet(r.evidence) for r in ordered]) if ordered else None
    items = (items if items is not None else pl.DataFrame(schema=WORKLIST_ITEM)).sort(
        ["patient_id", "screen"]
    )
    evidence = (evidence if evidence is not None else pl.DataFrame(schema=EVIDENCE)).sort(
        EVIDENCE_ORDER, nulls_last=True
    )
    return (
        assert_schema(items, WORKLIST_ITEM, "worklist_item"),
        assert_schema(evidence, EVIDENCE, "evidence"),
    )
