"""A store that turns read-only between fetch and publish fails the night (exit 6) cleanly.

Through the one run path (`pipelines.night.run_night`), with the fault injected where the
deleted-store test injects it: after the shards, before publish. Real mechanisms only:

- PostgreSQL: the store is a scratch database, and `ALTER DATABASE ... SET
  default_transaction_read_only = on` makes every new connection read-only, as a failover to
  a read-only replica does (publish opens its own connections).
- SQLite: the tests run as root, so a mode change stops nothing; the file's immutable
  attribute (`chattr +i`) is honoured for root too, and SQLite then opens it read-only.

Each time: one line and exit 6, nothing published (the worklist is the one before the night),
the coordinator's decision kept, and, once the store is writable again, a rerun gives the
worklist an uninterrupted night gives.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from pipelines.errors import ExitCode, ScreeningError
from pipelines.night import plain_steps, run_night
from pipelines.settings import Settings
from pipelines.shards import ShardJob, ShardResult
from pipelines.store import Store
from pipelines.store.engine import normalize_url
from pipelines.store.testing import pg_test_url
from tests.hardening.conftest import tally
from tests.hardening.test_intake_refusals import _source as night_source
from tests.pipelines.engine_spy import mirror_settings

AS_OF = date(2026, 6, 30)
PATIENTS = [f"pt-{k:02d}" for k in range(30)]
# Night 1 flags pt-00..02; night 2 resolves pt-00 and flags pt-03, pt-04: a partial publish
# would show as a changed worklist.
NIGHT1, NIGHT2 = PATIENTS[:3], PATIENTS[1:5]
# Run-specific columns: the rest of an item must match an uninterrupted night's.
RUN_SPECIFIC = ("item_id",)


def _source(root: Path, low_abi: list[str]) -> Path:
    return night_source(root, PATIENTS, low_abi=low_abi)


@contextmanager
def _scratch_pg_database() -> Iterator[tuple[str, Callable[[bool], None]]]:
    """A database of its own (the setting is per database) and a switch for read-only."""
    name = f"vascreen_ro_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        normalize_url(pg_test_url()), isolation_level="AUTOCOMMIT", hide_parameters=True
    )

    def read_only(on: bool) -> None:
        with admin.connect() as conn:
            value = "on" if on else "off"
            conn.exec_driver_sql(
                f'ALTER DATABASE "{name}" SET default_transaction_read_only = {value}'
            )

    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield sa.make_url(pg_test_url()).set(database=name).render_as_string(False), read_only
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _sqlite_switch(url: str) -> Callable[[bool], None]:
    path = Path(url.removeprefix("sqlite:///"))

    def read_only(on: bool) -> None:
        subprocess.run(["chattr", "+i" if on else "-i", str(path)], check=True)

    return read_only


@pytest.fixture(params=["sqlite", "postgresql"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, Callable[[bool], None]]]:
    if request.param == "postgresql":
        with _scratch_pg_database() as (url, switch):
            yield url, switch
            switch(False)
        return
    url = f"sqlite:///{tmp_path / 'var' / 'vascreen.db'}"
    switch = _sqlite_switch(url)
    try:
        yield url, switch
    finally:
        if Path(url.removeprefix("sqlite:///")).exists():
            switch(False)  # an immutable file would outlive the test's tmp_path


def _comparable(store_url: str) -> pl.DataFrame:
    with Store.connect(store_url) as store:
        return store.worklist(include_closed=True).drop(RUN_SPECIFIC)


def _night1_and_a_decision(settings: Settings, source: Path) -> str:
    run_night(str(source), settings=settings, as_of=AS_OF)
    with Store.connect(settings.store_url) as store:
        items = store.worklist()
        item_id = str(items.filter(pl.col("patient_id") == NIGHT1[1])["item_id"][0])
        store.record_decision(item_id, username="coord", action="referred", reason="abi")
    return item_id


def test_a_store_turned_read_only_mid_run_fails_the_night_and_loses_nothing(
    store: tuple[str, Callable[[bool], None]], tmp_path: Path
) -> None:
    url, read_only = store
    night1 = _source(tmp_path / "n1", NIGHT1)
    night2 = _source(tmp_path / "n2", NIGHT2)
    settings = mirror_settings(tmp_path / "work").model_copy(update={"store_url": url})
    item_id = _night1_and_a_decision(settings, night1)
    before = _comparable(url)
    with Store.connect(url) as live:
        decisions = live.decisions(item_id)
    assert len(decisions) == 1

    plain = plain_steps()

    def shards_then_read_only(
        jobs: list[ShardJob], advance: Callable[[], None]
    ) -> list[ShardResult]:
        results = plain.run_shards(jobs, advance)
        read_only(True)  # a failover to a read-only replica, a volume remounted read-only
        return results

    tally("faults injected")
    with pytest.raises(ScreeningError) as caught:
        run_night(
            str(night2),
            settings=settings,
            as_of=AS_OF,
            steps=replace(plain, run_shards=shards_then_read_only),
        )
    message = str(caught.value)
    assert caught.value.exit_code == ExitCode.STORE, message
    assert "\n" not in message and message.startswith("store "), message
    assert "read-only" in message, message
    assert not any(p in message for p in PATIENTS), message

    # Nothing partial: still night 1's worklist, and the decision is there.
    now = _comparable(url)
    with Store.connect(url) as live:
        kept = live.decisions(item_id)
        runs = [r["status"] for r in live.runs()]
    key = ["patient_id", "screen", "status"]
    tally("items lost", before.height - before.join(now, on=key, how="semi").height)
    tally("decisions lost", len(decisions) - len(kept))
    assert now.equals(before), (now, before)
    assert kept == decisions
    assert runs == ["succeeded"]  # the night could not even record itself

    read_only(False)
    run_night(str(night2), settings=settings, as_of=AS_OF)

    control = mirror_settings(tmp_path / "control")
    control_item = _night1_and_a_decision(control, _source(tmp_path / "c1", NIGHT1))
    run_night(str(_source(tmp_path / "c2", NIGHT2)), settings=control, as_of=AS_OF)
    after, expected = _comparable(url), _comparable(control.store_url)
    assert sorted(after["patient_id"].unique()) == sorted(set(NIGHT1) | set(NIGHT2))
    assert after.equals(expected), (after, expected)
    with Store.connect(url) as live, Store.connect(control.store_url) as other:
        mine = [d["action"] for d in live.decisions(item_id)]
        assert mine == [d["action"] for d in other.decisions(control_item)] == ["referred"]
