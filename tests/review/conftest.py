"""Fixtures for the review app: a seeded store (SQLite and PostgreSQL), users, HTTP clients."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from pipelines.store import Store
from pipelines.store.testing import BACKENDS, Hit, run_nightly, temporary_store_url
from review import auth
from review.app import create_app
from review.auth import add_user

AS_OF = date(2025, 3, 1)
PASSWORD = "correct horse battery staple"
HITS = [
    Hit("pad-low-abi", "pad", "pad.low_abi", "Observation/abi-1", date(2025, 2, 20)),
    Hit(
        "clti-rest-pain",
        "clti",
        "clti.rest_pain_note",
        "DocumentReference/n1",
        date(2025, 2, 25),
        snippet="Pain at rest relieved by dangling.",
        span=(0, 12),
    ),
]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters for speed; test_security checks the production ones."""
    monkeypatch.setattr(
        auth, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture(params=BACKENDS, ids=list(BACKENDS))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with temporary_store_url(request.param, tmp_path) as url:
        store = Store.connect(url)
        run_nightly(store, AS_OF, HITS)
        add_user(store, "coord", "coordinator", PASSWORD)
        add_user(store, "boss", "admin", PASSWORD)
        store.close()
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.connect(store_url)
    yield opened
    opened.close()


MakeClient = Callable[..., TestClient]
Login = Callable[..., str]


@pytest.fixture
def make_client(store_url: str) -> Iterator[MakeClient]:
    """Clients on fresh apps over the seeded store; create_app keyword arguments pass through."""
    opened: list[TestClient] = []

    def make(**kwargs: Any) -> TestClient:
        kwargs.setdefault("secret_key", "test-secret")
        kwargs.setdefault("cookie_secure", False)
        app = create_app(store_url, **kwargs)
        client = TestClient(app, follow_redirects=False)
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()
        client.app.state.store.close()


@pytest.fixture
def app_client(make_client: MakeClient) -> TestClient:
    return make_client()


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "page has no CSRF token"
    return found.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, response.status_code
    return csrf_of(client.get("/", headers={"accept": "text/html"}).text)


@pytest.fixture
def login() -> Login:
    """`login(client, username, password=PASSWORD)` signs in and returns the CSRF token."""
    return log_in
