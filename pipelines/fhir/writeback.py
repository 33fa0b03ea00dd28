"""Write-back (optional publish step): a FHIR Task and a DetectedIssue per worklist item.

For each item a coordinator may still act on, the EHR holds, written in one transaction Bundle:

- a DEQM-style `DetectedIssue` (code CAREGAP, open gap) for the patient, whose `evidence[]`
  lists the criteria as codes and the evidence resources as `detail` references (never note
  text), under a stable id derived from the item id;
- a `Task` (intent proposal, `for` the Patient, `reasonCode` the screen, `focus` the
  DetectedIssue) carrying the identifier `ITEM_SYSTEM|<item_id>`.

Write-back converges: each run compares every item in the store with the Tasks on the server
(one paged search by identifier system) and writes only the difference. An item with no Task
yet gets one, so an item whose write-back failed one night is written the next; a Task whose
status no longer follows its item's (`TASK_STATUS`: a coordinator's decision, or the item
resolving) is updated. Idempotent: the Task is a conditional create (`ifNoneExist`) and the
DetectedIssue a PUT to its stable id, so a retry, a rerun or a crash never creates a second
pair. Item ids are a pure function of (screen, patient), stable across runs and stores.
One item that fails does not stop the others; the failures are counted and raised at the end.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from pipelines.errors import FhirServerError, ScreeningError
from pipelines.fhir.auth import AuthConfig, auth_from_settings
from pipelines.fhir.client import FHIR_JSON, FhirClient
from pipelines.settings import Settings
from pipelines.store import Store
from screens.model import ItemStatus
from screens.rules import SCREENS

log = logging.getLogger("vascreen")

ITEM_SYSTEM = "http://vascreen.example.org/fhir/NamingSystem/worklist-item"
SCREEN_SYSTEM = "http://vascreen.example.org/fhir/CodeSystem/screen"
CRITERION_SYSTEM = "http://vascreen.example.org/fhir/CodeSystem/criterion"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
GAP_STATUS_URL = "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/extension-gapStatus"
GAP_STATUS_SYSTEM = "http://hl7.org/fhir/us/davinci-deqm/CodeSystem/gaps-status"
TASK_PRIORITY = {"urgent": "urgent", "soon": "asap", "routine": "routine"}
# The Task status that follows each item status (FHIR R4 task-status codes).
TASK_STATUS: dict[str, str] = {
    ItemStatus.NEW: "requested",
    ItemStatus.OPEN: "requested",
    ItemStatus.NEEDS_INFO: "on-hold",
    ItemStatus.SNOOZED: "on-hold",
    ItemStatus.REFERRED: "in-progress",
    ItemStatus.UNDER_CARE: "completed",
    ItemStatus.DISMISSED: "cancelled",
    ItemStatus.RESOLVED: "completed",
}
# Items that get a Task when they have none: the ones a coordinator may still act on. An item
# dismissed, under care or resolved before its first write-back needs nothing in the EHR.
WRITTEN_WHEN_MISSING = frozenset(
    {
        ItemStatus.NEW,
        ItemStatus.OPEN,
        ItemStatus.NEEDS_INFO,
        ItemStatus.SNOOZED,
        ItemStatus.REFERRED,
    }
)
_BUNDLE_NAMESPACE = uuid.UUID("1b7c3a52-8f0e-5c56-9a0e-777272697465")


@dataclass(frozen=True, slots=True)
class WritebackReport:
    """PHI-free counts of one write-back."""

    items: int  # items considered (every item in the store)
    created: int  # items whose Task and DetectedIssue were written now
    existing: int  # items whose Task was already there with the right status
    updated: int = 0  # Tasks whose status now follows a decision or a resolution
    failed: int = 0  # items the server refused or did not answer for (retried next time)

    def as_dict(self) -> dict[str, int]:
        return {
            "items": self.items,
            "created": self.created,
            "existing": self.existing,
            "updated": self.updated,
            "failed": self.failed,
        }


def issue_id_for(item_id: str) -> str:
    return f"vascreen-{item_id}"


def item_identifier(item_id: str) -> dict[str, str]:
    return {"system": ITEM_SYSTEM, "value": item_id}


def detected_issue_for(item: dict[str, Any], evidence: pl.DataFrame) -> dict[str, Any]:
    """The DetectedIssue of one item; `evidence` is the item's current include evidence."""
    screen = SCREENS[item["screen"]]
    by_source: dict[str, set[str]] = {}
    for row in evidence.select("source_ref", "criterion_id").iter_rows():
        by_source.setdefault(row[0], set()).add(row[1])
    return {
        "resourceType": "DetectedIssue",
        "id": issue_id_for(item["item_id"]),
        "identifier": [item_identifier(item["item_id"])],
        "modifierExtension": [
            {
                "url": GAP_STATUS_URL,
                "valueCodeableConcept": {
                    "coding": [{"system": GAP_STATUS_SYSTEM, "code": "open-gap"}]
                },
            }
        ],
        "status": "preliminary",
        "code": {"coding": [{"system": ACT_CODE, "code": "CAREGAP", "display": "Care Gaps"}]},
        "patient": {"reference": f"Patient/{item['patient_id']}"},
        "identifiedDateTime": item["first_flagged_on"].isoformat(),
        "detail": f"{screen.title} (vascreen screen {screen.id} v{item['screen_version']})",
        "evidence": [
            {
                "code": [
                    {"coding": [{"system": CRITERION_SYSTEM, "code": c}]} for c in sorted(ids)
                ],
                "detail": [{"reference": ref}],
            }
            for ref, ids in sorted(by_source.items())
        ],
    }


def task_for(item: dict[str, Any]) -> dict[str, Any]:
    screen = SCREENS[item["screen"]]
    return {
        "resourceType": "Task",
        "identifier": [item_identifier(item["item_id"])],
        "status": TASK_STATUS.get(item["status"], "requested"),
        "intent": "proposal",
        "priority": TASK_PRIORITY.get(item["priority"], "routine"),
        "description": f"Review the vascreen flag: {screen.title}",
        "focus": {"reference": f"DetectedIssue/{issue_id_for(item['item_id'])}"},
        "for": {"reference": f"Patient/{item['patient_id']}"},
        "authoredOn": item["first_flagged_on"].isoformat(),
        "reasonCode": {
            "coding": [{"system": SCREEN_SYSTEM, "code": screen.id, "display": screen.title}],
            "text": screen.title,
        },
    }


def writeback_bundle(item: dict[str, Any], evidence: pl.DataFrame) -> dict[str, Any]:
    """One transaction: PUT the DetectedIssue to its stable id, conditionally create the Task."""
    issue = _validated(detected_issue_for(item, evidence))
    task = _validated(task_for(item))
    query = f"identifier={ITEM_SYSTEM}|{item['item_id']}"
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid5(_BUNDLE_NAMESPACE, issue['id'])}",
                "resource": issue,
                "request": {"method": "PUT", "url": f"DetectedIssue/{issue['id']}"},
            },
            {
                "fullUrl": f"urn:uuid:{uuid.uuid5(_BUNDLE_NAMESPACE, 'task/' + item['item_id'])}",
                "resource": task,
                "request": {"method": "POST", "url": "Task", "ifNoneExist": query},
            },
        ],
    }


def publish_writeback(
    store: Store,
    base_url: str,
    *,
    auth: AuthConfig | None = None,
    client: FhirClient | None = None,
) -> WritebackReport:
    """Bring the server's Tasks in line with the store's items (see the module docstring).

    Raises:
        FhirServerError: the Tasks could not be listed, or some items could not be written
            (after the others were; the message counts them, the next run retries them).
    """
    items = store.worklist(include_closed=True)
    own = client is None
    http = client or FhirClient(base_url, auth=auth)
    created = existing = updated = failed = 0
    try:
        tasks = _item_tasks(http)
        for item in items.sort("item_id").iter_rows(named=True):
            task = tasks.get(item["item_id"])
            wanted = TASK_STATUS.get(item["status"], "requested")
            try:
                if task is None:
                    if item["status"] not in WRITTEN_WHEN_MISSING:
                        continue
                    _create(http, store, item)
                    created += 1
                elif task.get("status") != wanted:
                    _set_status(http, task, wanted)
                    updated += 1
                else:
                    existing += 1
            except FhirServerError as error:
                failed += 1
                log.warning("write-back of item %s failed: %s", item["item_id"], error)
    finally:
        if own:
            http.close()
    report = WritebackReport(items.height, created, existing, updated, failed)
    if failed:
        raise FhirServerError(
            f"write-back: {failed} of {items.height} items failed "
            f"({created} created, {updated} updated); the next write-back retries them"
        )
    return report


def _create(http: FhirClient, store: Store, item: dict[str, Any]) -> None:
    evidence = store.item_evidence(item["item_id"]).filter(pl.col("role") == "include")
    response = http.request(
        "POST",
        "",
        json=writeback_bundle(item, evidence),
        headers={"Content-Type": FHIR_JSON},
        what=f"write-back transaction for item {item['item_id']}",
    )
    if response.json().get("type") != "transaction-response":
        raise FhirServerError(f"write-back for item {item['item_id']}: no transaction-response")


def _set_status(http: FhirClient, task: dict[str, Any], status: str) -> None:
    """PUT the Task back with its new status (and, when versioned, only over that version)."""
    changed = {**task, "status": status, "lastModified": _now()}
    headers = {"Content-Type": FHIR_JSON}
    version = (task.get("meta") or {}).get("versionId")
    if version:
        headers["If-Match"] = f'W/"{version}"'
    http.request(
        "PUT",
        f"Task/{task['id']}",
        json=_validated(changed),
        headers=headers,
        what=f"Task status update for Task {task['id']}",
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _item_tasks(http: FhirClient) -> dict[str, dict[str, Any]]:
    """The server's vascreen Tasks by item id: one paged search by identifier system.

    Entries are checked against the identifier, not trusted from the search, in case a server
    ignores the search parameter; a second Task for one item (made by hand) is left alone.
    """
    found: dict[str, dict[str, Any]] = {}
    for bundle in http.iter_pages(
        "Task", params={"identifier": f"{ITEM_SYSTEM}|", "_count": "500"}
    ):
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") or {}
            if resource.get("resourceType") != "Task" or not resource.get("id"):
                continue
            for identifier in resource.get("identifier") or []:
                if identifier.get("system") == ITEM_SYSTEM and identifier.get("value"):
                    found.setdefault(str(identifier["value"]), resource)
    return found


def _validated(resource: dict[str, Any]) -> dict[str, Any]:
    """Outbound resources pass R4B validation; the error names the type only (no values)."""
    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except ValidationError:
        raise ScreeningError(f"write-back built an invalid {resource['resourceType']}") from None
    return resource


def publish_writeback_for_run(store_url: str, base_url: str, settings: Settings) -> WritebackReport:
    """The flow's write-back step: open the store, write back with the run's FHIR credentials."""
    store = Store.connect(store_url)
    try:
        return publish_writeback(store, base_url, auth=auth_from_settings(settings))
    finally:
        store.close()
