"""The run summary's unmatched ABI-like codes: counted over the site's staged Observations.

`screens.valuesets.unmatched` decides what counts; here it gets its rows: the whole mirror
(`pipelines.cohort_run.prepare`), so that an incremental night still reports the site, not just
the patients it touched.
Counts and ``system|code`` keys only.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from screens.valuesets.unmatched import unmatched_measurement_codes

UnmatchedCodes = list[tuple[str, int]]  # ("system|code", rows), most rows first


def unmatched_in_mirror(mirror: Path) -> UnmatchedCodes:
    """Top unmatched measurement codings of every Observation the mirror holds."""
    with duckdb.connect(str(mirror), read_only=True) as con:
        counted = con.sql(
            "SELECT system, code, display, count(*) AS n FROM stg_observation "
            "WHERE code IS NOT NULL AND display IS NOT NULL GROUP BY ALL"
        ).pl()
    return unmatched_measurement_codes(counted)
