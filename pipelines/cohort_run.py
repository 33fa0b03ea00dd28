"""The steps of a night before its shards: fetch the source, prepare (land, check, merge), shard.

`prepare` lands the source, merges it into the raw mirror (`pipelines.mirror.merge`) and decides the
scope: every patient (first run, ``--full``, a new as_of or new rule versions, since lookbacks
move with as_of) or only the patients the merge touched. Shard jobs
(`pipelines.shards.run_shard`) then read the scope's staged rows (its whole history) from the
mirror, read notes and evaluate, and `pipelines.night_publish.publish_results` publishes scoped
to the evaluated patients. `pipelines.night.run_night` runs them in order.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipelines.errors import SourceError
from pipelines.fhir.files import discover_source, without_bom
from pipelines.full_reconcile import last_full_read, reconciliation_due
from pipelines.ingest.intake_limits import check_files
from pipelines.ingest.known_lines import landing_counts
from pipelines.ingest.quarantine import build_quarantine
from pipelines.ingest.stage import _check_threshold, count_outcomes, land_and_classify
from pipelines.intake_guard import after_landing
from pipelines.mirror.merge import ChangeSet, merge_staged, mirror_path
from pipelines.mirror.patient_merges import MergeReport, update_merges
from pipelines.mirror.site_codes import unmatched_in_mirror
from pipelines.run_summary import is_url
from pipelines.settings import Settings
from pipelines.shards import (
    DuckDBLimits,
    ShardJob,
    configure,
    shard_count,
)
from screens.model import QUARANTINE, assert_schema

log = logging.getLogger("vascreen")


@dataclass(frozen=True, slots=True)
class Fetched:
    source_dir: Path
    snapshot_types: tuple[str, ...] | None  # None: every type is a full snapshot (files)
    deleted: dict[str, tuple[str, ...]] = field(default_factory=dict)
    since_not_honoured: tuple[str, ...] = ()
    transaction_time: object = None  # datetime of the pull, for the watermarks
    since_honoured: dict[str, bool] = field(default_factory=dict)
    from_server: bool = False  # pulled from a FHIR server (else a directory of files)
    # Types an export error file named: never a snapshot tonight (`pipelines.fhir.failed_types`).
    failed_types: tuple[str, ...] = ()
    # The last full read of a FHIR source (today when this night was one), and whether this night
    # was one (`pipelines.full_reconcile`).
    full_read_on: date | None = None
    full_read: bool = False

    @property
    def source_kind(self) -> str:
        return "fhir" if self.from_server else "files"


@dataclass(frozen=True, slots=True)
class Prepared:
    mirror: Path
    quarantine: pl.DataFrame
    counts: dict[str, dict[str, int]]
    changes: ChangeSet
    scope: tuple[str, ...] | None  # patients to evaluate; None = every patient
    patients_file: Path | None
    n_shards: int
    # Wall seconds of land / checks / merge, and NDJSON records seen / parsed (bench figures).
    seconds: dict[str, float] = field(default_factory=dict)
    records: tuple[int, int] = (0, 0)
    # An earlier run merged into the mirror and died before it published: its store row, if
    # it got that far, still says "running".
    interrupted: bool = False
    # The mirror's unmatched ABI-like codes (`pipelines.mirror.site_codes`), for the run summary.
    unmatched_codes: tuple[tuple[str, int], ...] = ()
    # Patients merged through Patient.link (`pipelines.mirror.patient_merges`).
    merges: MergeReport = field(default_factory=MergeReport)


def limits(settings: Settings) -> DuckDBLimits:
    return DuckDBLimits(settings.duckdb_memory_limit, settings.duckdb_threads)


def fetch(
    source: str, *, settings: Settings, mode: str | None, full: bool, progress: bool
) -> Fetched:
    """A local directory to land: the source itself, or a (delta) pull from a FHIR server."""
    if not is_url(source):
        path = Path(source)
        if not path.is_dir():
            raise SourceError(f"source {source} is not a directory or an http(s) FHIR base URL")
        return Fetched(path, None)
    from pipelines.fhir.pull import (
        DEFAULT_TYPES,
        auth_from_settings,
        options_from_settings,
        pull_to_directory,
    )
    from pipelines.store import Store

    mirror = mirror_path(settings.workdir, store_url=settings.store_url)
    with Store.connect(settings.store_url) as store:
        marks = {} if full or not mirror.exists() else store.watermarks(source)
        last_full = last_full_read(store.recent_run_summaries())
    today = datetime.now(UTC).date()
    if marks and reconciliation_due(last_full, today, settings.full_reconcile_days):
        # The server may not report deletions: read it in full to find them.
        log.warning(
            "full reconciliation due (last full read %s): pulling everything",
            last_full.isoformat() if last_full else "never",
        )
        marks = {}
    since = min(marks[t] for t in DEFAULT_TYPES) if all(t in marks for t in DEFAULT_TYPES) else None
    landing = settings.workdir / "landing"
    report = pull_to_directory(
        source,
        landing,
        mode=mode,  # type: ignore[arg-type]  # validated by the CLI: bulk | search | None
        auth=auth_from_settings(settings),
        since=since,
        state_dir=settings.workdir / "pull-state",
        progress=progress,
        **options_from_settings(settings),
    )
    failed = tuple(sorted(report.failed_types))
    full_read = since is None or not any(report.since_honoured.values())
    pulled = Fetched(
        landing,
        None,
        transaction_time=report.transaction_time,
        since_honoured=report.since_honoured,
        from_server=True,
        failed_types=failed,
        full_read_on=today if full_read else last_full,
        full_read=full_read,
    )
    if since is None:
        if not failed:
            return pulled
        # A type an error file named is not a snapshot: its absent records were not seen.
        return replace(pulled, snapshot_types=tuple(sorted(set(report.counts) - set(failed))))
    full_types = tuple(sorted(t for t, ok in report.since_honoured.items() if not ok))
    return replace(
        pulled,
        snapshot_types=tuple(t for t in full_types if t not in failed),
        deleted=dict(report.deleted),
        since_not_honoured=full_types,
    )


def prepare(
    fetched: Fetched,
    *,
    settings: Settings,
    as_of: date,
    screens: list[str],
    full: bool,
    rule_versions: dict[str, int],
) -> Prepared:
    """Land and check the source, merge it into the mirror and choose the patients to evaluate."""
    work = settings.workdir / "run"
    work.mkdir(parents=True, exist_ok=True)
    found = discover_source(fetched.source_dir)
    check_files(
        [*(f.path for f in found.ndjson), *found.json],
        max_file_bytes=settings.max_file_bytes,
        max_line_bytes=settings.max_line_bytes,
    )
    files = without_bom(found, work / "bom-free")
    path = mirror_path(settings.workdir, store_url=settings.store_url)
    first = not path.exists()
    unpublished = unpublished_marker(path)
    # A run that merged into the mirror but died before publishing left this marker: its
    # change set is gone, so the store may not reflect the mirror. Re-evaluate everyone.
    interrupted = unpublished.exists()
    # Landing goes to a scratch database file, not memory: DuckDB can then evict any of it to
    # disk, and the peak stays at the configured memory_limit whatever the cohort size.
    scratch = work / "landing.duckdb"
    _remove_db(scratch)
    for leftover in work.glob("delta-*"):  # record copies (PHI) of a run killed while landing
        leftover.unlink()
    try:
        with duckdb.connect(str(scratch)) as con:
            configure(con, limits(settings), work / "duckdb_tmp")
            # Scratch tables live for one run: ZSTD writes their strings faster than DuckDB
            # 2.0's default (dict_fsst), whose analysis of long strings made landing
            # DocumentReference take 5.3 s instead of 1.4 s (docs/performance.md). The mirror
            # keeps its own choice (`pipelines.mirror.merge.merge_staged`).
            con.execute("SET force_compression = 'zstd'")
            seconds: dict[str, float] = {}
            # Records the mirror already holds are recognised by hash, not parsed.
            problems = land_and_classify(
                con,
                files,
                track_lines=True,
                prior=None if first else path,
                scratch=work,
                seconds=seconds,
                snapshot_types=fetched.snapshot_types,
            )
            records = landing_counts(con)
            clock = time.perf_counter()
            quarantine = assert_schema(
                build_quarantine(con, files, problems), QUARANTINE, "quarantine"
            )
            counts = count_outcomes(con, problems)
            _check_threshold(counts, settings.max_quarantine_ratio)
            after_landing(
                counts,
                settings=settings,
                source_kind=fetched.source_kind,
                snapshot_types=fetched.snapshot_types,
            )
            seconds["checks"] += time.perf_counter() - clock
            clock = time.perf_counter()
            path.parent.mkdir(parents=True, exist_ok=True)
            unpublished.touch()  # before the mirror changes; removed once the store published
            changes = merge_staged(
                con, path, snapshot_types=fetched.snapshot_types, deleted=fetched.deleted
            )
            merges = update_merges(con, path, files)
            seconds["merge"] = time.perf_counter() - clock
        if fetched.from_server:  # the pulled files (PHI) are in the mirror now
            shutil.rmtree(fetched.source_dir, ignore_errors=True)
    finally:
        _remove_db(scratch)  # raw resources (PHI) do not outlive the run
        shutil.rmtree(work / "bom-free", ignore_errors=True)
    # A replaced patient's rows are evaluated with its survivor's: a change to either, or to
    # the merge itself, re-evaluates the survivor (and resolves the replaced patient's items).
    touched = merges.widen((*changes.touched, *merges.changed))
    scope = (
        None
        if first or full or interrupted
        else _scope(settings, as_of, screens, rule_versions, touched)
    )
    if scope is not None:
        scope = merges.widen(scope)
    patients_file = None
    if scope is not None:
        patients_file = work / "scope.parquet"
        pl.DataFrame({"patient_id": list(scope)}, schema={"patient_id": pl.String}).write_parquet(
            patients_file
        )
    evaluated = changes.patients if scope is None else len(scope)
    return Prepared(
        path,
        quarantine,
        counts,
        changes,
        scope,
        patients_file,
        shard_count(evaluated, settings.shard_size),
        seconds,
        records,
        interrupted,
        tuple(unmatched_in_mirror(path)),
        merges,
    )


def _remove_db(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


def _scope(
    settings: Settings,
    as_of: date,
    screens: list[str],
    rule_versions: dict[str, int],
    touched: tuple[str, ...],
) -> tuple[str, ...] | None:
    """The patients to evaluate tonight (None: everyone).

    Everyone when the store has no run over these screens, or its last one used other rule
    versions, value sets or NLP (`evaluation_key`), or a later as_of. Otherwise the patients
    whose data changed, and on a new as_of also those whose next-change date has come or
    whose snooze has ended (`screens.schedule`): the worklist is that of a full re-evaluation.
    """
    from pipelines.run_summary import evaluation_key
    from pipelines.store import Store

    with Store.connect(settings.store_url) as store:
        last = store.last_published(screens)
        if last is None:
            return None
        last_as_of, last_rules, last_key = last
        if last_rules != json.dumps(rule_versions, sort_keys=True) or last_key != evaluation_key():
            return None
        if as_of == last_as_of:
            return touched
        if as_of < last_as_of:
            return None
        return tuple(sorted(set(touched) | store.due_patients(as_of, screens)))


def nlp_cache_dir(settings: Settings) -> Path | None:
    """Where the shards keep NLP results (None: the cache is off)."""
    return settings.workdir / "nlp-cache" if settings.nlp_cache else None


def shard_jobs(
    prepared: Prepared, *, settings: Settings, as_of: date, screens: list[str]
) -> list[ShardJob]:
    if prepared.scope is not None and not prepared.scope:
        return []
    out = settings.workdir / "run" / "shards"
    remove_shard_outputs(out)  # a killed run's leftovers must not mix into this one
    cache = nlp_cache_dir(settings)
    return [
        ShardJob(
            prepared.mirror,
            k,
            prepared.n_shards,
            prepared.patients_file,
            out,
            as_of,
            tuple(screens),
            cache,
            limits(settings),
            settings.nlp_workers,
        )
        for k in range(prepared.n_shards)
    ]


def unpublished_marker(mirror: Path) -> Path:
    """Exists while the mirror holds changes the store has not published (crash safety)."""
    return mirror.with_name(mirror.name + ".unpublished")


def remove_shard_outputs(out_dir: Path) -> None:
    """Delete shard items/evidence Parquet files: evidence carries note snippets and values
    (PHI), which belong in the store only, not in a scratch directory left behind."""
    if out_dir.is_dir():
        for path in out_dir.glob("*.parquet"):
            path.unlink(missing_ok=True)
