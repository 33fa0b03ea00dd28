"""Login, logout and the health check (the worklist is in `review.views_worklist`)."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from pipelines.errors import StoreError
from review.auth import LoginBusyError, LoginThrottledError, authenticate
from review.pages import audit, config_of, limits_of, render, store_of, user_of
from review.security import client_id, state_form

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
            store,
            form.get("username", ""),
            form.get("password", ""),
            client=client_id(request),
            limits=limits_of(request),
        )
    except LoginBusyError:
        busy = {**context, "error": "Too many sign-ins at once. Try again in a moment."}
        page = render(request, "login.html", busy, status=429)
        page.headers["retry-after"] = "5"
        return page
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


def healthz(request: Request) -> Response:
    """Liveness for load balancers and monitors: no login, no patient data, the store answers."""
    try:
        store_of(request).ping()
    except StoreError:
        return PlainTextResponse("store unavailable", status_code=503)
    return PlainTextResponse("ok")
