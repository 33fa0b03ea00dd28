"""Export error files name the types that were not (fully) exported; those are not snapshots."""

from __future__ import annotations

from typing import Any

from pipelines.fhir.failed_types import types_named

TYPES = ("Patient", "Observation", "Encounter", "DocumentReference")


def outcome(**issue: Any) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", **issue}]}


def test_a_type_named_in_the_diagnostics_or_expression_failed() -> None:
    said = outcome(diagnostics="Encounter e-missing could not be exported")
    assert types_named(said, TYPES) == {"Encounter"}
    pointed = outcome(expression=["Observation.value"], details={"text": "bad unit"})
    assert types_named(pointed, TYPES) == {"Observation"}
    assert types_named(outcome(location=["DocumentReference/7"]), TYPES) == {"DocumentReference"}


def test_an_error_that_names_no_requested_type_concerns_every_type() -> None:
    assert types_named(outcome(diagnostics="internal error"), TYPES) == set(TYPES)
    assert types_named({"resourceType": "OperationOutcome"}, TYPES) == set(TYPES)
    # Whole words only: "Observations" is not a type name, and Procedure was not requested.
    vague = outcome(diagnostics="Observations and Procedure timed out")
    assert types_named(vague, TYPES) == set(TYPES)
