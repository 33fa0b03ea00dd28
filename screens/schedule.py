"""When a patient's result could next change with no new data: their next-change date.

A screen's result depends on `as_of` in three ways only: rows dated after `as_of` are not yet
seen, a lookback window (a criterion's, an escalation's) drops hits older than ``as_of - days``,
and ages are whole years at `as_of`. So, with the data unchanged, the result at a later date
can differ from today's only on or after the first of these days:

- the date of any row dated after `as_of` (it comes into view);
- the day a hit leaves a window it counts in (``observed_on + days + 1``, from the engine:
  `screens.engine.Evaluation.leaving`);
- the patient's next birthday (an age bound may be crossed).

Every date column of every table is taken for the first, whichever criterion reads it. Only
hits can leave a window (a row no criterion finds changes nothing when it ages): every dated
hit the engine keeps for a windowed criterion or escalation is taken for the second (decisions
006, 009). A night with a new `as_of` re-evaluates only patients whose data changed or whose
date has come (`pipelines.cohort_run.prepare`). Pure: staged frames, hits and `as_of` in, dates
out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import polars as pl

NEXT_CHANGE = {"patient_id": pl.String, "next_change": pl.Date}


def next_change_dates(
    tables: Mapping[str, pl.DataFrame], as_of: date, leaving: pl.DataFrame
) -> pl.DataFrame:
    """(patient_id, next_change) for every patient in ``tables["patient"]``; NULL: never.

    `leaving`: (patient_id, d), the day each hit leaves a window (`screens.engine`)."""
    candidates: list[pl.LazyFrame] = [leaving.lazy().select("patient_id", "d")]
    for frame in tables.values():
        if "patient_id" not in frame.columns:
            continue
        for column, dtype in frame.schema.items():
            if dtype == pl.Date:
                day = pl.col(column)
            elif isinstance(dtype, pl.Datetime):
                day = pl.col(column).dt.date()
            else:
                continue
            dated = frame.lazy().select("patient_id", day.alias("d")).drop_nulls()
            candidates.append(dated.filter(pl.col("d") > as_of))
    patients = tables["patient"]
    if "birth_date" in patients.columns:
        candidates.append(_next_birthdays(patients, as_of))
    everyone = patients.lazy().select("patient_id").unique()
    soonest = (
        pl.concat(candidates)
        .filter(pl.col("d") > as_of)
        .group_by("patient_id")
        .agg(next_change=pl.col("d").min())
    )
    return (
        everyone.join(soonest, on="patient_id", how="left")
        .select(pl.col("patient_id").cast(pl.String), pl.col("next_change").cast(pl.Date))
        .sort("patient_id")
        .collect()
    )


def _next_birthdays(patients: pl.DataFrame, as_of: date) -> pl.LazyFrame:
    """The first birthday after `as_of` (29 February counts on 1 March in other years)."""
    birth = pl.col("birth_date")
    rows = []
    for year in (as_of.year, as_of.year + 1):
        day = pl.date(year, birth.dt.month(), 1) + pl.duration(days=birth.dt.day() - 1)
        rows.append(patients.lazy().select("patient_id", day.alias("d")).drop_nulls())
    return pl.concat(rows).filter(pl.col("d") > as_of)
