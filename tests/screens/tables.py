"""Builders for staged tables in engine tests: only the columns a test cares about, typed."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from screens.model import (
    STG_CONDITION,
    STG_MEDICATION,
    STG_NOTE,
    STG_NOTE_MENTION,
    STG_OBSERVATION,
    STG_PATIENT,
    STG_PROCEDURE,
)

ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
SCHEMAS = {
    "patient": STG_PATIENT,
    "condition": STG_CONDITION,
    "observation": STG_OBSERVATION,
    "procedure": STG_PROCEDURE,
    "medication": STG_MEDICATION,
    "note": STG_NOTE,
    "note_mention": STG_NOTE_MENTION,
}


def frame(name: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = SCHEMAS[name]
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema)


def tables(**rows: list[dict[str, Any]]) -> dict[str, pl.DataFrame]:
    """All staged tables, empty unless given; patients default to one per patient_id used."""
    out = {name: frame(name, rows.get(name, [])) for name in SCHEMAS}
    if "patient" not in rows:
        ids = sorted({r["patient_id"] for rs in rows.values() for r in rs})
        out["patient"] = frame(
            "patient",
            [{"patient_id": p, "birth_date": date(1960, 1, 1), "gender": "male"} for p in ids],
        )
    return out


def abi(
    patient: str, value: float, on: date, *, unit: str = "1", status: str = "final", n: int = 1
) -> dict[str, Any]:
    return {
        "patient_id": patient,
        "source_ref": f"Observation/{patient}-abi-{n}",
        "status": status,
        "system": LOINC,
        "code": "77194-9",
        "display": "Ankle-brachial index",
        "effective_on": on,
        "value_num": value,
        "unit": unit,
    }


def condition(
    patient: str,
    code: str,
    on: date | None,
    *,
    system: str = ICD10,
    n: int = 1,
    verification: str | None = "confirmed",
) -> dict[str, Any]:
    return {
        "patient_id": patient,
        "source_ref": f"Condition/{patient}-{n}",
        "system": system,
        "code": code,
        "code_norm": code.replace(".", "").upper(),
        "display": "",
        "clinical_status": "active",
        "verification_status": verification,
        "recorded_on": on,
    }


def mention(
    patient: str,
    concept: str,
    on: date,
    *,
    modifiers: str = "",
    value: float | None = None,
    laterality: str | None = None,
    qualifier: str | None = None,
    n: int = 1,
    unit: str | None = None,
) -> dict[str, Any]:
    return {
        "patient_id": patient,
        "source_ref": f"DocumentReference/{patient}-{n}",
        "note_on": on,
        "concept": concept,
        "span_start": 0,
        "span_end": 5,
        "sentence_start": 0,
        "sentence_end": 20,
        "snippet": "synthetic sentence",
        "modifiers": modifiers,
        "laterality": laterality,
        "value": value,
        "unit": unit,
        "qualifier": qualifier,
        "section": None,
    }
