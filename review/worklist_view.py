"""Worklist view state: filters, sort and page parsed from the query string, links, exports.

Every parameter is parsed against a closed vocabulary (unknown values fall back to the default)
before it becomes a `WorklistQuery`; the search text reaches SQL only as a bound parameter.
The whole view lives in the URL, so a link, "Save and next" and the way back keep it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import urlencode

import polars as pl
from openpyxl import Workbook

from pipelines.spreadsheet_cell import cell_text
from pipelines.store.worklist import SORT_KEYS, WorklistQuery
from review.identity import identity_of
from review.labels import alert_sentence, by_weight, criterion_text, screen_title
from review.settings import ReviewSettings
from screens.model import ItemStatus, Priority

STATUS_CHOICES = ("open", "all", *(str(s) for s in ItemStatus))
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE = 10_000
# CSV/XLSX export of a view: contract-like columns first, then identity, then sentences with the
# criterion ids in their own columns.
EXPORT_COLUMNS = [
    "patient_id",
    "screen",
    "priority",
    "status",
    "name",
    "mrn",
    "age",
    "sex",
    "screen_title",
    "assigned_to",
    "first_flagged_on",
    "last_evidence_on",
    "findings",
    "criteria",
    "safety_alerts",
    "alerts",
    "possible_mimics",
    "mimics",
    "evidence",
    "reflagged_on",
    "snoozed_until",
    "last_action",
]


@dataclass(frozen=True, slots=True)
class ViewFilter:
    screen: str = ""
    priority: str = ""
    status: str = "open"
    alert: str = ""  # "" any item | "any" items with an alert | "none" | one alert id
    q: str = ""  # patient id (beginning), MRN, or name words
    assigned: str = ""  # "" anyone | "me" | "none" (unassigned)
    sort: str = "priority"
    desc: bool = False
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def from_query(
        cls, params: Mapping[str, str], screens: list[str], alerts: list[str]
    ) -> ViewFilter:
        def pick(name: str, allowed: list[str] | tuple[str, ...], default: str = "") -> str:
            value = params.get(name, default)
            return value if value in allowed else default

        return cls(
            screen=pick("screen", screens),
            priority=pick("priority", [str(p) for p in Priority]),
            status=pick("status", STATUS_CHOICES, "open"),
            alert=pick("alert", ["any", "none", *alerts]),
            q=" ".join(params.get("q", "").split())[:128],
            assigned=pick("assigned", ["me", "none"]),
            sort=pick("sort", SORT_KEYS, "priority"),
            desc=params.get("dir") == "desc",
            page=_int(params.get("page"), 1, 1, MAX_PAGE),
            size=int(pick("size", [str(s) for s in PAGE_SIZES], str(DEFAULT_PAGE_SIZE))),
        )

    def store_query(self, username: str, settings: ReviewSettings) -> WorklistQuery:
        assigned = {"": None, "none": "", "me": username}[self.assigned]
        return WorklistQuery(
            screen=self.screen,
            priority=self.priority,
            status=self.status,
            alert=self.alert,
            q=self.q,
            assigned=assigned,
            sort=self.sort,
            desc=self.desc,
            mrn_system=settings.mrn_system,
            search_names=not settings.hide_names,
        )

    def query(self) -> dict[str, str]:
        """Non-default parameters, for links."""
        defaults = ViewFilter()
        out = {k: str(v) for k, v in asdict(self).items() if v != getattr(defaults, k)}
        if out.pop("desc", None):
            out["dir"] = "desc"
        return out

    def audit_detail(self) -> dict[str, Any]:
        """The view for the audit log: the search text is left out (it may be a name or MRN)."""
        detail: dict[str, Any] = {k: v for k, v in self.query().items() if k != "q"}
        if self.q:
            detail["search"] = True
        return detail

    def link(self, **changes: Any) -> str:
        """A query string for this view with `changes`; any change but the page goes to page 1."""
        if "page" not in changes:
            changes["page"] = 1
        params = replace(self, **changes).query()
        return "?" + urlencode(params) if params else ""

    def url(self, path: str, **extra: int | str) -> str:
        """`path` with this exact view (page included) and `extra` parameters (messages)."""
        params = {**self.query(), **{k: str(v) for k, v in extra.items()}}
        return path + ("?" + urlencode(params) if params else "")

    def here(self) -> str:
        """A query string for exactly this view, page included."""
        return self.link(page=self.page)

    def sort_link(self, key: str) -> str:
        """Sort by `key`; a second click on the current key reverses it."""
        return self.link(sort=key, desc=not self.desc if key == self.sort else False)


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(value or default)
    except ValueError:
        return default
    return min(max(number, low), high)


def export_rows(frame: pl.DataFrame, settings: ReviewSettings) -> list[list[object]]:
    """The view's rows as export cells (sentences, ids, identity), header first."""
    columns = [c for c in EXPORT_COLUMNS if not (settings.hide_names and c == "name")]
    out: list[list[object]] = [list(columns)]
    for row in frame.iter_rows(named=True):
        who = identity_of(row, row["patient_id"], settings, row["as_of"])
        criteria = by_weight((row["criteria"] or "").split())
        alerts = (row["alerts"] or "").split()
        mimics = (row["mimics"] or "").split()
        values = {
            **row,
            "name": who.name,
            "mrn": who.mrn,
            "age": who.age,
            "sex": who.sex,
            "screen_title": screen_title(row["screen"]),
            "findings": "; ".join(criterion_text(c) for c in criteria),
            "criteria": " ".join(criteria),
            "safety_alerts": " ".join(alert_sentence(a) for a in alerts),
            "possible_mimics": "; ".join(criterion_text(m) for m in mimics),
        }
        out.append([_cell(values[c]) for c in columns])
    return out


def _cell(value: object) -> str | int:
    """Text for a spreadsheet cell; a leading formula character is neutralised."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return cell_text(value)


def export_csv(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def export_xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("worklist")
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
