"""Observation values checked at staging: non-finite and implausible numbers are quarantined.

A quantity that is not a finite FHIR decimal (`-Infinity`, `NaN`, `-1e999` overflowing to
infinity, `1e-999` underflowing to 0) or lies outside what the body can produce for its concept
(ABI and TBI 0 to 5, pressures 0 to 400 mmHg) would be compared by the rules like any other:
an ABI of "-Infinity" is below every threshold and made an urgent CLTI item. Such an
Observation is quarantined as ``implausible_value`` with the reason (field and range, never the
value), and is never staged.

The concepts are the screens' own value sets (`screens.valuesets`: codes and display/code.text
patterns), matched here once per distinct coding, so a site's local codes are checked too.
Landed quantities keep their text (`pipelines.ingest.land` lands ``value`` as VARCHAR) so
that strings such as "1e-999" can be told from 0. Builds the table ``implausible_value(src, src_pos,
detail)`` that ``sql/staging/stg_resource_outcome.sql`` reads.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from screens import valuesets

MACROS_SQL = Path(__file__).resolve().parent.parent / "sql" / "staging" / "macros.sql"

# (value set, lowest plausible, highest plausible, what it is): physiological bounds, not
# clinical thresholds (those stay in screens/rules).
PLAUSIBLE_RANGES: tuple[tuple[str, float, float, str], ...] = (
    ("abi", 0.0, 5.0, "ABI"),
    ("tbi", 0.0, 5.0, "TBI"),
    ("ankle_pressure", 0.0, 400.0, "ankle pressure (mmHg)"),
    ("toe_pressure", 0.0, 400.0, "toe pressure (mmHg)"),
    ("tcpo2", 0.0, 400.0, "TcPO2 (mmHg)"),
    ("compartment_pressure", 0.0, 400.0, "compartment pressure (mmHg)"),
)

# Every quantity of an Observation (its own and its components'), with each coding.
_QUANTITIES = """
    SELECT q.src, q.src_pos, q.value_text, q.coding.system AS system, q.coding.code AS code,
        coalesce(q.coding.display, q.code_text) AS display
    FROM (
        SELECT raw.src, raw.src_pos, raw.valuequantity.value AS value_text,
            unnest(codings_or_null(raw.code)) AS coding, raw.code.text AS code_text
        FROM raw_resource AS raw
        WHERE raw.resourcetype = 'Observation' AND raw.valuequantity.value IS NOT NULL
        UNION ALL
        SELECT c.src, c.src_pos, c.comp.valuequantity.value AS value_text,
            unnest(codings_or_null(c.comp.code)) AS coding, c.comp.code.text AS code_text
        FROM (
            SELECT raw.src, raw.src_pos, unnest(raw.component) AS comp
            FROM raw_resource AS raw
            WHERE raw.resourcetype = 'Observation' AND len(raw.component) > 0
        ) AS c
        WHERE c.comp.valuequantity.value IS NOT NULL
    ) AS q
"""

_PROBLEMS = rf"""
CREATE OR REPLACE TABLE implausible_value AS
WITH q AS (
    SELECT *, try_cast(value_text AS DOUBLE) AS num FROM ({_QUANTITIES})
),
judged AS (
    SELECT q.src, q.src_pos,
        CASE
            WHEN NOT regexp_full_match(
                trim(q.value_text), '-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?'
            ) THEN 'valueQuantity.value: not a finite decimal'
            WHEN isinf(q.num) OR isnan(q.num)
                THEN 'valueQuantity.value: beyond the range of a number'
            WHEN q.num = 0 AND regexp_matches(split_part(lower(q.value_text), 'e', 1), '[1-9]')
                THEN 'valueQuantity.value: too small to be a measurement'
            WHEN r.label IS NOT NULL AND NOT (q.num BETWEEN r.lo AND r.hi)
                THEN r.label || ' outside ' || r.lo::VARCHAR || ' to ' || r.hi::VARCHAR
        END AS detail
    FROM q
    LEFT JOIN value_range AS r
        ON q.system IS NOT DISTINCT FROM r.system
        AND q.code IS NOT DISTINCT FROM r.code
        AND q.display IS NOT DISTINCT FROM r.display
)
SELECT judged.src, judged.src_pos, min(judged.detail) AS detail
FROM judged
WHERE judged.detail IS NOT NULL
GROUP BY judged.src, judged.src_pos
"""  # noqa: S608 - constant SQL, no input in it


def _concept_of(
    system: str | None, code: str | None, display: str | None
) -> tuple[float, float, str] | None:
    for name, low, high, label in PLAUSIBLE_RANGES:
        vs = valuesets.load(name)
        if system and code and valuesets.canonical_system(system) and vs.matches(system, code):
            return low, high, label
        if display and vs.text_patterns:
            named = re.compile("|".join(f"(?:{p})" for p in vs.text_patterns), re.IGNORECASE)
            if named.search(display):
                return low, high, label
    return None


def find_implausible_values(con: duckdb.DuckDBPyConnection) -> int:
    """Build ``implausible_value`` over ``raw_resource``; returns how many resources it holds."""
    con.execute(MACROS_SQL.read_text())
    codings = con.execute(
        f"SELECT DISTINCT system, code, display FROM ({_QUANTITIES})"  # noqa: S608
    ).fetchall()
    con.execute(
        "CREATE OR REPLACE TEMP TABLE value_range "
        "(system VARCHAR, code VARCHAR, display VARCHAR, lo DOUBLE, hi DOUBLE, label VARCHAR)"
    )
    ranged = [
        (system, code, display, *found)
        for system, code, display in codings
        if (found := _concept_of(system, code, display)) is not None
    ]
    if ranged:
        con.executemany("INSERT INTO value_range VALUES (?, ?, ?, ?, ?, ?)", ranged)
    con.execute(_PROBLEMS)
    con.execute("DROP TABLE value_range")
    found = con.execute("SELECT count(*) FROM implausible_value").fetchone()
    return int(found[0]) if found else 0
