"""Pull from a live FHIR R4 server into a landing directory of Bulk-style ``<Type>.ndjson`` files.

The file ingest then reads that directory exactly as it reads an export handed over on disk, so a
server source and a file source give the same worklist by construction. Two modes:

* ``bulk``: Bulk Data ``$export`` (system level when offered, else Patient or Group level).
* ``search``: REST search paging per type, with a per-patient crawl when a type-wide search is
  refused.

With ``mode=None`` the CapabilityStatement decides: bulk when it advertises ``export``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pipelines.errors import FhirServerError
from pipelines.fhir import bulk, search
from pipelines.fhir.attachments import AttachmentStats
from pipelines.fhir.auth import AuthConfig, auth_from_settings
from pipelines.fhir.client import FhirClient, RetryPolicy
from pipelines.fhir.download_limits import DownloadLimits, limits_from_settings
from pipelines.fhir.export_pull import pull_bulk
from pipelines.fhir.landing import LandingWriter
from pipelines.fhir.progress import Progress
from pipelines.fhir.resource_types import DEFAULT_TYPES, parse_types
from pipelines.fhir.search_pull import pull_search

if TYPE_CHECKING:
    from pipelines.settings import Settings

__all__ = [
    "DEFAULT_TYPES",
    "PullMode",
    "PullReport",
    "auth_from_settings",
    "options_from_settings",
    "pull_to_directory",
]


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
        error_files: how many ``error`` files the export manifest listed.
        deleted: ids per type the server reports as deleted since ``since``.
        deletions_checked: per type, whether deletions could be asked for at all.
        since_honoured: per type, whether the server filtered by ``since``. False means the type
            was re-pulled in full (or no ``since`` was given).
        status_url: the Bulk export status URL (bulk mode only).
        transaction_time: server time the data is complete up to: the next run's ``since``.
        attachments_inlined / attachments_failed / attachments_too_large: note attachments.
        failed_types: types the export's ``error`` files say could not be (fully) exported:
            not seen in full tonight (`pipelines.fhir.failed_types`).
    """

    mode: PullMode
    counts: dict[str, int]
    error_count: int
    error_file: Path | None
    error_files: int
    deleted: dict[str, tuple[str, ...]]
    deletions_checked: dict[str, bool]
    since_honoured: dict[str, bool]
    status_url: str | None
    transaction_time: datetime | None
    attachments_inlined: int = 0
    attachments_failed: int = 0
    attachments_too_large: int = 0
    failed_types: tuple[str, ...] = ()


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
    type_filters: Sequence[str] = (),
    page_size: int = search.DEFAULT_PAGE_SIZE,
    retry: RetryPolicy | None = None,
    client: FhirClient | None = None,
    export_timeout_s: float = 6 * 3600.0,
    limits: DownloadLimits | None = None,
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
        group_id: the population as a Group: ``Group/[id]/$export`` in bulk mode, a crawl of its
            members with ``patient=`` on every search in search mode.
        type_filters: ``_typeFilter`` queries such as ``Observation?category=laboratory``
            (bulk mode; search mode ignores them).
        page_size: ``_count`` for search mode.
        retry: retry policy (default: 5 attempts, exponential backoff).
        client: a ready client (tests inject one with a mock transport); ``auth`` is then unused.
        export_timeout_s: how long to wait for a busy server to take the export, and again for
            the export to finish (bulk mode).
        limits: download budget, timeouts and minimum rate (default `DownloadLimits()`).

    Raises:
        FhirServerError: a type could not be pulled; nothing in ``out_dir`` was replaced.
    """
    reporter = Progress(progress)
    owned = client is None
    fhir = client or FhirClient(base_url, auth=auth, retry=retry, limits=limits or DownloadLimits())
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
                    type_filters=tuple(type_filters),
                )
                outcome = pull_bulk(
                    fhir,
                    request,
                    writer,
                    stats,
                    state_dir,
                    reporter,
                    poll_timeout_s=export_timeout_s,
                )
            else:
                outcome = pull_search(
                    fhir,
                    capability,
                    list(types),
                    since,
                    writer,
                    stats,
                    page_size,
                    reporter,
                    group_id=group_id,
                )
            writer.publish()
        reporter.say("landed " + ", ".join(f"{t} {n}" for t, n in sorted(writer.counts.items())))
        return PullReport(
            mode=chosen,
            counts={t: writer.counts[t] for t in types},
            error_count=writer.error_count,
            error_files=outcome.error_files,
            error_file=writer.error_path if writer.error_count else None,
            deleted=outcome.deleted,
            deletions_checked=outcome.deletions_checked,
            since_honoured=outcome.since_honoured,
            status_url=outcome.status_url,
            transaction_time=outcome.transaction_time,
            attachments_inlined=stats.inlined,
            attachments_failed=stats.failed,
            attachments_too_large=stats.too_large,
            failed_types=outcome.failed_types,
        )
    finally:
        if owned:
            fhir.close()


def options_from_settings(settings: Settings) -> dict[str, Any]:
    """``pull_to_directory`` keyword arguments a site sets in ``Settings`` (group, ...)."""
    try:
        types = parse_types(settings.fhir_types)
    except ValueError as exc:
        raise FhirServerError(f"VASCREEN_FHIR_TYPES: {exc}") from None
    return {
        "types": types,
        "group_id": settings.fhir_group_id,
        "retry": RetryPolicy(retry_after_cap_s=settings.fhir_max_retry_after_s),
        "export_timeout_s": settings.fhir_export_timeout_s,
        "limits": limits_from_settings(settings),
    }


def choose_mode(capability: dict[str, Any]) -> PullMode:
    """Bulk when the server advertises ``$export`` at system, Patient or Group level."""
    return PullMode.BULK if _export_levels(capability) else PullMode.SEARCH


def export_level(capability: dict[str, Any], group_id: str | None) -> bulk.ExportLevel:
    """The population route: a given group wins; else system, else Patient level.

    Patient level is used only where the server offers no Group export: Oracle Health offers both
    and refuses a Patient-level export of all patients, Epic offers Group level alone.

    Raises:
        FhirServerError: the server exports Groups only and no group id was given.
    """
    if group_id is not None:
        return bulk.ExportLevel.GROUP
    levels = _export_levels(capability)
    if bulk.ExportLevel.SYSTEM in levels or not levels:
        return bulk.ExportLevel.SYSTEM
    if bulk.ExportLevel.GROUP in levels:
        raise FhirServerError(
            "server exports a population only by Group: pass --group ID (VASCREEN_FHIR_GROUP_ID)"
        )
    return bulk.ExportLevel.PATIENT


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
