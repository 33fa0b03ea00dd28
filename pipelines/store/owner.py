"""One store, one writer of record: the work directory that owns a worklist store.

Two work directories publishing into one store (two hosts, or a copy of the project run by
hand) each keep their own mirror, so an older run from one can overwrite the newer worklist of
the other. A work directory carries a random id (`WORKDIR_ID_NAME`, made on first use, kept
when the directory is moved or restored from a backup); the first run records it in the store
and every later run must bring the same id. Handing a store to a new work directory is an
explicit act (`claim=True`, `vascreen run --claim-store`), never a side effect.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from pipelines.errors import StoreError
from pipelines.store.schema import store_owner, utcnow

if TYPE_CHECKING:
    from pipelines.store import Store

WORKDIR_ID_NAME = "workdir-id"


class StoreOwnedError(StoreError):
    """The store belongs to another work directory."""


def workdir_id(workdir: Path) -> str:
    """The work directory's id, made (private to the run's user) on first use."""
    path = workdir / WORKDIR_ID_NAME
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    workdir.mkdir(parents=True, exist_ok=True)
    new = uuid.uuid4().hex
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(new + "\n")
    return new


def claim_store(store: Store, workdir: Path, *, claim: bool = False) -> None:
    """Record `workdir` as the store's writer, or refuse when another one owns it.

    Raises:
        StoreOwnedError: another work directory owns the store and `claim` is False.
    """
    wid, now = workdir_id(workdir), utcnow()
    here = {"path": str(workdir.resolve()), "host": socket.gethostname()}
    with store.write() as conn:
        row = conn.execute(sa.select(store_owner)).first()
        if row is None:
            values = {"singleton": 1, "workdir_id": wid, "claimed_at": now, "last_run_at": now}
            conn.execute(store_owner.insert().values(**values, **here))
        elif row.workdir_id == wid or claim:
            values = {"workdir_id": wid, "last_run_at": now, **here}
            if row.workdir_id != wid:
                values["claimed_at"] = now
            conn.execute(store_owner.update().values(**values))
        else:
            raise StoreOwnedError(
                f"the store is written by the work directory {row.path} on {row.host}, not "
                f"{here['path']}: run there, or hand the store over with --claim-store"
            )
