"""Population routes (issue 24, item 1): system, Group and Patient level; Group crawl in search.

Fault-free shapes from the vendors' documentation, injected with ``httpx.MockTransport``: the
emulator (`vendor_emulator.py`) runs the same routes end to end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from pipelines.errors import FhirServerError
from pipelines.fhir import bulk
from pipelines.fhir.observation_codes import screen_observation_codes
from pipelines.fhir.pull import export_level, pull_to_directory
from tests.pipelines.fhir.landing_helpers import read_landing
from tests.pipelines.fhir.test_faults import BASE, Sleeps, json_response, make_client


def capability(
    *, system: bool = False, patient: bool = False, group: bool = False
) -> dict[str, Any]:
    export = [{"name": "export"}]
    resources = [
        {"type": "Patient", "operation": export if patient else []},
        {"type": "Group", "operation": export if group else []},
    ]
    rest = {"mode": "server", "resource": resources, "operation": export if system else []}
    return {"resourceType": "CapabilityStatement", "rest": [rest]}


@pytest.mark.parametrize(
    ("offered", "group_id", "expected"),
    [
        ({"system": True, "patient": True, "group": True}, None, bulk.ExportLevel.SYSTEM),
        ({"system": True, "group": True}, "g1", bulk.ExportLevel.GROUP),
        ({"group": True}, "g1", bulk.ExportLevel.GROUP),
        ({"patient": True, "group": True}, "g1", bulk.ExportLevel.GROUP),
        ({"patient": True}, None, bulk.ExportLevel.PATIENT),
    ],
    ids=["system-first", "group-given", "epic-group-only", "oracle-with-group", "patient-only"],
)
def test_export_level_follows_the_capability_statement_and_the_group(
    offered: dict[str, bool], group_id: str | None, expected: bulk.ExportLevel
) -> None:
    assert export_level(capability(**offered), group_id) is expected


@pytest.mark.parametrize(
    "offered", [{"group": True}, {"patient": True, "group": True}], ids=["epic", "oracle"]
)
def test_group_only_population_without_a_group_asks_for_one(offered: dict[str, bool]) -> None:
    # Oracle offers Patient export too but refuses it for all patients: never fall back to it.
    with pytest.raises(FhirServerError, match="--group ID"):
        export_level(capability(**offered), None)


def test_screen_observation_codes_include_the_abi_loinc() -> None:
    codes = screen_observation_codes()
    assert "http://loinc.org|77194-9" in codes
    assert all("|" in c and not c.endswith("*") for c in codes)


class GroupCrawlServer:
    """Search-only server: Group read, every clinical search needs patient=, Observation also
    needs category or code (Epic's documented search shape)."""

    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        path = request.url.path.removeprefix("/fhir/")
        query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        if path == "metadata":
            return json_response(capability())
        if path == "Group/g1":
            members = [{"entity": {"reference": f"Patient/{p}"}} for p in ("p1", "p2")]
            members.append({"entity": {"reference": "Patient/p3"}, "inactive": True})
            return json_response({"resourceType": "Group", "id": "g1", "member": members})
        if path == "Patient":
            if "_id" not in query:
                return json_response({"resourceType": "OperationOutcome"}, 400)
            return searchset([{"resourceType": "Patient", "id": query["_id"]}])
        if "patient" not in query:
            return json_response({"resourceType": "OperationOutcome"}, 400)
        pid = query["patient"]
        if path == "Observation":
            if query.get("code", "").find("77194-9") >= 0:
                return searchset([observation(f"abi-{pid}")])
            if query.get("category") == "vital-signs":
                return searchset([observation(f"bp-{pid}")])
            if "category" not in query and "code" not in query:
                return json_response({"resourceType": "OperationOutcome"}, 400)
            return searchset([])
        return searchset([])


def observation(oid: str) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final"}


def searchset(resources: list[dict[str, Any]]) -> httpx.Response:
    entries = [{"resource": r, "search": {"mode": "match"}} for r in resources]
    return json_response({"resourceType": "Bundle", "type": "searchset", "entry": entries})


def test_search_mode_crawls_the_groups_members_with_patient_on_every_search(
    tmp_path: Path,
) -> None:
    server = GroupCrawlServer()
    with make_client(server, Sleeps()) as client:
        report = pull_to_directory(
            BASE,
            tmp_path,
            mode="search",
            types=["Patient", "Condition", "Observation"],
            group_id="g1",
            client=client,
        )
    landed = read_landing(tmp_path)
    ids = {t: sorted(i for (rt, i) in landed if rt == t) for t in ("Patient", "Observation")}
    assert ids["Patient"] == ["p1", "p2"]  # the inactive member p3 is skipped
    # The ABI arrives through the code search, the blood pressure through its category.
    assert ids["Observation"] == ["abi-p1", "abi-p2", "bp-p1", "bp-p2"]
    assert report.counts == {"Patient": 2, "Condition": 0, "Observation": 4}
    clinical = [
        r for r in server.seen if r.url.path.rsplit("/", 1)[-1] in ("Condition", "Observation")
    ]
    assert clinical and all(b"patient=" in r.url.query for r in clinical)


def test_search_mode_without_a_group_where_patients_cannot_be_listed_asks_for_one(
    tmp_path: Path,
) -> None:
    with (
        make_client(GroupCrawlServer(), Sleeps()) as client,
        pytest.raises(FhirServerError, match="--group ID"),
    ):
        pull_to_directory(BASE, tmp_path, mode="search", types=["Condition"], client=client)
