"""The worklist page (paged, sortable, filterable), its CSV/XLSX export and the bulk actions."""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pipelines.errors import StoreError
from pipelines.store.status import OPEN_STATUSES, DecisionAction
from review.identity import identity_of
from review.labels import by_weight
from review.pages import audit, current_view, render, settings_of, store_of, user_of
from review.security import state_form, state_form_values
from review.views_patient import DISMISS_REASONS, MAX_COMMENT
from review.worklist_view import (
    PAGE_SIZES,
    STATUS_CHOICES,
    export_csv,
    export_rows,
    export_xlsx,
)
from screens.model import Priority

SORT_LABELS = {
    "priority": "Priority",
    "patient": "Patient",
    "name": "Name",
    "age": "Age",
    "screen": "Screen",
    "status": "Status",
    "first_flagged": "First flagged",
    "last_evidence": "Last evidence",
    "assigned": "Assigned to",
}


def worklist_page(request: Request) -> Response:
    store, settings, user = store_of(request), settings_of(request), user_of(request)
    view = current_view(request)
    query = view.store_query(user.username, settings)
    rows, total = store.worklist_page(query, offset=(view.page - 1) * view.size, limit=view.size)
    pages = max(1, math.ceil(total / view.size))
    if view.page > pages:  # a page emptied by decisions (or a stale link): show the last one
        return RedirectResponse("/" + view.link(page=pages), status_code=303)
    audit(request, "view_worklist", detail={**view.audit_detail(), "rows": total})
    shown = [
        {
            **r,
            "who": identity_of(r, r["patient_id"], settings, r["as_of"]),
            "ordered": by_weight(r["criteria"].split()),
        }
        for r in rows.iter_rows(named=True)
    ]
    return render(
        request,
        "worklist.html",
        {
            "view": view,
            "rows": shown,
            "total": total,
            "pages": pages,
            "first_row": (view.page - 1) * view.size + 1 if total else 0,
            "counts": store.worklist_counts(query),
            "screens": store.screen_ids(),
            "alerts": store.alert_ids(),
            "assignees": store.assignees(),
            "priorities": [str(p) for p in Priority],
            "statuses": STATUS_CHOICES,
            "open_statuses": [str(s) for s in OPEN_STATUSES],
            "sorts": SORT_LABELS,
            "page_sizes": PAGE_SIZES,
            "reasons": DISMISS_REASONS,
            "hide_names": settings.hide_names,
            "bulk": _bulk_message(request.query_params),
        },
    )


def export_view(request: Request) -> Response:
    store, settings, user = store_of(request), settings_of(request), user_of(request)
    fmt = "xlsx" if request.url.path.endswith(".xlsx") else "csv"
    view = current_view(request)
    frame = store.worklist_view(view.store_query(user.username, settings))
    audit(request, "export", detail={**view.audit_detail(), "format": fmt, "rows": frame.height})
    rows = export_rows(frame, settings)
    if fmt == "xlsx":
        return Response(
            export_xlsx(rows),
            media_type=("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            headers={"content-disposition": 'attachment; filename="worklist.xlsx"'},
        )
    return Response(
        export_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="worklist.csv"'},
    )


def bulk_action(request: Request) -> Response:
    """Assign, or dismiss with one reason, the rows ticked on a worklist page."""
    store, user = store_of(request), user_of(request)
    form = state_form(request)
    view = current_view(request)
    chosen = _chosen_items(state_form_values(request, "item"))
    try:
        if not chosen:
            raise ValueError("Tick at least one row.")
        if form.get("op") == "assign":
            assignee = form.get("assignee", "")
            result = store.assign([i for i, _ in chosen], assignee or None, username=user.username)
        elif form.get("op") == "dismiss":
            reason = form.get("reason", "")
            if reason not in DISMISS_REASONS:
                raise ValueError("A dismissal needs a reason.")
            comment = form.get("comment", "").strip()[:MAX_COMMENT] or None
            result = store.bulk_decide(
                chosen,
                username=user.username,
                action=DecisionAction.DISMISSED,
                reason=reason,
                comment=comment,
            )
        else:
            raise ValueError("Choose what to do with the ticked rows.")
    except (ValueError, StoreError) as exc:
        return RedirectResponse(view.url("/", bulk_error=_error_code(exc)), status_code=303)
    done, skipped = len(result.done), len(result.skipped)
    target = view.url("/", bulk_done=done, bulk_skipped=skipped)
    return RedirectResponse(target, status_code=303)


def _chosen_items(values: list[str]) -> list[tuple[str, int]]:
    """(item id, decision count seen) from checkbox values "item_id:count"; malformed dropped."""
    out: dict[str, int] = {}
    for value in values[:500]:
        item_id, _, count = value.partition(":")
        if item_id and count.isdigit():
            out[item_id] = int(count)
    return sorted(out.items())


_BULK_ERRORS = {
    "rows": "Tick at least one row.",
    "reason": "A dismissal needs a reason.",
    "op": "Choose what to do with the ticked rows.",
    "store": "The action could not be recorded (the assignee must be an active user).",
}


def _error_code(exc: Exception) -> str:
    for code, message in _BULK_ERRORS.items():
        if str(exc) == message:
            return code
    return "store"


def _bulk_message(params: Any) -> dict[str, Any] | None:
    if params.get("bulk_error") in _BULK_ERRORS:
        return {"error": _BULK_ERRORS[params["bulk_error"]]}
    done, skipped = params.get("bulk_done", ""), params.get("bulk_skipped", "")
    if done.isdigit() and skipped.isdigit():
        return {"done": int(done), "skipped": int(skipped)}
    return None
