"""Review app pages: worklist filters and exports, patient page, decisions, audit trail."""

from __future__ import annotations

import io
from datetime import date

import polars as pl
import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient

from pipelines.store import Store
from pipelines.store.testing import Hit, frames, run_nightly

PAD_ITEM_PATIENT = "pad-low-abi"


def item_id_of(store: Store, patient_id: str) -> str:
    frame = store.worklist(include_closed=True).filter(pl.col("patient_id") == patient_id)
    return frame["item_id"][0]


def test_decision_is_recorded_audited_and_survives_the_next_run(
    app_client: TestClient, login, store: Store
) -> None:
    csrf = login(app_client, "coord")
    item_id = item_id_of(store, PAD_ITEM_PATIENT)
    form = {
        "csrf_token": csrf,
        "action": "dismissed",
        "reason": "mimic",
        "comment": "neurogenic claudication",
        "expected_count": "0",
    }
    response = app_client.post(f"/items/{item_id}/decision", data=form)
    assert response.status_code == 303
    assert response.headers["location"] == f"/patients/{PAD_ITEM_PATIENT}#item-{item_id}"
    run_nightly(
        store,
        date(2025, 3, 2),
        [Hit(PAD_ITEM_PATIENT, "pad", "pad.low_abi", "Observation/abi-1", date(2025, 2, 20))],
    )
    page = app_client.get(f"/patients/{PAD_ITEM_PATIENT}")
    assert page.status_code == 200
    assert "dismissed" in page.text and "neurogenic claudication" in page.text
    assert store.item(item_id)["status"] == "dismissed"
    actions = {(e["action"], e["username"]) for e in store.audit_entries()}
    assert {("decide", "coord"), ("view_patient", "coord"), ("login", "coord")} <= actions


def test_a_stale_form_gets_a_conflict_not_a_lost_update(
    app_client: TestClient, login, store: Store
) -> None:
    csrf = login(app_client, "coord")
    item_id = item_id_of(store, PAD_ITEM_PATIENT)
    form = {"csrf_token": csrf, "action": "referred", "expected_count": "0"}
    assert app_client.post(f"/items/{item_id}/decision", data=form).status_code == 303
    again = app_client.post(f"/items/{item_id}/decision", data={**form, "action": "needs_info"})
    assert again.status_code == 409
    assert [d["action"] for d in store.decisions(item_id)] == ["referred"]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"action": "dismissed"}, "needs a reason"),
        ({"action": "snoozed"}, "needs a date"),
        ({"action": "snoozed", "snooze_until": "2025-03-01"}, "must be after"),
        ({"action": "bogus"}, "Choose an action"),
    ],
    ids=["dismiss-without-reason", "snooze-without-date", "snooze-in-the-past", "unknown-action"],
)
def test_incomplete_decisions_are_refused(
    app_client: TestClient, login, store: Store, form: dict[str, str], message: str
) -> None:
    csrf = login(app_client, "coord")
    item_id = item_id_of(store, PAD_ITEM_PATIENT)
    response = app_client.post(
        f"/items/{item_id}/decision", data={"csrf_token": csrf, "expected_count": "0", **form}
    )
    assert response.status_code == 400 and message in response.text
    assert store.decisions(item_id) == []


def test_worklist_filters_search_and_counts(app_client: TestClient, login) -> None:
    login(app_client, "coord")
    page = app_client.get("/").text
    assert PAD_ITEM_PATIENT in page and "clti-rest-pain" in page
    assert page.index("clti-rest-pain") < page.index(PAD_ITEM_PATIENT)  # urgent first
    only_pad = app_client.get("/?screen=pad").text
    assert PAD_ITEM_PATIENT in only_pad and "clti-rest-pain" not in only_pad
    searched = app_client.get("/?q=clti").text
    assert "clti-rest-pain" in searched and f">{PAD_ITEM_PATIENT}<" not in searched
    assert "urgent 1" in app_client.get("/?priority=urgent").text


@pytest.mark.parametrize(
    "query",
    [
        "q=' OR 1=1 --",
        "q=<script>alert(1)</script>",
        "screen=pad' OR '1'='1",
        "sort=1;DROP TABLE x",
        "status=../../etc",
        "alert=%00",
    ],
    ids=["sql-quote", "script", "screen-sql", "sort-sql", "status-path", "nul"],
)
def test_hostile_filters_are_harmless(app_client: TestClient, login, query: str) -> None:
    login(app_client, "coord")
    response = app_client.get(f"/?{query}")
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text


def test_exports_the_current_view_as_csv_and_xlsx(app_client: TestClient, login) -> None:
    login(app_client, "coord")
    csv_text = app_client.get("/export.csv?screen=clti").text
    lines = csv_text.splitlines()
    assert lines[0].startswith("patient_id,screen,priority,status")
    assert [line.split(",")[0] for line in lines[1:]] == ["clti-rest-pain"]
    assert "Pain at rest" not in csv_text  # no note text in exports
    xlsx = app_client.get("/export.xlsx")
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    assert [c.value for c in sheet[1]][:2] == ["patient_id", "screen"]
    assert sheet.max_row == 3


def test_patient_page_shows_evidence_with_highlight_rule_and_mimics(
    app_client: TestClient, login, store: Store
) -> None:
    as_of = date(2025, 3, 2)
    hits = [
        Hit(
            "clti-rest-pain",
            "clti",
            "clti.rest_pain_note",
            "DocumentReference/n1",
            date(2025, 2, 25),
            snippet="She has <b>pain at rest</b> at night.",
            span=(108, 123),
        ),
        Hit(
            "clti-rest-pain",
            "clti",
            "clti.mimic_nocturnal_cramps",
            "DocumentReference/n2",
            date(2025, 2, 26),
            role="mimic",
        ),
    ]
    items, evidence = frames(hits, as_of)
    evidence = evidence.with_columns(pl.lit(100, dtype=pl.Int64).alias("sentence_start"))
    run_id = store.start_run(as_of=as_of, source="tests", screens=["clti"], rule_versions={})
    store.publish(run_id, as_of=as_of, screens=["clti"], items=items, evidence=evidence)
    login(app_client, "coord")
    page = app_client.get("/patients/clti-rest-pain").text
    assert "<mark>&lt;b&gt;pain at rest</mark>" in page  # escaped, and the span is marked
    assert "DocumentReference/n1" in page and "2025-02-25" in page
    assert "clti.mimic_nocturnal_cramps" in page
    assert "Rule: how this screen decides" in page


def test_an_item_resolved_by_a_patient_merge_names_the_survivor(
    app_client: TestClient, login, store: Store
) -> None:
    later = date(2025, 3, 2)
    with store.recorded_run(
        as_of=later, source="tests", screens=["pad"], rule_versions={"pad": 1}
    ) as run_id:
        items, evidence = frames([], later)
        store.publish(
            run_id,
            as_of=later,
            screens=["pad"],
            items=items,
            evidence=evidence,
            merged={"pad-low-abi": "pad-survivor"},
        )
    login(app_client, "coord")
    page = app_client.get("/patients/pad-low-abi").text
    assert "merged into patient" in page and 'href="/patients/pad-survivor' in page


def test_unknown_patient_is_not_found(app_client: TestClient, login) -> None:
    login(app_client, "coord")
    assert app_client.get("/patients/nobody").status_code == 404


def test_admin_sees_ppv_per_rule(app_client: TestClient, login, store: Store) -> None:
    store.record_decision(item_id_of(store, PAD_ITEM_PATIENT), username="coord", action="referred")
    login(app_client, "boss")
    page = app_client.get("/admin").text
    assert "pad.low_abi" in page and "100%" in page
    assert "view_admin" in app_client.get("/admin/audit").text
