"""Patient page (items, evidence, rule text, decisions) and the decision form handler."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pipelines.errors import StoreError
from pipelines.store.review import DecisionConflictError
from pipelines.store.status import DecisionAction
from review.highlight import split_snippet
from review.identity import identity_of
from review.labels import criterion_weight
from review.pages import audit, current_view, render, settings_of, store_of, user_of
from review.security import state_form

ACTION_LABELS = {
    DecisionAction.REFERRED: "Referred to vascular",
    DecisionAction.DISMISSED: "Dismiss",
    DecisionAction.UNDER_CARE: "Already under vascular care",
    DecisionAction.SNOOZED: "Snooze until",
    DecisionAction.NEEDS_INFO: "Needs more information",
    DecisionAction.REOPENED: "Reopen",
}
DISMISS_REASONS = {
    "mimic": "A mimic explains the findings",
    "already_diagnosed": "Already diagnosed or treated (record not coded)",
    "evidence_wrong": "Evidence wrong or misread",
    "not_indicated": "Referral not clinically indicated",
    "patient_declined": "Patient declined",
    "other": "Other (see comment)",
}
MAX_COMMENT = 2000


def rule_text(screen: str) -> str:
    """The rendered rule (as `vascreen explain` prints it), or a plain fallback."""
    try:
        from screens.render import render_screen

        return render_screen(screen)
    except (ImportError, KeyError, ValueError, LookupError):
        return f"Rule text for screen {screen} is not available."


def _item_view(store: Any, item: dict[str, Any]) -> dict[str, Any]:
    rows = store.item_evidence(item["item_id"]).to_dicts()
    for row in rows:
        row["parts"] = split_snippet(
            row["snippet"], row["span_start"], row["span_end"], row["sentence_start"]
        )
    findings = [r for r in rows if r["role"] in ("include", "exclude")]
    # By weight (measurements, diagnoses, note findings), supporting before arguing against;
    # the store's order (newest first) within.
    findings.sort(key=lambda r: (r["role"] != "include", criterion_weight(r["criterion_id"])))
    return {
        **item,
        "evidence_rows": findings,
        "mimic_rows": [r for r in rows if r["role"] == "mimic"],
        "alert_rows": [r for r in rows if r["role"] == "alert"],
        "history": store.item_history(item["item_id"]),
        "rule": rule_text(item["screen"]),
    }


def patient_page(request: Request, *, error: str = "", status: int = 200) -> Response:
    patient_id = request.path_params["patient_id"]
    store, settings = store_of(request), settings_of(request)
    items = store.patient_items(patient_id)
    audit(request, "view_patient", "patient", patient_id, {"items": len(items)})
    if not items:
        return render(request, "not_found.html", {}, status=404)
    view = current_view(request)
    on = max(i["as_of"] for i in items)
    row = store.patient_identity(patient_id, settings.mrn_system)
    return render(
        request,
        "patient.html",
        {
            "patient_id": patient_id,
            "who": identity_of(row, patient_id, settings, on),
            "items": [_item_view(store, i) for i in items],
            "actions": ACTION_LABELS,
            "reasons": DISMISS_REASONS,
            "assignees": store.assignees(),
            "view": view,
            "back": "/" + view.here(),
            "here": view.here(),
            "error": error,
        },
        status=status,
    )


def record_decision(request: Request) -> Response:
    item_id = request.path_params["item_id"]
    store = store_of(request)
    item = store.item(item_id)
    if item is None:
        return render(request, "not_found.html", {}, status=404)
    request.path_params["patient_id"] = item["patient_id"]
    form = state_form(request)
    user = user_of(request)
    view = current_view(request)
    query = view.store_query(user.username, settings_of(request))
    # "Save and next": the view's order before the decision (the item may leave the view).
    before = store.worklist_ids(query) if form.get("next") == "1" else None
    try:
        fields = _parse_decision(form, item["as_of"])
        expected = int(form.get("expected_count", ""))
        store.record_decision(item_id, username=user.username, expected_count=expected, **fields)
    except DecisionConflictError:
        return patient_page(
            request,
            error="Someone else recorded a decision on this item "
            "meanwhile. Review it and decide again.",
            status=409,
        )
    except (ValueError, StoreError) as exc:
        return patient_page(request, error=str(exc), status=400)
    if before is not None:
        return _next_item(store, query, view, before, item_id)
    here = view.here()
    return RedirectResponse(f"/patients/{item['patient_id']}{here}#item-{item_id}", 303)


def _next_item(
    store: Any, query: Any, view: Any, before: list[str], item_id: str
) -> RedirectResponse:
    """The item after `item_id` in the view as it was, still in the view; else the list."""
    after = set(store.worklist_ids(query))
    start = before.index(item_id) + 1 if item_id in before else 0
    following = [i for i in before[start:] + before[:start] if i in after and i != item_id]
    here = view.here()
    if not following:
        return RedirectResponse(view.url("/", cleared=1), status_code=303)
    nxt = store.item(following[0])
    return RedirectResponse(f"/patients/{nxt['patient_id']}{here}#item-{nxt['item_id']}", 303)


def assign_item(request: Request) -> Response:
    """Assign the item to a user (or nobody); audited by the store."""
    item_id = request.path_params["item_id"]
    store = store_of(request)
    item = store.item(item_id)
    if item is None:
        return render(request, "not_found.html", {}, status=404)
    request.path_params["patient_id"] = item["patient_id"]
    assignee = state_form(request).get("assignee", "")
    try:
        store.assign([item_id], assignee or None, username=user_of(request).username)
    except StoreError:
        return patient_page(request, error="Choose an active user to assign to.", status=400)
    here = current_view(request).here()
    return RedirectResponse(f"/patients/{item['patient_id']}{here}#item-{item_id}", 303)


def comment_item(request: Request) -> Response:
    """A comment that leaves the item's status as it is."""
    item_id = request.path_params["item_id"]
    store = store_of(request)
    item = store.item(item_id)
    if item is None:
        return render(request, "not_found.html", {}, status=404)
    request.path_params["patient_id"] = item["patient_id"]
    comment = state_form(request).get("comment", "").strip()
    if not comment or len(comment) > MAX_COMMENT:
        error = f"A comment needs 1 to {MAX_COMMENT} characters."
        return patient_page(request, error=error, status=400)
    store.add_comment(item_id, comment, username=user_of(request).username)
    here = current_view(request).here()
    return RedirectResponse(f"/patients/{item['patient_id']}{here}#item-{item_id}", 303)


def _parse_decision(form: dict[str, str], as_of: date) -> dict[str, Any]:
    """Validated decision fields; ValueError messages are shown to the reviewer (no PHI)."""
    try:
        action = DecisionAction(form.get("action", ""))
    except ValueError:
        raise ValueError("Choose an action.") from None
    reason = form.get("reason") or None
    if action == DecisionAction.DISMISSED and reason not in DISMISS_REASONS:
        raise ValueError("A dismissal needs a reason.")
    comment = form.get("comment", "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        raise ValueError(f"Comments are limited to {MAX_COMMENT} characters.")
    snooze_until = None
    if action == DecisionAction.SNOOZED:
        try:
            snooze_until = date.fromisoformat(form.get("snooze_until", ""))
        except ValueError:
            raise ValueError("A snooze needs a date (YYYY-MM-DD).") from None
        if snooze_until <= as_of:
            raise ValueError("The snooze date must be after the worklist date.")
    return {
        "action": action,
        "reason": reason if action == DecisionAction.DISMISSED else None,
        "comment": comment,
        "snooze_until": snooze_until,
    }
