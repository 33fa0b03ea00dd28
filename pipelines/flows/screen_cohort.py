"""The nightly screen as a Prefect flow: a table of contents over `pipelines.nightly`.

Tasks that touch patient data persist no results and use no cache. The run summary artifact
carries counts only.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from pipelines import nightly
from pipelines.rule_yield import rule_yield_markdown, rule_yield_rows
from pipelines.settings import Settings
from pipelines.stage import StagedData
from screens.dsl import Screen
from screens.engine import Evaluation
from screens.rules import rule_versions, select_screens

PHI_TASK = {"persist_result": False, "cache_policy": NO_CACHE}


@task(name="fetch-source", **PHI_TASK)
def fetch_source(source: str, settings: Settings, mode: str | None, progress: bool) -> Path:
    return nightly.resolve_source(source, settings=settings, mode=mode, progress=progress)


@task(name="stage-resources", **PHI_TASK)
def stage_resources(source_dir: Path, settings: Settings, progress: bool) -> StagedData:
    return nightly.stage(source_dir, settings=settings, progress=progress)


@task(name="read-notes", **PHI_TASK)
def read_notes(notes: pl.DataFrame, settings: Settings, progress: bool) -> pl.DataFrame:
    return nightly.read_notes(notes, settings=settings, progress=progress)


@task(name="evaluate-screens", **PHI_TASK)
def evaluate(tables: dict[str, pl.DataFrame], screens: list[Screen], as_of: date) -> Evaluation:
    return nightly.screen(tables, screens, as_of)


@task(name="publish-worklist", **PHI_TASK)
def publish(summary: nightly.RunSummary, staged: StagedData, evaluation: Evaluation, screens: list[Screen],
            settings: Settings, export_dir: Path | None) -> nightly.RunSummary:
    return nightly.publish(summary, staged, evaluation, screens, settings=settings, export_dir=export_dir)


@task(name="write-back", **PHI_TASK)
def write_back(store_url: str, base_url: str, settings: Settings) -> dict[str, int]:
    from pipelines.fhir.writeback import publish_writeback_for_run

    return publish_writeback_for_run(store_url, base_url, settings).as_dict()


def _scheduled_as_of() -> date:
    """as_of from the flow run's scheduled start (never the wall clock of a late retry)."""
    scheduled = flow_run.scheduled_start_time
    return scheduled.date() if scheduled is not None else date.today()


@flow(name="screen-cohort", flow_run_name="screen {as_of}", log_prints=False, persist_result=False)
def screen_cohort(
    source: str,
    as_of: date | None = None,
    screens: list[str] | None = None,
    store_url: str | None = None,
    export_dir: str | None = None,
    mode: str | None = None,
    writeback_url: str | None = None,
    progress: bool = False,
) -> dict[str, object]:
    """Fetch, stage, read notes, screen and publish one nightly worklist."""
    logger = get_run_logger()
    settings = Settings() if store_url is None else Settings(store_url=store_url)
    as_of = as_of or _scheduled_as_of()
    selected = select_screens(screens)
    logger.info("screening as_of=%s screens=%s versions=%s", as_of,
                ",".join(s.id for s in selected), rule_versions())
    source_dir = fetch_source(source, settings, mode, progress)
    staged = stage_resources(source_dir, settings, progress)
    mentions = read_notes(staged.tables["note"], settings, progress)
    evaluation = evaluate({**staged.tables, "note_mention": mentions}, selected, as_of)
    summary = nightly.start_summary(source, as_of, staged, mentions, evaluation)
    summary = publish(summary, staged, evaluation, selected, settings,
                      Path(export_dir) if export_dir else None)
    logger.info("published run %s: flagged %s, quarantined %d", summary.run_id, summary.flagged,
                summary.quarantined)
    result = nightly.summary_dict(summary)
    result["rule_yield"] = rule_yield_rows(settings.store_url)  # counts per criterion, no rows
    markdown = nightly.summary_markdown(summary) + "\n\n## Yield and PPV per rule\n\n"
    if writeback_url:  # optional publish step: Task + DetectedIssue per new item
        result["writeback"] = write_back(settings.store_url, writeback_url, settings)
        logger.info("write-back: %s", result["writeback"])
    create_markdown_artifact(key="screen-summary",
                             markdown=markdown + rule_yield_markdown(result["rule_yield"]),
                             description="Counts only: fetched, quarantined, staged, flagged")
    return result
