"""Worklist page logic: parse filters from the query string, filter, sort, count, export.

Filters are parsed against closed vocabularies (unknown values fall back to the default) and
applied in polars on the store's frame, so no request text ever reaches SQL.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl
from openpyxl import Workbook

from pipelines.store import CSV_COLUMNS
from pipelines.store_status import OPEN_STATUSES
from screens.model import PRIORITY_RANK, ItemStatus, Priority

SORTS = {
    "priority": "priority",
    "patient": "patient_id",
    "screen": "screen",
    "status": "status",
    "first_flagged": "first_flagged_on",
    "last_evidence": "last_evidence_on",
}
STATUS_CHOICES = ("open", "all", *(str(s) for s in ItemStatus))
# The worklist.csv contract columns, then what a coordinator's view adds.
EXPORT_COLUMNS = [*CSV_COLUMNS, "reflagged_on", "snoozed_until", "last_action"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class ViewFilter:
    screen: str = ""
    priority: str = ""
    status: str = "open"
    alert: str = ""  # "" any item | "any" items with an alert | "none" | one alert id
    q: str = ""  # patient id, or its beginning
    sort: str = "priority"
    desc: bool = False

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
            q=params.get("q", "").strip()[:128],
            sort=pick("sort", list(SORTS), "priority"),
            desc=params.get("dir") == "desc",
        )

    def query(self) -> dict[str, str]:
        """Non-default parameters, for links and the audit log (ids only, no PHI)."""
        out = {"screen": self.screen, "priority": self.priority, "alert": self.alert, "q": self.q}
        out = {k: v for k, v in out.items() if v}
        if self.status != "open":
            out["status"] = self.status
        if self.sort != "priority":
            out["sort"] = self.sort
        if self.desc:
            out["dir"] = "desc"
        return out


def apply_filter(frame: pl.DataFrame, view: ViewFilter) -> pl.DataFrame:
    if view.status == "open":
        frame = frame.filter(pl.col("status").is_in([str(s) for s in OPEN_STATUSES]))
    elif view.status != "all":
        frame = frame.filter(pl.col("status") == view.status)
    if view.screen:
        frame = frame.filter(pl.col("screen") == view.screen)
    if view.priority:
        frame = frame.filter(pl.col("priority") == view.priority)
    alerts = pl.col("alerts").fill_null("")
    if view.alert == "any":
        frame = frame.filter(alerts != "")
    elif view.alert == "none":
        frame = frame.filter(alerts == "")
    elif view.alert:
        frame = frame.filter(alerts.str.split(" ").list.contains(view.alert))
    if view.q:
        frame = frame.filter(pl.col("patient_id").str.starts_with(view.q))
    return sort_view(frame, view)


def sort_view(frame: pl.DataFrame, view: ViewFilter) -> pl.DataFrame:
    rank = pl.col("priority").replace_strict(PRIORITY_RANK, default=len(PRIORITY_RANK))
    key = rank if view.sort == "priority" else pl.col(SORTS[view.sort])
    return frame.sort(
        [key, pl.col("patient_id"), pl.col("screen")],
        descending=[view.desc, False, False],
        nulls_last=True,
    )


def count_by(frame: pl.DataFrame, column: str) -> list[tuple[str, int]]:
    counts = frame.group_by(column).len().sort(column)
    return [(str(k), int(n)) for k, n in counts.iter_rows()]


def alert_ids(frame: pl.DataFrame) -> list[str]:
    values = frame.get_column("alerts").fill_null("").str.split(" ").explode()
    return sorted({v for v in values.to_list() if v})


def _cell(value: object) -> str:
    """Text for a spreadsheet cell; a leading formula character is neutralised."""
    text = (
        "" if value is None else (value.isoformat() if hasattr(value, "isoformat") else str(value))
    )
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_csv(frame: pl.DataFrame) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in frame.select(EXPORT_COLUMNS).iter_rows():
        writer.writerow([_cell(v) for v in row])
    return out.getvalue().encode("utf-8")


def export_xlsx(frame: pl.DataFrame) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("worklist")
    sheet.append(EXPORT_COLUMNS)
    for row in frame.select(EXPORT_COLUMNS).iter_rows():
        sheet.append([_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
