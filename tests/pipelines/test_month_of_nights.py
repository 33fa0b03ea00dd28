"""A month of consecutive nights: re-evaluating only the patients whose data changed or whose
next-change date came (`screens.schedule`) gives the worklist of a full re-evaluation.

Two stores follow the same 30 nights. One runs as production does (a new as_of each night,
only changed and due patients evaluated); the other re-evaluates everyone every night
(`full=True`). The cohort is made with data dated through the month, so rows come into view
and leave lookback windows as the nights pass; each night adds, changes or deletes data, and
coordinators snooze and dismiss items in both stores alike.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from devtools.synth import write_cohort
from pipelines.night import run_night
from pipelines.settings import Settings
from pipelines.store import Store

START = date(2026, 6, 1)
NIGHTS = 30
COMPARED = [
    "item_id",
    "patient_id",
    "screen",
    "priority",
    "status",
    "is_flagged",
    "first_flagged_on",
    "last_evidence_on",
    "criteria",
    "evidence",
    "mimics",
    "alerts",
    "screen_version",
]


def _settings(root: Path) -> Settings:
    return Settings(workdir=root / "work", store_url=f"sqlite:///{root / 'store.db'}")


def _worklist(settings: Settings) -> pl.DataFrame:
    with Store.connect(settings.store_url) as store:
        return store.worklist(include_closed=True).select(COMPARED).sort("item_id")


def _low_abi(patient_id: str, oid: str, on: date) -> str:
    return json.dumps(
        {
            "resourceType": "Observation",
            "id": oid,
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "77194-9"}]},
            "subject": {"reference": f"Patient/{patient_id}"},
            "effectiveDateTime": on.isoformat(),
            "valueQuantity": {"value": 0.61, "unit": "1", "system": "http://unitsofmeasure.org"},
        }
    )


def _decide(settings: Settings, item_id: str, **decision: object) -> None:
    with Store.connect(settings.store_url) as store:
        store.record_decision(item_id, username="coord", **decision)  # type: ignore[arg-type]


def _differences(got: pl.DataFrame, want: pl.DataFrame) -> str:
    only_got = got.join(want, on=COMPARED, how="anti", nulls_equal=True)
    only_want = want.join(got, on=COMPARED, how="anti", nulls_equal=True)
    with pl.Config(tbl_cols=-1, fmt_str_lengths=60, tbl_width_chars=400):
        return f"incremental only:\n{only_got}\nfull only:\n{only_want}"


@pytest.mark.slow
def test_a_month_of_incremental_nights_equals_full_re_evaluation(tmp_path: Path) -> None:
    base = tmp_path / "cohort"
    # Data dated up to the month's end: rows come into view night by night.
    write_cohort(80, 23, base, as_of=START + timedelta(days=NIGHTS))
    files = {p.name: p.read_text().splitlines() for p in base.glob("*.ndjson")}
    patients = [json.loads(line)["id"] for line in files["Patient.ndjson"]]
    rng = random.Random(5)
    production, reference = _settings(tmp_path / "prod"), _settings(tmp_path / "full")
    evaluated = []
    for night in range(NIGHTS):
        as_of = START + timedelta(days=night)
        if night:  # the day's changes: a new result, a deleted one, now and then a diagnosis
            files["Observation.ndjson"].append(
                _low_abi(rng.choice(patients), f"new-abi-{night}", as_of - timedelta(days=1))
            )
            files["Observation.ndjson"].pop(rng.randrange(len(files["Observation.ndjson"])))
        source = tmp_path / f"night-{night:02d}"
        source.mkdir()
        for name, lines in files.items():
            (source / name).write_text("\n".join(lines) + "\n")
        summary = run_night(str(source), settings=production, as_of=as_of)
        run_night(str(source), settings=reference, as_of=as_of, full=True)
        evaluated.append(summary.evaluated_patients)
        if night in (2, 9):  # the same coordinator decisions in both stores
            open_items = _worklist(production).filter(pl.col("status").is_in(["new", "open"]))
            first, last = open_items["item_id"][0], open_items["item_id"][-1]
            for settings in (production, reference):
                _decide(settings, first, action="snoozed", snooze_until=as_of + timedelta(days=4))
                _decide(settings, last, action="dismissed", reason="mimic")
        got, want = _worklist(production), _worklist(reference)
        assert got.equals(want), f"night {night} ({as_of}): {_differences(got, want)}"
    # It scaled with what changed: most nights evaluated a fraction of the cohort.
    assert evaluated[0] == len(patients)
    assert sorted(evaluated[1:])[len(evaluated) // 2] < len(patients) // 2, evaluated
