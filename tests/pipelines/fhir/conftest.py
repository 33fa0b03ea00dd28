"""Fixtures: a real sekmet-fhir server holding the synthetic cohort (see server.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pipelines.fhir.server import SekmetServer, cohort_bundle, start_sekmet, stop_sekmet


@pytest.fixture(scope="session")
def sekmet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SekmetServer]:
    """A server holding the cohort bundle. Read-only for tests: mutate a ``fresh_sekmet``."""
    process, server = start_sekmet(tmp_path_factory.mktemp("sekmet"))
    try:
        server.load_bundle(cohort_bundle())
        yield server
    finally:
        stop_sekmet(process)


@pytest.fixture(scope="module")
def fresh_sekmet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SekmetServer]:
    """A separate server with the cohort, for tests that change data on the server."""
    process, server = start_sekmet(tmp_path_factory.mktemp("sekmet-mutable"))
    try:
        server.load_bundle(cohort_bundle())
        yield server
    finally:
        stop_sekmet(process)
