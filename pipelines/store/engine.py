"""Engines for the worklist store: URL normalisation and per-dialect connection setup.

Engines never put bound parameters (patient data) in error text (`hide_parameters=True`), and
a failing statement reaches callers as a one-line `StoreError` naming the operation and table
(`store_failure`), never values: driver messages (a PostgreSQL DETAIL repeats key values) are
dropped too.

SQLite runs in WAL mode with a busy timeout so that the review app and the nightly flow can
write the same file: readers never block, writers queue. Write transactions open with
`BEGIN IMMEDIATE` (take the write lock up front, so two writers cannot deadlock on a lock
upgrade); read transactions open with a deferred `BEGIN`. PostgreSQL uses psycopg 3 at READ
COMMITTED, and writers take row locks (see `pipelines.store.publish`).
"""

from __future__ import annotations

import re
import sqlite3
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from pipelines.errors import StoreError

SQLITE_BUSY_TIMEOUT_MS = 30_000


class StoreMixin:
    """What the `pipelines.store.Store` mixins use: its engine and its transactions."""

    engine: sa.Engine

    def write(self) -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError

    def read(self) -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError


def normalize_url(url: str) -> sa.URL:
    """Map the CLI's store URLs onto SQLAlchemy URLs with the drivers we ship.

    `postgresql://` and `postgres://` use psycopg 3; `sqlite:///relative/path.db` is relative
    to the working directory. The message of a rejected URL never echoes it (it may carry a
    password).
    """
    try:
        parsed = sa.make_url(url.replace("postgres://", "postgresql://", 1))
    except sa.exc.ArgumentError as exc:
        raise StoreError("store URL is not a valid SQLAlchemy URL") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise StoreError("the SQLite store needs a file path (sqlite:///var/vascreen.db)")
        return parsed.set(drivername="sqlite+pysqlite")
    raise StoreError(f"unsupported store backend: {backend}")


def create_store_engine(url: str) -> sa.Engine:
    """An engine for `url`, creating the parent directory of a SQLite file."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            hide_parameters=True,
        )
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(
        parsed, pool_pre_ping=True, isolation_level="READ COMMITTED", hide_parameters=True
    )


# A read-only file or volume (SQLite), a read-only transaction or replica (PostgreSQL).
READ_ONLY_STATES = frozenset({"SQLITE_READONLY", "25006"})
_STATEMENT = re.compile(
    r"^\s*(?:(INSERT)\s+INTO|(UPDATE)|(DELETE)\s+FROM|(SELECT)\b.*?\bFROM"
    r"|(CREATE|ALTER|DROP)\s+(?:UNIQUE\s+)?(?:TABLE|INDEX)(?:\s+IF\s+(?:NOT\s+)?EXISTS)?)"
    r"\s+\"?(\w+)",
    re.IGNORECASE | re.DOTALL,
)


def store_failure(exc: sa.exc.SQLAlchemyError, dialect: str) -> StoreError:
    """A one-line, value-free `StoreError` for a failed statement or transaction.

    Names the operation and table (from the statement's text, never its parameters), the
    driver's error class and SQLSTATE; drops the driver's message, which can repeat values.
    """
    statement = str(getattr(exc, "statement", None) or "")
    found = _STATEMENT.match(statement)
    if found:
        operation = next(g for g in found.groups()[:-1] if g).lower()
        where = f"{operation} on {found.group(found.lastindex or 0)}"
    else:
        where = "transaction"
    orig = getattr(exc, "orig", None)
    kind = type(orig).__name__ if orig is not None else type(exc).__name__
    state = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    hint = "; the store is read-only" if state in READ_ONLY_STATES else ""
    return StoreError(
        f"store {where} failed ({dialect}: {kind}{f' {state}' if state else ''}){hint}"
    )


def _configure_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to the "begin" hook below instead of pysqlite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get("vascreen_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _use_wal(cursor: Any) -> None:
    """Switch the database to WAL (persistent: only the first connection really switches).

    Processes opening a new store together race to switch it; the loser can get "database is
    locked" at once, without SQLite's busy handler waiting (seen in CI with three processes).
    So: skip when already WAL, and retry a refused switch until the busy timeout.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
