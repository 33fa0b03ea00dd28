"""Coordinators deciding while the nightly publish writes, on SQLite and PostgreSQL.

Three coordinator processes record decisions on shared items while a publisher process runs
several nightly publishes over the same items. Afterwards: every decision a coordinator saw
succeed is stored (no lost update), no coordinator saw an error, nobody waited on a deadlock,
and each item's derived fields agree with its decision log.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, wait
from pathlib import Path

import pytest
import sqlalchemy as sa

from pipelines.store import Store
from pipelines.store.publish import item_id_for
from pipelines.store.testing import BACKENDS, run_nightly, temporary_store_url
from tests.hardening import concurrency_workers as workers
from tests.hardening.conftest import tally

PATIENTS = 300
NIGHTS = 5
COORDINATORS = 3
ROUNDS = 25
TIMEOUT_S = 180


@pytest.fixture(params=BACKENDS, ids=list(BACKENDS))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with temporary_store_url(request.param, tmp_path) as url:
        yield url


def test_decisions_during_publish_are_never_lost_or_refused(store_url: str) -> None:
    store = Store.connect(store_url)
    run_nightly(
        store, workers.AS_OF - workers.timedelta(days=1), workers.hits_for(0, PATIENTS), ["pad"]
    )
    items = sorted(item_id_for(f"cc-{p:04d}", "pad") for p in range(1, PATIENTS, 10) if p % 7)
    store.close()
    ctx = multiprocessing.get_context("spawn")
    with (
        ctx.Manager() as manager,
        ProcessPoolExecutor(max_workers=COORDINATORS + 1, mp_context=ctx) as pool,
    ):
        start = manager.Barrier(COORDINATORS + 1)  # everyone starts once all are up
        futures = [pool.submit(workers.publisher, store_url, NIGHTS, PATIENTS, start)]
        futures += [
            pool.submit(workers.coordinator, store_url, f"coord{k}", items, ROUNDS, start)
            for k in range(COORDINATORS)
        ]
        _, pending = wait(futures, timeout=TIMEOUT_S)
        assert not pending, "a worker hung (deadlock?)"
    published = futures[0].result()
    coordinators = [f.result() for f in futures[1:]]
    tally("faults injected", COORDINATORS * ROUNDS)  # concurrent writes against the publish
    assert published["errors"] == [] and published["published"] == NIGHTS
    for result in coordinators:
        assert result["errors"] == [], result["errors"]
    during = [
        t
        for c in coordinators
        for t in c["times"]  # type: ignore[attr-defined]
        if any(a <= t <= b for a, b in published["windows"])
    ]  # type: ignore[attr-defined]
    assert during, "no decision overlapped a publish: the test proved nothing"
    recorded = Counter(item for c in coordinators for item, _ in c["recorded"])  # type: ignore[attr-defined]
    assert sum(recorded.values()) == COORDINATORS * ROUNDS

    store = Store.connect(store_url)
    try:
        with store.read() as conn:
            stored = {
                r.item_id: r
                for r in conn.execute(
                    sa.text(
                        "SELECT item_id, decision_count, last_action, last_decided_by "
                        "FROM worklist_item"
                    )
                )
            }
            log = conn.execute(
                sa.text(
                    "SELECT item_id, seq, action, decided_by FROM review_decision "
                    "ORDER BY item_id, seq"
                )
            ).all()
    finally:
        store.close()
    by_item: dict[str, list[tuple[int, str, str]]] = {}
    for item_id, seq, action, who in log:
        by_item.setdefault(item_id, []).append((seq, action, who))
    lost = sum(recorded.values()) - len(log)
    if lost:
        tally("decisions lost", lost)
    assert lost == 0
    for item_id, n in recorded.items():
        seqs = [s for s, _, _ in by_item[item_id]]
        assert seqs == list(range(1, n + 1)), (item_id, seqs)
        row = stored[item_id]
        last = by_item[item_id][-1]
        assert (row.decision_count, row.last_action, row.last_decided_by) == (n, last[1], last[2])
