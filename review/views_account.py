"""A signed-in user's own account: change the password (the current one is asked again)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from review.auth import LoginBusyError, LoginThrottledError, change_password
from review.pages import limits_of, render, store_of, user_of
from review.security import client_id, state_form


def password_page(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "password.html", {"error": "", "done": False})
    user = user_of(request)
    form = state_form(request)
    if form.get("new_password", "") != form.get("confirm_password", ""):
        return _again(request, "The two new passwords differ.")
    try:
        changed = change_password(
            store_of(request),
            user.username,
            form.get("current_password", ""),
            form.get("new_password", ""),
            keep_session=user.token,
            client=client_id(request),
            limits=limits_of(request),
        )
    except ValueError as exc:
        return _again(request, str(exc))
    except (LoginThrottledError, LoginBusyError):
        return _again(request, "Too many attempts. Wait a few minutes and retry.", status=429)
    if not changed:
        return _again(request, "The current password is wrong.", status=403)
    return render(request, "password.html", {"error": "", "done": True})


def _again(request: Request, error: str, status: int = 400) -> Response:
    return render(request, "password.html", {"error": error, "done": False}, status=status)
