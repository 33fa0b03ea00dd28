"""Write-back of new worklist items as Task + DetectedIssue, against a real sekmet-fhir server."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from pipelines.fhir.auth import BearerTokenAuth
from pipelines.fhir.writeback import (
    CRITERION_SYSTEM,
    ITEM_SYSTEM,
    issue_id_for,
    publish_writeback,
)
from pipelines.store import Store
from pipelines.store.publish import item_id_for
from pipelines.store.testing import Hit, run_nightly
from tests.pipelines.fhir.server import DEV_TOKEN, SekmetServer

AUTH = BearerTokenAuth(DEV_TOKEN)
AS_OF = date(2025, 3, 1)
NOTE_TEXT = "Rest pain in the left foot at night."
HITS = [
    Hit("pull-alpha", "pad", "pad.low_abi", "Observation/pull-alpha-abi", date(2025, 2, 20)),
    Hit(
        "pull-beta",
        "clti",
        "clti.rest_pain_note",
        "DocumentReference/pull-beta-note-binary",
        date(2025, 2, 25),
        snippet=NOTE_TEXT,
        span=(0, 9),
    ),
]


def _search(server: SekmetServer, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    with server.admin() as http:
        response = http.get(path, params=params)
        assert response.status_code == 200, response.text[:300]
        return [e["resource"] for e in response.json().get("entry") or []]


def _read(server: SekmetServer, path: str) -> dict[str, Any]:
    with server.admin() as http:
        response = http.get(path)
        assert response.status_code == 200, response.text[:300]
        return response.json()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_new_items_become_one_task_and_issue_each_and_a_rerun_creates_nothing(
    store: Store, fresh_sekmet: SekmetServer
) -> None:
    run_nightly(store, AS_OF, HITS)
    first = publish_writeback(store, fresh_sekmet.base_url, auth=AUTH)
    assert first.as_dict() == {"items": 2, "created": 2, "existing": 0}

    for hit in HITS:
        item_id = item_id_for(hit.patient, hit.screen)
        tasks = _search(fresh_sekmet, "Task", {"identifier": f"{ITEM_SYSTEM}|{item_id}"})
        assert len(tasks) == 1
        task = tasks[0]
        assert (task["status"], task["intent"]) == ("requested", "proposal")
        assert task["for"] == {"reference": f"Patient/{hit.patient}"}
        assert task["reasonCode"]["coding"][0]["code"] == hit.screen
        assert task["priority"] == ("urgent" if hit.screen == "clti" else "routine")
        issue = _read(fresh_sekmet, f"DetectedIssue/{issue_id_for(item_id)}")
        assert task["focus"] == {"reference": f"DetectedIssue/{issue['id']}"}
        assert issue["patient"] == {"reference": f"Patient/{hit.patient}"}
        assert issue["code"]["coding"][0]["code"] == "CAREGAP"
        assert [d["reference"] for e in issue["evidence"] for d in e["detail"]] == [hit.ref]
        assert issue["evidence"][0]["code"][0]["coding"][0] == {
            "system": CRITERION_SYSTEM,
            "code": hit.criterion,
        }
        assert NOTE_TEXT not in str(issue) and NOTE_TEXT not in str(task)

    again = publish_writeback(store, fresh_sekmet.base_url, auth=AUTH)
    assert again.as_dict() == {"items": 2, "created": 0, "existing": 2}
    every_task = [
        t
        for t in _search(fresh_sekmet, "Task", {"_count": "100"})
        if any(i.get("system") == ITEM_SYSTEM for i in t.get("identifier", []))
    ]
    assert len(every_task) == 2
    for hit in HITS:
        issue = _read(
            fresh_sekmet, f"DetectedIssue/{issue_id_for(item_id_for(hit.patient, hit.screen))}"
        )
        assert issue["meta"]["versionId"] == "1"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_only_new_items_are_written_back(store: Store, fresh_sekmet: SekmetServer) -> None:
    run_nightly(store, AS_OF, HITS)
    run_nightly(store, date(2025, 3, 2), HITS)  # same flags the next night: open, not new
    report = publish_writeback(store, fresh_sekmet.base_url, auth=AUTH)
    assert report.as_dict() == {"items": 0, "created": 0, "existing": 0}
