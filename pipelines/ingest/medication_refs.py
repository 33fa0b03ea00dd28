"""MedicationRequests that name a Medication resource take that Medication's codings.

Staging gives such a request one ``stg_medication`` row with a NULL code, the reference's
display and ``medication_ref`` ("Medication/<id>"); ``stg_medication_code`` holds the codings of
every Medication of the source (the mirror: every Medication it holds). `resolve_medication_refs`
turns each of those rows into one row per coding of the Medication it names; a request whose
Medication is not there keeps its one row. Both run paths call it where they read the staged
tables (`pipelines.ingest.stage.read_staged_tables`).

Incremental runs: a Medication that changes alone touches the patients whose requests name it
(`pipelines.mirror.merge`), so they are evaluated again with its new codings.
"""

from __future__ import annotations

import polars as pl

from screens.model import STG_MEDICATION

_ORDER = ["source_ref", "system", "code"]  # the staging SQL's ORDER BY (NULLs last)


def resolve_medication_refs(requests: pl.DataFrame, codes: pl.DataFrame) -> pl.DataFrame:
    """`requests` (STG_MEDICATION) with rows naming a known Medication (`codes`,
    STG_MEDICATION_CODE) replaced by one row per coding of it, in the staging SQL's order."""
    known = codes.get_column("source_ref").unique().implode()
    named = pl.col("medication_ref").is_in(known).fill_null(False)
    by_ref = requests.filter(named)
    if by_ref.is_empty():
        return requests
    resolved = (
        by_ref.drop("system", "code")
        .rename({"display": "reference_display"})
        .join(codes.rename({"source_ref": "medication_ref"}), on="medication_ref")
        .with_columns(display=pl.coalesce("display", "reference_display"))
        .select(list(STG_MEDICATION))
    )
    return pl.concat([requests.filter(~named), resolved]).sort(
        _ORDER, nulls_last=True, maintain_order=True
    )
