"""Store methods for patient identity: name, birth date, sex and identifiers (the MRN).

Identity is PHI kept in the store only, as evidence snippets are: the review app shows it; logs,
artifacts and CLI output never carry it. Mixed into `pipelines.store.Store`. The nightly publish
calls `save_patients` with the staged Patient rows of the patients it evaluated; only patients
with a worklist item are kept, so the table does not become a copy of the whole population.

The MRN is chosen when read (`mrn_expression`): the identifier whose system a site names
(``VASCREEN_MRN_SYSTEM``), else the one of type ``MR`` (HL7 v2 table 0203). Any other identifier
(a social security or insurance number) is never shown as the MRN.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa

from pipelines.store.engine import StoreMixin
from pipelines.store.schema import patient, patient_identifier, utcnow
from pipelines.store.schema import worklist_item as item_t
from screens.model import STG_PATIENT, assert_schema

MRN_TYPE = "MR"
_CHUNK = 500  # ids per IN (...) list: well under SQLite's and psycopg's parameter limits


class PatientStoreMixin(StoreMixin):
    def save_patients(self, patients: pl.DataFrame) -> int:
        """Replace the identity of the given patients that have a worklist item.

        Args:
            patients: staged Patient rows (`screens.model.STG_PATIENT`).

        Returns:
            How many patients' identity was written (a count: no PHI).
        """
        frame = assert_schema(patients, STG_PATIENT, "stg_patient")
        now = utcnow()
        written = 0
        with self.write() as conn:
            listed = set(conn.execute(sa.select(item_t.c.patient_id).distinct()).scalars().all())
            rows = [r for r in frame.iter_rows(named=True) if r["patient_id"] in listed]
            for start in range(0, len(rows), _CHUNK):
                chunk = rows[start : start + _CHUNK]
                ids = [r["patient_id"] for r in chunk]
                conn.execute(
                    patient_identifier.delete().where(patient_identifier.c.patient_id.in_(ids))
                )
                conn.execute(patient.delete().where(patient.c.patient_id.in_(ids)))
                conn.execute(patient.insert(), [_patient_row(r, now) for r in chunk])
                identifiers = [i for r in chunk for i in _identifier_rows(r)]
                if identifiers:
                    conn.execute(patient_identifier.insert(), identifiers)
                written += len(chunk)
        return written

    def patient_identity(self, patient_id: str, mrn_system: str | None) -> dict[str, Any] | None:
        """Name, birth date, gender and MRN of one patient, or None when the store has none."""
        mrn = mrn_expression(mrn_system)
        query = sa.select(
            patient.c.patient_id,
            patient.c.name,
            patient.c.birth_date,
            patient.c.gender,
            mrn.label("mrn"),
        ).where(patient.c.patient_id == patient_id)
        with self.read() as conn:
            found = conn.execute(query).mappings().first()
        return dict(found) if found is not None else None


def mrn_expression(mrn_system: str | None) -> sa.ScalarSelect[Any]:
    """A correlated scalar subquery: the MRN of ``patient.patient_id`` (or NULL)."""
    ident = patient_identifier.alias("mrn_ident")
    rank = sa.case((ident.c.type_code == MRN_TYPE, 1), else_=2)
    matches = ident.c.type_code == MRN_TYPE
    if mrn_system:
        rank = sa.case((ident.c.system == mrn_system, 0), else_=rank)
        matches = matches | (ident.c.system == mrn_system)
    return (
        sa.select(ident.c.value)
        .where(ident.c.patient_id == patient.c.patient_id, matches)
        .order_by(rank, ident.c.ordinal)
        .limit(1)
        .scalar_subquery()
    )


def mrn_holders(value: str, mrn_system: str | None) -> sa.Select[Any]:
    """Patients with an MRN-kind identifier (the site's system, or type MR) equal to `value`
    (an indexed lookup, for search)."""
    kinds = patient_identifier.c.type_code == MRN_TYPE
    if mrn_system:
        kinds = kinds | (patient_identifier.c.system == mrn_system)
    return sa.select(patient_identifier.c.patient_id).where(
        patient_identifier.c.value == value, kinds
    )


def _patient_row(row: dict[str, Any], now: Any) -> dict[str, Any]:
    return {
        "patient_id": row["patient_id"],
        "name": row["name"],
        "birth_date": row["birth_date"],
        "gender": row["gender"],
        "updated_at": now,
    }


def _identifier_rows(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "patient_id": row["patient_id"],
            "ordinal": n,
            "system": ident["system"],
            "value": ident["value"],
            "type_code": ident["type_code"],
        }
        for n, ident in enumerate(row["identifiers"] or [])
        if ident["value"]
    ]
