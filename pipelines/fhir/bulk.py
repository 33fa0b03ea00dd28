"""FHIR Bulk Data Access ($export): kick-off, status polling, manifest, file download.

Follows https://hl7.org/fhir/uv/bulkdata/export.html: kick-off with ``Prefer: respond-async``,
202 + ``Content-Location``; poll honouring ``Retry-After`` and ``X-Progress``; 200 + manifest;
download ``output`` (NDJSON, gzip when the server offers it), ``error`` (OperationOutcome NDJSON)
and ``deleted`` (Bundles of DELETE entries); DELETE the job when done. The status URL is saved
under ``state_dir`` so an interrupted run resumes the same export instead of starting over.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
import orjson

from pipelines.errors import FhirServerError
from pipelines.fhir.client import (
    RETRYABLE_ERRORS,
    RETRYABLE_STATUS,
    FhirClient,
    describe_url,
    retry_reason,
)
from pipelines.fhir.client import parse_retry_after as _retry_after
from pipelines.fhir.download_limits import DownloadLimitError
from pipelines.fhir.progress import Progress

NDJSON = "application/fhir+ndjson"
STATE_FILE = "bulk-export.json"
DEFAULT_POLL_S = 2.0
MAX_POLL_S = 120.0


class ExportLevel(StrEnum):
    SYSTEM = "system"
    PATIENT = "patient"
    GROUP = "group"


@dataclass(frozen=True, slots=True)
class ExportRequest:
    level: ExportLevel = ExportLevel.SYSTEM
    types: tuple[str, ...] = ()
    since: datetime | None = None
    type_filters: tuple[str, ...] = ()
    group_id: str | None = None

    def path(self) -> str:
        if self.level is ExportLevel.GROUP:
            if not self.group_id:
                raise ValueError("a Group-level export needs group_id")
            return f"Group/{self.group_id}/$export"
        return "Patient/$export" if self.level is ExportLevel.PATIENT else "$export"

    def params(self) -> dict[str, str]:
        params = {"_outputFormat": NDJSON}
        if self.types:
            params["_type"] = ",".join(self.types)
        if self.since is not None:
            params["_since"] = format_instant(self.since)
        if self.type_filters:
            params["_typeFilter"] = ",".join(self.type_filters)
        return params

    def fingerprint(self, base_url: str) -> str:
        key = orjson.dumps([base_url, self.path(), self.params()], option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(key).hexdigest()


@dataclass(frozen=True, slots=True)
class ManifestFile:
    type: str
    url: str


@dataclass(frozen=True, slots=True)
class Manifest:
    transaction_time: datetime | None
    requires_access_token: bool
    output: tuple[ManifestFile, ...]
    error: tuple[ManifestFile, ...]
    deleted: tuple[ManifestFile, ...] | None  # None: the server does not report deletions


def format_instant(when: datetime) -> str:
    """FHIR instant in UTC with milliseconds (naive datetimes are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse_instant(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def kick_off(client: FhirClient, request: ExportRequest, *, timeout_s: float = 6 * 3600.0) -> str:
    """Start an export; returns the status URL from ``Content-Location``.

    A 429 means another export is running (Oracle Health allows one at a time): wait as the
    server asks (``Retry-After`` up to the client's ceiling) and try again, for ``timeout_s``.

    Raises:
        FhirHttpError: the server refused the request (its OperationOutcome text included).
        FhirServerError: still busy after ``timeout_s``, or no ``Content-Location``.
    """
    waited, interval = 0.0, DEFAULT_POLL_S
    while True:
        response = client.request(
            "GET",
            request.path(),
            params=request.params(),
            headers={"Prefer": "respond-async", "Accept": "application/fhir+json"},
            ok=lambda status: status in (202, 429),
            what=f"$export kick-off ({request.level})",
        )
        if response.status_code == 202:
            break
        delay, interval = _next_wait(client, response, interval)
        if waited + delay > timeout_s:
            raise FhirServerError(
                f"$export kick-off: the server was still busy after {waited:.0f}s (HTTP 429)"
            )
        client.sleep(delay)
        waited += max(delay, 0.01)
    location = response.headers.get("Content-Location")
    if not location:
        raise FhirServerError("$export kick-off returned no Content-Location")
    return client.url_for(location)


def wait_for_manifest(
    client: FhirClient,
    status_url: str,
    progress: Progress,
    *,
    timeout_s: float = 6 * 3600.0,
) -> Manifest | None:
    """Poll the status URL until the manifest is ready.

    ``Retry-After`` (seconds or HTTP date) is honoured up to the client's ceiling, on a 202 and
    on a 429 alike: a server that asks for 120 s is not polled four times in 30 s steps.
    Returns None when the job is unknown to the server (404/410: expired or never existed).

    Raises:
        FhirServerError: the export failed, or did not finish within ``timeout_s`` of polling.
    """
    waited, polls, interval = 0.0, 0, DEFAULT_POLL_S
    while waited <= timeout_s:
        response = client.request(
            "GET",
            status_url,
            ok=lambda status: status in (200, 202, 404, 410, 429),
            what="$export status",
        )
        polls += 1
        if response.status_code in (404, 410):
            return None
        if response.status_code == 200:
            return parse_manifest(response)
        progress.export_status(response.headers.get("X-Progress"), polls)
        delay, interval = _next_wait(client, response, interval)
        client.sleep(delay)
        waited += max(delay, 0.01)
    raise FhirServerError(f"$export did not complete within {timeout_s:.0f}s of polling")


def _next_wait(
    client: FhirClient, response: httpx.Response, interval: float
) -> tuple[float, float]:
    """(this wait, the next default interval): Retry-After when sent, else a growing interval."""
    retry_after = _retry_after(response.headers.get("Retry-After"))
    delay = client.retry.honour(retry_after) if retry_after is not None else interval
    return delay, min(interval * 1.5, MAX_POLL_S)


def parse_manifest(response: httpx.Response) -> Manifest:
    try:
        body = response.json()
    except ValueError:
        raise FhirServerError("$export manifest is not JSON") from None
    if not isinstance(body, dict):
        raise FhirServerError("$export manifest is not a JSON object")

    def files(key: str) -> tuple[ManifestFile, ...]:
        items = body.get(key) or []
        if not isinstance(items, list):
            raise FhirServerError(f"$export manifest field {key} is not a list")
        return tuple(
            ManifestFile(type=str(item.get("type", "")), url=str(item["url"]))
            for item in items
            if isinstance(item, dict) and item.get("url")
        )

    return Manifest(
        transaction_time=parse_instant(body.get("transactionTime")),
        requires_access_token=_flag(body.get("requiresAccessToken", True)),
        output=files("output"),
        error=files("error"),
        deleted=files("deleted") if "deleted" in body else None,
    )


def _flag(value: object) -> bool:
    """A manifest boolean; some servers send ``"true"`` / ``"false"`` as strings."""
    if isinstance(value, str):
        return value.strip().lower() != "false"
    return bool(value)


def delete_job(client: FhirClient, status_url: str) -> bool:
    """Tell the server it may discard the job's files. Returns False if it refused."""
    try:
        client.request(
            "DELETE",
            status_url,
            ok=lambda status: status < 300 or status == 404,
            what="$export delete",
        )
    except FhirServerError:
        return False
    return True


def download_file(client: FhirClient, file: ManifestFile, dest: Path, *, anonymous: bool) -> None:
    """Download one manifest file to ``dest`` (decompressed), retrying truncated transfers.

    Raises:
        FhirServerError: the file could not be fetched completely after the retry budget.
    """
    label = f"download {file.type or 'file'} {describe_url(file.url)}"
    attempts = client.attempts(label)
    for _ in attempts:
        try:
            problem = _download_once(client, file.url, dest, anonymous=anonymous)
        except RETRYABLE_ERRORS as exc:
            attempts.failed(*retry_reason(exc))
            continue
        if problem is None:
            return
        reason, retry_after, retryable = problem
        if not retryable:
            raise FhirServerError(f"{label} failed: {reason}")
        attempts.failed(reason, retry_after)


def _download_once(
    client: FhirClient, url: str, dest: Path, *, anonymous: bool
) -> tuple[str, float | None, bool] | None:
    headers = {"Accept": NDJSON, "Accept-Encoding": "gzip"}
    response = client.stream(url, headers=headers, anonymous=anonymous)
    try:
        if response.status_code != 200:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            retryable = response.status_code in RETRYABLE_STATUS
            return f"HTTP {response.status_code}", retry_after, retryable
        _write_bounded(response, dest, client.budget.limits.max_file_bytes)
        expected = response.headers.get("Content-Length")
        if expected is not None and expected.isdigit():
            if response.num_bytes_downloaded != int(expected):
                return "truncated (Content-Length mismatch)", None, True
    finally:
        response.close()
    if not _last_line_complete(dest):
        return "truncated (incomplete last line)", None, True
    return None


def _write_bounded(response: httpx.Response, dest: Path, max_bytes: int) -> None:
    """Write the (decompressed) body to `dest`; past `max_bytes` remove it and fail the night:
    a gzip-encoded bomb is small on the wire but not on disk."""
    written = 0
    with dest.open("wb") as out:
        for chunk in response.iter_bytes():
            written += len(chunk)
            if written > max_bytes:
                break
            out.write(chunk)
    if written > max_bytes:
        dest.unlink()
        raise DownloadLimitError(
            f"GET {describe_url(response.request.url)}: a file over the limit of {max_bytes} "
            "bytes decompressed (VASCREEN_MAX_FILE_BYTES)"
        )


def _open_lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as probe:
        magic = probe.read(2)
    # Some servers hand out .ndjson.gz files without Content-Encoding; unwrap those too.
    opener = gzip.open if magic == b"\x1f\x8b" else Path.open
    with opener(path, "rb") as handle:
        yield from handle


def _last_line_complete(path: Path) -> bool:
    last = b""
    try:
        for line in _open_lines(path):
            if line.strip():
                last = line
    except (OSError, EOFError):
        return False  # a cut-off gzip stream
    if not last or last.endswith(b"\n"):
        return True
    try:
        orjson.loads(last)
    except orjson.JSONDecodeError:
        return False
    return True


def iter_ndjson(path: Path, label: str) -> Iterator[dict[str, Any]]:
    """Parse a downloaded NDJSON file; a malformed line fails the file (PHI-free message)."""
    for number, line in enumerate(_open_lines(path), start=1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise FhirServerError(f"{label}: line {number} is not valid JSON") from None
        if not isinstance(item, dict) or "resourceType" not in item:
            raise FhirServerError(f"{label}: line {number} is not a FHIR resource")
        yield item


def deleted_ids(bundle: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(type, id) pairs from a ``deleted`` Bundle's DELETE entries."""
    for entry in bundle.get("entry") or []:
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict) or str(request.get("method", "")).upper() != "DELETE":
            continue
        parts = str(request.get("url", "")).split("?")[0].rstrip("/").split("/")
        if len(parts) >= 2:
            yield parts[-2], parts[-1]
