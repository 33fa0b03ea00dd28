"""Staging over the shared real data sets (read in place, never copied)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tests.conftest import SHARED_DATA
from tests.stage_oracle import stage_source

STAGED = (
    "Patient",
    "Condition",
    "Observation",
    "Procedure",
    "MedicationRequest",
    "DocumentReference",
    "DiagnosticReport",
)


def test_synthea_bulk_stages_without_quarantine(tmp_path: Path) -> None:
    staged = stage_source(SHARED_DATA / "synthea-bulk-10", workdir=tmp_path)
    assert staged.quarantine.height == 0
    assert staged.counts["Patient"]["staged"] == 13
    assert staged.counts["Condition"]["staged"] == 555
    assert staged.counts["Encounter"]["read"] == 1215
    assert staged.tables["note"].height == 1215
    assert staged.notes_unavailable == 0
    assert staged.tables["procedure"].height >= 2056


def test_hl7_examples_of_staged_types_are_not_quarantined(tmp_path: Path) -> None:
    staged = stage_source(SHARED_DATA / "hl7-r4-examples", workdir=tmp_path)
    q = staged.quarantine
    assert q.filter(pl.col("resource_type").is_in(STAGED)).height == 0
    # Only Bundles nested in batch/transaction responses are set aside (documented choice).
    assert set(q["reason"].to_list()) <= {"nested_bundle"}
    assert staged.tables["observation"].height > 100
