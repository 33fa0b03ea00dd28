"""Unit checks of the intake guard: each refusal, its boundary, and its exit code."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.errors import ExitCode
from pipelines.intake_guard import (
    BackfillRefusedError,
    IntakeShrankError,
    last_snapshot_reads,
    refuse_backfill,
    refuse_empty,
    refuse_shrink,
    snapshot_reads,
)


def _counts(**reads: int) -> dict[str, dict[str, int]]:
    return {t: {"read": n, "quarantined": 0} for t, n in reads.items()}


@pytest.mark.parametrize(
    ("counts", "kind", "code"),
    [
        (_counts(), "files", ExitCode.SOURCE),
        (_counts(Patient=0, Observation=0), "fhir", ExitCode.FHIR_SERVER),
        (_counts(Patient=0, Observation=12), "fhir", ExitCode.FHIR_SERVER),
    ],
)
def test_an_empty_night_is_refused(
    counts: dict[str, dict[str, int]], kind: str, code: ExitCode
) -> None:
    with pytest.raises(Exception) as caught:
        refuse_empty(counts, source_kind=kind)
    assert getattr(caught.value, "exit_code", None) == code
    assert "\n" not in str(caught.value)


def test_one_patient_is_enough() -> None:
    refuse_empty(_counts(Patient=1), source_kind="fhir")


def test_shrink_boundary() -> None:
    before = {"Observation": 100, "Patient": 10}
    refuse_shrink({"Observation": 50}, before, max_drop=0.5, accept=False)  # exactly half: kept
    with pytest.raises(IntakeShrankError, match="Observation: 49 records against 100"):
        refuse_shrink({"Observation": 49}, before, max_drop=0.5, accept=False)
    refuse_shrink({"Observation": 49}, before, max_drop=0.5, accept=True)
    # Too few last time for a share to mean anything.
    refuse_shrink({"Patient": 0}, before, max_drop=0.5, accept=False)


def test_a_type_new_tonight_is_not_a_shrink() -> None:
    refuse_shrink({"Encounter": 5}, {"Observation": 100}, max_drop=0.5, accept=False)


def test_delta_types_are_not_compared() -> None:
    counts = _counts(Observation=3, Patient=400)
    assert snapshot_reads(counts, ["Patient"]) == {"Patient": 400}
    assert snapshot_reads(counts, None) == {"Observation": 3, "Patient": 400}


def test_last_full_read_looks_past_delta_nights() -> None:
    runs = [
        {"snapshot_read": {"Patient": 410}},  # last night: a delta of everything but Patient
        {"snapshot_read": {}},
        {"counts": {}},  # an older summary without the field
        {"snapshot_read": {"Patient": 400, "Observation": 9000}},
    ]
    assert last_snapshot_reads(runs) == {"Patient": 410, "Observation": 9000}


def test_backfill_into_the_live_store_is_refused() -> None:
    refuse_backfill(date(2026, 6, 30), None)
    refuse_backfill(date(2026, 6, 30), date(2026, 6, 30))  # a rerun of the same night
    with pytest.raises(BackfillRefusedError, match="store of its own") as caught:
        refuse_backfill(date(2026, 6, 29), date(2026, 6, 30))
    assert caught.value.exit_code == ExitCode.USAGE
