"""Facts that end: a hit superseded by a later one on the same side, or on a treated side."""

from __future__ import annotations

import polars as pl


def drop_superseded(
    hits: pl.DataFrame, later: pl.DataFrame, *, any_time: bool = False
) -> pl.DataFrame:
    """`hits` less those followed by a `later` hit of the same patient, dated after them, on the
    same side (a side missing on either, or bilateral, matches any side). With `any_time`, a
    `later` hit on the same side removes them whatever its date (a treated leg)."""
    if hits.is_empty() or later.is_empty():
        return hits
    indexed = hits.with_row_index("_hit")
    same_side = (
        pl.col("laterality").is_null()
        | pl.col("_later_side").is_null()
        | (pl.col("laterality") == pl.col("_later_side"))
        | (pl.col("laterality") == "bilateral")
        | (pl.col("_later_side") == "bilateral")
    )
    ended = (
        indexed.join(
            later.select(
                "patient_id",
                pl.col("observed_on").alias("_later_on"),
                pl.col("laterality").alias("_later_side"),
            ),
            on="patient_id",
        )
        .filter((pl.lit(any_time) | (pl.col("_later_on") > pl.col("observed_on"))) & same_side)
        .select("_hit")
        .unique()
    )
    return indexed.join(ended, on="_hit", how="anti").drop("_hit")


def sides_from_same_day(hits: pl.DataFrame) -> pl.DataFrame:
    """Unsided hits take the side of a sided hit of the same patient on the same day: a CPT
    code without a side and the ICD-10-PCS code of the same operation ("Release Right Lower
    Leg Fascia") describe one procedure."""
    if hits.is_empty() or hits["laterality"].null_count() == 0:
        return hits
    sided = (
        hits.filter(pl.col("laterality").is_not_null() & pl.col("observed_on").is_not_null())
        .group_by("patient_id", "observed_on")
        .agg(pl.col("laterality").unique().alias("_sides"))
        .filter(pl.col("_sides").list.len() == 1)
        .select("patient_id", "observed_on", pl.col("_sides").list.first().alias("_same_day"))
    )
    return (
        hits.join(sided, on=["patient_id", "observed_on"], how="left", maintain_order="left")
        .with_columns(laterality=pl.coalesce("laterality", "_same_day"))
        .drop("_same_day")
    )
