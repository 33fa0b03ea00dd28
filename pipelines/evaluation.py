"""`vascreen evaluate`: per-screen sensitivity and precision of a night's worklist vs labels."""

from __future__ import annotations

import csv
import math
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines.errors import SourceError
from pipelines.night import run_night
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
    """Score the worklist a night on `source` publishes (`pipelines.night.run_night`).

    The night runs in a throwaway work directory and SQLite store, NLP cache off; what it
    exports as worklist.csv is what is scored.
    """
    labels = read_labels(labels_path)
    screens = select_screens(screen_ids)
    if not source.is_dir():
        raise SourceError(f"source {source} is not a directory")
    with tempfile.TemporaryDirectory(prefix="vascreen-eval-") as tmp:
        work = Path(tmp)
        settings = Settings(
            workdir=work / "work", store_url=f"sqlite:///{work / 'store.db'}", nlp_cache=False
        )
        run_night(
            str(source),
            settings=settings,
            as_of=as_of,
            screens=screen_ids,
            export_dir=work / "export",
            progress=progress,
        )
        flagged = read_worklist(work / "export" / "worklist.csv")
    # A stand-alone screen (safety alerts) has no labels to score against: its items are alerts.
    return score(flagged, labels, [s.id for s in screens if not s.stands_alone])


def read_worklist(path: Path) -> dict[str, set[str]]:
    """patient_id -> screens with an open item in worklist.csv."""
    flagged: dict[str, set[str]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            flagged.setdefault(row["patient_id"], set()).add(row["screen"])
    return flagged


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion (95% by default); (0, 1) when nothing was tried."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def format_report(scores: list[ScreenScore], *, max_ids: int = 50) -> str:
    lines = [f"{'screen':<12} {'TP':>5} {'FP':>5} {'FN':>5} {'sensitivity':>12} {'precision':>10}"]
    for s in scores:
        lines.append(
            f"{s.screen:<12} {s.true_positive:>5} {s.false_positive:>5} {s.false_negative:>5} "
            f"{s.sensitivity:>12.3f} {s.precision:>10.3f}"
        )
    for s in scores:
        sens = wilson_interval(s.true_positive, s.true_positive + s.false_negative)
        prec = wilson_interval(s.true_positive, s.true_positive + s.false_positive)
        lines.append(
            f"{s.screen} 95% CI (Wilson): sensitivity {sens[0]:.3f}-{sens[1]:.3f}, "
            f"precision {prec[0]:.3f}-{prec[1]:.3f}"
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
