"""The nightly screen as a Prefect flow: `pipelines.night.run_night` with its stages as tasks.

Tasks that touch patient data persist no results and use no cache. The run summary artifact
carries counts only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from prefect import Flow, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import FlowRun, State
from prefect.runtime import flow_run

from pipelines import cohort_run, night_publish
from pipelines.checks import require_ready
from pipelines.cohort_run import Fetched, Prepared
from pipelines.errors import UsageError
from pipelines.flows.withheld import withheld
from pipelines.night import NightSteps, run_night
from pipelines.notify import notify_failed, notify_published
from pipelines.rule_yield import rule_yield_markdown, rule_yield_rows
from pipelines.run_summary import RunSummary, summary_counts, summary_markdown
from pipelines.settings import Settings, has_password
from pipelines.shards import ShardJob, ShardResult, run_shard
from screens.notes import NLP_VERSION
from screens.rules import rule_versions, select_screens
from screens.valuesets import content_digest

# The pipeline's own log lines (ids and counts: a file keyed the slow way, NLP cache parts
# merged) join the run's log: Prefect hands this logger its handlers when it is named in
# PREFECT_LOGGING_EXTRA_LOGGERS (the CLI and prefect.yaml name it), but not a level.
logging.getLogger("vascreen").setLevel(logging.INFO)


@task(name="fetch-source", persist_result=False, cache_policy=NO_CACHE)
@withheld("fetch-source")
def fetch_source(
    source: str, *, settings: Settings, mode: str | None, full: bool, progress: bool
) -> Fetched:
    return cohort_run.fetch(source, settings=settings, mode=mode, full=full, progress=progress)


@task(name="land-and-merge", persist_result=False, cache_policy=NO_CACHE)
@withheld("land-and-merge")
def land_and_merge(
    fetched: Fetched,
    *,
    settings: Settings,
    as_of: date,
    screens: list[str],
    full: bool,
    rule_versions: dict[str, int],
) -> Prepared:
    return cohort_run.prepare(
        fetched,
        settings=settings,
        as_of=as_of,
        screens=screens,
        full=full,
        rule_versions=rule_versions,
    )


# Tasks that touch patient data persist no results and use no cache.
@task(
    name="screen-shard",
    task_run_name="screen shard {job.shard}",
    persist_result=False,
    cache_policy=NO_CACHE,
)
@withheld("screen-shard")
def screen_shard(job: ShardJob) -> ShardResult:
    """One patient-hash shard; takes and returns file paths, so it can run on a Dask worker."""
    return run_shard(job)


def screen_shards_in_turn(jobs: list[ShardJob], advance: Callable[[], None]) -> list[ShardResult]:
    results = []
    for job in jobs:
        results.append(screen_shard(job))
        advance()
    return results


def screen_shards_in_parallel(
    jobs: list[ShardJob], advance: Callable[[], None]
) -> list[ShardResult]:
    """Every shard submitted to the flow's task runner (Dask: one per worker)."""
    results = []
    for future in [screen_shard.submit(job) for job in jobs]:
        results.append(future.result())
        advance()
    return results


@task(name="publish-worklist", persist_result=False, cache_policy=NO_CACHE)
@withheld("publish-worklist")
def publish(
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
    return night_publish.publish_results(
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
@withheld("write-back")
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
@withheld("screen-cohort")
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
    accept_shrink: bool = False,
    claim_store: bool = False,
    group_id: str | None = None,
    backfill: bool = False,
) -> RunSummary:
    """Fetch, land and merge, screen each patient-hash shard, and publish one nightly worklist.

    `accept_shrink` publishes a night whose full read of some type shrank sharply, and
    `claim_store` makes this work directory the store's writer (`pipelines.intake_guard`).
    `parallel_shards` submits the shards to the flow's task runner (Dask: one per worker);
    otherwise they run one after another in this process, which bounds memory to one shard.
    `group_id` (else VASCREEN_FHIR_GROUP_ID) is the population of a FHIR source as a Group.
    `backfill` screens a past `as_of` into a store of its own, next to the work directory
    (`backfill/vascreen-<as_of>.db`), never into the live worklist.
    """
    if store_url is not None and has_password(store_url):
        raise UsageError(
            "a store URL with a password is not a flow parameter (Prefect keeps parameters): "
            "set VASCREEN_STORE_URL or VASCREEN_STORE_URL_FILE in the worker's environment"
        )
    logger = get_run_logger()
    settings = Settings() if store_url is None else Settings(store_url=store_url)
    if accept_shrink or claim_store:  # one run's exceptions, over what the environment says
        settings = settings.model_copy(
            update={
                "accept_shrink": accept_shrink or settings.accept_shrink,
                "claim_store": claim_store or settings.claim_store,
            }
        )
    if group_id:  # a deployment may template an unset variable as ""
        settings = settings.model_copy(update={"fhir_group_id": group_id})
    as_of = as_of or _scheduled_as_of()
    if backfill:
        own = settings.workdir.parent / "backfill" / f"vascreen-{as_of.isoformat()}.db"
        own.parent.mkdir(parents=True, exist_ok=True)
        settings = settings.model_copy(update={"store_url": f"sqlite:///{own}"})
        logger.info("backfill of %s into a store of its own: %s", as_of, own)
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
    steps = NightSteps(
        fetch_source,
        land_and_merge,
        screen_shards_in_parallel if parallel_shards else screen_shards_in_turn,
        publish,
    )
    # One run at a time per work directory (mirror, scratch, NLP cache): refused at once.
    summary = run_night(
        source,
        settings=settings,
        as_of=as_of,
        screens=ids,
        full=full,
        export_dir=Path(export_dir) if export_dir else None,
        mode=mode,
        progress=progress,
        steps=steps,
    )
    logger.info(
        "published run %s (%s, %d patients evaluated in %d shards, %d touched): "
        "flagged %s, quarantined %d",
        summary.run_id,
        summary.evaluation,
        summary.evaluated_patients,
        summary.shards,
        summary.touched_patients,
        dict(summary.flagged),
        summary.quarantined,
    )
    yield_rows = rule_yield_rows(settings.store_url)  # counts per criterion, no rows
    markdown = summary_markdown(summary) + "\n\n## Yield and PPV per rule\n\n"
    if writeback_url:  # optional publish step: Task + DetectedIssue per new item
        summary = replace(
            summary, writeback=write_back(settings.store_url, writeback_url, settings)
        )
        logger.info("write-back: %s", dict(summary.writeback or {}))
    create_markdown_artifact(
        key="screen-summary",
        markdown=markdown + rule_yield_markdown(yield_rows),
        description="Counts only: fetched, quarantined, staged, flagged",
    )
    notify_published(settings, summary_counts(summary))  # the webhook, if set
    return summary
