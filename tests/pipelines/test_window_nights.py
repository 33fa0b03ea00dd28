"""Nights far apart with no new data: hits leave their lookback windows, and re-evaluating only
the patients whose next-change date came (`screens.schedule`) still gives the worklist of a full
re-evaluation.

The month of nights (`test_month_of_nights`) brings new data every night. Here the data never
changes, so a night can re-evaluate a patient only because of a date: a result, a diagnosis or
a note leaving a window of 30 days to 5 years, an escalation's window ending, a birthday.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from devtools.synth import write_cohort
from pipelines.night import run_night
from pipelines.nlp_cache import extract_frame
from screens.engine import LEAVING, evaluate_screens
from screens.rules import select_screens
from screens.schedule import next_change_dates
from tests.pipelines.test_month_of_nights import _differences, _settings, _worklist
from tests.stage_oracle import stage_source

START = date(2026, 6, 30)
# Steps past the screens' windows (30, 90, 180, 365, 730 and 1825 days) and between them.
NIGHTS = (0, 1, 31, 95, 200, 370, 740, 1830)


@pytest.mark.slow
def test_nights_years_apart_without_new_data_equal_full_re_evaluation(tmp_path: Path) -> None:
    source = tmp_path / "cohort"
    write_cohort(60, 11, source, as_of=START)
    production, reference = _settings(tmp_path / "prod"), _settings(tmp_path / "full")
    evaluated, resolved = [], []
    for days in NIGHTS:
        as_of = START + timedelta(days=days)
        summary = run_night(str(source), settings=production, as_of=as_of)
        run_night(str(source), settings=reference, as_of=as_of, full=True)
        evaluated.append(summary.evaluated_patients)
        got, want = _worklist(production), _worklist(reference)
        assert got.equals(want), f"{days} days on ({as_of}): {_differences(got, want)}"
        resolved.append(want.filter(pl.col("status") == "resolved").height)
    # The windows did their work: flags resolved as their evidence aged, with no new data, and
    # the nights between evaluated only some of the cohort.
    assert resolved[0] == 0 and resolved[-1] > 0, resolved
    assert min(evaluated[1:]) < evaluated[0], evaluated


def _hit_table(on: date) -> dict[str, pl.DataFrame]:
    return {
        "patient": pl.DataFrame(
            {"patient_id": ["p1", "p2"], "birth_date": [date(1950, 1, 1), date(1950, 1, 1)]}
        ),
        "condition": pl.DataFrame(
            {"patient_id": ["p1", "p2"], "recorded_on": [on, on + timedelta(days=61)]}
        ),
    }


def test_a_hit_leaves_its_window_the_day_after_the_window_ends() -> None:
    as_of = date(2026, 6, 30)
    tables = _hit_table(date(2026, 6, 1))
    leaving = pl.DataFrame(
        {"patient_id": ["p1"], "d": [date(2026, 6, 1) + timedelta(days=31)]}, schema=LEAVING
    )
    dates = dict(next_change_dates(tables, as_of, leaving).iter_rows())
    # p1: its hit leaves a 30-day window on 2 July (before its birthday); p2: its row dated 1
    # August comes into view then (no hit of its counts anywhere).
    assert dates == {"p1": date(2026, 7, 2), "p2": date(2026, 8, 1)}


def test_rows_no_criterion_finds_bring_no_date_of_their_own() -> None:
    as_of = date(2026, 6, 30)
    tables = _hit_table(date(2026, 6, 1))
    no_hits = pl.DataFrame(schema=LEAVING)
    dates = dict(next_change_dates(tables, as_of, no_hits).iter_rows())
    assert dates["p1"] == date(2027, 1, 1)  # its birthday only: an old row changes nothing


def test_no_result_changes_before_its_next_change_date(tmp_path: Path) -> None:
    """The schedule's promise, checked day by day: evaluated on the day before a patient's
    next-change date, with the same data, their items read as on the day the date was set."""
    source = tmp_path / "cohort"
    write_cohort(60, 11, source, as_of=START)
    tables = dict(stage_source(source, workdir=tmp_path / "stage").tables)
    tables["note_mention"] = extract_frame(tables["note"])
    screens = select_screens(None)
    first = evaluate_screens(screens, tables, START)
    due = next_change_dates(tables, START, first.leaving).drop_nulls()
    checked = 0
    for (day,) in due.select("next_change").unique().sort("next_change").head(12).iter_rows():
        before = day - timedelta(days=1)
        waiting = due.filter(pl.col("next_change") > before)["patient_id"].implode()
        then = _items(first.items, waiting)
        now = _items(evaluate_screens(screens, tables, before).items, waiting)
        assert now.equals(then), f"changed by {before}:\n{now}\n{then}"
        checked += 1
    assert checked == 12


def _items(items: pl.DataFrame, patients: pl.Series) -> pl.DataFrame:
    kept = ["patient_id", "screen", "priority", "criteria", "evidence", "mimics", "alerts"]
    return items.filter(pl.col("patient_id").is_in(patients)).select(kept).sort(kept)
