"""Bulk mode of the pull: run (or resume) an export and land its files.

The status URL of an export in flight is saved under ``state_dir``; a rerun with the same request
resumes polling it instead of starting over. When the manifest is complete and every file landed,
the job is DELETEd on the server and the saved state removed.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from datetime import datetime
from pathlib import Path

import orjson

from pipelines.errors import FhirServerError
from pipelines.fhir import bulk, search
from pipelines.fhir.attachments import AttachmentStats, inline_attachments
from pipelines.fhir.client import FhirClient, FhirHttpError
from pipelines.fhir.failed_types import types_named
from pipelines.fhir.landing import LandingWriter, ModeOutcome, check_since
from pipelines.fhir.progress import Progress

logger = logging.getLogger("vascreen.fhir")
# Kick-off answers that mean "this request shape (here: _since) is not accepted".
SINCE_REFUSED = frozenset({400, 422, 501})


class ExportState:
    """The saved status URL of an export in flight, keyed by request fingerprint."""

    def __init__(self, state_dir: Path | None) -> None:
        self._path = state_dir / bulk.STATE_FILE if state_dir else None

    def load(self, fingerprint: str) -> tuple[str, bool] | None:
        """(status URL, whether that export dropped ``_since``) saved for this request."""
        if self._path is None or not self._path.is_file():
            return None
        try:
            saved = orjson.loads(self._path.read_bytes())
        except (orjson.JSONDecodeError, OSError):
            return None
        if isinstance(saved, dict) and saved.get("fingerprint") == fingerprint:
            url = saved.get("status_url")
            return (url, saved.get("since_dropped") is True) if isinstance(url, str) else None
        return None

    def save(self, fingerprint: str, status_url: str, *, since_dropped: bool = False) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "fingerprint": fingerprint,
            "status_url": status_url,
            "since_dropped": since_dropped,
        }
        with tempfile.NamedTemporaryFile("wb", dir=self._path.parent, delete=False) as tmp:
            tmp.write(orjson.dumps(payload))
        Path(tmp.name).replace(self._path)

    def clear(self) -> None:
        if self._path is not None:
            self._path.unlink(missing_ok=True)


def export_to_manifest(
    client: FhirClient,
    request: bulk.ExportRequest,
    state: ExportState,
    progress: Progress,
    *,
    poll_timeout_s: float = 6 * 3600.0,
) -> tuple[str, bulk.Manifest, bulk.ExportRequest]:
    """Resume the saved export for this request, or kick off a new one; wait for its manifest.

    Returns the status URL, the manifest and the request that ran: without ``since`` when the
    server refused it (a full pull, decided by the kick-off's HTTP answer alone).
    """
    fingerprint = request.fingerprint(client.base_url)
    saved = state.load(fingerprint)
    if saved is not None:
        progress.say("resuming saved export")
        url, since_dropped = saved
        manifest = bulk.wait_for_manifest(client, url, progress, timeout_s=poll_timeout_s)
        if manifest is not None:
            ran = dataclasses.replace(request, since=None) if since_dropped else request
            return url, manifest, ran
        progress.say("saved export expired; starting a new one")
        state.clear()
    ran, status_url = _kick_off_or_full(client, request, progress, poll_timeout_s)
    state.save(fingerprint, status_url, since_dropped=ran.since != request.since)
    request = ran
    progress.say(f"export started ({request.level}, {len(request.types) or 'all'} types)")
    manifest = bulk.wait_for_manifest(client, status_url, progress, timeout_s=poll_timeout_s)
    if manifest is None:
        raise FhirServerError("$export job disappeared while polling")
    return status_url, manifest, request


def _kick_off_or_full(
    client: FhirClient, request: bulk.ExportRequest, progress: Progress, timeout_s: float
) -> tuple[bulk.ExportRequest, str]:
    try:
        return request, bulk.kick_off(client, request, timeout_s=timeout_s)
    except FhirHttpError as exc:
        if request.since is None or exc.status not in SINCE_REFUSED:
            raise
        # Epic documents no `_since`: a night without it is a full pull, never a silent delta.
        logger.warning("$export refused _since (HTTP %d): pulling everything", exc.status)
        progress.say(f"warning: the server refused _since (HTTP {exc.status}); full pull")
    full = dataclasses.replace(request, since=None)
    return full, bulk.kick_off(client, full, timeout_s=timeout_s)


def pull_bulk(
    client: FhirClient,
    request: bulk.ExportRequest,
    writer: LandingWriter,
    stats: AttachmentStats,
    state_dir: Path | None,
    reporter: Progress,
    *,
    poll_timeout_s: float = 6 * 3600.0,
) -> ModeOutcome:
    state = ExportState(state_dir)
    status_url, manifest, request = export_to_manifest(
        client, request, state, reporter, poll_timeout_s=poll_timeout_s
    )
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
                check_since(resource, request.since, honoured)
                if writer.write(inline_attachments(resource, client, stats)):
                    landed += 1
            reporter.downloaded(file.type, number, len(outputs), landed)
        if manifest.error:
            reporter.say(f"export listed {len(manifest.error)} error file(s)")
        failed: set[str] = set()
        for file in manifest.error:
            bulk.download_file(client, file, scratch, anonymous=anonymous)
            for outcome in bulk.iter_ndjson(scratch, "export error file"):
                writer.write_error(outcome)
                failed |= types_named(outcome, request.types)
        deleted, checked = _bulk_deletions(client, manifest, request, scratch, anonymous)
    if bulk.delete_job(client, status_url):
        reporter.say("export job deleted on the server")
    state.clear()
    return ModeOutcome(
        since_honoured=honoured,
        deleted=deleted,
        deletions_checked=checked,
        status_url=status_url,
        transaction_time=manifest.transaction_time,
        error_files=len(manifest.error),
        failed_types=tuple(sorted(failed)),
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
            found[rtype], checked[rtype] = history_deletions(client, rtype, request.since)
    else:
        checked = dict.fromkeys(request.types, False)
    return {t: tuple(sorted(ids)) for t, ids in found.items()}, checked


def history_deletions(client: FhirClient, rtype: str, since: datetime) -> tuple[set[str], bool]:
    try:
        return search.deleted_since(client, rtype, since, search.DEFAULT_PAGE_SIZE), True
    except FhirHttpError:
        return set(), False
