"""The last steps of a night: sum up the shards, then publish items, evidence and worklist.csv.

Publishing is scoped to the evaluated patients on an incremental night. Each step returns a new
`RunSummary` (frozen): nothing is filled in across modules.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pipelines.cohort_run import (
    Fetched,
    Prepared,
    nlp_cache_dir,
    remove_shard_outputs,
    unpublished_marker,
)
from pipelines.errors import ExportError
from pipelines.intake_guard import snapshot_reads
from pipelines.note_unread import check_unread_share, unread_by_reason
from pipelines.run_summary import RunSummary, flagged_by_screen, is_url, summary_counts
from pipelines.settings import Settings
from pipelines.shards import ShardResult, read_patients, read_results, read_schedule

if TYPE_CHECKING:
    from pipelines.store import Store

log = logging.getLogger("vascreen")


def summarize(
    source: str,
    as_of: date,
    prepared: Prepared,
    results: list[ShardResult],
    items: pl.DataFrame,
    fetched: Fetched,
) -> RunSummary:
    return RunSummary(
        run_id="",
        as_of=as_of,
        source_kind="fhir" if is_url(source) else "files",
        counts=prepared.counts,
        flagged=flagged_by_screen(items),
        quarantined=prepared.quarantine.height,
        notes=sum(r.notes for r in results),
        mentions=sum(r.mentions for r in results),
        notes_unavailable=sum(r.notes_unavailable for r in results),
        notes_unread=unread_by_reason(r.notes_unread for r in results),
        undated_skipped=sum(r.undated_skipped for r in results),
        evaluation="full" if prepared.scope is None else "incremental",
        evaluated_patients=sum(r.patients for r in results)
        if prepared.scope is None
        else len(prepared.scope),
        touched_patients=len(prepared.changes.touched),
        shards=len(results),
        since_not_honoured=tuple(fetched.since_not_honoured),
        unmatched_codes=tuple(prepared.unmatched_codes),
        snapshot_read=snapshot_reads(prepared.counts, fetched.snapshot_types),
        merged_patients=len(prepared.merges.survivor),
        merge_problems=dict(prepared.merges.problems),
        notes_kept=dict(prepared.changes.notes_kept),
        failed_types=fetched.failed_types,
        full_read_on=fetched.full_read_on,
        full_read=fetched.full_read,
    )


def publish_results(
    summary: RunSummary,
    prepared: Prepared,
    results: list[ShardResult],
    fetched: Fetched,
    *,
    source: str,
    screens: list[str],
    settings: Settings,
    export_dir: Path | None,
) -> RunSummary:
    """Publish the shards' items and evidence (scoped on an incremental run), then export.

    Raises:
        UnreadNotesThresholdError: more than ``settings.max_unread_note_share`` of the notes read
            gave no text; nothing is published.
    """
    from pipelines.store import Store

    try:
        published = _publish(summary, prepared, results, fetched, source, screens, settings)
    finally:
        # Published or not, the shard files (note snippets, values) go: a failed publish is
        # evaluated again from the mirror next run (its unpublished marker stays).
        for result in results:
            remove_shard_outputs(result.items.parent)
    cache = nlp_cache_dir(settings)
    if cache is not None:  # the shards are done: nobody reads the cache now
        from pipelines.nlp_cache import compact

        merged = compact(cache)
        if merged:
            log.info("NLP cache: %d parts merged into one", merged)
    if export_dir is not None:  # after the run is recorded: its status is the publish's
        with Store.connect(settings.store_url) as store:
            published = replace(published, worklist_csv=export_worklist(store, export_dir))
    return published


def _publish(
    summary: RunSummary,
    prepared: Prepared,
    results: list[ShardResult],
    fetched: Fetched,
    source: str,
    screens: list[str],
    settings: Settings,
) -> RunSummary:
    """The store's part of `publish_results`: one recorded run (failed if anything raises)."""
    from pipelines.store import Store
    from screens.rules import rule_versions

    # Notes kept from an earlier night were not read tonight: they count against the share.
    unread = Counter(summary.notes_unread) + Counter(summary.notes_kept)
    check_unread_share(summary.notes, unread, settings.max_unread_note_share)

    items, evidence = read_results(results)
    with (
        Store.connect(settings.store_url) as store,
        store.recorded_run(
            as_of=summary.as_of,
            source=summary.source_kind,
            screens=screens,
            rule_versions=rule_versions(),
        ) as run_id,
    ):
        if prepared.interrupted:
            store.mark_interrupted(before=run_id)
        store.save_quarantine(run_id, prepared.quarantine)
        counts = store.publish(
            run_id,
            as_of=summary.as_of,
            screens=screens,
            items=items,
            evidence=evidence,
            patients=prepared.scope,
            merged=prepared.merges.survivor,
        )
        store.save_patients(read_patients(prepared.mirror, prepared.patients_file))
        store.save_schedule(prepared.merges.unscheduled(read_schedule(results)), summary.as_of)
        if is_url(source) and fetched.transaction_time is not None:
            store.save_watermarks(
                run_id,
                source,
                fetched.transaction_time,  # type: ignore[arg-type]
                fetched.since_honoured,
            )
        published = replace(summary, run_id=run_id, publish=counts.as_dict())
        published = finish(store, published, store_url=settings.store_url)
    unpublished_marker(prepared.mirror).unlink(missing_ok=True)
    return published


def export_worklist(store: Store, export_dir: Path) -> Path:
    """Write ``export_dir/worklist.csv`` (whole or not at all).

    Raises:
        ExportError: the directory could not be written (full, read-only, missing rights).
    """
    target = export_dir / "worklist.csv"
    try:
        export_dir.mkdir(parents=True, exist_ok=True)
        store.export_worklist_csv(target)
    except OSError as error:
        raise ExportError(
            f"the worklist was published, but {target} could not be written "
            f"({error.strerror or type(error).__name__})"
        ) from None
    return target


def finish(store: Store, summary: RunSummary, *, store_url: str) -> RunSummary:
    """Mark the run succeeded with its summary (the export follows, outside the run)."""
    done = replace(summary, store_url=store_url, items=store.item_counts())
    store.finish_run(summary.run_id, status="succeeded", counts=summary_counts(done))
    return done
