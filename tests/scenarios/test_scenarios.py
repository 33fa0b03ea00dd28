"""Scenario fixtures: clinical stories as small R4 Bundles with golden worklists.

Each folder holds bundle.json (synthetic collection Bundle), scenario.toml (as_of, screens),
README.md (the story and why the expected result is right) and expected_worklist.csv (sorted by
patient_id, screen; no run timestamps). Regenerate goldens with `pytest --update-goldens` and
review the diff.
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from datetime import date
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from screens.engine import evaluate_screens
from screens.notes import extract_mention_frame
from screens.rules import select_screens
from tests.stage_oracle import stage_source

HERE = Path(__file__).parent
FOLDERS = sorted(p for p in HERE.iterdir() if (p / "scenario.toml").is_file())
COLUMNS = ["patient_id", "screen", "priority", "criteria", "evidence", "mimics", "alerts"]


def _worklist_csv(folder: Path, workdir: Path) -> str:
    config = tomllib.loads((folder / "scenario.toml").read_text(encoding="utf-8"))
    staged = stage_source(folder, workdir=workdir)
    assert staged.quarantine.height == config.get("expect_quarantined", 0)
    tables = {**staged.tables, "note_mention": extract_mention_frame(staged.tables["note"])}
    result = evaluate_screens(
        select_screens(config.get("screens")), tables, date.fromisoformat(config["as_of"])
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in result.items.sort(["patient_id", "screen"]).select(COLUMNS).iter_rows():
        writer.writerow(row)
    return out.getvalue()


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_scenario_worklist_matches_golden(
    folder: Path, tmp_path: Path, update_goldens: bool
) -> None:
    actual = _worklist_csv(folder, tmp_path)
    golden = folder / "expected_worklist.csv"
    if update_goldens:
        golden.write_text(actual, encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_scenario_bundle_is_valid_r4(folder: Path) -> None:
    bundle = json.loads((folder / "bundle.json").read_text(encoding="utf-8"))
    Bundle.model_validate(bundle)
    assert (folder / "README.md").read_text(encoding="utf-8").strip()


def test_scenario_suite_covers_every_screen_with_positives_and_negatives() -> None:
    per_screen: dict[str, dict[str, int]] = {}
    for folder in FOLDERS:
        config = tomllib.loads((folder / "scenario.toml").read_text(encoding="utf-8"))
        kind = config["kind"]  # positive | negative | boundary | trap
        for screen in config.get("screens", []):
            per_screen.setdefault(screen, {}).setdefault(kind, 0)
            per_screen[screen][kind] += 1
    for screen in ("pad", "clti", "may_thurner", "cecs"):
        counts = per_screen.get(screen, {})
        assert counts.get("positive", 0) >= 8, (screen, counts)
        assert counts.get("negative", 0) + counts.get("trap", 0) >= 8, (screen, counts)
        assert counts.get("boundary", 0) >= 1, (screen, counts)
