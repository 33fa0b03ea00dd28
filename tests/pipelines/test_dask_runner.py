"""The Dask task runner spreads shards over a cluster and gives the default runner's worklist."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from devtools.synth import write_cohort

AS_OF = date(2026, 6, 30)


def _run(source: Path, out: Path, monkeypatch: pytest.MonkeyPatch, **runner: object) -> bytes:
    from pipelines.cli import _run_flow

    monkeypatch.setenv("VASCREEN_WORKDIR", str(out / "work"))
    monkeypatch.setenv("VASCREEN_SHARD_SIZE", "60")
    monkeypatch.setenv("VASCREEN_DUCKDB_THREADS", "1")
    _run_flow(
        source=str(source),
        as_of=AS_OF,
        screens=None,
        store_url=f"sqlite:///{out / 'store.db'}",
        export_dir=str(out),
        mode=None,
        progress=False,
        **runner,
    )
    return (out / "worklist.csv").read_bytes()


def test_dask_cluster_gives_the_same_worklist_as_the_local_runner(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import LocalCluster

    source = tmp_path / "source"
    write_cohort(200, 5, source)
    local = _run(source, tmp_path / "local", monkeypatch)
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        memory_limit="1GiB",
    ) as cluster:
        dask = _run(
            source,
            tmp_path / "dask",
            monkeypatch,
            runner="dask",
            dask_address=cluster.scheduler_address,
        )
    assert local.count(b"\n") > 5
    assert dask == local
