"""Store queries behind the review app's worklist: filter, search, sort, page and count in SQL.

A `WorklistQuery` holds values already checked against closed vocabularies by the caller (the
review app's `ViewFilter`); free text (the search) only ever reaches SQL as bound parameters.
Rows come with the patient's identity (`pipelines.store.patients`): PHI for the page, never
for logs. Mixed into `pipelines.store.Store`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa

from pipelines.store.engine import StoreMixin
from pipelines.store.patients import mrn_expression, mrn_holders
from pipelines.store.review import polars_type
from pipelines.store.schema import patient
from pipelines.store.schema import worklist_item as item_t
from pipelines.store.status import OPEN_STATUSES
from screens.model import PRIORITY_RANK

MAX_SEARCH_WORDS = 4
# Worklist row columns beyond the item's own: the patient's identity.
IDENTITY_COLUMNS = ("name", "birth_date", "gender", "mrn")


@dataclass(frozen=True, slots=True)
class WorklistQuery:
    """One view of the worklist; every field is validated by the caller."""

    screen: str = ""
    priority: str = ""
    status: str = "open"  # "open" (new, open, needs info) | "all" | one ItemStatus
    alert: str = ""  # "" any item | "any" items with an alert | "none" | one alert id
    q: str = ""  # patient id (beginning), MRN (exact) or name words (each contained)
    assigned: str | None = None  # None anyone | "" unassigned | a username
    sort: str = "priority"
    desc: bool = False
    mrn_system: str | None = None
    search_names: bool = True  # False when the site hides names


def _sort_keys() -> dict[str, sa.ColumnElement[Any]]:
    rank = sa.case(
        *((item_t.c.priority == p, r) for p, r in PRIORITY_RANK.items()), else_=len(PRIORITY_RANK)
    )
    return {
        "priority": rank,
        "patient": item_t.c.patient_id,
        "name": sa.func.lower(patient.c.name),
        "age": patient.c.birth_date,
        "screen": item_t.c.screen,
        "status": item_t.c.status,
        "first_flagged": item_t.c.first_flagged_on,
        "last_evidence": item_t.c.last_evidence_on,
        "assigned": item_t.c.assigned_to,
    }


SORT_KEYS = tuple(_sort_keys())


class WorklistStoreMixin(StoreMixin):
    def worklist_page(
        self, query: WorklistQuery, *, offset: int, limit: int
    ) -> tuple[pl.DataFrame, int]:
        """One page of the view (rows with identity) and the view's total row count."""
        page = _filtered(sa.select(item_t.c.item_id), query).order_by(*_order(query))
        counted = _filtered(sa.select(sa.func.count()).select_from(item_t), query)
        with self.read() as conn:
            total = int(conn.execute(counted).scalar() or 0)
            ids = list(conn.execute(page.offset(offset).limit(limit)).scalars())
            # Identity (and its MRN subquery) only for the page's rows, not the whole view.
            mrn = mrn_expression(query.mrn_system).label("mrn")
            rows = {
                r["item_id"]: dict(r)
                for r in conn.execute(
                    sa.select(item_t, *_identity(), mrn)
                    .outerjoin(patient, patient.c.patient_id == item_t.c.patient_id)
                    .where(item_t.c.item_id.in_(ids))
                ).mappings()
            }
        return _frame([rows[i] for i in ids if i in rows]), total

    def worklist_ids(self, query: WorklistQuery) -> list[str]:
        """Every item id of the view, in its order (for "Save and next")."""
        ordered = _filtered(sa.select(item_t.c.item_id), query).order_by(*_order(query))
        with self.read() as conn:
            return list(conn.execute(ordered).scalars())

    def worklist_view(self, query: WorklistQuery) -> pl.DataFrame:
        """The whole view with identity, in order (exports)."""
        mrn = mrn_expression(query.mrn_system).label("mrn")
        ordered = _filtered(sa.select(item_t, *_identity(), mrn), query).order_by(*_order(query))
        with self.read() as conn:
            return _frame([dict(r) for r in conn.execute(ordered).mappings()])

    def worklist_counts(self, query: WorklistQuery) -> dict[str, list[tuple[str, int]]]:
        """Per status, screen and priority: how many items of the view."""
        out: dict[str, list[tuple[str, int]]] = {}
        with self.read() as conn:
            for column in ("status", "screen", "priority"):
                col = item_t.c[column]
                counted = _filtered(sa.select(col, sa.func.count()).select_from(item_t), query)
                rows = conn.execute(counted.group_by(col).order_by(col)).all()
                out[column] = [(str(k), int(n)) for k, n in rows]
        return out

    def alert_ids(self) -> list[str]:
        """Every alert id on some item (for the filter's choices)."""
        with self.read() as conn:
            values = conn.execute(sa.select(item_t.c.alerts).distinct()).scalars()
            return sorted({a for v in values for a in (v or "").split()})

    def screen_ids(self) -> list[str]:
        with self.read() as conn:
            return sorted(conn.execute(sa.select(item_t.c.screen).distinct()).scalars())


def _identity() -> tuple[sa.ColumnElement[Any], ...]:
    return (patient.c.name, patient.c.birth_date, patient.c.gender)


def _filtered(select: sa.Select[Any], query: WorklistQuery) -> sa.Select[Any]:
    select = select.outerjoin(patient, patient.c.patient_id == item_t.c.patient_id)
    if query.status == "open":
        select = select.where(item_t.c.status.in_([str(s) for s in OPEN_STATUSES]))
    elif query.status != "all":
        select = select.where(item_t.c.status == query.status)
    if query.screen:
        select = select.where(item_t.c.screen == query.screen)
    if query.priority:
        select = select.where(item_t.c.priority == query.priority)
    alerts = sa.func.coalesce(item_t.c.alerts, "")
    if query.alert == "any":
        select = select.where(alerts != "")
    elif query.alert == "none":
        select = select.where(alerts == "")
    elif query.alert:
        padded = sa.literal(" ") + alerts + sa.literal(" ")
        select = select.where(padded.contains(f" {query.alert} ", autoescape=True))
    if query.assigned == "":
        select = select.where(item_t.c.assigned_to.is_(None))
    elif query.assigned is not None:
        select = select.where(item_t.c.assigned_to == query.assigned)
    if query.q:
        select = select.where(_search(query))
    return select


def _search(query: WorklistQuery) -> sa.ColumnElement[bool]:
    """Patient id beginning with q, or MRN equal to q, or (names shown) every word in the name."""
    text = query.q.strip()
    found = item_t.c.patient_id.startswith(text, autoescape=True) | item_t.c.patient_id.in_(
        mrn_holders(text, query.mrn_system)
    )
    words = text.lower().split()[:MAX_SEARCH_WORDS]
    if query.search_names and words:
        name = sa.func.lower(sa.func.coalesce(patient.c.name, ""))
        found = found | sa.and_(*(name.contains(w, autoescape=True) for w in words))
    return found


def _order(query: WorklistQuery) -> list[sa.ColumnElement[Any]]:
    key = _sort_keys().get(query.sort, _sort_keys()["priority"])
    desc = query.desc != (query.sort == "age")  # the youngest has the latest birth date
    # NULLs last either way (no name, no evidence date), then a stable tie-break.
    nulls = sa.case((key.is_(None), 1), else_=0)
    return [nulls, key.desc() if desc else key.asc(), item_t.c.patient_id, item_t.c.screen]


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema: dict[str, Any] = {c.name: polars_type(c.type) for c in item_t.columns}
    schema.update(name=pl.String, birth_date=pl.Date, gender=pl.String, mrn=pl.String)
    return pl.DataFrame(rows, schema=schema)
