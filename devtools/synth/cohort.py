"""Generate the cohort patient by patient and stream it to Bulk NDJSON files plus labels.csv."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import orjson
from tqdm import tqdm

from devtools.synth.background import add_history, add_risk_factors, new_chart
from devtools.synth.catalogue import SCREENS, Story, allocate_stories
from devtools.synth.chart import RESOURCE_TYPES, Chart

AS_OF_DEFAULT = date(2026, 6, 30)


@dataclass(frozen=True, slots=True)
class CohortSummary:
    """Counts only (no patient data): safe to log or print."""

    n_patients: int
    resources: dict[str, int]  # resource type -> count written
    positives: dict[str, int]  # screen id -> patients labelled positive
    stories: dict[str, int]  # story id -> patients


def build_chart(index: int, story: Story, seed: int, as_of: date) -> Chart:
    """Build one patient's full chart; depends only on (seed, index, story, as_of)."""
    # String seeds hash with SHA-512, so they are stable across processes and PYTHONHASHSEED.
    rng = random.Random(f"vascreen-synth:{seed}:{index}")  # noqa: S311
    chart = new_chart(patient_id(index), index, rng, as_of, story.profile)
    if {"pad", "clti"} & set(story.screens):
        chart.flags.add("arterial_story")
    add_risk_factors(chart, story.profile.risk)
    add_history(chart)
    if story.plant is not None:
        story.plant(chart)
    return chart


def patient_id(index: int) -> str:
    return f"p{index + 1:06d}"


def write_cohort(
    n_patients: int,
    seed: int,
    out_dir: Path,
    *,
    as_of: date = AS_OF_DEFAULT,
    progress: bool = False,
) -> CohortSummary:
    """Write a synthetic cohort as Bulk Data NDJSON (<Type>.ndjson) plus labels.csv.

    The same (n_patients, seed, as_of) always gives byte-identical files.

    Args:
        n_patients: number of patients.
        seed: random seed.
        out_dir: created if missing; existing files of the same names are overwritten.
        as_of: the screening date the labels are true for.
        progress: show a progress bar on stderr.
    """
    if n_patients < 0:
        raise ValueError("n_patients must be non-negative")
    out_dir.mkdir(parents=True, exist_ok=True)
    stories = allocate_stories(n_patients, seed)
    counts = dict.fromkeys(RESOURCE_TYPES, 0)
    positives = dict.fromkeys(SCREENS, 0)
    story_counts: dict[str, int] = {}
    handles = {t: (out_dir / f"{t}.ndjson").open("wb") for t in RESOURCE_TYPES}
    try:
        with (out_dir / "labels.csv").open("w", newline="", encoding="utf-8") as labels_file:
            labels = csv.writer(labels_file, lineterminator="\n")
            labels.writerow(["patient_id", "screens", "story"])
            bar = tqdm(total=n_patients, disable=not progress, unit="patient", desc="synth")
            for index, story in enumerate(stories):
                chart = build_chart(index, story, seed, as_of)
                for rtype, resources in chart.out.items():
                    if resources:
                        handles[rtype].write(b"".join(orjson.dumps(r) + b"\n" for r in resources))
                        counts[rtype] += len(resources)
                labels.writerow([chart.patient_id, " ".join(story.screens), story.id])
                for screen in story.screens:
                    positives[screen] += 1
                story_counts[story.id] = story_counts.get(story.id, 0) + 1
                bar.update(1)
            bar.close()
    finally:
        for handle in handles.values():
            handle.close()
    return CohortSummary(
        n_patients=n_patients,
        resources=counts,
        positives=positives,
        stories=dict(sorted(story_counts.items())),
    )
