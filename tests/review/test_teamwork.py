"""The worklist at volume and in a team: paging, sorting, Save and next, assignment, comments,
bulk actions, trends and the password page. Synthetic ids only."""

from __future__ import annotations

import re
from datetime import date

import pytest
from starlette.testclient import TestClient

from pipelines.store import Store
from pipelines.store.publish import item_id_for
from pipelines.store.testing import Hit, run_nightly
from tests.review.conftest import AS_OF, HITS, PASSWORD, log_in

N_PAD = 60
ROWS = re.compile(r'data-col="patient">([^<]+)<')


@pytest.fixture
def busy(store: Store) -> Store:
    """The seeded night plus 60 more routine pad items (patients pad-000 ... pad-059)."""
    hits = HITS + [
        Hit(f"pad-{n:03d}", "pad", "pad.low_abi", f"Observation/abi-{n}", date(2025, 2, 1 + n % 27))
        for n in range(N_PAD)
    ]
    run_nightly(store, AS_OF, hits)
    return store


def listed(html: str) -> list[str]:
    return ROWS.findall(html)


def test_pages_of_the_list_with_the_total_and_sortable_columns(
    busy: Store, app_client: TestClient, login
) -> None:
    login(app_client, "coord")
    first = app_client.get("/", params={"size": "25"}).text
    assert "62 items" in first and "page 1 of 3" in first
    assert len(listed(first)) == 25 and listed(first)[0] == "clti-rest-pain"  # urgent first
    last = app_client.get("/", params={"size": "25", "page": "3"}).text
    assert len(listed(last)) == 12
    everyone = listed(first) + listed(app_client.get("/?size=25&page=2").text) + listed(last)
    assert len(set(everyone)) == 62
    beyond = app_client.get("/", params={"size": "25", "page": "9"})
    assert beyond.status_code == 303 and "page=3" in beyond.headers["location"]
    by_patient = app_client.get("/", params={"sort": "patient", "dir": "desc"}).text
    assert listed(by_patient)[0] == "pad-low-abi" and 'aria-sort="descending"' in by_patient
    by_age = app_client.get("/", params={"sort": "age"}).text
    assert 'href="/?sort=age&amp;dir=desc"' in by_age  # a second click reverses the order


def test_save_and_next_records_and_opens_the_next_item_of_the_same_view(
    busy: Store, app_client: TestClient, login
) -> None:
    csrf = login(app_client, "coord")
    view = "?screen=pad&sort=patient&page=2"
    order = [item_id_for(f"pad-{n:03d}", "pad") for n in range(N_PAD)]
    form = {"csrf_token": csrf, "action": "referred", "expected_count": "0", "next": "1"}
    response = app_client.post(f"/items/{order[0]}/decision{view}", data=form)
    assert response.status_code == 303
    assert response.headers["location"] == f"/patients/pad-001{view}#item-{order[1]}"
    assert busy.item(order[0])["status"] == "referred"
    page = app_client.get(f"/patients/pad-001{view}").text
    assert 'href="/?screen=pad&amp;sort=patient&amp;page=2"' in page  # back to the same view
    assert f'action="/items/{order[1]}/decision?screen=pad&amp;sort=patient&amp;page=2"' in page


def test_save_and_next_on_the_last_item_returns_to_the_emptied_list(
    app_client: TestClient, login, store: Store
) -> None:
    csrf = login(app_client, "coord")
    item = item_id_for("clti-rest-pain", "clti")
    form = {"csrf_token": csrf, "action": "referred", "expected_count": "0", "next": "1"}
    response = app_client.post(f"/items/{item}/decision?screen=clti", data=form)
    assert response.headers["location"] == "/?screen=clti&cleared=1"
    assert "No more items in this list" in app_client.get(response.headers["location"]).text


def test_assignment_filters_and_audit(app_client: TestClient, login, store: Store) -> None:
    csrf = login(app_client, "coord")
    pad, clti = item_id_for("pad-low-abi", "pad"), item_id_for("clti-rest-pain", "clti")
    assigned = app_client.post(
        f"/items/{pad}/assign", data={"csrf_token": csrf, "assignee": "coord"}
    )
    assert assigned.status_code == 303 and store.item(pad)["assigned_to"] == "coord"
    assert listed(app_client.get("/?assigned=me").text) == ["pad-low-abi"]
    assert listed(app_client.get("/?assigned=none").text) == ["clti-rest-pain"]
    unknown = app_client.post(f"/items/{clti}/assign", data={"csrf_token": csrf, "assignee": "eve"})
    assert unknown.status_code == 400 and store.item(clti)["assigned_to"] is None
    entries = [e for e in store.audit_entries() if e["action"] == "assign"]
    assert [(e["username"], e["target_id"]) for e in entries] == [("coord", pad)]
    history = app_client.get("/patients/pad-low-abi").text
    assert "assigned</strong> to coord" in history


def test_a_comment_leaves_the_status_and_is_recorded_under_the_signed_in_user(
    app_client: TestClient, login, store: Store
) -> None:
    csrf = login(app_client, "coord")
    pad = item_id_for("pad-low-abi", "pad")
    form = {"csrf_token": csrf, "comment": "called the clinic", "decided_by": "boss"}
    assert app_client.post(f"/items/{pad}/comment", data=form).status_code == 303
    item = store.item(pad)
    assert item["status"] == "new" and item["decision_count"] == 0
    [entry] = store.item_history(pad)
    assert (entry["kind"], entry["by"], entry["comment"]) == (
        "comment",
        "coord",
        "called the clinic",
    )
    assert any(e["action"] == "comment" for e in store.audit_entries())
    empty = app_client.post(f"/items/{pad}/comment", data={"csrf_token": csrf, "comment": " "})
    assert empty.status_code == 400


def test_bulk_assign_and_bulk_dismiss_with_one_reason(
    busy: Store, app_client: TestClient, login
) -> None:
    csrf = login(app_client, "coord")
    ids = [item_id_for(f"pad-{n:03d}", "pad") for n in range(5)]
    items = [f"{i}:0" for i in ids]
    assign = {"csrf_token": csrf, "op": "assign", "assignee": "boss", "item": items}
    response = app_client.post("/items/bulk?screen=pad", data=assign)
    assert "bulk_done=5" in response.headers["location"]
    assert {busy.item(i)["assigned_to"] for i in ids} == {"boss"}
    busy.record_decision(ids[0], username="boss", action="referred")  # someone else, meanwhile
    dismiss = {"csrf_token": csrf, "op": "dismiss", "reason": "mimic", "comment": "", "item": items}
    response = app_client.post("/items/bulk?screen=pad", data=dismiss)
    assert "bulk_done=4&bulk_skipped=1" in response.headers["location"]
    assert busy.item(ids[0])["status"] == "referred"  # not overwritten
    for item_id in ids[1:]:
        [decision] = busy.decisions(item_id)
        assert (decision["action"], decision["reason"], decision["decided_by"]) == (
            "dismissed",
            "mimic",
            "coord",
        )
    page = app_client.get(response.headers["location"]).text
    assert "4 items changed; 1 skipped" in page
    actions = [e["action"] for e in busy.audit_entries()]
    assert "bulk_assign" in actions and "bulk_decide" in actions
    no_reason = {**dismiss, "reason": ""}
    refused = app_client.post("/items/bulk", data=no_reason)
    assert "bulk_error=reason" in refused.headers["location"]


def test_admin_trends_are_inline_svg_without_scripts_or_inline_styles(
    busy: Store, app_client: TestClient, login
) -> None:
    busy.record_decision(item_id_for("pad-000", "pad"), username="coord", action="referred")
    run_nightly(busy, date(2025, 3, 2), HITS)  # a second night: the pad-0NN items resolve
    login(app_client, "boss")
    page = app_client.get("/admin").text
    charts = re.findall(r"<svg[^>]*>.*?</svg>", page, flags=re.S)
    assert len(charts) == 4
    for svg in charts:
        assert 'role="img"' in svg and "aria-label=" in svg
        assert "<script" not in svg and "style=" not in svg and "<style" not in svg
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "element ids are unique across the charts"
    assert "<td>2025-03-02</td><td>2</td><td>0</td><td>0</td><td>60</td>" in page


def test_users_change_their_own_password(app_client: TestClient, make_client, login) -> None:
    other = make_client()
    log_in(other, "coord")
    csrf = login(app_client, "coord")
    new = "a brand new passphrase"
    wrong = {"csrf_token": csrf, "current_password": "nope-nope-nope"}
    response = app_client.post(
        "/account/password", data={**wrong, "new_password": new, "confirm_password": new}
    )
    assert response.status_code == 403
    form = {"csrf_token": csrf, "current_password": PASSWORD}
    differ = app_client.post(
        "/account/password", data={**form, "new_password": new, "confirm_password": new + "x"}
    )
    assert differ.status_code == 400
    done = app_client.post(
        "/account/password", data={**form, "new_password": new, "confirm_password": new}
    )
    assert done.status_code == 200 and "Password changed" in done.text
    assert app_client.get("/").status_code == 200  # this session goes on
    assert other.get("/").status_code == 401  # the other one ended
    log_in(make_client(), "coord", new)
