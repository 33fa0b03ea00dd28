"""A night that cannot speak for what is absent publishes nothing and resolves nothing.

Through the one run path (`pipelines.night.run_night`): an empty source, a sharp shrink of a
type read in full, a backfill into the live store, and a second work directory on one store.
"""

from __future__ import annotations

import errno
import gzip
import os
import stat
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from pipelines.errors import ExitCode, ScreeningError
from pipelines.night import plain_steps, run_night
from pipelines.settings import Settings
from pipelines.shards import ShardJob
from pipelines.store import Store
from tests.hardening.conftest import tally
from tests.pipelines.engine_spy import mirror_settings
from tests.pipelines.stage_inputs import observation, patient, write_ndjson

AS_OF = date(2026, 6, 30)
PATIENTS = [f"pt-{k:02d}" for k in range(30)]


def _source(root: Path, patients: list[str], *, low_abi: list[str]) -> Path:
    root.mkdir(parents=True)
    write_ndjson(root / "Patient.ndjson", [patient(p) for p in patients])
    write_ndjson(
        root / "Observation.ndjson",
        [
            observation(f"abi-{p}", patient_id=p, value=0.62 if p in low_abi else 1.08)
            for p in patients
        ],
    )
    return root


def _open_items(settings: Settings) -> int:
    with Store.connect(settings.store_url) as store:
        return store.worklist().height


def _refused(code: ExitCode, *args: object, **kwargs: object) -> ScreeningError:
    tally("faults injected")
    with pytest.raises(ScreeningError) as caught:
        run_night(*args, **kwargs)  # type: ignore[arg-type]
    assert caught.value.exit_code == code, str(caught.value)
    assert "\n" not in str(caught.value)
    for private in PATIENTS:
        assert private not in str(caught.value)
    return caught.value


@pytest.fixture
def first_night(tmp_path: Path) -> Settings:
    settings = mirror_settings(tmp_path / "work")
    source = _source(tmp_path / "n1", PATIENTS, low_abi=PATIENTS[:3])
    run_night(str(source), settings=settings, as_of=AS_OF)
    assert _open_items(settings) == 3
    return settings


def test_empty_source_files_publish_nothing(first_night: Settings, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "Patient.ndjson").write_text("")
    (empty / "Observation.ndjson").write_text("")
    error = _refused(ExitCode.SOURCE, str(empty), settings=first_night, as_of=AS_OF)
    assert "no records" in str(error)
    assert _open_items(first_night) == 3


def test_a_sharp_shrink_is_refused_unless_accepted(first_night: Settings, tmp_path: Path) -> None:
    half = _source(tmp_path / "half", PATIENTS[:12], low_abi=PATIENTS[:3])
    error = _refused(ExitCode.SOURCE, str(half), settings=first_night, as_of=AS_OF)
    assert "--accept-shrink" in str(error) and "12 records against 30" in str(error)
    assert _open_items(first_night) == 3
    accepted = first_night.model_copy(update={"accept_shrink": True})
    run_night(str(half), settings=accepted, as_of=AS_OF)
    # The next night compares with the accepted (smaller) read, so it is no shrink.
    run_night(str(half), settings=first_night, as_of=AS_OF)


def test_a_backfill_needs_a_store_of_its_own(first_night: Settings, tmp_path: Path) -> None:
    source = _source(tmp_path / "n2", PATIENTS, low_abi=[])
    error = _refused(ExitCode.USAGE, str(source), settings=first_night, as_of=date(2026, 5, 1))
    assert "store of its own" in str(error)
    assert _open_items(first_night) == 3  # nothing resolved by the old date
    own = mirror_settings(tmp_path / "backfill")
    summary = run_night(str(source), settings=own, as_of=date(2026, 5, 1))
    assert summary.run_id


def test_a_second_work_directory_is_refused(first_night: Settings, tmp_path: Path) -> None:
    source = _source(tmp_path / "n2", PATIENTS, low_abi=[])
    other = first_night.model_copy(update={"workdir": tmp_path / "other-work"})
    error = _refused(ExitCode.STORE, str(source), settings=other, as_of=AS_OF)
    assert "--claim-store" in str(error)
    assert _open_items(first_night) == 3
    claimed = other.model_copy(update={"claim_store": True})
    run_night(str(source), settings=claimed, as_of=AS_OF)
    assert _open_items(first_night) == 0


def test_the_work_directory_is_private(first_night: Settings) -> None:
    workdir = first_night.workdir
    assert stat.S_IMODE(workdir.stat().st_mode) == 0o700
    # The store lives in this test's work directory too: the run made it, so it is private.
    loose = [
        str(p.relative_to(workdir))
        for p in workdir.rglob("*")
        if stat.S_IMODE(p.stat().st_mode) & 0o077
    ]
    assert loose == []


def test_a_failed_export_leaves_the_published_run_succeeded_and_no_partial_file(
    first_night: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _source(tmp_path / "n2", PATIENTS, low_abi=PATIENTS[:4])
    out = tmp_path / "out"

    def full_disk(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    error = _refused(
        ExitCode.EXPORT, str(source), settings=first_night, as_of=AS_OF, export_dir=out
    )
    assert "published" in str(error) and "No space left" in str(error)
    assert list(out.iterdir()) == []  # no partial worklist.csv
    assert _open_items(first_night) == 4  # the worklist itself was published
    with Store.connect(first_night.store_url) as store:
        assert len(store.recent_run_summaries()) == 2  # the night is recorded as succeeded


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_a_byte_order_mark_loses_no_record(tmp_path: Path, gzipped: bool) -> None:
    source = _source(tmp_path / "src", PATIENTS, low_abi=PATIENTS[:2])
    for path in list(source.glob("*.ndjson")):
        body = b"\xef\xbb\xbf" + path.read_bytes()
        if gzipped:
            (path.parent / (path.name + ".gz")).write_bytes(gzip.compress(body))
            path.unlink()
        else:
            path.write_bytes(body)
    settings = mirror_settings(tmp_path / "work")
    summary = run_night(str(source), settings=settings, as_of=AS_OF)
    assert summary.quarantined == 0
    assert summary.counts["Patient"]["staged"] == len(PATIENTS)
    assert _open_items(settings) == 2
    assert not (settings.workdir / "run" / "bom-free").exists()  # the copies (PHI) are gone


def test_a_store_deleted_during_the_run_is_not_published_into(
    first_night: Settings, tmp_path: Path
) -> None:
    source = _source(tmp_path / "n2", PATIENTS, low_abi=PATIENTS[:4])
    store_path = Path(first_night.store_url.removeprefix("sqlite:///"))
    plain = plain_steps()

    def shards_then_lose_the_store(jobs: list[ShardJob], advance: Callable[[], None]) -> list:
        results = plain.run_shards(jobs, advance)
        store_path.unlink()  # an operator's mistake, a cleanup job, a failed volume
        return results

    steps = replace(plain, run_shards=shards_then_lose_the_store)
    error = _refused(ExitCode.STORE, str(source), settings=first_night, as_of=AS_OF, steps=steps)
    assert "deleted or replaced" in str(error)
    assert not store_path.exists()  # not recreated empty
