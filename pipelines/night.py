"""One night, the only run path: fetch -> land, check, merge -> shards -> publish.

`run_night` is what `vascreen run` (through the Prefect flow), `demo`, `evaluate`, `bench` and
the screenshot tool run. The flow passes its Prefect tasks as `NightSteps`: the same stage
functions, in the same order, each observed as a task. The work directory is held
(`pipelines.workdir_lock`) from fetch to publish.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from pipelines import cohort_run, night_publish
from pipelines.cohort_run import Fetched, Prepared
from pipelines.intake_guard import before_fetch, before_publish
from pipelines.run_progress import RunProgress
from pipelines.run_summary import RunSummary, StageTimes
from pipelines.settings import Settings
from pipelines.shards import ShardJob, ShardResult, read_results, run_shard
from pipelines.workdir_lock import hold_workdir

FetchStep = Callable[..., Fetched]
PrepareStep = Callable[..., Prepared]
# The shards, and a callable to tick once per shard done (the progress bar).
ShardsStep = Callable[[list[ShardJob], Callable[[], None]], list[ShardResult]]
PublishStep = Callable[..., RunSummary]


@dataclass(frozen=True, slots=True)
class NightSteps:
    """The stage functions a night calls; the flow swaps in Prefect tasks that call the same."""

    fetch: FetchStep
    prepare: PrepareStep
    run_shards: ShardsStep
    publish: PublishStep


def run_shards_in_turn(jobs: list[ShardJob], advance: Callable[[], None]) -> list[ShardResult]:
    """Shards one after another in this process: memory is bounded by one shard."""
    results = []
    for job in jobs:
        results.append(run_shard(job))
        advance()
    return results


def plain_steps() -> NightSteps:
    """The plain functions, looked up now (so a test or the crash driver can wrap them)."""
    return NightSteps(
        cohort_run.fetch, cohort_run.prepare, run_shards_in_turn, night_publish.publish_results
    )


@contextmanager
def private_files(workdir: Path) -> Iterator[None]:
    """The work directory (mirror, pulled files, NLP cache: PHI) is the run user's alone:
    0700, and what the run creates is 0600/0700 (umask 077) while it runs."""
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o700)
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def peak_rss_mb() -> float:
    """This process's peak resident set so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_night(
    source: str,
    *,
    settings: Settings,
    as_of: date,
    screens: list[str] | None = None,
    full: bool = False,
    export_dir: Path | None = None,
    mode: str | None = None,
    progress: bool = False,
    steps: NightSteps | None = None,
) -> RunSummary:
    """Run one night on `source` (a directory or a FHIR base URL) and publish its worklist.

    Raises:
        ScreeningError: a subclass per failure (source, FHIR server, store, quarantine
            threshold, work directory busy); nothing is published then.
    """
    from screens.rules import rule_versions, select_screens

    steps = steps or plain_steps()
    ids = sorted(s.id for s in select_screens(screens))
    start = time.perf_counter()
    with (
        private_files(settings.workdir),
        hold_workdir(settings.workdir),
        RunProgress(progress) as bars,
    ):
        store_at_start = before_fetch(settings, as_of)
        with bars.stage("fetch"):
            fetched = steps.fetch(
                source, settings=settings, mode=mode, full=full, progress=progress
            )
        with bars.stage("land and merge"):
            prepared = steps.prepare(
                fetched,
                settings=settings,
                as_of=as_of,
                screens=ids,
                full=full,
                rule_versions=rule_versions(),
            )
        prepared_s, rss_prepared = time.perf_counter() - start, peak_rss_mb()
        jobs = cohort_run.shard_jobs(prepared, settings=settings, as_of=as_of, screens=ids)
        with bars.stage("screen shards", total=len(jobs)) as advance:
            results = steps.run_shards(jobs, advance)
        rss_shards = peak_rss_mb()
        clock = time.perf_counter()
        items, _ = read_results(results)
        summary = night_publish.summarize(source, as_of, prepared, results, items, fetched)
        before_publish(settings, store_at_start)
        with bars.stage("publish"):
            summary = steps.publish(
                summary,
                prepared,
                results,
                fetched,
                source=source,
                screens=ids,
                settings=settings,
                export_dir=export_dir,
            )
    now = time.perf_counter()
    seen, parsed = prepared.records
    times = StageTimes(
        fetch_and_prepare=prepared_s,
        land=prepared.seconds.get("land", 0.0),
        checks=prepared.seconds.get("checks", 0.0),
        merge=prepared.seconds.get("merge", 0.0),
        staging=sum(r.seconds.get("stage", 0.0) for r in results),
        nlp=sum(r.seconds.get("nlp", 0.0) for r in results),
        engine=sum(r.seconds.get("engine", 0.0) for r in results),
        publish=now - clock,
        total=now - start,
        records_seen=seen,
        records_parsed=parsed,
        rss_after_prepare_mb=rss_prepared,
        rss_after_shards_mb=rss_shards,
        rss_after_publish_mb=peak_rss_mb(),
    )
    return replace(summary, times=times)
