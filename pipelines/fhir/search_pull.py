"""Search mode of the pull: page through each type, crawl per patient when refused."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from pipelines.errors import FhirServerError
from pipelines.fhir import bulk, search
from pipelines.fhir.attachments import AttachmentStats, inline_attachments
from pipelines.fhir.client import RETRYABLE_STATUS, FhirClient, FhirHttpError
from pipelines.fhir.export_pull import history_deletions
from pipelines.fhir.landing import LandingWriter, ModeOutcome, check_since
from pipelines.fhir.observation_codes import screen_observation_codes
from pipelines.fhir.progress import Progress


def pull_search(
    client: FhirClient,
    capability: dict[str, Any],
    types: list[str],
    since: datetime | None,
    writer: LandingWriter,
    stats: AttachmentStats,
    page_size: int,
    reporter: Progress,
    group_id: str | None = None,
) -> ModeOutcome:
    """Search each type; with ``group_id``, crawl the Group's members with ``patient=``.

    Without a group, a type-wide search comes first and a refusal falls back to a per-patient
    crawl over a Patient search (servers that refuse both need a group).
    """
    started = _server_now(client)
    honoured: dict[str, bool] = {}
    deleted: dict[str, tuple[str, ...]] = {}
    checked: dict[str, bool] = {}
    patient_ids: list[str] | None = None
    if group_id is not None:
        patient_ids = search.group_member_ids(client, group_id)
        reporter.say(f"Group {group_id}: {len(patient_ids)} patients to crawl")
    codes = screen_observation_codes()
    for rtype in types:
        use_since = since is not None and _supports_param(capability, rtype, "_lastUpdated")
        honoured[rtype] = use_since
        params = search.search_params(since if use_since else None, page_size)
        land = Lander(writer, client, stats, since if use_since else None, honoured)
        if group_id is not None or not _searched_type_wide(client, rtype, params, land):
            if patient_ids is None:
                reporter.say(f"{rtype}: type-wide search refused; crawling per patient")
                patient_ids = _all_patient_ids(client, page_size)
            for pid in patient_ids:
                land.all(search.crawl_patient(client, rtype, pid, params, codes))
        landed = land.landed
        reporter.say(f"searched {rtype}: {landed} resources")
        if since is not None:
            ids, checked[rtype] = history_deletions(client, rtype, since)
            deleted[rtype] = tuple(sorted(ids))
        else:
            deleted[rtype], checked[rtype] = (), False
    return ModeOutcome(
        since_honoured=honoured,
        deleted=deleted,
        deletions_checked=checked,
        transaction_time=started,
    )


def _searched_type_wide(
    client: FhirClient, rtype: str, params: dict[str, str], land: Lander
) -> bool:
    """True when the type-wide search ran; False when the server refused that search shape."""
    try:
        land.all(search.iter_search(client, rtype, params))
    except FhirHttpError as exc:
        if exc.status not in search.REFUSED_SEARCH or land.landed:
            raise
        return False
    return True


def _all_patient_ids(client: FhirClient, page_size: int) -> list[str]:
    try:
        return list(search.iter_patient_ids(client, page_size))
    except FhirHttpError as exc:
        if exc.status not in search.REFUSED_SEARCH:
            raise
        raise FhirServerError(
            f"{exc}; the server lists patients only through a Group: pass --group ID "
            "(VASCREEN_FHIR_GROUP_ID)"
        ) from None


class Lander:
    """Writes search results to the landing, inlining attachments and checking ``since``."""

    def __init__(
        self,
        writer: LandingWriter,
        client: FhirClient,
        stats: AttachmentStats,
        since: datetime | None,
        honoured: dict[str, bool],
    ) -> None:
        self.landed = 0
        self._writer, self._client, self._stats = writer, client, stats
        self._since, self._honoured = since, honoured

    def all(self, resources: Iterable[dict[str, Any]]) -> None:
        for resource in resources:
            check_since(resource, self._since, self._honoured)
            if self._writer.write(inline_attachments(resource, self._client, self._stats)):
                self.landed += 1


def _supports_param(capability: dict[str, Any], rtype: str, name: str) -> bool:
    for rest in capability.get("rest") or []:
        if any(p.get("name") == name for p in rest.get("searchParam") or []):
            return True
        for resource in rest.get("resource") or []:
            if resource.get("type") == rtype:
                return any(p.get("name") == name for p in resource.get("searchParam") or [])
    return False


def _not_retryable(status: int) -> bool:
    return status not in RETRYABLE_STATUS


def _server_now(client: FhirClient) -> datetime:
    """The server's clock (from a cheap count search), so watermarks never depend on ours."""
    # Epic and Oracle refuse a Patient search without a patient; their Date header still serves.
    response = client.request("GET", "Patient", params={"_summary": "count"}, ok=_not_retryable)
    try:
        stamp = bulk.parse_instant((response.json().get("meta") or {}).get("lastUpdated"))
    except (ValueError, AttributeError):
        stamp = None
    if stamp is not None:
        return stamp
    header = response.headers.get("Date")
    if header:
        return parsedate_to_datetime(header).astimezone(UTC)
    return datetime.now(UTC)
