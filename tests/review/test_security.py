"""Review app security: authentication, roles, CSRF, cookies, sessions, headers, rate limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from pipelines.store import Store
from review.auth import ARGON2_PARAMS, MAX_FAILURES_PER_USER, add_user

ROUTES = [
    ("GET", "/"),
    ("GET", "/?q=pad"),
    ("GET", "/export.csv"),
    ("GET", "/export.xlsx"),
    ("GET", "/patients/pad-low-abi"),
    ("GET", "/admin"),
    ("GET", "/admin/audit"),
    ("POST", "/logout"),
    ("POST", "/items/anything/decision"),
    ("POST", "/items/anything/assign"),
    ("POST", "/items/anything/comment"),
    ("POST", "/items/bulk"),
    ("GET", "/account/password"),
    ("POST", "/account/password"),
]
ADMIN_ROUTES = ["/admin", "/admin/audit"]
HTML = {"accept": "text/html"}


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_route_needs_a_session(app_client: TestClient, method: str, path: str) -> None:
    response = app_client.request(method, path, headers=HTML)
    if method == "GET":
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    else:
        assert response.status_code == 401
    assert app_client.request(method, path).status_code == 401  # API clients: 401


@pytest.mark.parametrize("path", ADMIN_ROUTES)
def test_coordinator_cannot_reach_admin_pages(app_client: TestClient, login, path: str) -> None:
    login(app_client, "coord")
    assert app_client.get(path).status_code == 403


@pytest.mark.parametrize("path", ADMIN_ROUTES)
def test_admin_reaches_admin_pages(app_client: TestClient, login, path: str) -> None:
    login(app_client, "boss")
    assert app_client.get(path).status_code == 200


def test_unsafe_request_without_csrf_token_is_rejected(
    app_client: TestClient, login, store: Store
) -> None:
    csrf = login(app_client, "coord")
    item_id = store.worklist()["item_id"][0]
    form = {"action": "referred", "expected_count": "0"}
    assert app_client.post(f"/items/{item_id}/decision", data=form).status_code == 403
    bad = {**form, "csrf_token": csrf[:-2] + "xx"}
    assert app_client.post(f"/items/{item_id}/decision", data=bad).status_code == 403
    assert (
        app_client.post(f"/items/{item_id}/decision", json={**form, "csrf_token": csrf}).status_code
        == 415
    )
    assert store.decisions(item_id) == []


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/items/ITEM/assign", {"assignee": "coord"}),
        ("/items/ITEM/comment", {"comment": "a comment"}),
        ("/items/bulk", {"op": "dismiss", "reason": "mimic", "item": "ITEM:0"}),
        ("/account/password", {"current_password": "x", "new_password": "y" * 12}),
    ],
    ids=["assign", "comment", "bulk", "password"],
)
def test_new_write_endpoints_need_the_csrf_token(
    app_client: TestClient, login, store: Store, path: str, form: dict[str, str]
) -> None:
    login(app_client, "coord")
    item_id = store.worklist()["item_id"][0]
    data = {k: v.replace("ITEM", item_id) for k, v in form.items()}
    assert app_client.post(path.replace("ITEM", item_id), data=data).status_code == 403
    assert store.item_history(item_id) == []
    assert store.item(item_id)["assigned_to"] is None


def test_healthz_answers_without_login_or_patient_data(app_client: TestClient) -> None:
    response = app_client.get("/healthz")
    assert response.status_code == 200 and response.text == "ok"
    assert "pad-low-abi" not in response.text and "set-cookie" not in response.headers


def test_login_form_needs_its_csrf_token(app_client: TestClient) -> None:
    response = app_client.post("/login", data={"username": "coord", "password": "whatever-long"})
    assert response.status_code == 403


def test_session_cookie_is_httponly_and_samesite(app_client: TestClient, login) -> None:
    login(app_client, "coord")
    cookie = next(c for c in app_client.cookies.jar if c.name == "vascreen_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite", "").lower() == "lax"


def test_secure_mode_uses_host_prefixed_secure_cookies_and_hsts(make_client) -> None:
    client = make_client(cookie_secure=True)
    response = client.get("/login")
    set_cookie = response.headers["set-cookie"]
    assert set_cookie.startswith("__Host-vascreen_login=")
    assert "Secure" in set_cookie and "HttpOnly" in set_cookie
    assert "max-age=" in response.headers["strict-transport-security"]


def test_login_issues_a_fresh_session_and_logout_ends_it(app_client: TestClient, login) -> None:
    app_client.cookies.set("vascreen_session", "attacker-chosen-value", domain="testserver.local")
    csrf = login(app_client, "coord")
    token = app_client.cookies.get("vascreen_session")
    assert token and token != "attacker-chosen-value"
    assert app_client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    app_client.cookies.set("vascreen_session", token)  # a copied cookie is dead too
    assert app_client.get("/").status_code == 401


def test_idle_session_expires(make_client, login) -> None:
    client = make_client(idle_timeout=timedelta(microseconds=1))
    login_csrf = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    form = {
        "username": "coord",
        "password": "correct horse battery staple",
        "csrf_token": login_csrf,
    }
    assert client.post("/login", data=form).status_code == 303
    assert client.get("/", headers=HTML).status_code == 303


def test_wrong_password_fails_and_logins_are_rate_limited(app_client: TestClient, login) -> None:
    for _ in range(MAX_FAILURES_PER_USER):
        page = app_client.get("/login").text
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        response = app_client.post(
            "/login",
            data={"username": "coord", "password": "wrong-password-1", "csrf_token": token},
        )
        assert response.status_code == 401
    page = app_client.get("/login").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = app_client.post(
        "/login",
        data={"username": "coord", "password": "correct horse battery staple", "csrf_token": token},
    )
    assert response.status_code == 429


def test_security_headers_are_on_every_response(app_client: TestClient, login) -> None:
    responses = [app_client.get("/"), app_client.get("/login")]
    login(app_client, "coord")
    responses += [app_client.get("/"), app_client.get("/static/style.css")]
    for response in responses:
        headers = response.headers
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"


def test_passwords_are_stored_as_argon2id_hashes(store: Store) -> None:
    user = store.get_user("coord")
    assert user is not None
    assert user["password_hash"].startswith("$argon2id$")
    assert "correct horse" not in user["password_hash"]


def test_production_hash_parameters_meet_rfc_9106() -> None:
    encoded = PasswordHasher(**ARGON2_PARAMS).hash("a long enough password")
    assert encoded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


@pytest.mark.parametrize(
    ("username", "role", "password"),
    [
        ("Bad Name", "coordinator", "long enough password"),
        ("ok", "superuser", "long enough pw"),
        ("ok", "admin", "short"),
    ],
    ids=["bad-username", "unknown-role", "short-password"],
)
def test_add_user_rejects_bad_input(store: Store, username: str, role: str, password: str) -> None:
    with pytest.raises(ValueError):
        add_user(store, username, role, password)
