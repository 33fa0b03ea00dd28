"""Login, logout, the worklist page and its CSV/XLSX export."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from review.auth import LoginThrottledError, authenticate
from review.pages import audit, config_of, render, store_of, user_of
from review.security import client_id, state_form
from review.worklist_view import (
    SORTS,
    STATUS_CHOICES,
    ViewFilter,
    alert_ids,
    apply_filter,
    count_by,
    export_csv,
    export_xlsx,
)
from screens.model import Priority

SESSION_MAX_AGE = 12 * 3600


def login_page(request: Request) -> Response:
    config = config_of(request)
    if request.method == "GET":
        nonce = request.cookies.get(config.login_cookie) or secrets.token_urlsafe(24)
        context = {
            "login_csrf": config.login_csrf(nonce),
            "next": _safe_next(request.query_params.get("next")),
            "error": "",
        }
        page = render(request, "login.html", context)
        config.set_cookie(page, config.login_cookie, nonce, max_age=3600)
        return page
    form = state_form(request)
    store = store_of(request)
    nonce = request.cookies.get(config.login_cookie, "")
    context = {"login_csrf": config.login_csrf(nonce), "next": _safe_next(form.get("next"))}
    try:
        user = authenticate(
            store, form.get("username", ""), form.get("password", ""), client=client_id(request)
        )
    except LoginThrottledError:
        return render(
            request,
            "login.html",
            {**context, "error": "Too many failed attempts. Wait 15 minutes or ask an admin."},
            status=429,
        )
    if user is None:
        return render(
            request, "login.html", {**context, "error": "Wrong username or password."}, status=401
        )
    old = request.cookies.get(config.session_cookie)
    if old:
        store.delete_session(old)
    token, _csrf = store.create_session(user.username)  # a new id at login: no fixation
    response = RedirectResponse(_safe_next(form.get("next")) or "/", status_code=303)
    config.set_cookie(response, config.session_cookie, token, max_age=SESSION_MAX_AGE)
    response.delete_cookie(config.login_cookie, path="/")
    return response


def logout(request: Request) -> Response:
    user = user_of(request)
    config = config_of(request)
    store_of(request).delete_session(user.token)
    audit(request, "logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        config.session_cookie, path="/", secure=config.cookie_secure, httponly=True, samesite="lax"
    )
    return response


def _safe_next(target: str | None) -> str:
    """Only same-site paths: no scheme, no host, no protocol-relative //."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return ""
    return target


def _current_view(request: Request) -> tuple[ViewFilter, object, list[str], list[str]]:
    frame = store_of(request).worklist(include_closed=True)
    screens = sorted(set(frame.get_column("screen").to_list()))
    alerts = alert_ids(frame)
    view = ViewFilter.from_query(request.query_params, screens, alerts)
    return view, apply_filter(frame, view), screens, alerts


def worklist_page(request: Request) -> Response:
    view, rows, screens, alerts = _current_view(request)
    audit(request, "view_worklist", detail={**view.query(), "rows": rows.height})
    return render(
        request,
        "worklist.html",
        {
            "view": view,
            "rows": rows.to_dicts(),
            "total": rows.height,
            "screens": screens,
            "alerts": alerts,
            "priorities": [str(p) for p in Priority],
            "statuses": STATUS_CHOICES,
            "sorts": list(SORTS),
            "by_status": count_by(rows, "status"),
            "by_screen": count_by(rows, "screen"),
            "by_priority": count_by(rows, "priority"),
            "query": view.query(),
        },
    )


def export_view(request: Request) -> Response:
    fmt = "xlsx" if request.url.path.endswith(".xlsx") else "csv"
    view, rows, _screens, _alerts = _current_view(request)
    audit(request, "export", detail={**view.query(), "format": fmt, "rows": rows.height})
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
