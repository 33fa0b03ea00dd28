"""Throwaway worklist stores for tests: a SQLite file or a private PostgreSQL schema.

PostgreSQL tests run against the server named by `VASCREEN_TEST_PG_URL` (default: the
development and CI server at 127.0.0.1:5432, trust auth, database `test`). Each store gets its
own schema, dropped afterwards, so parallel sessions do not see each other.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote

import polars as pl
import sqlalchemy as sa

from pipelines.store import PublishCounts, Store
from pipelines.store.engine import normalize_url
from screens.model import EVIDENCE, WORKLIST_ITEM

DEFAULT_TEST_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")


def pg_test_url() -> str:
    return os.environ.get("VASCREEN_TEST_PG_URL", DEFAULT_TEST_PG_URL)


@contextmanager
def temporary_pg_schema_url() -> Iterator[str]:
    """Create a uniquely named schema; yield a store URL whose search_path is that schema."""
    base = pg_test_url()
    schema = f"vascreen_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        normalize_url(base), isolation_level="AUTOCOMMIT", hide_parameters=True
    )
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in base else "?"
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@contextmanager
def temporary_store_url(backend: str, directory: Path) -> Iterator[str]:
    """A fresh, empty store URL for `backend` ("sqlite" | "postgresql")."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'var' / 'vascreen.db'}"
    elif backend == "postgresql":
        with temporary_pg_schema_url() as url:
            yield url
    else:
        raise ValueError(f"unknown store backend {backend}")


@dataclass(frozen=True)
class Hit:
    """One evidence row in a test run (synthetic ids only)."""

    patient: str
    screen: str
    criterion: str
    ref: str
    on: date
    role: str = "include"
    snippet: str | None = None
    span: tuple[int, int] | None = None


PRIORITY = {"pad": "routine", "clti": "urgent", "may_thurner": "routine", "cecs": "routine"}

Nightly = Callable[..., PublishCounts]


def frames(hits: list[Hit], as_of: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Evidence rows for `hits` and one item per patient x screen with an include hit."""
    evidence = pl.DataFrame(
        [
            {
                "patient_id": h.patient,
                "screen_id": h.screen,
                "screen_version": 1,
                "criterion_id": h.criterion,
                "role": h.role,
                "source_ref": h.ref,
                "observed_on": h.on,
                "value": None,
                "unit": None,
                "laterality": None,
                "span_start": h.span[0] if h.span else None,
                "span_end": h.span[1] if h.span else None,
                "snippet": h.snippet,
                "modifiers": "",
                "as_of": as_of,
            }
            for h in hits
        ],
        schema=EVIDENCE,
    )
    items = []
    for (patient, screen), group in evidence.filter(pl.col("role") == "include").group_by(
        "patient_id", "screen_id", maintain_order=True
    ):
        mimics = evidence.filter(
            (pl.col("patient_id") == patient)
            & (pl.col("screen_id") == screen)
            & (pl.col("role") == "mimic")
        )
        items.append(
            {
                "patient_id": patient,
                "screen": screen,
                "screen_version": 1,
                "priority": PRIORITY[str(screen)],
                "first_flagged_on": None,
                "last_evidence_on": group["observed_on"].max(),
                "criteria": " ".join(sorted(set(group["criterion_id"]))),
                "evidence": " ".join(sorted(set(group["source_ref"]))),
                "mimics": " ".join(sorted(set(mimics["criterion_id"]))),
                "alerts": "",
                "as_of": as_of,
            }
        )
    return pl.DataFrame(items, schema=WORKLIST_ITEM), evidence


def run_nightly(
    store: Store, as_of: date, hits: list[Hit], screens: list[str] | None = None
) -> PublishCounts:
    """The store side of a nightly run: start, publish the frames for `hits`, finish."""
    screens = screens or ["pad", "clti"]
    with store.recorded_run(
        as_of=as_of, source="tests", screens=screens, rule_versions=dict.fromkeys(screens, 1)
    ) as run_id:
        items, evidence = frames(hits, as_of)
        counts = store.publish(run_id, as_of=as_of, screens=screens, items=items, evidence=evidence)
        store.finish_run(
            run_id, status="succeeded", counts={**counts.as_dict(), "items": store.item_counts()}
        )
    return counts
