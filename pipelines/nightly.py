"""The nightly screen as plain functions: fetch -> stage -> read notes -> screen -> publish.

The Prefect flow (`pipelines/flows/screen_cohort.py`) wraps each step as a task; the CLI and
tests call the same functions. Logs carry counts, ids and rule versions only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pipelines.errors import SourceError
from pipelines.note_unread import unread_lines
from pipelines.settings import Settings
from pipelines.site_codes import unmatched_in_frame
from pipelines.stage import StagedData, stage_source
from screens.dsl import Screen
from screens.engine import Evaluation, evaluate_screens
from screens.model import STG_NOTE_MENTION, assert_schema

if TYPE_CHECKING:
    from pipelines.store import Store

log = logging.getLogger("vascreen")


@dataclass(slots=True)
class RunSummary:
    run_id: str
    as_of: date
    source_kind: str  # "files" | "fhir"
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    flagged: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    notes: int = 0
    mentions: int = 0
    notes_unavailable: int = 0
    notes_unread: dict[str, int] = field(default_factory=dict)  # by `UnreadReason` value
    undated_skipped: int = 0
    publish: dict[str, int] = field(default_factory=dict)
    worklist_csv: Path | None = None
    store_url: str = ""
    evaluation: str = "full"  # full | incremental
    evaluated_patients: int = 0
    touched_patients: int = 0
    shards: int = 0
    since_not_honoured: list[str] = field(default_factory=list)
    # Observation codings that read like a vascular measurement no value set reads:
    # ("system|code", rows), most rows first (`pipelines.site_codes`).
    unmatched_codes: list[tuple[str, int]] = field(default_factory=list)
    # The whole store after publish, per screen: items flagged and items open (to do).
    items: dict[str, dict[str, int]] = field(default_factory=dict)


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def resolve_source(source: str, *, settings: Settings, mode: str | None, progress: bool) -> Path:
    """A directory to stage: the source itself, or a landing directory pulled from a server."""
    if not is_url(source):
        path = Path(source)
        if not path.is_dir():
            raise SourceError(f"source {source} is not a directory or an http(s) FHIR base URL")
        return path
    from pipelines.fhir.pull import auth_from_settings, pull_to_directory

    landing = settings.workdir / "landing"
    pull_to_directory(
        source,
        landing,
        mode=mode,  # type: ignore[arg-type]  # validated by the CLI: bulk | search | None
        auth=auth_from_settings(settings),
        state_dir=settings.workdir / "pull-state",
        progress=progress,
    )
    return landing


def stage(source_dir: Path, *, settings: Settings, progress: bool) -> StagedData:
    return stage_source(
        source_dir,
        workdir=settings.workdir / "stage",
        progress=progress,
        max_quarantine_ratio=settings.max_quarantine_ratio,
    )


def read_notes(notes: pl.DataFrame, *, settings: Settings, progress: bool) -> pl.DataFrame:
    """Note mentions for every staged note, reusing cached results for unchanged note text."""
    from screens.notes import extract_mention_frame

    if settings.nlp_cache:
        from pipelines.nlp_cache import extract_with_cache

        mentions = extract_with_cache(
            notes, cache_dir=settings.workdir / "nlp-cache", progress=progress
        )
    else:
        mentions = extract_mention_frame(notes)
    return assert_schema(mentions, STG_NOTE_MENTION, "stg_note_mention")


def screen(tables: dict[str, pl.DataFrame], screens: list[Screen], as_of: date) -> Evaluation:
    return evaluate_screens(screens, tables, as_of)


def flagged_by_screen(items: pl.DataFrame) -> dict[str, int]:
    """Worklist items per screen, sorted by screen (counts only: no PHI)."""
    flagged = items.group_by("screen").len().sort("screen")
    return dict(zip(flagged["screen"].to_list(), flagged["len"].to_list(), strict=True))


def start_summary(
    source: str, as_of: date, staged: StagedData, mentions: pl.DataFrame, evaluation: Evaluation
) -> RunSummary:
    return RunSummary(
        run_id="",
        as_of=as_of,
        source_kind="fhir" if is_url(source) else "files",
        counts=staged.counts,
        flagged=flagged_by_screen(evaluation.items),
        quarantined=staged.quarantine.height,
        notes=staged.tables["note"].height,
        mentions=mentions.height,
        notes_unavailable=staged.notes_unavailable,
        notes_unread=staged.notes_unread,
        undated_skipped=sum(evaluation.undated_skipped.values()),
        unmatched_codes=unmatched_in_frame(staged.tables["observation"]),
    )


def publish(
    summary: RunSummary,
    staged: StagedData,
    evaluation: Evaluation,
    screens: list[Screen],
    *,
    settings: Settings,
    export_dir: Path | None,
) -> RunSummary:
    """Write quarantine, evidence and items in the store, then export worklist.csv if asked."""
    from pipelines.store import Store
    from screens.rules import rule_versions

    with (
        Store.connect(settings.store_url) as store,
        store.recorded_run(
            as_of=summary.as_of,
            source=summary.source_kind,
            screens=[s.id for s in screens],
            rule_versions=rule_versions(),
        ) as run_id,
    ):
        summary.run_id = run_id
        store.save_quarantine(run_id, staged.quarantine)
        counts = store.publish(
            run_id,
            as_of=summary.as_of,
            screens=[s.id for s in screens],
            items=evaluation.items,
            evidence=evaluation.evidence,
        )
        summary.publish = counts.as_dict()
        store.save_patients(staged.tables["patient"])
        finish(store, run_id, summary, store_url=settings.store_url, export_dir=export_dir)
    return summary


def finish(
    store: Store, run_id: str, summary: RunSummary, *, store_url: str, export_dir: Path | None
) -> None:
    """Export worklist.csv if asked, then mark the run succeeded with its summary."""
    summary.store_url = store_url
    summary.items = store.item_counts()
    if export_dir is not None:
        export_dir.mkdir(parents=True, exist_ok=True)
        summary.worklist_csv = export_dir / "worklist.csv"
        store.export_worklist_csv(summary.worklist_csv)
    store.finish_run(run_id, status="succeeded", counts=summary_dict(summary))


def summary_dict(summary: RunSummary) -> dict[str, object]:
    return {
        "run_id": summary.run_id,
        "as_of": summary.as_of.isoformat(),
        "source_kind": summary.source_kind,
        "counts": summary.counts,
        "flagged": summary.flagged,
        "quarantined": summary.quarantined,
        "notes": summary.notes,
        "mentions": summary.mentions,
        "notes_unavailable": summary.notes_unavailable,
        "notes_unread_by_reason": summary.notes_unread,
        "undated_skipped": summary.undated_skipped,
        "publish": summary.publish,
        "evaluation": summary.evaluation,
        "evaluated_patients": summary.evaluated_patients,
        "touched_patients": summary.touched_patients,
        "shards": summary.shards,
        "since_not_honoured": summary.since_not_honoured,
        "unmatched_measurement_codes": dict(summary.unmatched_codes),
        "items": summary.items,
        "worklist_csv": str(summary.worklist_csv) if summary.worklist_csv else None,
    }


def summary_markdown(summary: RunSummary) -> str:
    """Counts-only run summary (artifact and CLI); no row data, no values."""
    lines = [
        f"# vascreen run {summary.run_id} (as_of {summary.as_of.isoformat()})",
        "",
        "| resource type | read | quarantined | staged |",
        "| --- | --- | --- | --- |",
    ]
    for rtype in sorted(summary.counts):
        c = summary.counts[rtype]
        lines.append(
            f"| {rtype} | {c.get('read', 0)} | {c.get('quarantined', 0)} | {c.get('staged', 0)} |"
        )
    lines += ["", "| screen | flagged |", "| --- | --- |"]
    lines += [f"| {s} | {n} |" for s, n in sorted(summary.flagged.items())]
    lines += [
        "",
        f"notes read: {summary.notes}, mentions: {summary.mentions}, "
        f"notes unavailable: {summary.notes_unavailable}, "
        f"undated rows skipped: {summary.undated_skipped}",
        *unread_lines(summary.notes_unread),
        f"evaluation: {summary.evaluation}, patients evaluated: {summary.evaluated_patients}, "
        f"touched: {summary.touched_patients}, shards: {summary.shards}",
    ]
    if summary.since_not_honoured:
        lines.append(
            "re-pulled in full (server could not filter by date): "
            + ", ".join(summary.since_not_honoured)
        )
    if summary.unmatched_codes:
        lines += [
            "",
            "Observation codes that read like a vascular measurement (ABI, TBI, toe or ankle "
            "pressure, TcPO2, compartment pressure) but match no value set: map them in "
            "screens/valuesets/local/.",
            "",
            "| system | code | rows |",
            "| --- | --- | --- |",
        ]
        for key, rows in summary.unmatched_codes:
            system, _, code = key.rpartition("|")
            lines.append(f"| {system} | {code} | {rows} |")
    return "\n".join(lines)
