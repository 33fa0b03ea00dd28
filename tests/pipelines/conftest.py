"""Fixtures: a two-patient source, the engine spied on, one fresh worklist store per test (SQLite
and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

import screens.engine
from pipelines.store import PublishCounts, Store
from pipelines.store.testing import BACKENDS, Hit, Nightly, run_nightly, temporary_store_url
from tests.pipelines.engine_spy import EngineSpy
from tests.pipelines.stage_inputs import patient, write_ndjson


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """A source directory holding two Patients (p1, p2); tests add the other files."""
    d = tmp_path / "src"
    d.mkdir()
    write_ndjson(d / "Patient.ndjson", [patient("p1"), patient("p2")])
    return d


@pytest.fixture
def engine_spy(monkeypatch: pytest.MonkeyPatch) -> EngineSpy:
    """The engine the shards call, spied on."""
    spy = EngineSpy()
    monkeypatch.setattr(screens.engine, "evaluate_screens", spy)
    return spy


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
