"""Pull from a live FHIR R4 server into a landing directory of Bulk-style ``<Type>.ndjson`` files.

The file ingest then reads that directory exactly as it reads an export handed over on disk, so a
server source and a file source give the same worklist by construction. Two modes:

* ``bulk``: Bulk Data ``$export`` (system level when offered, else Patient or Group level).
* ``search``: REST search paging per type, with a per-patient crawl when a type-wide search is
  refused.

With ``mode=None`` the CapabilityStatement decides: bulk when it advertises ``export``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pipelines.errors import FhirServerError
from pipelines.fhir import bulk, search
from pipelines.fhir.attachments import AttachmentStats, inline_attachments
from pipelines.fhir.auth import AuthConfig, auth_from_settings
from pipelines.fhir.client import FhirClient, FhirHttpError, RetryPolicy
from pipelines.fhir.landing import LandingWriter
from pipelines.fhir.progress import Progress

__all__ = ["DEFAULT_TYPES", "PullMode", "PullReport", "auth_from_settings", "pull_to_directory"]

DEFAULT_TYPES: tuple[str, ...] = (
    "Patient",
    "Condition",
    "Observation",
    "Procedure",
    "MedicationRequest",
    "Encounter",
    "DocumentReference",
    "DiagnosticReport",
)


class PullMode(StrEnum):
    BULK = "bulk"
    SEARCH = "search"


@dataclass(frozen=True, slots=True)
class PullReport:
    """What a pull landed. Ids and counts only: safe to log and to show in artifacts.

    Attributes:
        mode: the mode actually used.
        counts: resources landed per type (every requested type is present).
        error_count: OperationOutcome lines from the server's export ``error`` files.
        error_file: where those were written (None when there were none).
        deleted: ids per type the server reports as deleted since ``since``.
        deletions_checked: per type, whether deletions could be asked for at all.
        since_honoured: per type, whether the server filtered by ``since``. False means the type
            was re-pulled in full (or no ``since`` was given).
        status_url: the Bulk export status URL (bulk mode only).
        transaction_time: server time the data is complete up to: the next run's ``since``.
        attachments_inlined / attachments_failed / attachments_too_large: note attachments.
    """

    mode: PullMode
    counts: dict[str, int]
    error_count: int
    error_file: Path | None
    deleted: dict[str, tuple[str, ...]]
    deletions_checked: dict[str, bool]
    since_honoured: dict[str, bool]
    status_url: str | None
    transaction_time: datetime | None
    attachments_inlined: int = 0
    attachments_failed: int = 0
    attachments_too_large: int = 0


@dataclass(slots=True)
class _Outcome:
    since_honoured: dict[str, bool]
    deleted: dict[str, tuple[str, ...]] = field(default_factory=dict)
    deletions_checked: dict[str, bool] = field(default_factory=dict)
    status_url: str | None = None
    transaction_time: datetime | None = None


def pull_to_directory(
    base_url: str,
    out_dir: Path,
    *,
    mode: Literal["bulk", "search"] | None = None,
    types: Sequence[str] = DEFAULT_TYPES,
    since: datetime | None = None,
    auth: AuthConfig | None = None,
    state_dir: Path | None = None,
    progress: bool = False,
    group_id: str | None = None,
    page_size: int = search.DEFAULT_PAGE_SIZE,
    retry: RetryPolicy | None = None,
    client: FhirClient | None = None,
) -> PullReport:
    """Pull ``types`` from the server at ``base_url`` into ``out_dir/<Type>.ndjson``.

    Files of the requested types are replaced only when the whole pull succeeded.

    Args:
        base_url: FHIR base URL.
        out_dir: landing directory (created if missing).
        mode: ``bulk`` or ``search``; chosen from the CapabilityStatement when None.
        types: resource types to pull.
        since: only resources changed at or after this instant (incremental run).
        auth: credentials; None for an open server.
        state_dir: where an in-flight export's status URL is kept for resuming.
        progress: print progress lines on stderr.
        group_id: export a Group instead of all patients (bulk mode).
        page_size: ``_count`` for search mode.
        retry: retry policy (default: 5 attempts, exponential backoff).
        client: a ready client (tests inject one with a mock transport); ``auth`` is then unused.

    Raises:
        FhirServerError: a type could not be pulled; nothing in ``out_dir`` was replaced.
    """
    reporter = Progress(progress)
    owned = client is None
    fhir = client or FhirClient(base_url, auth=auth, retry=retry)
    try:
        capability = fhir.capability_statement()
        chosen = PullMode(mode) if mode else choose_mode(capability)
        reporter.say(f"pulling {len(types)} types in {chosen} mode")
        stats = AttachmentStats()
        with LandingWriter(out_dir, list(types)) as writer:
            if chosen is PullMode.BULK:
                request = bulk.ExportRequest(
                    level=export_level(capability, group_id),
                    types=tuple(types),
                    since=since,
                    group_id=group_id,
                )
                outcome = _pull_bulk(fhir, request, writer, stats, state_dir, reporter)
            else:
                outcome = _pull_search(
                    fhir, capability, list(types), since, writer, stats, page_size, reporter
                )
            writer.publish()
        reporter.say("landed " + ", ".join(f"{t} {n}" for t, n in sorted(writer.counts.items())))
        return PullReport(
            mode=chosen,
            counts={t: writer.counts[t] for t in types},
            error_count=writer.error_count,
            error_file=writer.error_path if writer.error_count else None,
            deleted=outcome.deleted,
            deletions_checked=outcome.deletions_checked,
            since_honoured=outcome.since_honoured,
            status_url=outcome.status_url,
            transaction_time=outcome.transaction_time,
            attachments_inlined=stats.inlined,
            attachments_failed=stats.failed,
            attachments_too_large=stats.too_large,
        )
    finally:
        if owned:
            fhir.close()


def choose_mode(capability: dict[str, Any]) -> PullMode:
    """Bulk when the server advertises ``$export`` at system, Patient or Group level."""
    return PullMode.BULK if _export_levels(capability) else PullMode.SEARCH


def export_level(capability: dict[str, Any], group_id: str | None) -> bulk.ExportLevel:
    if group_id is not None:
        return bulk.ExportLevel.GROUP
    levels = _export_levels(capability)
    if bulk.ExportLevel.SYSTEM in levels or not levels:
        return bulk.ExportLevel.SYSTEM
    if bulk.ExportLevel.PATIENT in levels:
        return bulk.ExportLevel.PATIENT
    raise FhirServerError("server offers only Group-level $export; pass a group id")


def _export_levels(capability: dict[str, Any]) -> set[bulk.ExportLevel]:
    levels: set[bulk.ExportLevel] = set()
    for rest in capability.get("rest") or []:
        if _has_export(rest):
            levels.add(bulk.ExportLevel.SYSTEM)
        for resource in rest.get("resource") or []:
            if resource.get("type") == "Patient" and _has_export(resource):
                levels.add(bulk.ExportLevel.PATIENT)
            if resource.get("type") == "Group" and _has_export(resource):
                levels.add(bulk.ExportLevel.GROUP)
    return levels


def _has_export(node: dict[str, Any]) -> bool:
    return any(
        str(op.get("name", "")).lstrip("$") == "export" for op in node.get("operation") or []
    )


def _pull_bulk(
    client: FhirClient,
    request: bulk.ExportRequest,
    writer: LandingWriter,
    stats: AttachmentStats,
    state_dir: Path | None,
    reporter: Progress,
) -> _Outcome:
    state = bulk.ExportState(state_dir)
    status_url, manifest = bulk.export_to_manifest(client, request, state, reporter)
    wanted = set(request.types)
    honoured = {t: request.since is not None for t in request.types}
    anonymous = not manifest.requires_access_token
    with tempfile.TemporaryDirectory(prefix=".download-", dir=writer.out_dir) as tmp:
        scratch = Path(tmp) / "file.ndjson"
        outputs = [f for f in manifest.output if f.type in wanted]
        for number, file in enumerate(outputs, start=1):
            bulk.download_file(client, file, scratch, anonymous=anonymous)
            landed = 0
            for resource in bulk.iter_ndjson(scratch, f"{file.type} export file"):
                if resource.get("resourceType") != file.type:
                    continue
                _check_since(resource, request.since, honoured)
                if writer.write(inline_attachments(resource, client, stats)):
                    landed += 1
            reporter.downloaded(file.type, number, len(outputs), landed)
        for file in manifest.error:
            bulk.download_file(client, file, scratch, anonymous=anonymous)
            for outcome in bulk.iter_ndjson(scratch, "export error file"):
                writer.write_error(outcome)
                if "_since" in str(outcome):
                    honoured = dict.fromkeys(honoured, False)
        deleted, checked = _bulk_deletions(client, manifest, request, scratch, anonymous)
    if bulk.delete_job(client, status_url):
        reporter.say("export job deleted on the server")
    state.clear()
    return _Outcome(
        since_honoured=honoured,
        deleted=deleted,
        deletions_checked=checked,
        status_url=status_url,
        transaction_time=manifest.transaction_time,
    )


def _bulk_deletions(
    client: FhirClient,
    manifest: bulk.Manifest,
    request: bulk.ExportRequest,
    scratch: Path,
    anonymous: bool,
) -> tuple[dict[str, tuple[str, ...]], dict[str, bool]]:
    found: dict[str, set[str]] = {t: set() for t in request.types}
    if manifest.deleted is not None:
        for file in manifest.deleted:
            bulk.download_file(client, file, scratch, anonymous=anonymous)
            for bundle in bulk.iter_ndjson(scratch, "export deleted file"):
                for rtype, rid in bulk.deleted_ids(bundle):
                    if rtype in found:
                        found[rtype].add(rid)
        checked = dict.fromkeys(request.types, True)
    elif request.since is not None:
        # The server does not list deletions in its manifest: ask its history instead.
        checked = {}
        for rtype in request.types:
            found[rtype], checked[rtype] = _history_deletions(client, rtype, request.since)
    else:
        checked = dict.fromkeys(request.types, False)
    return {t: tuple(sorted(ids)) for t, ids in found.items()}, checked


def _history_deletions(client: FhirClient, rtype: str, since: datetime) -> tuple[set[str], bool]:
    try:
        return search.deleted_since(client, rtype, since, search.DEFAULT_PAGE_SIZE), True
    except FhirHttpError:
        return set(), False


def _pull_search(
    client: FhirClient,
    capability: dict[str, Any],
    types: list[str],
    since: datetime | None,
    writer: LandingWriter,
    stats: AttachmentStats,
    page_size: int,
    reporter: Progress,
) -> _Outcome:
    started = _server_now(client)
    honoured: dict[str, bool] = {}
    deleted: dict[str, tuple[str, ...]] = {}
    checked: dict[str, bool] = {}
    patient_ids: list[str] | None = None
    for rtype in types:
        use_since = since is not None and _supports_param(capability, rtype, "_lastUpdated")
        honoured[rtype] = use_since
        params = search.search_params(since if use_since else None, page_size)
        land = _Lander(writer, client, stats, since if use_since else None, honoured)
        try:
            land.all(search.iter_search(client, rtype, params))
        except FhirHttpError as exc:
            if exc.status not in search.REFUSED_SEARCH or land.landed:
                raise
            reporter.say(f"{rtype}: type-wide search refused; crawling per patient")
            if patient_ids is None:
                patient_ids = list(search.iter_patient_ids(client, page_size))
            for pid in patient_ids:
                land.all(search.crawl_patient(client, rtype, pid, params))
        landed = land.landed
        reporter.say(f"searched {rtype}: {landed} resources")
        if since is not None:
            ids, checked[rtype] = _history_deletions(client, rtype, since)
            deleted[rtype] = tuple(sorted(ids))
        else:
            deleted[rtype], checked[rtype] = (), False
    return _Outcome(
        since_honoured=honoured,
        deleted=deleted,
        deletions_checked=checked,
        transaction_time=started,
    )


class _Lander:
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
            _check_since(resource, self._since, self._honoured)
            if self._writer.write(inline_attachments(resource, self._client, self._stats)):
                self.landed += 1


def _check_since(
    resource: dict[str, Any], since: datetime | None, honoured: dict[str, bool]
) -> None:
    """A resource older than ``since`` in the result means the server ignored the filter."""
    if since is None:
        return
    updated = bulk.parse_instant((resource.get("meta") or {}).get("lastUpdated"))
    # Compare at the millisecond precision the filter was sent with.
    cutoff = bulk.parse_instant(bulk.format_instant(since))
    if updated is not None and cutoff is not None and updated < cutoff:
        honoured[str(resource["resourceType"])] = False


def _supports_param(capability: dict[str, Any], rtype: str, name: str) -> bool:
    for rest in capability.get("rest") or []:
        if any(p.get("name") == name for p in rest.get("searchParam") or []):
            return True
        for resource in rest.get("resource") or []:
            if resource.get("type") == rtype:
                return any(p.get("name") == name for p in resource.get("searchParam") or [])
    return False


def _server_now(client: FhirClient) -> datetime:
    """The server's clock (from a cheap count search), so watermarks never depend on ours."""
    response = client.request("GET", "Patient", params={"_summary": "count"})
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
