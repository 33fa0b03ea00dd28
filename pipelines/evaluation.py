"""`vascreen evaluate`: per-screen sensitivity and precision of a run against known labels."""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines import nightly
from pipelines.errors import SourceError
from pipelines.settings import Settings
from screens.rules import select_screens


@dataclass(slots=True)
class ScreenScore:
    screen: str
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    missed: list[str] = field(default_factory=list)  # labelled, not flagged
    extra: list[str] = field(default_factory=list)  # flagged, not labelled

    @property
    def sensitivity(self) -> float:
        labelled = self.true_positive + self.false_negative
        return self.true_positive / labelled if labelled else 1.0

    @property
    def precision(self) -> float:
        flagged = self.true_positive + self.false_positive
        return self.true_positive / flagged if flagged else 1.0


def read_labels(path: Path) -> dict[str, set[str]]:
    """patient_id -> set of screen ids. Raises SourceError on a missing file or columns."""
    if not path.is_file():
        raise SourceError(f"labels file {path} not found")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not {"patient_id", "screens"} <= set(reader.fieldnames or []):
            raise SourceError(f"labels file {path} needs columns patient_id,screens")
        return {row["patient_id"]: set((row["screens"] or "").split()) for row in reader}


def score(
    flagged: dict[str, set[str]], labels: dict[str, set[str]], screen_ids: list[str]
) -> list[ScreenScore]:
    scores = []
    for screen_id in screen_ids:
        truth = {p for p, s in labels.items() if screen_id in s}
        found = {p for p, s in flagged.items() if screen_id in s}
        scores.append(
            ScreenScore(
                screen_id,
                len(truth & found),
                len(found - truth),
                len(truth - found),
                sorted(truth - found),
                sorted(found - truth),
            )
        )
    return scores


def evaluate_source(
    source: Path,
    labels_path: Path,
    as_of: date,
    screen_ids: list[str] | None,
    *,
    progress: bool = False,
) -> list[ScreenScore]:
    labels = read_labels(labels_path)
    screens = select_screens(screen_ids)
    with tempfile.TemporaryDirectory(prefix="vascreen-eval-") as tmp:
        settings = Settings(workdir=Path(tmp), nlp_cache=False)
        staged = nightly.stage(
            nightly.resolve_source(str(source), settings=settings, mode=None, progress=progress),
            settings=settings,
            progress=progress,
        )
        mentions = nightly.read_notes(staged.tables["note"], settings=settings, progress=progress)
        evaluation = nightly.screen({**staged.tables, "note_mention": mentions}, screens, as_of)
    flagged: dict[str, set[str]] = {}
    for patient_id, screen_id in evaluation.items.select("patient_id", "screen").iter_rows():
        flagged.setdefault(patient_id, set()).add(screen_id)
    # A stand-alone screen (safety alerts) has no labels to score against: its items are alerts.
    return score(flagged, labels, [s.id for s in screens if not s.stands_alone])


def format_report(scores: list[ScreenScore], *, max_ids: int = 50) -> str:
    lines = [f"{'screen':<12} {'TP':>5} {'FP':>5} {'FN':>5} {'sensitivity':>12} {'precision':>10}"]
    for s in scores:
        lines.append(
            f"{s.screen:<12} {s.true_positive:>5} {s.false_positive:>5} {s.false_negative:>5} "
            f"{s.sensitivity:>12.3f} {s.precision:>10.3f}"
        )
    for s in scores:
        if s.missed:
            lines.append(
                f"{s.screen} missed: {' '.join(s.missed[:max_ids])}"
                + (" ..." if len(s.missed) > max_ids else "")
            )
        if s.extra:
            lines.append(
                f"{s.screen} flagged but not labelled: {' '.join(s.extra[:max_ids])}"
                + (" ..." if len(s.extra) > max_ids else "")
            )
    return "\n".join(lines)
