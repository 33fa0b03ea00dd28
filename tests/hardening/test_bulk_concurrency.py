"""Bulk actions racing single decisions and assignments, on SQLite and PostgreSQL.

One coordinator bulk-dismisses a page of items while another decides the same items one by one
and a third reassigns them, each on its own store engine (its own connections), all started
together. Every item must end with exactly one decision (whoever came first; the other is told:
a conflict or a skipped item), no decision lost or doubled, and assignments never touch the
decision log.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from pipelines.store import Store
from pipelines.store.publish import item_id_for
from pipelines.store.review import DecisionConflictError
from pipelines.store.testing import BACKENDS, Hit, run_nightly, temporary_store_url
from tests.hardening.conftest import tally

AS_OF = date(2026, 6, 30)
ITEMS = 120


@pytest.fixture(params=BACKENDS, ids=list(BACKENDS))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with temporary_store_url(request.param, tmp_path) as url:
        store = Store.connect(url)
        hits = [
            Hit(f"bc-{n:04d}", "pad", "pad.low_abi", f"Observation/bc-{n}", date(2026, 6, 1))
            for n in range(ITEMS)
        ]
        run_nightly(store, AS_OF, hits, ["pad"])
        store.close()
        yield url


def test_bulk_dismiss_single_decisions_and_assignments_never_lose_or_double(
    store_url: str,
) -> None:
    ids = [item_id_for(f"bc-{n:04d}", "pad") for n in range(ITEMS)]
    start = threading.Barrier(3)

    def bulk() -> tuple[int, int]:
        with Store.connect(store_url) as store:
            start.wait()
            result = store.bulk_decide(
                [(i, 0) for i in ids], username="bulk", action="dismissed", reason="mimic"
            )
            return len(result.done), len(result.skipped)

    def one_by_one() -> tuple[int, int]:
        done = conflicts = 0
        with Store.connect(store_url) as store:
            start.wait()
            for item_id in reversed(ids):  # meets the bulk somewhere in the middle
                try:
                    store.record_decision(
                        item_id, username="single", action="referred", expected_count=0
                    )
                    done += 1
                except DecisionConflictError:
                    conflicts += 1
        return done, conflicts

    def reassign() -> int:
        with Store.connect(store_url) as store:
            start.wait()
            for item_id in ids[::3]:
                store.assign([item_id], None, username="lead")
            return len(ids[::3])

    with ThreadPoolExecutor(max_workers=3) as pool:
        bulk_f, single_f, assign_f = (pool.submit(f) for f in (bulk, one_by_one, reassign))
        (bulk_done, bulk_skipped), (single_done, single_conflicts) = (
            bulk_f.result(timeout=300),
            single_f.result(timeout=300),
        )
        assert assign_f.result(timeout=300) == len(ids[::3])
    tally("faults injected", ITEMS * 2)
    assert bulk_done + single_done == ITEMS
    assert bulk_skipped == single_done and single_conflicts == bulk_done
    with Store.connect(store_url) as store:
        for item_id in ids:
            decisions = store.decisions(item_id)
            assert len(decisions) == 1, item_id
            item = store.item(item_id)
            assert item["decision_count"] == 1
            assert (
                item["status"]
                == {"bulk": "dismissed", "single": "referred"}[decisions[0]["decided_by"]]
            )
