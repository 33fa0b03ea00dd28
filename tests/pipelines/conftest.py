"""Fixtures for the worklist store tests: one fresh store per test, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from pipelines.store import PublishCounts, Store
from pipelines.store_testing import BACKENDS, Hit, Nightly, run_nightly, temporary_store_url


@pytest.fixture(params=BACKENDS, ids=list(BACKENDS))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with temporary_store_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.connect(store_url)
    yield opened
    opened.close()


@pytest.fixture
def nightly(store: Store) -> Nightly:
    """Run the store side of a nightly run: start, publish `hits`, finish."""

    def run(as_of: date, hits: list[Hit], screens: list[str] | None = None) -> PublishCounts:
        return run_nightly(store, as_of, hits, screens)

    return run
