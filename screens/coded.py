"""Reading coded records: code keys, value-set membership, dates from Encounters, and what a
result's name says (its timing and side).

Hygiene shared by every coded finder: codes compare upper case without dots or spaces in their
canonical system; an undated record takes its Encounter's date; a panel component that names no
measurement takes its panel's concept; a result named "Post-exercise ABI R (1 min)" is an
exercise value on the right.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import polars as pl

from screens.valuesets import ValueSet, load, system_aliases

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
        name: _keyed(frame) if name in CODED_TABLES and "_norm" not in frame.columns else frame
        for name, frame in tables.items()
    }


def _keyed(frame: pl.DataFrame) -> pl.DataFrame:
    frame = _code_keys(frame)
    return _with_panel_concepts(frame) if "panel_display" in frame.columns else frame


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


def per_name(column: pl.Expr, read: Callable[[str | None], str | None]) -> pl.Expr:
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


def in_valueset(frame: pl.DataFrame, vs: ValueSet) -> pl.DataFrame:
    """Rows of `frame` (a coded table with its keys: `with_code_keys`) in `vs`; for results,
    also panel components that name no measurement of their own but whose panel is in `vs`."""
    if "panel_display" not in frame.columns or vs.name not in MEASUREMENT_VALUESETS:
        return _matching(frame, vs)
    found = _matching(frame, vs)
    unnamed = frame.filter(pl.col(_TAKES_PANEL)).with_row_index("_c")
    if unnamed.is_empty():
        return found
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


# Whether a result is a panel component that names no measurement of its own (it takes its
# panel's concept): found once per table (`with_code_keys`), not once per criterion, where it
# was half the engine's time over a shard's observations.
_TAKES_PANEL = "_takes_panel"


def _with_panel_concepts(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` (results with their code keys) with `_TAKES_PANEL`."""
    is_component = pl.col("panel_code").is_not_null() | pl.col("panel_display").is_not_null()
    rows = frame.with_row_index("_r")
    components = rows.filter(is_component)
    named = pl.concat([_matching(components, load(name)) for name in MEASUREMENT_VALUESETS])
    return rows.with_columns(
        is_component.and_(~pl.col("_r").is_in(named["_r"].implode())).alias(_TAKES_PANEL)
    ).drop("_r")


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
