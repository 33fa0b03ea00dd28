"""A shard reads from the mirror exactly the staged rows a full staging pass gives its patients.

`pipelines.shards.read_shard` never re-runs the staging SQL: it selects its patients' rows out
of the mirror and sorts them as that SQL does. Compared here with the test oracle
`tests.stage_oracle.stage_source` (the staging SQL over the whole source) on a synthetic
cohort: the same rows, in the same order of the staging SQL's sort keys, for one shard, for
several, and for a nightly scope.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from devtools.synth import write_cohort
from pipelines.cohort_run import Fetched, prepare
from pipelines.ingest.stage import ROW_ORDER, TABLES
from pipelines.settings import Settings
from pipelines.shards import ShardJob, read_shard
from screens.rules import rule_versions
from tests.stage_oracle import stage_source

AS_OF = date(2026, 6, 30)
SCREENS = ("cecs", "clti", "may_thurner", "pad")
# Frame key -> (mirror table, its sort keys).
SORTED = {key: (table, ROW_ORDER[table].split(", ")) for key, (table, _) in TABLES.items()}


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pl.DataFrame]]:
    """The mirror of a synthetic cohort, and the whole cohort's staged frames."""
    root = tmp_path_factory.mktemp("shard-rows")
    source = root / "source"
    write_cohort(60, 11, source)
    work = root / "work"
    prepared = prepare(
        Fetched(source, None),
        settings=Settings(workdir=work, store_url=f"sqlite:///{work / 'store.db'}"),
        as_of=AS_OF,
        screens=list(SCREENS),
        full=True,
        rule_versions=rule_versions(),
    )
    full = stage_source(source, workdir=root / "staged", max_quarantine_ratio=1.0).tables
    return prepared.mirror, full


def _job(mirror: Path, tmp_path: Path, shard: int, n_shards: int, scope: Path | None) -> ShardJob:
    return ShardJob(mirror, shard, n_shards, scope, tmp_path / "out", AS_OF, SCREENS, None)


def _assert_same(
    got: dict[str, pl.DataFrame], full: dict[str, pl.DataFrame], ids: set[str]
) -> None:
    for key, (table, order) in SORTED.items():
        expected = full[key].filter(pl.col("patient_id").is_in(sorted(ids)))
        assert got[key].height == expected.height, table
        # The sort keys in the staging SQL's order (rows tied on them may come either way) ...
        assert got[key].select(order).equals(expected.select(order)), table
        # ... and the same rows.
        assert got[key].sort(pl.all()).equals(expected.sort(pl.all())), table
    note = full["note"].filter(pl.col("patient_id").is_in(sorted(ids)))
    assert got["note"].sort(pl.all()).equals(note.sort(pl.all()))


def test_one_shard_reads_every_staged_row_in_staging_order(
    staged: tuple[Path, dict[str, pl.DataFrame]], tmp_path: Path
) -> None:
    mirror, full = staged
    got, _ = read_shard(_job(mirror, tmp_path, 0, 1, None))
    everyone = set(full["patient"]["patient_id"])
    assert len(everyone) == 60
    assert got["observation"].height > 1000  # a cohort worth sorting
    _assert_same(got, full, everyone)


def test_shards_split_patients_and_each_reads_its_own_rows(
    staged: tuple[Path, dict[str, pl.DataFrame]], tmp_path: Path
) -> None:
    mirror, full = staged
    seen: set[str] = set()
    for shard in range(3):
        got, _ = read_shard(_job(mirror, tmp_path, shard, 3, None))
        ids = set(got["patient"]["patient_id"])
        assert ids and not ids & seen
        seen |= ids
        _assert_same(got, full, ids)
    assert seen == set(full["patient"]["patient_id"])


def test_a_nightly_scope_reads_only_its_patients(
    staged: tuple[Path, dict[str, pl.DataFrame]], tmp_path: Path
) -> None:
    mirror, full = staged
    ids = set(sorted(full["patient"]["patient_id"])[::7])
    scope = tmp_path / "scope.parquet"
    pl.DataFrame({"patient_id": sorted(ids)}).write_parquet(scope)
    got, _ = read_shard(_job(mirror, tmp_path, 0, 1, scope))
    assert set(got["patient"]["patient_id"]) == ids
    _assert_same(got, full, ids)
