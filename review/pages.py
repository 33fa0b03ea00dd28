"""Shared page plumbing: templates, the current user and store, the page renderer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from pipelines.store import Store
from review.labels import register
from review.login_limits import LoginLimits
from review.security import GuardConfig, SessionUser, client_id
from review.settings import ReviewSettings
from review.worklist_view import ViewFilter

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
register(TEMPLATES.env)


# Starlette's `State` is untyped (attributes are Any): each accessor names the type it holds.
def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def config_of(request: Request) -> GuardConfig:
    config: GuardConfig = request.app.state.guard_config
    return config


def limits_of(request: Request) -> LoginLimits:
    limits: LoginLimits = request.app.state.login_limits
    return limits


def settings_of(request: Request) -> ReviewSettings:
    settings: ReviewSettings = request.app.state.settings
    return settings


def current_view(request: Request) -> ViewFilter:
    """The worklist view the request's query string describes (filters, sort, page)."""
    store = store_of(request)
    return ViewFilter.from_query(request.query_params, store.screen_ids(), store.alert_ids())


def user_of(request: Request) -> SessionUser:
    user: SessionUser | None = request.state.user
    assert user is not None  # the guard lets no anonymous request reach a page
    return user


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    user = request.state.user
    base = {"user": user, "csrf_token": user.csrf_token if user else ""}
    return TEMPLATES.TemplateResponse(request, name, {**base, **context}, status_code=status)


def audit(
    request: Request,
    action: str,
    target_type: str | None = None,
    target_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    user = request.state.user
    store_of(request).audit(
        user.username if user else None, action, target_type, target_id, detail, client_id(request)
    )
