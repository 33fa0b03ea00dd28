"""The store's record of when each patient's result could next change (`screens.schedule`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import polars as pl
import sqlalchemy as sa

from pipelines.store.engine import StoreMixin
from pipelines.store.schema import patient_schedule, worklist_item

_CHUNK = 2000


class ScheduleStoreMixin(StoreMixin):
    """Mixed into `pipelines.store.Store`: save the dates after publish, read the due ones."""

    def save_schedule(self, schedule: pl.DataFrame, as_of: date) -> int:
        """Replace the next-change dates of the evaluated patients (`NEXT_CHANGE` rows)."""
        rows = [
            {"patient_id": r[0], "next_change": r[1], "evaluated_as_of": as_of}
            for r in schedule.select("patient_id", "next_change").iter_rows()
        ]
        with self.write() as conn:
            for chunk in _chunks(rows):
                ids = [r["patient_id"] for r in chunk]
                conn.execute(
                    patient_schedule.delete().where(patient_schedule.c.patient_id.in_(ids))
                )
                conn.execute(patient_schedule.insert(), chunk)
        return len(rows)

    def due_patients(self, as_of: date, screens: list[str]) -> set[str]:
        """Patients whose result may differ at `as_of` with no new data: their next-change date
        has come, or a snooze of theirs has ended."""
        with self.read() as conn:
            due = set(
                conn.execute(
                    sa.select(patient_schedule.c.patient_id).where(
                        patient_schedule.c.next_change <= as_of
                    )
                ).scalars()
            )
            due |= set(
                conn.execute(
                    sa.select(worklist_item.c.patient_id).where(
                        worklist_item.c.screen.in_(screens),
                        worklist_item.c.status == "snoozed",
                        worklist_item.c.snoozed_until <= as_of,
                    )
                ).scalars()
            )
        return due


def _chunks(rows: list[dict[str, object]]) -> Iterator[list[dict[str, object]]]:
    for start in range(0, len(rows), _CHUNK):
        yield rows[start : start + _CHUNK]
