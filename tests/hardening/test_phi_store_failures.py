"""PHI canaries through store failures (beside `test_phi_canaries`, which is at its size limit).

A database trigger makes the store refuse evidence rows mid-publish, on SQLite and on
PostgreSQL: the canary cohort's evidence carries note snippets, and SQLAlchemy's error text used
to repeat the bound parameters (snippets, values) to stderr and Prefect's logs. Now the run ends
in one line naming the operation and table, exit 6, and no marker is anywhere in its output, in
Prefect's records or in files outside the store. In the review app, a failing decision insert
(with a canary in the comment) answers 500 and logs ids only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from pipelines.errors import ExitCode
from pipelines.store import Store
from pipelines.store.testing import BACKENDS, temporary_store_url
from tests.hardening import canary
from tests.hardening.conftest import cli_env, tally, vascreen
from tests.hardening.test_phi_canaries import _assert_clean, _one_line_failure, _prefect_records

AS_OF = "2026-06-30"
NIGHT = date(2026, 6, 1)
PASSPHRASE = "velvet otter tram lantern"
SQLITE_TRIGGER = (
    "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
    "BEGIN SELECT RAISE(ABORT, 'injected store failure'); END"
)
PG_TRIGGER = (
    "CREATE FUNCTION refuse_{table}() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'injected store failure'; END $$; "
    "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION refuse_{table}()"
)


def _refuse_inserts(url: str, table: str) -> None:
    """Make the store fail every insert into `table` (the schema is created first)."""
    store = Store.connect(url)
    try:
        sql = SQLITE_TRIGGER if store.engine.dialect.name == "sqlite" else PG_TRIGGER
        with store.engine.begin() as conn:
            conn.exec_driver_sql(sql.format(table=table))
    finally:
        store.close()


@pytest.fixture(params=BACKENDS, ids=list(BACKENDS))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with temporary_store_url(request.param, tmp_path) as url:
        yield url


def test_a_store_failure_mid_publish_is_one_line_without_phi(
    store_url: str, prefect_api_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    tally("markers planted", canary.write_canary_cohort(source))
    _refuse_inserts(store_url, "evidence")
    (tmp_path / "tmp").mkdir()
    env = cli_env(tmp_path / "work", prefect_api_url, TMPDIR=str(tmp_path / "tmp"))
    result = vascreen(
        ["run", "--source", str(source), "--as-of", AS_OF, "--store", store_url],
        cwd=tmp_path,
        env=env,
    )
    tally("faults injected")
    _one_line_failure(result, ExitCode.STORE)
    reason = result.stderr.strip().splitlines()[-1]
    assert "insert on evidence failed" in reason, reason
    _assert_clean("store failure stdout", result.stdout)
    _assert_clean("store failure stderr", result.stderr)
    for where, text in asyncio.run(_prefect_records()):
        _assert_clean(f"Prefect {where}", text)
    with Store.connect(store_url) as store:
        assert store.worklist().height == 0, "nothing was published"
        with store.read() as conn:
            statuses = [r[0] for r in conn.execute(sa.text("SELECT status FROM run"))]
        assert statuses == ["failed"]
    skip = (*canary.allowed_paths(tmp_path / "work", None), source, tmp_path / "var")
    leaks = canary.scan_tree(tmp_path, skip=skip)
    if leaks:
        tally("leaks found", len(leaks))
    assert not leaks, leaks


def test_a_failing_decision_insert_shows_and_logs_no_phi(
    store_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from argon2 import PasswordHasher

    from pipelines.store.testing import Hit, run_nightly
    from review import auth
    from review.app import create_app
    from review.error_log import LoggedErrors
    from tests.review.conftest import log_in

    monkeypatch.setattr(auth, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
    with Store.connect(store_url) as store:
        hit = Hit(canary.PATIENT, "pad", "pad.low_abi", "Observation/o1", NIGHT)
        run_nightly(store, NIGHT, [hit])
        auth.add_user(store, "coord", "coordinator", PASSPHRASE)
        item_id = str(store.worklist()["item_id"][0])
    _refuse_inserts(store_url, "review_decision")
    app = create_app(store_url, secret_key="k", cookie_secure=False)
    comment = f"{canary.NAME} born {canary.BIRTH}: {canary.NOTE}"
    with (
        TestClient(
            LoggedErrors(app), raise_server_exceptions=False, follow_redirects=False
        ) as client,
        caplog.at_level(logging.DEBUG),
    ):
        csrf = log_in(client, "coord", PASSPHRASE)  # type: ignore[arg-type]
        form = {"action": "needs_info", "comment": comment, "expected_count": "0"}
        refused = client.post(f"/items/{item_id}/decision", data={**form, "csrf_token": csrf})

        # A page whose store read fails with PHI in the exception text: a 500, logged as
        # method, path and the exception class only.
        def boom(*args: object, **kwargs: object) -> None:
            raise RuntimeError(comment)

        monkeypatch.setattr(app.state.store, "worklist_page", boom)
        crashed = client.get("/", headers={"accept": "text/html"})
    assert refused.status_code == 400 and "insert on review_decision failed" in refused.text
    assert crashed.status_code == 500 and crashed.headers["cache-control"] == "no-store"
    with Store.connect(store_url) as store:
        assert store.decisions(item_id) == []
    lines = [r.getMessage() for r in caplog.records if r.name == "vascreen.review"]
    assert lines == ["review app: GET / failed: RuntimeError"], lines
    _assert_clean("review app log", "\n".join(r.getMessage() for r in caplog.records))
    _assert_clean("decision failure page", refused.text)
    _assert_clean("500 page", crashed.text)
    app.state.store.close()
    tally("faults injected", 2)
