"""Review-app security beyond tests/review/test_security.py.

The authorization matrix is built from the Starlette app's own route table, so a route added
later is covered (and must be given sample path values here, or the test fails). Also: CSRF
tokens bound to their session, session fixation with a real attacker session, reflected and
stored HTML injection, open redirects after login, per-client login throttling, and security
headers on every response of every route, error responses included.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from pipelines.store import Store
from review import auth
from review.app import create_app
from review.auth import MAX_FAILURES_PER_CLIENT, MAX_FAILURES_PER_USER
from review.login_limits import HashGate, LoginLimits
from review.settings import ReviewSettings
from tests.hardening.conftest import tally
from tests.review.conftest import (  # noqa: F401 - fixtures reused from the review suite
    HITS,
    PASSWORD,
    csrf_of,
    fast_password_hashing,
    log_in,
    make_client,
    store,
    store_url,
)

ROLES = ("anonymous", "coordinator", "admin")
USERS = {"coordinator": "coord", "admin": "boss"}
PUBLIC = {"/login", "/healthz"}
HTML = {"accept": "text/html"}
PARAMS = {"patient_id": HITS[0].patient, "item_id": "ITEM"}  # ITEM: a real item id, filled in
SCRIPT = "<script>alert('x')</script>"
CSRF_VALUE = re.compile(r'name="csrf_token" value="[^"]+"')


def _routes(url: str) -> list[tuple[str, str]]:
    """(method, path template) for every route and method of the app, plus one static file."""
    app = create_app(url, secret_key="k", cookie_secure=False)
    out: list[tuple[str, str]] = []
    for route in app.routes:
        if isinstance(route, Route):
            out += [(m, route.path) for m in sorted(route.methods or {"GET"}) if m != "HEAD"]
        elif isinstance(route, Mount):
            assert route.path == "/static", f"new mount {route.path}: add it to the matrix"
            out.append(("GET", "/static/style.css"))
    app.state.store.close()
    return out


def _concrete(template: str, item_id: str) -> str:
    names = re.findall(r"{(\w+)(?::\w+)?}", template)
    missing = [n for n in names if n not in PARAMS]
    assert not missing, f"route {template}: give {missing} a sample value in PARAMS"
    path = template
    for name in names:
        value = item_id if PARAMS[name] == "ITEM" else PARAMS[name]
        path = re.sub(rf"{{{name}(?::\w+)?}}", value, path)
    return path


def _allowed(role: str, path: str) -> bool:
    if path in PUBLIC or path.startswith("/static/"):
        return True
    if path.startswith("/admin"):
        return role == "admin"
    return role != "anonymous"


def _check_headers(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"


@pytest.fixture
def item_id(store: Store) -> str:  # noqa: F811
    return str(store.worklist()["item_id"][0])


@pytest.fixture
def client_as(make_client) -> Iterator:  # noqa: F811
    def make(role: str) -> tuple[TestClient, str]:
        client = make_client()
        csrf = ""
        if role != "anonymous":
            csrf = log_in(client, USERS[role])
        return client, csrf

    yield make


def test_authorization_matrix_covers_every_route(store_url: str, client_as, item_id: str) -> None:  # noqa: F811
    routes = _routes(store_url)
    assert {("GET", "/"), ("POST", "/items/{item_id}/decision"), ("GET", "/admin")} <= set(routes)
    checked = 0
    for role in ROLES:
        for method, template in routes:
            client, csrf = client_as(role)
            path = _concrete(template, item_id)
            data = {"csrf_token": csrf} if method == "POST" else None
            if (method, path) == ("POST", "/login"):
                data = {
                    "username": "coord",
                    "password": PASSWORD,
                    "csrf_token": csrf_of(client.get("/login").text),
                }
            response = client.request(method, path, data=data, headers=HTML)
            _check_headers(response)
            where = f"{role} {method} {path} -> {response.status_code}"
            if _allowed(role, path):
                assert response.status_code not in (401, 403), where
                assert not (
                    response.status_code == 303
                    and response.headers["location"].startswith("/login?")
                ), where
            elif role == "anonymous":
                assert response.status_code in (303, 401), where
                if response.status_code == 303:
                    assert response.headers["location"].startswith("/login?next="), where
                assert client.request(method, path, data=data).status_code == 401, where
            else:
                assert response.status_code == 403, where
            checked += 1
    tally("faults injected", checked)
    assert checked == len(ROLES) * len(routes)


def test_csrf_token_is_bound_to_its_session(client_as, store: Store, item_id: str) -> None:  # noqa: F811
    coord, coord_csrf = client_as("coordinator")
    admin, admin_csrf = client_as("admin")
    form = {"action": "referred", "expected_count": "0"}
    assert (
        coord.post(
            f"/items/{item_id}/decision", data={**form, "csrf_token": admin_csrf}
        ).status_code
        == 403
    )
    assert (
        coord.post(f"/items/{item_id}/decision?csrf_token={coord_csrf}", data=form).status_code
        == 403
    )
    assert coord.post("/logout", data={}).status_code == 403
    assert coord.get("/").status_code == 200, "a refused logout leaves the session alone"
    assert store.decisions(item_id) == []
    assert admin.post(
        f"/items/{item_id}/decision", data={**form, "csrf_token": admin_csrf}
    ).status_code in (200, 303)
    tally("faults injected", 3)


def test_planted_attacker_session_is_replaced_at_login(client_as, make_client) -> None:  # noqa: F811
    attacker, _ = client_as("coordinator")
    planted = attacker.cookies.get("vascreen_session")
    victim = make_client()
    victim.cookies.set("vascreen_session", planted, domain="testserver.local")
    log_in(victim, "boss")
    assert victim.cookies.get("vascreen_session") != planted
    assert victim.get("/admin").status_code == 200
    # The planted id was ended at the victim's login, and never gained the admin role.
    attacker.cookies.set("vascreen_session", planted, domain="testserver.local")
    assert attacker.get("/admin").status_code in (401, 403)
    tally("faults injected")


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "\\\\evil.example",
    ],
)
def test_login_never_redirects_off_site(make_client, target: str) -> None:  # noqa: F811
    client = make_client()
    token = csrf_of(client.get("/login", params={"next": target}).text)
    response = client.post(
        "/login",
        data={"username": "coord", "password": PASSWORD, "csrf_token": token, "next": target},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    tally("bad inputs tried")


@pytest.mark.parametrize(
    "query",
    [
        {"q": SCRIPT},
        {"q": '"><img src=x onerror=alert(1)>'},
        {"q": "'; DROP TABLE worklist_item; --"},
        {"screen": SCRIPT},
        {"status": "new' OR '1'='1"},
        {"priority": 'urgent" onmouseover="x'},
        {"sort": "patient_id; DELETE FROM review_decision"},
        {"q": "%' UNION SELECT password_hash --"},
    ],
)
def test_search_and_filters_are_escaped_and_inert(client_as, store: Store, query: dict) -> None:  # noqa: F811
    client, _ = client_as("coordinator")
    before = store.worklist(include_closed=True).height
    for path in ("/", "/export.csv"):
        response = client.get(path, params=query)
        assert response.status_code == 200, (path, query)
        body = response.text
        for value in query.values():
            if any(ch in value for ch in '<>"'):
                assert value not in body, f"{value!r} echoed unescaped on {path}"
        assert "argon2" not in body and "Traceback" not in body
    assert store.worklist(include_closed=True).height == before
    tally("bad inputs tried")


def test_stored_comment_and_path_are_escaped(client_as, store: Store, item_id: str) -> None:  # noqa: F811
    client, csrf = client_as("coordinator")
    patient = store.item(item_id)["patient_id"]  # type: ignore[index]
    response = client.post(
        f"/items/{item_id}/decision",
        data={
            "action": "needs_info",
            "comment": SCRIPT,
            "reason": SCRIPT,
            "expected_count": "0",
            "csrf_token": csrf,
        },
    )
    assert response.status_code in (200, 303)
    page = client.get(f"/patients/{patient}").text
    assert SCRIPT not in page and "<script>" not in page
    assert html.escape(SCRIPT, quote=True) in page or "&lt;script&gt;" in page, "comment shown"
    missing = client.get("/patients/" + "%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert missing.status_code == 404 and "<script>alert(1)" not in missing.text
    tally("bad inputs tried", 3)


def test_failed_logins_are_throttled_per_client_across_usernames(make_client) -> None:  # noqa: F811
    client = make_client()
    statuses = []
    for n in range(MAX_FAILURES_PER_CLIENT):
        token = csrf_of(client.get("/login").text)
        statuses.append(
            client.post(
                "/login",
                data={"username": f"guess{n}", "password": "not the password", "csrf_token": token},
            ).status_code
        )
    assert set(statuses) == {401}
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"username": "coord", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429, "the right password is refused while throttled"
    assert "vascreen_session" not in client.cookies
    tally("faults injected", MAX_FAILURES_PER_CLIENT + 1)


def test_sessions_survive_nothing_they_should_not(
    tmp_path: Path,
    make_client,  # noqa: F811
) -> None:
    """A session token from one store is worthless against another app instance's store."""
    client = make_client()
    log_in(client, "coord")
    token = client.cookies.get("vascreen_session")
    other = create_app(f"sqlite:///{tmp_path / 'other.db'}", secret_key="k", cookie_secure=False)
    with TestClient(other, follow_redirects=False) as stranger:
        stranger.cookies.set("vascreen_session", token, domain="testserver.local")
        assert stranger.get("/").status_code == 401
    other.state.store.close()


def _proxied_client(store_url: str, proxy: str = "10.0.0.5") -> TestClient:  # noqa: F811
    settings = ReviewSettings(trusted_proxies=proxy)
    app = create_app(store_url, secret_key="k", cookie_secure=False, settings=settings)
    return TestClient(app, follow_redirects=False, client=(proxy, 5000))


def _try_login(client: TestClient, username: str, password: str, via: str | None = None) -> object:
    headers = {"x-forwarded-for": via} if via else {}
    token = csrf_of(client.get("/login", headers=headers).text)
    form = {"username": username, "password": password, "csrf_token": token}
    return client.post("/login", data=form, headers=headers)


def test_forged_forwarded_for_neither_dodges_the_throttle_nor_enters_the_audit(
    make_client,  # noqa: F811
    store: Store,  # noqa: F811
) -> None:
    client = make_client()  # no trusted proxy: the peer is the client
    statuses = [
        _try_login(client, f"guess{n}", "not the password", via=f"203.0.113.{n}").status_code  # type: ignore[attr-defined]
        for n in range(MAX_FAILURES_PER_CLIENT + 1)
    ]
    assert statuses == [401] * MAX_FAILURES_PER_CLIENT + [429]
    clients = {e["client"] for e in store.audit_entries() if e["action"].startswith("login")}
    assert clients == {"testclient"}
    tally("faults injected", MAX_FAILURES_PER_CLIENT + 1)


def test_strangers_cannot_lock_the_admin_out_from_elsewhere(store_url: str, store: Store) -> None:  # noqa: F811
    with _proxied_client(store_url) as client:
        stranger = "203.0.113.66"
        statuses = [
            _try_login(client, "boss", f"guess number {n}", via=stranger).status_code  # type: ignore[attr-defined]
            for n in range(MAX_FAILURES_PER_USER + 1)
        ]
        assert statuses == [401] * MAX_FAILURES_PER_USER + [429]
        # A forged left-hand address from the stranger is ignored: still the stranger.
        forged = _try_login(client, "boss", PASSWORD, via=f"198.51.100.7, {stranger}")
        assert forged.status_code == 429  # type: ignore[attr-defined]
        admin = _try_login(client, "boss", PASSWORD, via="198.51.100.7")
        assert admin.status_code == 303  # type: ignore[attr-defined]
        client.app.state.store.close()  # type: ignore[attr-defined]
    entries = store.audit_entries()
    assert {"boss"} == {e["username"] for e in entries if e["action"] == "login"}
    assert {e["client"] for e in entries if e["action"] == "login"} == {"198.51.100.7"}
    assert {e["client"] for e in entries if e["action"] == "login_failed"} == {stranger}
    tally("faults injected", MAX_FAILURES_PER_USER + 2)


def test_unknown_names_are_answered_like_known_ones(
    make_client,  # noqa: F811
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hashes: list[str] = []
    verify = auth._verify
    monkeypatch.setattr(auth, "_verify", lambda h, p: hashes.append(h) or verify(h, p))
    seen: dict[str, list[tuple[int, str, int]]] = {}
    for name in ("boss", "nobody-here"):
        client = make_client()
        seen[name] = []
        for n in range(MAX_FAILURES_PER_USER + 2):
            before = len(hashes)
            response = _try_login(client, name, f"wrong guess {n}")
            body = CSRF_VALUE.sub("", response.text)  # type: ignore[attr-defined]
            seen[name].append((response.status_code, body, len(hashes) - before))  # type: ignore[attr-defined]
        client.close()
    assert seen["boss"] == seen["nobody-here"]
    assert [s for s, _, _ in seen["boss"]] == [401] * MAX_FAILURES_PER_USER + [429, 429]
    assert [h for _, _, h in seen["boss"]] == [1] * MAX_FAILURES_PER_USER + [0, 0]
    assert "nobody-here" not in str(store.audit_entries())
    tally("bad inputs tried", 2 * (MAX_FAILURES_PER_USER + 2))


def test_a_login_flood_is_refused_with_429_while_hashing_is_full(make_client) -> None:  # noqa: F811
    client = make_client()
    gate = HashGate(concurrent=1, waiting=0)
    client.app.state.login_limits = LoginLimits(key=b"k", gate=gate)
    with gate.slot():  # another sign-in is hashing
        response = _try_login(client, "coord", PASSWORD)
    assert response.status_code == 429  # type: ignore[attr-defined]
    assert response.headers["retry-after"] == "5"  # type: ignore[attr-defined]
    _check_headers(response)
    assert "vascreen_session" not in client.cookies
    assert _try_login(client, "coord", PASSWORD).status_code == 303  # type: ignore[attr-defined]
    tally("faults injected")


@pytest.mark.parametrize("where", ["page", "guard"])
def test_500_pages_carry_the_security_headers(
    store_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    app = create_app(store_url, secret_key="k", cookie_secure=False)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        log_in(client, "coord")

        def boom(*args: object, **kwargs: object) -> None:
            raise RuntimeError("canary Jane Roe 1950-01-01")

        # A failing page, or a failure inside the guard itself (before any page runs).
        method = "worklist_page" if where == "page" else "get_session"
        monkeypatch.setattr(app.state.store, method, boom)
        response = client.get("/", headers=HTML)
        assert response.status_code == 500
        _check_headers(response)
        assert "Jane Roe" not in response.text and "Traceback" not in response.text
    app.state.store.close()
    tally("faults injected")
