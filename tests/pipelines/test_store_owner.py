"""One store, one writer of record (`pipelines.store.owner`)."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from pipelines.errors import ExitCode
from pipelines.store import Store
from pipelines.store.owner import WORKDIR_ID_NAME, StoreOwnedError, claim_store, workdir_id


def test_the_id_is_made_once_private_and_kept(tmp_path: Path) -> None:
    first = workdir_id(tmp_path / "wd")
    assert workdir_id(tmp_path / "wd") == first
    mode = stat.S_IMODE((tmp_path / "wd" / WORKDIR_ID_NAME).stat().st_mode)
    assert mode == 0o600
    assert workdir_id(tmp_path / "other") != first


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_a_second_work_directory_is_refused_until_it_claims(store: Store, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    claim_store(store, one)
    claim_store(store, one)  # the owner again: fine
    with pytest.raises(StoreOwnedError, match="--claim-store") as refused:
        claim_store(store, two)
    assert refused.value.exit_code == ExitCode.STORE
    assert str(one.resolve()) in str(refused.value)
    claim_store(store, two, claim=True)
    with pytest.raises(StoreOwnedError):
        claim_store(store, one)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_moved_work_directory_keeps_its_store(store: Store, tmp_path: Path) -> None:
    claim_store(store, tmp_path / "old")
    shutil.move(tmp_path / "old", tmp_path / "new")
    claim_store(store, tmp_path / "new")
