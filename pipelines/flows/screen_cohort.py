"""The nightly screen as a Prefect flow: a table of contents over `pipelines.nightly`.

Tasks that touch patient data persist no results and use no cache. The run summary artifact
carries counts only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from prefect import Flow, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import FlowRun, State
from prefect.runtime import flow_run

from pipelines import cohort_run, nightly
from pipelines.checks import require_ready
from pipelines.notify import notify_failed, notify_published
from pipelines.rule_yield import rule_yield_markdown, rule_yield_rows
from pipelines.run_progress import RunProgress
from pipelines.settings import Settings
from pipelines.shards import ShardJob, ShardResult, run_shard
from pipelines.workdir_lock import hold_workdir
from screens.notes import NLP_VERSION
from screens.rules import rule_versions, select_screens
from screens.valuesets import content_digest

# The pipeline's own log lines (ids and counts: a file keyed the slow way, NLP cache parts
# merged) join the run's log: Prefect hands this logger its handlers when it is named in
# PREFECT_LOGGING_EXTRA_LOGGERS (the CLI and prefect.yaml name it), but not a level.
logging.getLogger("vascreen").setLevel(logging.INFO)


@task(name="fetch-source", persist_result=False, cache_policy=NO_CACHE)
def fetch_source(
    source: str, settings: Settings, mode: str | None, full: bool, progress: bool
) -> cohort_run.Fetched:
    return cohort_run.fetch(source, settings=settings, mode=mode, full=full, progress=progress)


@task(name="land-and-merge", persist_result=False, cache_policy=NO_CACHE)
def land_and_merge(
    fetched: cohort_run.Fetched, settings: Settings, as_of: date, screens: list[str], full: bool
) -> cohort_run.Prepared:
    return cohort_run.prepare(
        fetched,
        settings=settings,
        as_of=as_of,
        screens=screens,
        full=full,
        rule_versions=rule_versions(),
    )


# Tasks that touch patient data persist no results and use no cache.
@task(
    name="screen-shard",
    task_run_name="screen shard {job.shard}",
    persist_result=False,
    cache_policy=NO_CACHE,
)
def screen_shard(job: ShardJob) -> ShardResult:
    """One patient-hash shard; takes and returns file paths, so it can run on a Dask worker."""
    return run_shard(job)


@task(name="publish-worklist", persist_result=False, cache_policy=NO_CACHE)
def publish(
    summary: nightly.RunSummary,
    prepared: cohort_run.Prepared,
    results: list[ShardResult],
    fetched: cohort_run.Fetched,
    source: str,
    screens: list[str],
    settings: Settings,
    export_dir: Path | None,
) -> nightly.RunSummary:
    return cohort_run.publish_results(
        summary,
        prepared,
        results,
        fetched,
        source=source,
        screens=screens,
        settings=settings,
        export_dir=export_dir,
    )


@task(name="write-back", persist_result=False, cache_policy=NO_CACHE)
def write_back(store_url: str, base_url: str, settings: Settings) -> dict[str, int]:
    from pipelines.fhir.writeback import publish_writeback_for_run

    return publish_writeback_for_run(store_url, base_url, settings).as_dict()


def _scheduled_as_of() -> date:
    """as_of from the flow run's scheduled start (never the wall clock of a late retry)."""
    scheduled = flow_run.scheduled_start_time
    return scheduled.date() if scheduled is not None else date.today()


def _notify_failed_night(flow: Flow[..., Any], flow_run: FlowRun, state: State) -> None:
    """Tell the webhook (if set) that the night failed: its error class only (`notify`)."""
    del flow  # the hook's signature; one flow uses it
    run = flow_run
    error = state.result(raise_on_failure=False)
    store_url = run.parameters.get("store_url")
    settings = Settings() if store_url is None else Settings(store_url=store_url)
    as_of = run.parameters.get("as_of")
    notify_failed(
        settings,
        error if isinstance(error, BaseException) else RuntimeError("flow run failed"),
        date.fromisoformat(str(as_of)) if as_of else None,
    )


@flow(
    name="screen-cohort",
    flow_run_name="screen {as_of}",
    log_prints=False,
    persist_result=False,
    on_failure=[_notify_failed_night],
    on_crashed=[_notify_failed_night],
)
def screen_cohort(
    source: str,
    as_of: date | None = None,
    screens: list[str] | None = None,
    store_url: str | None = None,
    export_dir: str | None = None,
    mode: str | None = None,
    writeback_url: str | None = None,
    progress: bool = False,
    full: bool = False,
    parallel_shards: bool = False,
) -> dict[str, object]:
    """Fetch, land and merge, screen each patient-hash shard, and publish one nightly worklist.

    `parallel_shards` submits the shards to the flow's task runner (Dask: one per worker);
    otherwise they run one after another in this process, which bounds memory to one shard.
    """
    logger = get_run_logger()
    settings = Settings() if store_url is None else Settings(store_url=store_url)
    as_of = as_of or _scheduled_as_of()
    selected = select_screens(screens)
    ids = sorted(s.id for s in selected)
    logger.info(
        "screening as_of=%s screens=%s versions=%s valuesets=%s nlp=%s",
        as_of,
        ",".join(ids),
        rule_versions(),
        content_digest(),
        NLP_VERSION,
    )
    # Store, work directory and source settings hold before anything is landed (one line if
    # not); `vascreen run` and `vascreen check` also reach the FHIR server first.
    require_ready(settings, source, create_store=True, reach_fhir=False)
    # One run at a time per work directory (mirror, scratch, NLP cache): refused at once.
    with hold_workdir(settings.workdir), RunProgress(progress) as bars:
        with bars.stage("fetch"):
            fetched = fetch_source(source, settings, mode, full, progress)
        with bars.stage("land and merge"):
            prepared = land_and_merge(fetched, settings, as_of, ids, full)
        jobs = cohort_run.shard_jobs(prepared, settings=settings, as_of=as_of, screens=ids)
        logger.info(
            "evaluating %s patients in %d shards (%d touched)",
            "all" if prepared.scope is None else len(prepared.scope),
            len(jobs),
            len(prepared.changes.touched),
        )
        with bars.stage("screen shards", total=len(jobs)) as advance:
            results = _screen_shards(jobs, parallel_shards, advance)
        items, _ = read_items(results)
        summary = cohort_run.summarize(source, as_of, prepared, results, items, fetched)
        with bars.stage("publish"):
            summary = publish(
                summary,
                prepared,
                results,
                fetched,
                source,
                ids,
                settings,
                Path(export_dir) if export_dir else None,
            )
    logger.info(
        "published run %s: flagged %s, quarantined %d",
        summary.run_id,
        summary.flagged,
        summary.quarantined,
    )
    result = nightly.summary_dict(summary)
    yield_rows = rule_yield_rows(settings.store_url)  # counts per criterion, no rows
    result["rule_yield"] = yield_rows
    markdown = nightly.summary_markdown(summary) + "\n\n## Yield and PPV per rule\n\n"
    if writeback_url:  # optional publish step: Task + DetectedIssue per new item
        result["writeback"] = write_back(settings.store_url, writeback_url, settings)
        logger.info("write-back: %s", result["writeback"])
    notify_published(settings, result)  # the webhook, if set: new urgent and safety items
    create_markdown_artifact(
        key="screen-summary",
        markdown=markdown + rule_yield_markdown(yield_rows),
        description="Counts only: fetched, quarantined, staged, flagged",
    )
    return result


def _screen_shards(
    jobs: list[ShardJob], parallel: bool, advance: Callable[[], None]
) -> list[ShardResult]:
    """Each shard (notes, NLP, rules), one tick each: submitted to the task runner together
    when `parallel`, else one after another in this process."""
    futures = [screen_shard.submit(job) for job in jobs] if parallel else None
    results = []
    for k, job in enumerate(jobs):
        results.append(futures[k].result() if futures is not None else screen_shard(job))
        advance()
    return results


def read_items(results: list[ShardResult]) -> tuple[pl.DataFrame, pl.DataFrame]:
    from pipelines.shards import read_results

    return read_results(results)
