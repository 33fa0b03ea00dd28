"""Finders: turn one criterion into its hits over the staged tables, within its lookback.

A hit is one row of HIT: the patient, the resource (or note span) that matched, its date and value.
Hygiene that belongs to reading results lives here and is the same for every rule: lab results
count only when final/amended/corrected and in the criterion's UCUM unit (never
"unit_unrecognized"); refuted or entered-in-error diagnoses never count; nothing dated after
`as_of` counts; a windowed criterion skips undated rows and reports how many it skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import polars as pl

from screens import dsl
from screens.coded import in_valueset, per_name, result_timing, side_of

HIT = {
    "patient_id": pl.String,
    "source_ref": pl.String,
    "observed_on": pl.Date,
    "value": pl.Float64,
    "unit": pl.String,
    "laterality": pl.String,
    "span_start": pl.Int64,
    "span_end": pl.Int64,
    "sentence_start": pl.Int64,
    "snippet": pl.String,
    "modifiers": pl.String,
}
RESULT_STATUSES = ("final", "amended", "corrected")
EXCLUDED_CONDITION_VERIFICATION = ("refuted", "entered-in-error")
EXCLUDED_ORDER_STATUSES = ("entered-in-error", "not-done", "cancelled", "revoked")


def _table(tables: Mapping[str, pl.DataFrame], name: str) -> pl.DataFrame:
    frame = tables.get(name)
    if frame is None:
        raise KeyError(f"staged table {name!r} is missing")
    return frame


# Staged tables whose rows carry a code: value sets match them on `_code_keys`.
def _hits(frame: pl.DataFrame, **columns: pl.Expr) -> pl.DataFrame:
    exprs = []
    for name, dtype in HIT.items():
        expr = columns.get(name, pl.lit(None))
        exprs.append(expr.cast(dtype).alias(name))
    return frame.select(exprs)


def _bounds(expr: pl.Expr, bounds: dsl.Bounds) -> pl.Expr:
    cond = expr.is_not_null()
    if bounds.at_least is not None:
        cond = cond & (expr >= bounds.at_least)
    if bounds.above is not None:
        cond = cond & (expr > bounds.above)
    if bounds.at_most is not None:
        cond = cond & (expr <= bounds.at_most)
    if bounds.below is not None:
        cond = cond & (expr < bounds.below)
    return cond


ACTIVE_CONDITION_STATUSES = ("active", "recurrence", "relapse")


def _find_diagnosis(
    f: dsl.Diagnosis, tables: Mapping[str, pl.DataFrame], as_of: date
) -> pl.DataFrame:
    frame = _table(tables, "condition").filter(
        pl.col("verification_status").is_null()
        | ~pl.col("verification_status").is_in(EXCLUDED_CONDITION_VERIFICATION)
    )
    if f.active_only:
        # clinicalStatus inactive/remission/resolved, or an abatement on or before as_of, ends it.
        frame = frame.filter(
            pl.col("clinical_status").is_null()
            | pl.col("clinical_status").is_in(ACTIVE_CONDITION_STATUSES)
        )
        if "abated_on" in frame.columns:
            frame = frame.filter(pl.col("abated_on").is_null() | (pl.col("abated_on") > as_of))
    found = in_valueset(frame, f.valueset)
    coded_side = pl.col("laterality") if "laterality" in found.columns else pl.lit(None, pl.String)
    found = found.with_columns(_side=pl.coalesce(coded_side, per_name(pl.col("display"), side_of)))
    if f.laterality is not None:
        found = found.filter(pl.col("_side").is_in(sorted(f.laterality)))
    return _hits(
        found,
        patient_id=pl.col("patient_id"),
        source_ref=pl.col("source_ref"),
        observed_on=pl.col("recorded_on"),
        laterality=pl.col("_side"),
    )


# A Procedure only planned ("preparation"), not done or stopped before it began is not a
# procedure the patient had (a stent that is only scheduled leaves May-Thurner untreated).
EXCLUDED_PROCEDURE_STATUSES = ("entered-in-error", "not-done", "preparation", "unknown")


def _find_procedure(f: dsl.ProcedureFinder, tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    frame = _table(tables, "procedure").filter(
        pl.col("status").is_null() | ~pl.col("status").is_in(EXCLUDED_PROCEDURE_STATUSES)
    )
    found = in_valueset(frame, f.valueset)
    coded_side = pl.col("laterality") if "laterality" in found.columns else pl.lit(None, pl.String)
    return _hits(
        found,
        patient_id=pl.col("patient_id"),
        source_ref=pl.col("source_ref"),
        observed_on=pl.col("performed_on"),
        laterality=pl.coalesce(coded_side, per_name(pl.col("display"), side_of)),
    )


def _find_medication(f: dsl.MedicationFinder, tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    frame = _table(tables, "medication").filter(
        pl.col("status").is_null() | ~pl.col("status").is_in(EXCLUDED_ORDER_STATUSES)
    )
    found = in_valueset(frame, f.valueset)
    if f.display is not None:
        by_name = frame.filter(pl.col("display").str.contains(f"(?i){f.display}"))
        found = pl.concat([found, by_name]).unique(maintain_order=True)
    return _hits(
        found,
        patient_id=pl.col("patient_id"),
        source_ref=pl.col("source_ref"),
        observed_on=pl.col("authored_on"),
    )


def _find_lab(f: dsl.Lab, tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    frame = in_valueset(
        _table(tables, "observation").filter(pl.col("status").is_in(RESULT_STATUSES)), f.valueset
    )
    if f.text is not None:
        frame = frame.filter(pl.col("value_str").str.contains(f"(?i){f.text}").fill_null(False))
    else:
        # An index sent as valueString "0.62" is read as a number; a pressure needs its unit.
        # Values in a unit we could not map ("unit_unrecognized") are never compared.
        as_number = pl.col("value_str").str.strip_chars().cast(pl.Float64, strict=False)
        is_index = pl.lit(f.unit == "1")
        from_string = pl.col("value_num").is_null() & as_number.is_not_null() & is_index
        frame = frame.with_columns(
            value_num=pl.when(from_string).then(as_number).otherwise(pl.col("value_num")),
            unit=pl.when(from_string).then(pl.lit("1")).otherwise(pl.col("unit")),
        ).filter((pl.col("unit") == f.unit) & _bounds(pl.col("value_num"), f.bounds))
    named = pl.col("display")
    if "panel_display" in frame.columns:
        named = pl.concat_str(
            [pl.col("panel_display"), pl.col("display")], separator=" ", ignore_nulls=True
        )
    frame = frame.with_columns(_named=named)
    if f.timing is not None:
        timing = per_name(pl.col("_named"), result_timing)
        frame = frame.filter(timing.str.contains(f"^(?:{f.timing})$"))
    # A result named "R ABI" or a panel "Compartment pressure test, L anterior" states its side.
    laterality = pl.coalesce(pl.col("laterality"), per_name(pl.col("_named"), side_of))
    return _hits(
        frame,
        patient_id=pl.col("patient_id"),
        source_ref=pl.col("source_ref"),
        observed_on=pl.col("effective_on"),
        value=pl.col("value_num"),
        unit=pl.col("unit"),
        laterality=laterality,
    )


def _mention_hits(frame: pl.DataFrame) -> pl.DataFrame:
    # A finding the note dates itself ("ABI 0.58 (2019)") is observed then, not on the note's date.
    observed = (
        pl.coalesce("stated_on", "note_on") if "stated_on" in frame.columns else pl.col("note_on")
    )
    return _hits(
        frame,
        patient_id=pl.col("patient_id"),
        source_ref=pl.col("source_ref"),
        observed_on=observed,
        value=pl.col("value"),
        unit=pl.col("unit"),
        laterality=pl.col("laterality"),
        span_start=pl.col("span_start"),
        span_end=pl.col("span_end"),
        sentence_start=pl.col("sentence_start"),
        snippet=pl.col("snippet"),
        modifiers=pl.col("modifiers"),
    )


def _allowed_modifiers(allow: frozenset[str]) -> pl.Expr:
    mods = (
        pl.col("modifiers")
        .fill_null("")
        .str.split(" ")
        .list.eval(pl.element().filter(pl.element() != ""))
    )
    return mods.list.eval(pl.element().is_in(sorted(allow)).not_()).list.any().not_()


def _find_note(f: dsl.NoteMention, tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    frame = _table(tables, "note_mention").filter(pl.col("concept") == str(f.concept))
    frame = frame.filter(_allowed_modifiers(frozenset(str(m) for m in f.allow)))
    if f.require:
        frame = frame.filter(
            pl.col("modifiers")
            .fill_null("")
            .str.contains(r"\b(?:" + "|".join(sorted(str(m) for m in f.require)) + r")\b")
        )
    if f.bounds.is_set():
        frame = frame.filter(_bounds(pl.col("value"), f.bounds))
    if f.qualifier is not None:
        frame = frame.filter(pl.col("qualifier").fill_null("").str.contains(f"^(?:{f.qualifier})$"))
    if f.laterality is not None:
        frame = frame.filter(pl.col("laterality").is_in(sorted(f.laterality)))
    return _mention_hits(frame)


def _find_exercise_drop(f: dsl.ExerciseDrop, tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    frame = _table(tables, "note_mention").filter(
        (pl.col("concept") == str(f.concept))
        & (pl.col("modifiers").fill_null("") == "")
        & pl.col("value").is_not_null()
    )
    post = frame.filter(pl.col("qualifier").fill_null("").str.starts_with("post_exercise"))
    rest = (
        frame.filter(~pl.col("qualifier").fill_null("").str.starts_with("post_exercise"))
        .group_by("source_ref")
        .agg(pl.col("value").max().alias("_rest"))
    )
    joined = post.join(rest, on="source_ref", how="inner").filter(
        (pl.col("_rest") - pl.col("value")) / pl.col("_rest") >= f.min_drop
    )
    return _mention_hits(joined)


def _find_patient(
    f: dsl.Age | dsl.Sex, tables: Mapping[str, pl.DataFrame], as_of: date
) -> pl.DataFrame:
    patients = _table(tables, "patient")
    if isinstance(f, dsl.Sex):
        frame = patients.filter(pl.col("gender") == f.gender)
        value = pl.lit(None)
    else:
        years = (as_of.year - pl.col("birth_date").dt.year()) - (
            (pl.col("birth_date").dt.month() * 100 + pl.col("birth_date").dt.day())
            > as_of.month * 100 + as_of.day
        ).cast(pl.Int32)
        frame = patients.with_columns(_age=years).filter(_bounds(pl.col("_age"), f.bounds))
        value = pl.col("_age")
    return _hits(
        frame,
        patient_id=pl.col("patient_id"),
        source_ref=pl.lit("Patient/") + pl.col("patient_id"),
        value=value,
        unit=pl.lit("a") if isinstance(f, dsl.Age) else pl.lit(None),
    )


def find_hits(
    criterion: dsl.Criterion, tables: Mapping[str, pl.DataFrame], as_of: date
) -> tuple[pl.DataFrame, int]:
    """All hits of one criterion within its lookback; also the undated rows a window skipped."""
    f = criterion.finds
    if isinstance(f, dsl.Age | dsl.Sex):
        return _find_patient(f, tables, as_of), 0
    if isinstance(f, dsl.Diagnosis):
        hits = _find_diagnosis(f, tables, as_of)
    elif isinstance(f, dsl.ProcedureFinder):
        hits = _find_procedure(f, tables)
    elif isinstance(f, dsl.MedicationFinder):
        hits = _find_medication(f, tables)
    elif isinstance(f, dsl.Lab):
        hits = _find_lab(f, tables)
    elif isinstance(f, dsl.NoteMention):
        hits = _find_note(f, tables)
    else:
        hits = _find_exercise_drop(f, tables)
    hits = hits.filter(pl.col("observed_on").is_null() | (pl.col("observed_on") <= as_of))
    undated = 0
    if criterion.lookback.days is not None:
        undated = hits.filter(pl.col("observed_on").is_null()).height
        start = as_of - timedelta(days=criterion.lookback.days)
        hits = hits.filter(pl.col("observed_on") >= start)
    min_dates = getattr(f, "min_distinct_dates", 1)
    if min_dates > 1:
        enough = (
            hits.group_by("patient_id")
            .agg(pl.col("observed_on").n_unique().alias("_n"))
            .filter(pl.col("_n") >= min_dates)
        )
        hits = hits.join(enough.select("patient_id"), on="patient_id", how="semi")
    return hits, undated
