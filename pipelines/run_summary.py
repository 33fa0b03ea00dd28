"""What one night did, as an immutable value: counts, scope, timings and where the worklist went.

`pipelines.night.run_night` builds it once the shards are done and the publish step returns a
copy with the store's figures (`dataclasses.replace`). Counts and ids of codes only: no PHI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.full_reconcile import reconcile_line
from pipelines.note_unread import describe, unread_lines

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True, slots=True)
class StageTimes:
    """Wall seconds and peak RSS (MB) per stage of one night (the bench's figures)."""

    fetch_and_prepare: float = 0.0  # fetch + land + checks + merge
    land: float = 0.0
    checks: float = 0.0
    merge: float = 0.0
    staging: float = 0.0  # reading staged rows from the mirror, summed over the shards
    nlp: float = 0.0
    engine: float = 0.0
    publish: float = 0.0
    total: float = 0.0
    records_seen: int = 0
    records_parsed: int = 0
    rss_after_prepare_mb: float = 0.0
    rss_after_shards_mb: float = 0.0
    rss_after_publish_mb: float = 0.0


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: str
    as_of: date
    source_kind: str  # "files" | "fhir"
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    flagged: Mapping[str, int] = field(default_factory=dict)
    quarantined: int = 0
    notes: int = 0
    mentions: int = 0
    notes_unavailable: int = 0
    notes_unread: Mapping[str, int] = field(default_factory=dict)  # by `UnreadReason` value
    undated_skipped: int = 0
    publish: Mapping[str, int] = field(default_factory=dict)
    worklist_csv: Path | None = None
    store_url: str = ""
    evaluation: str = "full"  # full | incremental
    evaluated_patients: int = 0
    touched_patients: int = 0
    shards: int = 0
    since_not_honoured: tuple[str, ...] = ()
    # Observation codings that read like a vascular measurement no value set reads:
    # ("system|code", rows), most rows first (`pipelines.mirror.site_codes`).
    unmatched_codes: tuple[tuple[str, int], ...] = ()
    # The whole store after publish, per screen: items flagged and items open (to do).
    items: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # Task / DetectedIssue counts of the optional write-back step (None: not asked for).
    writeback: Mapping[str, int] | None = None
    times: StageTimes = StageTimes()
    # Records read per type that arrived as a full snapshot (`pipelines.intake_guard`).
    snapshot_read: Mapping[str, int] = field(default_factory=dict)
    # Patients merged through Patient.link, screened under their survivor's id, and the links
    # left as is by reason (`pipelines.mirror.patient_merges`).
    merged_patients: int = 0
    merge_problems: Mapping[str, int] = field(default_factory=dict)
    # Changed notes unread tonight that kept their earlier, read version, by `UnreadReason`
    # value (`pipelines.mirror.kept_notes`).
    notes_kept: Mapping[str, int] = field(default_factory=dict)
    # Types an export error file named: their earlier records kept (`pipelines.fhir.failed_types`).
    failed_types: tuple[str, ...] = ()
    # A FHIR source's last full read (today on a full read) and whether tonight was one.
    full_read_on: date | None = None
    full_read: bool = False


def evaluation_key() -> str:
    """What, besides as_of and the data, decides a result: value sets and the NLP version
    (rule versions are kept on the run row). A change re-evaluates every patient."""
    from screens.notes import NLP_VERSION
    from screens.valuesets import content_digest

    return f"valuesets={content_digest()} nlp={NLP_VERSION}"


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def flagged_by_screen(items: pl.DataFrame) -> dict[str, int]:
    """Worklist items per screen, sorted by screen (counts only: no PHI)."""
    flagged = items.group_by("screen").len().sort("screen")
    return dict(zip(flagged["screen"].to_list(), flagged["len"].to_list(), strict=True))


def summary_counts(summary: RunSummary) -> dict[str, object]:
    """The summary as JSON-ready counts, for the store's run row (no timings: they vary)."""
    return {
        "run_id": summary.run_id,
        "as_of": summary.as_of.isoformat(),
        "source_kind": summary.source_kind,
        "counts": {k: dict(v) for k, v in summary.counts.items()},
        "flagged": dict(summary.flagged),
        "quarantined": summary.quarantined,
        "notes": summary.notes,
        "mentions": summary.mentions,
        "notes_unavailable": summary.notes_unavailable,
        "notes_unread_by_reason": dict(summary.notes_unread),
        "undated_skipped": summary.undated_skipped,
        "publish": dict(summary.publish),
        "evaluation": summary.evaluation,
        "evaluated_patients": summary.evaluated_patients,
        "touched_patients": summary.touched_patients,
        "shards": summary.shards,
        "since_not_honoured": list(summary.since_not_honoured),
        "unmatched_measurement_codes": dict(summary.unmatched_codes),
        "items": {k: dict(v) for k, v in summary.items.items()},
        "worklist_csv": str(summary.worklist_csv) if summary.worklist_csv else None,
        "snapshot_read": dict(summary.snapshot_read),
        "merged_patients": summary.merged_patients,
        "merge_links_left_as_is": dict(summary.merge_problems),
        "notes_kept_by_reason": dict(summary.notes_kept),
        "failed_types": list(summary.failed_types),
        "full_read_on": summary.full_read_on.isoformat() if summary.full_read_on else None,
        "full_read": summary.full_read,
        "evaluation_key": evaluation_key(),
    }


def not_seen_lines(summary: RunSummary) -> list[str]:
    """What tonight did not see and kept from before, and the last full read of a FHIR source."""
    lines = []
    kept = sum(summary.notes_kept.values())
    if kept:
        lines.append(f"notes kept from an earlier night: {kept} ({describe(summary.notes_kept)})")
    if summary.failed_types:
        lines.append(
            "types with export errors (earlier records kept): " + ", ".join(summary.failed_types)
        )
    if summary.source_kind == "fhir":
        today = datetime.now(UTC).date()
        line = reconcile_line(summary.full_read_on, today, tonight=summary.full_read)
        if line:
            lines.append(line)
    return lines


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
        *not_seen_lines(summary),
        f"evaluation: {summary.evaluation}, patients evaluated: {summary.evaluated_patients}, "
        f"touched: {summary.touched_patients}, shards: {summary.shards}",
    ]
    if summary.since_not_honoured:
        lines.append(
            "re-pulled in full (server could not filter by date): "
            + ", ".join(summary.since_not_honoured)
        )
    lines += merge_lines(summary)
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


def merge_lines(summary: RunSummary) -> list[str]:
    """One line on merged patients (counts only), or none when there are none."""
    if not summary.merged_patients and not summary.merge_problems:
        return []
    left = ", ".join(f"{k} {v}" for k, v in sorted(summary.merge_problems.items()))
    return [
        f"merged patients (Patient.link): {summary.merged_patients} screened under the "
        f"surviving id" + (f"; links left as is: {left}" if left else "")
    ]


def summary_lines(summary: RunSummary) -> list[str]:
    """The CLI's few lines about a night: counts, scope and where the worklist went (no PHI).

    "flagged" is this run's items; a rerun that changes nothing flags none of its own, so the
    open items of the whole worklist always follow (the work that is waiting).
    """
    flagged = ", ".join(f"{k} {v}" for k, v in sorted(summary.flagged.items()))
    changes = (
        f" (new {summary.publish.get('created', 0)}, resolved {summary.publish.get('resolved', 0)})"
        if summary.publish
        else ""
    )
    lines = [
        f"run {summary.run_id} as_of {summary.as_of.isoformat()}: "
        f"quarantined {summary.quarantined}, notes {summary.notes}, mentions {summary.mentions}",
        *unread_lines(summary.notes_unread),
        *not_seen_lines(summary),
        f"flagged: {flagged or 'none'}{changes}",
    ]
    if "open" in summary.items:  # the whole store after this run, not only what it evaluated
        open_items = summary.items["open"]
        listed = ", ".join(f"{k} {v}" for k, v in sorted(open_items.items()) if v)
        lines.append(f"open items: {sum(open_items.values())}" + (f" ({listed})" if listed else ""))
    if summary.writeback:
        lines.append(f"write-back: {dict(summary.writeback)}")
    lines.append(
        f"evaluation: {summary.evaluation}, "
        f"patients evaluated {summary.evaluated_patients}, "
        f"touched {summary.touched_patients}, shards {summary.shards}"
    )
    if summary.since_not_honoured:
        lines.append(
            "re-pulled in full (server could not filter by date): "
            + ", ".join(summary.since_not_honoured)
        )
    lines += merge_lines(summary)
    if summary.unmatched_codes:
        lines.append(
            "unmatched ABI-like codes (map in screens/valuesets/local/): "
            + ", ".join(f"{key} ({rows})" for key, rows in summary.unmatched_codes)
        )
    if summary.worklist_csv:
        lines.append(f"worklist: {summary.worklist_csv}")
    return lines
