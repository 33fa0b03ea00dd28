"""Finders: turn one criterion into its hits over the staged tables, within its lookback.

A hit is one row of HIT: the patient, the resource (or note span) that matched, its date and value.
Hygiene that belongs to reading results lives here and is the same for every rule: lab results
count only when final/amended/corrected and in the criterion's UCUM unit (never
"unit_unrecognized"); refuted or entered-in-error diagnoses never count; nothing dated after
`as_of` counts; a windowed criterion skips undated rows and reports how many it skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, timedelta

import polars as pl

from screens import dsl
from screens.valuesets import ValueSet, load, system_aliases

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
CODED_TABLES = ("condition", "procedure", "medication", "observation")


def _code_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with ``_sys`` (the canonical code system) and ``_norm`` (the code upper case,
    without dots or spaces): what a value set matches."""
    return frame.with_columns(
        _sys=pl.col("system").replace_strict(
            system_aliases(), default=None, return_dtype=pl.String
        ),
        _norm=pl.col("code").str.replace_all(r"[.\s]", "").str.to_uppercase(),
    )


def with_code_keys(tables: Mapping[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The staged tables with their code keys, so criteria share them (once per table, not
    once per criterion: the keys of a shard's observations took most of the engine's time).

    Also where a Condition, Procedure, order or result carries no date of its own, it takes the
    date of its Encounter (real Conditions often have none: only their Encounter is dated).
    """
    tables = with_encounter_dates(tables)
    return {
        name: _code_keys(frame) if name in CODED_TABLES and "_norm" not in frame.columns else frame
        for name, frame in tables.items()
    }


DATE_COLUMN = {
    "condition": "recorded_on",
    "procedure": "performed_on",
    "medication": "authored_on",
    "observation": "effective_on",
}


def with_encounter_dates(tables: Mapping[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Undated rows take their Encounter's start date (or end date when it has no start)."""
    out = dict(tables)
    encounters = tables.get("encounter")
    if encounters is None or encounters.is_empty():
        return out
    dates = encounters.select("encounter_id", _enc_on=pl.coalesce("start_on", "end_on")).unique(
        "encounter_id", keep="first"
    )
    for name, column in DATE_COLUMN.items():
        frame = tables.get(name)
        if frame is None or "encounter_id" not in frame.columns or "_enc_filled" in frame.columns:
            continue
        out[name] = (
            frame.join(dates, on="encounter_id", how="left", maintain_order="left")
            .with_columns(pl.coalesce(column, "_enc_on").alias(column))
            .drop("_enc_on")
            .with_columns(_enc_filled=pl.lit(True))
        )
    return out


# Measurement value sets: a panel component whose own code names none of them takes its
# panel's concept ("Compartment pressure test, R anterior" > "1 min post-exercise": 36 mmHg).
MEASUREMENT_VALUESETS = (
    "abi",
    "tbi",
    "toe_pressure",
    "ankle_pressure",
    "tcpo2",
    "compartment_pressure",
)

_POST_1 = re.compile(r"\b(?:1|one)[- ]?min(?:ute)?s?\b|\bimmediate(?:ly)?\b", re.IGNORECASE)
_POST_5 = re.compile(r"\b(?:5|five)[- ]?min(?:ute)?s?\b", re.IGNORECASE)
_POST = re.compile(
    r"\bpost[- ]?(?:exercise|ex\b|treadmill|walk\w*)|\bafter (?:exercise|treadmill|walking)"
    r"|\bexercise\b(?! test)|\btreadmill\b|\brecovery\b",
    re.IGNORECASE,
)
_PRE = re.compile(
    r"\bpre[- ]?(?:exercise|ex\b|treadmill)|\bbefore exercise|\bbaseline\b|\bresting\b|\bat rest\b",
    re.IGNORECASE,
)
_SIDE_TEXT = re.compile(
    r"\b(?:(?P<left>left|lt|(?-i:L|LLE))|(?P<right>right|rt|(?-i:R|RLE))|(?P<bilateral>bilateral|both|(?-i:BLE)))\b",
    re.IGNORECASE,
)


def result_timing(display: str | None) -> str:
    """A coded result's timing from its name: pre_exercise, post_exercise_1min,
    post_exercise_5min, post_exercise, or rest."""
    if not display:
        return "rest"
    if _PRE.search(display) and not _POST.search(display.replace("pre", "")):
        return "pre_exercise"
    if _POST.search(display):
        if _POST_1.search(display):
            return "post_exercise_1min"
        if _POST_5.search(display):
            return "post_exercise_5min"
        return "post_exercise"
    return "rest"


def _per_name(column: pl.Expr, read: Callable[[str | None], str | None]) -> pl.Expr:
    """`read` applied once per distinct name (displays repeat across millions of rows)."""

    def batch(names: pl.Series) -> pl.Series:
        distinct = names.drop_nulls().unique().to_list()
        mapping = {name: read(name) for name in distinct}
        return names.replace_strict(mapping, default=None, return_dtype=pl.String)

    return column.map_batches(batch, return_dtype=pl.String)


def side_of(text: str | None) -> str | None:
    """left | right | bilateral named in a code's display, if exactly one is."""
    if not text:
        return None
    sides = {k for m in _SIDE_TEXT.finditer(text) for k, v in m.groupdict().items() if v}
    return sides.pop() if len(sides) == 1 else None


def _in_valueset(frame: pl.DataFrame, vs: ValueSet) -> pl.DataFrame:
    """Rows of `frame` (a coded table with its keys: `with_code_keys`) in `vs`; for results,
    also panel components that name no measurement of their own but whose panel is in `vs`."""
    found = _matching(frame, vs)
    if "panel_display" not in frame.columns or vs.name not in MEASUREMENT_VALUESETS:
        return found
    components = frame.filter(
        pl.col("panel_code").is_not_null() | pl.col("panel_display").is_not_null()
    ).with_row_index("_c")
    if components.is_empty():
        return found
    named = pl.concat([_matching(components, load(name)) for name in MEASUREMENT_VALUESETS])
    unnamed = components.filter(~pl.col("_c").is_in(named["_c"].implode()))
    as_panel = _code_keys(
        unnamed.with_columns(
            system=pl.col("panel_system"),
            code=pl.col("panel_code"),
            display=pl.col("panel_display"),
        )
    )
    inherited = unnamed.filter(pl.col("_c").is_in(_matching(as_panel, vs)["_c"].implode()))
    if inherited.is_empty():
        return found
    return pl.concat([found, inherited.drop("_c")]).unique(maintain_order=True)


def _matching(frame: pl.DataFrame, vs: ValueSet) -> pl.DataFrame:
    every = frame
    frame = every.filter(pl.col("_sys").is_in(list(vs.systems)))
    exact = pl.DataFrame(
        {"_sys": [s for s, _ in sorted(vs.exact)], "_norm": [c for _, c in sorted(vs.exact)]},
        schema={"_sys": pl.String, "_norm": pl.String},
    )
    matched = pl.lit(False)
    for system, prefix in vs.prefixes:
        matched = matched | ((pl.col("_sys") == system) & pl.col("_norm").str.starts_with(prefix))
    by_exact = frame.join(exact, on=["_sys", "_norm"], how="semi")
    by_prefix = frame.filter(matched) if vs.prefixes else frame.clear()
    found = [by_exact, by_prefix]
    if vs.text_patterns:
        # Python's re (look-arounds allowed), run once per distinct display, not per row.
        named = re.compile("|".join(f"(?:{p})" for p in vs.text_patterns), re.IGNORECASE)
        displays = every.get_column("display").drop_nulls().unique().to_list()
        matching = [d for d in displays if named.search(d)]
        found.append(every.filter(pl.col("display").is_in(matching)))
    return pl.concat(found).unique(maintain_order=True)


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
    found = _in_valueset(frame, f.valueset)
    coded_side = pl.col("laterality") if "laterality" in found.columns else pl.lit(None, pl.String)
    found = found.with_columns(_side=pl.coalesce(coded_side, _per_name(pl.col("display"), side_of)))
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
    found = _in_valueset(frame, f.valueset)
    coded_side = pl.col("laterality") if "laterality" in found.columns else pl.lit(None, pl.String)
    return _hits(
        found,
        patient_id=pl.col("patient_id"),
        source_ref=pl.col("source_ref"),
        observed_on=pl.col("performed_on"),
        laterality=pl.coalesce(coded_side, _per_name(pl.col("display"), side_of)),
    )


def _find_medication(f: dsl.MedicationFinder, tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    frame = _table(tables, "medication").filter(
        pl.col("status").is_null() | ~pl.col("status").is_in(EXCLUDED_ORDER_STATUSES)
    )
    found = _in_valueset(frame, f.valueset)
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
    frame = _in_valueset(
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
        timing = _per_name(pl.col("_named"), result_timing)
        frame = frame.filter(timing.str.contains(f"^(?:{f.timing})$"))
    # A result named "R ABI" or a panel "Compartment pressure test, L anterior" states its side.
    laterality = pl.coalesce(pl.col("laterality"), _per_name(pl.col("_named"), side_of))
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
        frame = frame.filter(
            pl.col("qualifier").fill_null("").str.contains(f"^(?:{f.qualifier})$")
        )
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
