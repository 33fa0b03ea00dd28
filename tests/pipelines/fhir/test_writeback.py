"""Write-back of new worklist items as Task + DetectedIssue, against a real sekmet-fhir server."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import httpx
import pytest

from pipelines.errors import FhirServerError
from pipelines.fhir.auth import BearerTokenAuth
from pipelines.fhir.client import FhirClient
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
    assert first.as_dict() == {"items": 2, "created": 2, "existing": 0, "updated": 0, "failed": 0}

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
    assert again.as_dict() == {"items": 2, "created": 0, "existing": 2, "updated": 0, "failed": 0}
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


def _hits(alpha_screen: str, beta_screen: str) -> list[Hit]:
    """HITS under other screens: the module's server keeps every test's Tasks, so each test
    uses items (patient, screen) of its own."""
    alpha, beta = HITS
    return [replace(alpha, screen=alpha_screen), replace(beta, screen=beta_screen)]


def _night(store: Store, as_of: date, hits: list[Hit]) -> None:
    run_nightly(store, as_of, hits, screens=["cecs", "clti", "may_thurner", "pad"])


def _task_status(server: SekmetServer, hit: Hit) -> str:
    tasks = _search(
        server, "Task", {"identifier": f"{ITEM_SYSTEM}|{item_id_for(hit.patient, hit.screen)}"}
    )
    assert len(tasks) == 1
    return str(tasks[0]["status"])


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_an_item_whose_write_back_failed_is_written_the_next_night(
    store: Store, fresh_sekmet: SekmetServer
) -> None:
    hits = _hits("may_thurner", "cecs")
    _night(store, AS_OF, hits)  # night 1: the write-back never happened (server down)
    _night(store, date(2025, 3, 2), hits)  # same flags the next night: open, not new
    report = publish_writeback(store, fresh_sekmet.base_url, auth=AUTH)
    assert (report.created, report.existing) == (2, 0)
    assert {_task_status(fresh_sekmet, hit) for hit in hits} == {"requested"}


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_task_status_follows_decisions_and_resolution(
    store: Store, fresh_sekmet: SekmetServer
) -> None:
    alpha, beta = hits = _hits("clti", "pad")
    _night(store, AS_OF, hits)
    publish_writeback(store, fresh_sekmet.base_url, auth=AUTH)
    store.record_decision(item_id_for(alpha.patient, alpha.screen), username="c", action="referred")
    store.record_decision(
        item_id_for(beta.patient, beta.screen), username="c", action="dismissed", reason="mimic"
    )
    report = publish_writeback(store, fresh_sekmet.base_url, auth=AUTH)
    assert (report.created, report.updated, report.existing) == (0, 2, 0)
    assert _task_status(fresh_sekmet, alpha) == "in-progress"
    assert _task_status(fresh_sekmet, beta) == "cancelled"

    store.record_decision(item_id_for(alpha.patient, alpha.screen), username="c", action="open")
    _night(store, date(2025, 3, 2), [beta])  # alpha's evidence is gone: resolved
    publish_writeback(store, fresh_sekmet.base_url, auth=AUTH)
    assert _task_status(fresh_sekmet, alpha) == "completed"
    again = publish_writeback(store, fresh_sekmet.base_url, auth=AUTH)
    assert (again.created, again.updated, again.failed) == (0, 0, 0)


class _FailingOnce(FhirClient):
    """The real client, except that the first transaction for one item fails (a fault)."""

    def __init__(self, base_url: str, item_id: str) -> None:
        super().__init__(base_url, auth=AUTH)
        self.item_id, self.failed = item_id, False

    def request(self, method: str, path_or_url: str, **kwargs: Any) -> httpx.Response:
        if not self.failed and self.item_id in str(kwargs.get("what")):
            self.failed = True
            raise FhirServerError(f"HTTP 503 on the transaction for item {self.item_id}")
        return super().request(method, path_or_url, **kwargs)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_one_failing_item_does_not_stop_the_others_and_is_retried(
    store: Store, fresh_sekmet: SekmetServer
) -> None:
    alpha, beta = hits = _hits("cecs", "may_thurner")
    _night(store, AS_OF, hits)
    client = _FailingOnce(fresh_sekmet.base_url, item_id_for(alpha.patient, alpha.screen))
    with pytest.raises(FhirServerError, match="1 of 2 items failed"):
        publish_writeback(store, fresh_sekmet.base_url, client=client)
    assert _task_status(fresh_sekmet, beta) == "requested"
    report = publish_writeback(store, fresh_sekmet.base_url, client=client)
    client.close()
    assert (report.created, report.existing, report.failed) == (1, 1, 0)
    assert _task_status(fresh_sekmet, alpha) == "requested"
