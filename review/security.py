"""The review app's guard: sessions, authorization, CSRF, security headers, for every route.

One ASGI middleware in front of every route, so a new page cannot forget a check:

- anonymous requests get a redirect to /login (HTML GET) or 401, except /login, /healthz
  (a liveness probe: no patient data) and /static;
- /admin/* needs the admin role (403 otherwise);
- every unsafe request must carry the session's CSRF token in the form (or X-CSRF-Token);
  the login form, which has no session yet, carries an HMAC of a pre-login cookie nonce;
- sessions live server-side and end after `idle_timeout` without a request (and after
  `absolute_timeout` in any case);
- every response gets the security headers below; nothing is cached (pages show PHI).

Unsafe requests must be `application/x-www-form-urlencoded`; the parsed form is left in
`request.state.form` for the (synchronous) endpoints.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipelines.store import Store
from pipelines.store.schema import utcnow
from review.auth import Role, User
from review.client_address import Network, client_address

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PATHS = ("/login", "/healthz")
MAX_FORM_BYTES = 64 * 1024
TOUCH_EVERY = timedelta(seconds=60)
HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


@dataclass(frozen=True, slots=True)
class SessionUser(User):
    csrf_token: str
    token: str


@dataclass(frozen=True, slots=True)
class GuardConfig:
    secret_key: bytes
    cookie_secure: bool
    idle_timeout: timedelta = timedelta(minutes=30)
    absolute_timeout: timedelta = timedelta(hours=12)
    trusted_proxies: tuple[Network, ...] = ()

    @property
    def session_cookie(self) -> str:
        # The __Host- prefix pins the cookie to this host and path "/" (browsers need Secure).
        return "__Host-vascreen_session" if self.cookie_secure else "vascreen_session"

    @property
    def login_cookie(self) -> str:
        return "__Host-vascreen_login" if self.cookie_secure else "vascreen_login"

    def login_csrf(self, nonce: str) -> str:
        return hmac.new(self.secret_key, nonce.encode(), hashlib.sha256).hexdigest()

    def set_cookie(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            secure=self.cookie_secure,
            httponly=True,
            samesite="lax",
        )


class Guard:
    """ASGI middleware enforcing the rules in the module docstring."""

    def __init__(self, app: ASGIApp, *, store: Store, config: GuardConfig) -> None:
        self.app, self.store, self.config = app, store, config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_security_headers(send, self.config.cookie_secure)
        request = Request(scope)
        path: str = scope["path"]
        public = path in PUBLIC_PATHS or path.startswith("/static/")
        scope.setdefault("state", {})
        scope["state"]["client"] = client_address(
            request.client.host if request.client else None,
            request.headers.getlist("x-forwarded-for"),
            self.config.trusted_proxies,
        )
        user = await run_in_threadpool(self._session_user, request)
        scope["state"]["user"] = user
        denial = self._deny(request, user, public)
        if denial is None and request.method not in SAFE_METHODS:
            body, receive = await _buffer_body(receive)
            denial = self._check_form(request, user, body, scope)
        if denial is not None:
            await denial(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _deny(self, request: Request, user: SessionUser | None, public: bool) -> Response | None:
        if user is None and not public:
            if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
            return PlainTextResponse("authentication required", status_code=401)
        if request.url.path.startswith("/admin") and (user is None or user.role != Role.ADMIN):
            return PlainTextResponse("forbidden", status_code=403)
        return None

    def _check_form(
        self, request: Request, user: SessionUser | None, body: bytes | None, scope: Scope
    ) -> Response | None:
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if body is None:
            return PlainTextResponse("request too large", status_code=413)
        if body and content_type != "application/x-www-form-urlencoded":
            return PlainTextResponse("unsupported form encoding", status_code=415)
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
            form = dict(pairs)
        except UnicodeDecodeError:
            return PlainTextResponse("bad form encoding", status_code=400)
        sent = form.get("csrf_token") or request.headers.get("x-csrf-token", "")
        if user is not None:
            expected = user.csrf_token
        else:
            nonce = request.cookies.get(self.config.login_cookie, "")
            expected = self.config.login_csrf(nonce) if nonce else ""
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            return PlainTextResponse("CSRF check failed: reload the page and retry", 403)
        scope["state"]["form"] = form
        scope["state"]["form_pairs"] = pairs
        return None

    def _session_user(self, request: Request) -> SessionUser | None:
        token = request.cookies.get(self.config.session_cookie)
        if not token or len(token) > 128:
            return None
        row = self.store.get_session(token)
        if row is None:
            return None
        now = utcnow()
        if (
            now - row["last_seen_at"] > self.config.idle_timeout
            or now - row["created_at"] > self.config.absolute_timeout
        ):
            self.store.delete_session(token)
            self.store.audit(row["username"], "session_expired", client=client_id(request))
            return None
        if now - row["last_seen_at"] > TOUCH_EVERY:
            self.store.touch_session(token)
        return SessionUser(row["username"], Role(row["role"]), row["csrf_token"], token)


def new_secret_key() -> bytes:
    return secrets.token_bytes(32)


async def _buffer_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """Read the whole body (None past MAX_FORM_BYTES) and a receive that replays it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None, receive
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


def _with_security_headers(send: Send, hsts: bool) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in HEADERS.items():
                if name not in headers:
                    headers[name] = value
            if hsts:
                headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
        await send(message)

    return wrapped


def client_id(request: Request) -> str:
    """The client address the guard worked out (`review.client_address`)."""
    found = getattr(request.state, "client", None)
    if found:
        return str(found)
    return request.client.host if request.client else "unknown"


def server_error(request: Request, exc: Exception) -> Response:
    """Starlette's 500 page is sent outside the guard: give it the security headers too."""
    headers = dict(HEADERS)
    if request.app.state.guard_config.cookie_secure:
        headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
    return PlainTextResponse("internal error", status_code=500, headers=headers)


def state_form(request: Request) -> dict[str, Any]:
    return getattr(request.state, "form", {})


def state_form_values(request: Request, name: str) -> list[str]:
    """Every value of a repeated form field (checkboxes), in order."""
    pairs: list[tuple[str, str]] = getattr(request.state, "form_pairs", [])
    return [value for key, value in pairs if key == name]
