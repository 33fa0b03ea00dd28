"""Write-back (optional publish step): a FHIR Task and a DetectedIssue per new worklist item.

For each item whose status is `new`, the EHR receives, in one transaction Bundle:

- a DEQM-style `DetectedIssue` (code CAREGAP, open gap) for the patient, whose `evidence[]`
  lists the criteria as codes and the evidence resources as `detail` references (never note
  text), under a stable id derived from the item id;
- a `Task` (status requested, intent proposal, `for` the Patient, `reasonCode` the screen,
  `focus` the DetectedIssue) carrying the identifier `ITEM_SYSTEM|<item_id>`.

Idempotent: an item whose Task already exists (searched by identifier) is skipped, the Task is
a conditional create (`ifNoneExist`) and the DetectedIssue a PUT to its stable id, so a retry,
a rerun or a crash between runs never creates a second pair. Item ids are a pure function of
(screen, patient), so the identifier is stable across runs and stores.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
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

ITEM_SYSTEM = "http://vascreen.example.org/fhir/NamingSystem/worklist-item"
SCREEN_SYSTEM = "http://vascreen.example.org/fhir/CodeSystem/screen"
CRITERION_SYSTEM = "http://vascreen.example.org/fhir/CodeSystem/criterion"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
GAP_STATUS_URL = "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/extension-gapStatus"
GAP_STATUS_SYSTEM = "http://hl7.org/fhir/us/davinci-deqm/CodeSystem/gaps-status"
TASK_PRIORITY = {"urgent": "urgent", "soon": "asap", "routine": "routine"}
_BUNDLE_NAMESPACE = uuid.UUID("1b7c3a52-8f0e-5c56-9a0e-777272697465")


@dataclass(frozen=True, slots=True)
class WritebackReport:
    """PHI-free counts of one write-back."""

    items: int  # new items considered
    created: int  # items whose Task and DetectedIssue were written now
    existing: int  # items already written back by an earlier run

    def as_dict(self) -> dict[str, int]:
        return {"items": self.items, "created": self.created, "existing": self.existing}


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
        "status": "requested",
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
    """Write a Task and a DetectedIssue for every new item that has none yet.

    Raises:
        FhirServerError: the server rejected a write or stayed unavailable after retries.
    """
    items = store.worklist().filter(pl.col("status") == str(ItemStatus.NEW))
    own = client is None
    http = client or FhirClient(base_url, auth=auth)
    created = existing = 0
    try:
        for item in items.sort("item_id").iter_rows(named=True):
            if _task_exists(http, item["item_id"]):
                existing += 1
                continue
            evidence = store.item_evidence(item["item_id"]).filter(pl.col("role") == "include")
            response = http.request(
                "POST",
                "",
                json=writeback_bundle(item, evidence),
                headers={"Content-Type": FHIR_JSON},
                what=f"write-back transaction for item {item['item_id']}",
            )
            if response.json().get("type") != "transaction-response":
                raise FhirServerError(
                    f"write-back for item {item['item_id']}: no transaction-response"
                )
            created += 1
    finally:
        if own:
            http.close()
    return WritebackReport(items=items.height, created=created, existing=existing)


def _task_exists(http: FhirClient, item_id: str) -> bool:
    """True when a Task with this item's identifier is on the server (checked on the entries,
    not only the search total, in case a server ignores the search parameter)."""
    wanted = item_identifier(item_id)
    for bundle in http.iter_pages("Task", params={"identifier": f"{ITEM_SYSTEM}|{item_id}"}):
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") or {}
            if resource.get("resourceType") == "Task" and wanted in (
                {"system": i.get("system"), "value": i.get("value")}
                for i in resource.get("identifier") or []
            ):
                return True
    return False


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
