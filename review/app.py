"""The coordinators' review web app (`vascreen serve`): server-rendered Starlette + Jinja2.

Every route sits behind `review.security.Guard` (authentication, roles, CSRF, headers).
Endpoints are synchronous: Starlette runs them in its thread pool, next to the store's
synchronous SQLAlchemy engine.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from pipelines.store import Store
from review import views, views_account, views_admin, views_patient, views_worklist
from review.client_address import parse_trusted_proxies
from review.error_log import LoggedErrors
from review.login_limits import HashGate, LoginLimits
from review.security import Guard, GuardConfig, new_secret_key, server_error
from review.settings import ReviewSettings

IDLE_TIMEOUT = timedelta(minutes=30)


def create_app(
    store_url: str,
    *,
    secret_key: str | None = None,
    cookie_secure: bool | None = None,
    idle_timeout: timedelta = IDLE_TIMEOUT,
    settings: ReviewSettings | None = None,
) -> Starlette:
    """Build the app on the store at `store_url` (migrated on open).

    Args:
        store_url: SQLAlchemy-style store URL.
        secret_key: signs the login form's CSRF token; random per process when None (open
            login forms then need a reload after a restart, nothing else is lost).
        cookie_secure: mark cookies Secure (and send HSTS). Defaults to the env var
            VASCREEN_COOKIE_SECURE ("1"/"true"); set it behind the hospital's TLS proxy.
        idle_timeout: a session ends after this long without a request.
        settings: site settings (MRN system, EHR link, hidden names); from the environment
            when None.
    """
    settings = settings or ReviewSettings()
    if cookie_secure is None:
        cookie_secure = settings.cookie_secure
    store = Store.connect(store_url)
    config = GuardConfig(
        secret_key=secret_key.encode() if secret_key else new_secret_key(),
        cookie_secure=cookie_secure,
        idle_timeout=idle_timeout,
        trusted_proxies=parse_trusted_proxies(settings.trusted_proxies),
    )
    routes = [
        Route("/healthz", views.healthz),
        Route("/login", views.login_page, methods=["GET", "POST"]),
        Route("/logout", views.logout, methods=["POST"]),
        Route("/", views_worklist.worklist_page),
        Route("/export.csv", views_worklist.export_view),
        Route("/export.xlsx", views_worklist.export_view),
        Route("/items/bulk", views_worklist.bulk_action, methods=["POST"]),
        Route("/patients/{patient_id}", views_patient.patient_page),
        Route("/items/{item_id}/decision", views_patient.record_decision, methods=["POST"]),
        Route("/items/{item_id}/assign", views_patient.assign_item, methods=["POST"]),
        Route("/items/{item_id}/comment", views_patient.comment_item, methods=["POST"]),
        Route("/account/password", views_account.password_page, methods=["GET", "POST"]),
        Route("/admin", views_admin.admin_page),
        Route("/admin/audit", views_admin.audit_page),
        Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, store=store, config=config)],
        exception_handlers={Exception: server_error},
    )
    app.state.store = store
    app.state.guard_config = config
    app.state.settings = settings
    app.state.login_limits = LoginLimits(
        key=config.secret_key, gate=HashGate(settings.login_concurrency, settings.login_queue)
    )
    return app


def serve(store_url: str, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the app with uvicorn; X-Forwarded-For is read by the app itself, and only from
    `VASCREEN_TRUSTED_PROXIES` (`review.client_address`)."""
    import uvicorn

    settings = ReviewSettings()
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    app = create_app(store_url, secret_key=secret, settings=settings)
    uvicorn.run(
        LoggedErrors(app),
        host=host,
        port=port,
        proxy_headers=False,
        server_header=False,
        log_level="warning",
        access_log=False,
    )
