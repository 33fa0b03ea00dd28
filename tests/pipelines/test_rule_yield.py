"""Yield and PPV per rule in the nightly summary: counts from coordinators' decisions."""

from __future__ import annotations

from datetime import date

from pipelines.rule_yield import rule_yield_markdown, rule_yield_rows
from pipelines.store import Store
from pipelines.store.publish import item_id_for
from pipelines.store.testing import Hit, run_nightly

HITS = [
    Hit("p-a", "pad", "pad.low_abi", "Observation/a", date(2025, 2, 1)),
    Hit("p-b", "pad", "pad.low_abi", "Observation/b", date(2025, 2, 1)),
    Hit("p-c", "pad", "pad.low_abi", "Observation/c", date(2025, 2, 1)),
]


def test_summary_counts_dispositions_and_ppv_per_rule(store: Store, store_url: str) -> None:
    run_nightly(store, date(2025, 3, 1), HITS)
    store.record_decision(item_id_for("p-a", "pad"), username="c", action="referred")
    store.record_decision(
        item_id_for("p-b", "pad"), username="c", action="dismissed", reason="mimic"
    )
    rows = rule_yield_rows(store_url)
    (low_abi,) = [r for r in rows if r["criterion_id"] == "pad.low_abi"]
    assert (low_abi["items"], low_abi["referred"], low_abi["dismissed"]) == (3, 1, 1)
    markdown = rule_yield_markdown(rows)
    assert "| pad | pad.low_abi | 3 | 1 | 1 | 0 | 50% |" in markdown
    assert "p-a" not in markdown  # counts only
