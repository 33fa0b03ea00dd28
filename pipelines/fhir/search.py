"""REST search: type-level paging, increments by ``_lastUpdated``, per-patient crawl fallback.

Servers without Bulk Data still answer ``GET [base]/[Type]?_count=N`` and hand out
``link[next]`` pages. Some (US Core profiles in particular) refuse type-wide searches and need a
patient, and for Observation also a ``category``; for those the pull crawls patient by patient.
Deletions are read from ``[Type]/_history?_since=`` because a search never returns them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from pipelines.errors import FhirServerError
from pipelines.fhir.bulk import format_instant
from pipelines.fhir.client import FhirClient, FhirHttpError

DEFAULT_PAGE_SIZE = 200
# US Core Observation categories; a server that insists on `category` gets one search per value.
OBSERVATION_CATEGORIES = (
    "laboratory",
    "vital-signs",
    "exam",
    "procedure",
    "imaging",
    "survey",
    "social-history",
    "activity",
    "therapy",
)
# Codes per `code=` search: keeps the query well under common URL length limits.
CODES_PER_SEARCH = 20
# 4xx answers that mean "this search shape is not allowed here", not "you may not read this type".
REFUSED_SEARCH = frozenset({400, 405, 412, 422})


def search_params(since: datetime | None, page_size: int) -> dict[str, str]:
    params = {"_count": str(page_size)}
    if since is not None:
        # `ge` rather than `gt`: a resource updated in the same millisecond as the watermark is
        # pulled twice rather than lost; the landing dedupes by id.
        params["_lastUpdated"] = f"ge{format_instant(since)}"
    return params


def iter_search(
    client: FhirClient, rtype: str, params: Mapping[str, str]
) -> Iterator[dict[str, Any]]:
    """Yield the matching resources of ``rtype`` across every page."""
    for bundle in client.iter_pages(rtype, params=params):
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict) or resource.get("resourceType") != rtype:
                continue  # OperationOutcome (mode=outcome) or _include entries
            mode = (entry.get("search") or {}).get("mode", "match")
            if mode == "match":
                yield resource


def group_member_ids(client: FhirClient, group_id: str) -> list[str]:
    """Patient ids of a Group's members (``member[].entity`` references to Patient), in order.

    Epic and Oracle refuse a parameterless Patient search; a Group read is how their population is
    listed. Inactive members and references to other types are skipped.
    """
    group = client.get_json(f"Group/{group_id}")
    if not isinstance(group, dict) or group.get("resourceType") != "Group":
        raise FhirServerError(f"GET Group/{group_id} did not return a Group")
    ids: list[str] = []
    for member in group.get("member") or []:
        if not isinstance(member, dict) or member.get("inactive") is True:
            continue
        reference = str((member.get("entity") or {}).get("reference") or "")
        parts = reference.split("/")
        if len(parts) >= 2 and parts[-2] == "Patient" and parts[-1] and parts[-1] not in ids:
            ids.append(parts[-1])
    return ids


def iter_patient_ids(client: FhirClient, page_size: int) -> Iterator[str]:
    params = {"_count": str(page_size), "_elements": "id"}
    for patient in iter_search(client, "Patient", params):
        if patient.get("id"):
            yield str(patient["id"])


def crawl_patient(
    client: FhirClient,
    rtype: str,
    patient_id: str,
    params: Mapping[str, str],
    observation_codes: Sequence[str] = (),
) -> Iterator[dict[str, Any]]:
    """Resources of ``rtype`` for one patient (``patient=`` on every search).

    Where a server refuses an Observation search without ``category`` or ``code`` (Epic, Oracle),
    it runs one search per US Core category and then searches by the screens' own codes
    (``observation_codes``, ``system|code`` tokens): an ABI filed under a site category would be
    missed by the category searches alone. Results repeat across searches; the landing dedupes.
    """
    if rtype == "Patient":
        yield from iter_search(client, "Patient", {**params, "_id": patient_id})
        return
    scoped = {**params, "patient": patient_id}
    try:
        yield from iter_search(client, rtype, scoped)
        return
    except FhirHttpError as exc:
        if rtype != "Observation" or exc.status not in REFUSED_SEARCH:
            raise
    for category in OBSERVATION_CATEGORIES:
        yield from iter_search(client, rtype, {**scoped, "category": category})
    for start in range(0, len(observation_codes), CODES_PER_SEARCH):
        chunk = observation_codes[start : start + CODES_PER_SEARCH]
        try:
            yield from iter_search(client, rtype, {**scoped, "code": ",".join(chunk)})
        except FhirHttpError as exc:
            # A server that insists on `category` refuses code searches: categories must do.
            if exc.status not in REFUSED_SEARCH:
                raise
            return


def deleted_since(client: FhirClient, rtype: str, since: datetime, page_size: int) -> set[str]:
    """Ids of ``rtype`` whose newest history entry since ``since`` is a DELETE."""
    newest: dict[str, tuple[str, str]] = {}
    params = {"_since": format_instant(since), "_count": str(page_size)}
    for bundle in client.iter_pages(f"{rtype}/_history", params=params):
        for entry in bundle.get("entry") or []:
            if not isinstance(entry, dict):
                continue
            request = entry.get("request") or {}
            response = entry.get("response") or {}
            rid = _history_id(entry, rtype)
            if rid is None:
                continue
            stamp = str(response.get("lastModified") or "")
            method = str(request.get("method", "")).upper()
            if rid not in newest or stamp > newest[rid][0]:
                newest[rid] = (stamp, method)
    return {rid for rid, (_, method) in newest.items() if method == "DELETE"}


def _history_id(entry: Mapping[str, Any], rtype: str) -> str | None:
    resource = entry.get("resource")
    if isinstance(resource, dict) and resource.get("id"):
        return str(resource["id"])
    for candidate in (
        str((entry.get("request") or {}).get("url", "")),
        str(entry.get("fullUrl", "")),
    ):
        parts = candidate.split("?")[0].rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2] == rtype:
            return parts[-1]
    return None
