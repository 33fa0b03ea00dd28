"""Worklist store lifecycle on SQLite and PostgreSQL (issue 5)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines.errors import StoreError
from pipelines.store import Store
from pipelines.store import publish as store_publish
from pipelines.store.testing import Hit, Nightly, frames

D1, D2, D3 = date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3)
LOW_ABI = Hit("pad-low-abi", "pad", "pad.low_abi", "Observation/abi-1", date(2025, 2, 20))
REST_PAIN = Hit(
    "clti-rest-pain",
    "clti",
    "clti.rest_pain_note",
    "DocumentReference/n1",
    date(2025, 2, 25),
    snippet="Pain at rest relieved by dangling.",
    span=(0, 12),
)


def statuses(store: Store) -> dict[tuple[str, str], str]:
    frame = store.worklist(include_closed=True)
    return {(r["patient_id"], r["screen"]): r["status"] for r in frame.iter_rows(named=True)}


def test_first_flag_is_new_then_open_on_the_next_night(store: Store, nightly: Nightly) -> None:
    counts = nightly(D1, [LOW_ABI, REST_PAIN])
    assert (counts.flagged, counts.created) == (2, 2)
    assert statuses(store) == {("pad-low-abi", "pad"): "new", ("clti-rest-pain", "clti"): "new"}
    first = store.worklist().row(0, named=True)
    assert first["patient_id"] == "clti-rest-pain"  # urgent first
    assert first["first_flagged_on"] == D1
    nightly(D2, [LOW_ABI, REST_PAIN])
    assert set(statuses(store).values()) == {"open"}
    assert store.worklist()["first_flagged_on"].to_list() == [D1, D1]


def test_rerun_of_the_same_as_of_is_idempotent(store: Store, nightly: Nightly) -> None:
    nightly(D1, [LOW_ABI, REST_PAIN])
    before = store.worklist(include_closed=True)
    evidence_before = store.item_evidence(before["item_id"][0])
    counts = nightly(D1, [LOW_ABI, REST_PAIN])
    assert (counts.created, counts.evidence_added, counts.evidence_retracted) == (0, 0, 0)
    after = store.worklist(include_closed=True)
    assert after.equals(before)
    assert store.item_evidence(after["item_id"][0]).height == evidence_before.height == 1


def test_item_resolves_when_a_run_of_its_screen_no_longer_flags_it(
    store: Store, nightly: Nightly
) -> None:
    nightly(D1, [LOW_ABI, REST_PAIN])
    counts = nightly(D2, [REST_PAIN])
    assert counts.resolved == 1
    assert statuses(store)[("pad-low-abi", "pad")] == "resolved"
    assert store.worklist()["patient_id"].to_list() == ["clti-rest-pain"]
    item = store.worklist(include_closed=True).filter(pl.col("screen") == "pad").row(0, named=True)
    assert item["resolved_on"] == D2
    assert store.item_evidence(item["item_id"]).height == 0  # retracted, kept as history
    assert store.item_evidence(item["item_id"], current_only=False).height == 1


def test_a_run_that_did_not_evaluate_a_screen_leaves_its_items_alone(
    store: Store, nightly: Nightly
) -> None:
    nightly(D1, [LOW_ABI, REST_PAIN])
    nightly(D2, [REST_PAIN], screens=["clti"])
    assert statuses(store)[("pad-low-abi", "pad")] == "new"


def test_resolved_item_is_reflagged_as_the_same_item(store: Store, nightly: Nightly) -> None:
    nightly(D1, [LOW_ABI])
    item_id = store.worklist()["item_id"][0]
    nightly(D2, [])
    newer = Hit("pad-low-abi", "pad", "pad.low_abi", "Observation/abi-2", D3)
    counts = nightly(D3, [newer])
    assert counts.reflagged == 1 and counts.created == 0
    row = store.worklist().row(0, named=True)
    assert (row["item_id"], row["status"], row["reflagged_on"]) == (item_id, "open", D3)
    assert row["first_flagged_on"] == D1


def test_dismissal_survives_reruns_and_reopens_on_newer_evidence(
    store: Store, nightly: Nightly
) -> None:
    nightly(D1, [LOW_ABI])
    item_id = store.worklist()["item_id"][0]
    store.record_decision(item_id, username="coord", action="dismissed", reason="mimic")
    for as_of in (D1, D2):
        nightly(as_of, [LOW_ABI])
        assert statuses(store)[("pad-low-abi", "pad")] == "dismissed"
    newer = Hit("pad-low-abi", "pad", "pad.low_abi", "Observation/abi-2", D3)
    counts = nightly(D3, [LOW_ABI, newer])
    assert counts.reflagged == 1
    assert statuses(store)[("pad-low-abi", "pad")] == "open"
    assert [d["action"] for d in store.decisions(item_id)] == ["dismissed"]


@pytest.mark.parametrize("action", ["referred", "under_care", "needs_info"])
def test_decision_is_never_overwritten_by_a_nightly_run(
    store: Store, nightly: Nightly, action: str
) -> None:
    nightly(D1, [REST_PAIN])
    item_id = store.worklist()["item_id"][0]
    store.record_decision(item_id, username="coord", action=action, comment="called clinic")
    nightly(D1, [REST_PAIN])
    nightly(
        D2,
        [REST_PAIN, Hit("clti-rest-pain", "clti", "clti.toe_pressure_low", "Observation/tp", D2)],
    )
    item = store.item(item_id)
    assert item is not None and item["status"] == action
    decisions = store.decisions(item_id)
    assert [(d["action"], d["comment"], d["seq"]) for d in decisions] == [
        (action, "called clinic", 1)
    ]


def test_snoozed_item_returns_to_open_on_its_date(store: Store, nightly: Nightly) -> None:
    nightly(D1, [LOW_ABI])
    item_id = store.worklist()["item_id"][0]
    item = store.record_decision(item_id, username="c", action="snoozed", snooze_until=D3)
    assert item["status"] == "snoozed" and store.worklist().height == 0
    nightly(D2, [LOW_ABI])
    assert statuses(store)[("pad-low-abi", "pad")] == "snoozed"
    nightly(D3, [LOW_ABI])
    assert statuses(store)[("pad-low-abi", "pad")] == "open"


def test_publish_is_atomic(store: Store, nightly: Nightly, monkeypatch: pytest.MonkeyPatch) -> None:
    nightly(D1, [LOW_ABI])
    before = store.worklist(include_closed=True)

    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("simulated crash mid-write")

    monkeypatch.setattr(store_publish, "_update_items", crash)
    with pytest.raises(RuntimeError):
        nightly(D2, [REST_PAIN])
    assert store.worklist(include_closed=True).equals(before)
    # The run that failed says so (the exception class only), instead of staying "running".
    latest, first = store.runs()
    assert (first["status"], latest["status"]) == ("succeeded", "failed")
    assert json.loads(latest["counts"]) == {"error": "RuntimeError"}


def test_publish_rejects_items_of_screens_it_did_not_run(store: Store) -> None:
    run_id = store.start_run(as_of=D1, source="tests", screens=["pad"], rule_versions={"pad": 1})
    items, evidence = frames([REST_PAIN], D1)
    with pytest.raises(StoreError, match="not in this run"):
        store.publish(run_id, as_of=D1, screens=["pad"], items=items, evidence=evidence)


def test_export_follows_the_csv_contract_and_is_byte_deterministic(
    store: Store, nightly: Nightly, tmp_path: Path
) -> None:
    extra = Hit("a-first", "pad", "pad.low_abi", "Observation/abi-9", date(2025, 2, 1))
    nightly(D1, [LOW_ABI, REST_PAIN, extra])
    first, second = tmp_path / "one" / "worklist.csv", tmp_path / "two.csv"
    assert store.export_worklist_csv(first) == 3
    nightly(D1, [LOW_ABI, REST_PAIN, extra])
    store.export_worklist_csv(second)
    assert first.read_bytes() == second.read_bytes()
    lines = first.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith(
        "patient_id,screen,priority,status,first_flagged_on,last_evidence_on,criteria,evidence"
    )
    assert [line.split(",")[0] for line in lines[1:]] == [
        "clti-rest-pain",
        "a-first",
        "pad-low-abi",
    ]
    assert lines[1].split(",")[4:6] == ["2025-03-01", "2025-02-25"]
    assert "Pain at rest" not in first.read_text(encoding="utf-8")


def test_quarantine_rows_are_saved_once_per_run(store: Store) -> None:
    run_id = store.start_run(as_of=D1, source="tests", screens=["pad"], rule_versions={"pad": 1})
    rows = pl.DataFrame(
        [
            {
                "resource_type": "Observation",
                "resource_id": "o1",
                "source": "Observation.ndjson:3",
                "reason": "invalid_date",
                "detail": "effectiveDateTime",
            }
        ],
    )
    assert store.save_quarantine(run_id, rows) == 1
    assert store.save_quarantine(run_id, rows) == 1
    with pytest.raises(StoreError):
        store.save_quarantine("no-such-run", rows)
