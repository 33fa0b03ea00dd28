"""Worklist store schema: migrations, URLs, concurrency guards (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
import sqlalchemy as sa

from pipelines.errors import StoreError
from pipelines.store import Store
from pipelines.store.engine import normalize_url
from pipelines.store.review import DecisionConflictError
from pipelines.store.schema import load_migrations, metadata, migrate, schema_migration
from pipelines.store.testing import Hit, Nightly


def test_connect_migrates_once_even_when_processes_start_together(store_url: str) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        stores = list(pool.map(Store.connect, [store_url] * 3))
    try:
        with stores[0].read() as conn:
            versions = conn.execute(sa.select(schema_migration.c.version)).scalars().all()
        assert versions == [m.version for m in load_migrations()]
        assert migrate(stores[0].engine) == []
    finally:
        for opened in stores:
            opened.close()


def test_tables_match_the_migrated_ddl(store: Store) -> None:
    inspector = sa.inspect(store.engine)
    for table in metadata.sorted_tables:
        reflected = {c["name"] for c in inspector.get_columns(table.name)}
        assert reflected == {c.name for c in table.columns}, table.name


def test_every_migration_statement_is_portable_sql() -> None:
    for migration in load_migrations():
        for statement in migration.statements():
            assert "AUTOINCREMENT" not in statement.upper()
            assert "SERIAL" not in statement.upper()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://vascreen@db.example/vascreen", "postgresql+psycopg"),
        ("postgres://vascreen@db.example/vascreen", "postgresql+psycopg"),
        ("sqlite:///var/vascreen.db", "sqlite+pysqlite"),
    ],
    ids=["postgresql", "postgres-alias", "sqlite"],
)
def test_store_urls_map_onto_shipped_drivers(url: str, driver: str) -> None:
    assert normalize_url(url).drivername == driver


def test_rejected_store_url_does_not_echo_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        normalize_url("mysql://user:s3cret-canary@host/db")
    assert "s3cret-canary" not in str(caught.value)


def test_stale_decision_is_refused_instead_of_lost(store: Store, nightly: Nightly) -> None:
    nightly(date(2025, 3, 1), [Hit("p1", "pad", "pad.low_abi", "Observation/o1", date(2025, 2, 1))])
    item_id = store.worklist()["item_id"][0]
    store.record_decision(item_id, username="a", action="referred", expected_count=0)
    with pytest.raises(DecisionConflictError):
        store.record_decision(
            item_id, username="b", action="dismissed", reason="x", expected_count=0
        )
    assert [d["decided_by"] for d in store.decisions(item_id)] == ["a"]


def test_concurrent_decisions_get_distinct_sequence_numbers(store: Store, nightly: Nightly) -> None:
    nightly(date(2025, 3, 1), [Hit("p1", "pad", "pad.low_abi", "Observation/o1", date(2025, 2, 1))])
    item_id = store.worklist()["item_id"][0]

    def decide(n: int) -> None:
        store.record_decision(item_id, username=f"u{n}", action="needs_info")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(decide, range(8)))
    assert [d["seq"] for d in store.decisions(item_id)] == list(range(1, 9))
