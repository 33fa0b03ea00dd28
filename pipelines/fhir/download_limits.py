"""Bound what the FHIR server can send: total bytes per night, and a minimum rate per body.

httpx's timeouts bound each wait for a byte (connect, read), but not a body: a server sending
one byte every few seconds never trips the read timeout and holds the night forever, and an
endless stream fills the disk. Every response body the client reads (export files, search
pages, Binary notes; streamed or not) passes through `BoundedBody`, installed by a response
hook: it counts the bytes off the wire against the night's budget, fails a body that
delivers fewer than `min_bytes_per_s` over any `stall_window_s`, and one read into memory
(anything but `FhirClient.stream`'s export files, which go to disk) past `max_body_bytes`. A
breach is one line (`DownloadLimitError`, exit 4) and is not retried; a Binary note over
`max_body_bytes` is counted too large instead (`pipelines.fhir.attachments`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from pipelines.errors import FhirServerError

if TYPE_CHECKING:
    from pipelines.settings import Settings

# Request extension `FhirClient.stream` sets: the body goes to a file, not to memory.
TO_DISK = "vascreen_to_disk"


class DownloadLimitError(FhirServerError):
    """The server sent more than the night's budget, or too slowly."""


class BodyTooLargeError(DownloadLimitError):
    """A response read into memory passed `max_body_bytes`."""

    def __init__(self, message: str, size_at_least: int) -> None:
        super().__init__(message)
        self.size_at_least = size_at_least


@dataclass(frozen=True, slots=True)
class DownloadLimits:
    max_total_bytes: int = 256 << 30
    connect_timeout_s: float = 30.0
    read_timeout_s: float = 60.0
    stall_window_s: float = 300.0
    min_bytes_per_s: float = 1024.0
    max_body_bytes: int = 128 << 20
    max_file_bytes: int = 64 << 30  # an export file, decompressed (`bulk.download_file`)
    max_attachment_bytes: int = 5 << 20  # a note's Binary (`pipelines.fhir.attachments`)

    def timeout(self, other_s: float) -> httpx.Timeout:
        """httpx timeouts: connect and read from the limits, write and pool `other_s`."""
        return httpx.Timeout(other_s, connect=self.connect_timeout_s, read=self.read_timeout_s)


def limits_from_settings(settings: Settings) -> DownloadLimits:
    return DownloadLimits(
        max_total_bytes=settings.fhir_max_download_bytes,
        connect_timeout_s=settings.fhir_connect_timeout_s,
        read_timeout_s=settings.fhir_read_timeout_s,
        stall_window_s=settings.fhir_stall_window_s,
        min_bytes_per_s=settings.fhir_min_bytes_per_s,
        max_body_bytes=settings.fhir_max_body_bytes,
        max_file_bytes=settings.max_file_bytes,
        max_attachment_bytes=settings.fhir_max_attachment_bytes,
    )


class ByteBudget:
    """The bytes one client (one night's pull) has read; `hook` is its response event hook."""

    def __init__(self, limits: DownloadLimits, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self.used = 0
        self.clock = clock

    def hook(self, response: httpx.Response) -> None:
        if isinstance(response.stream, httpx.SyncByteStream):
            path = response.request.url.path or "/"
            to_disk = bool(response.request.extensions.get(TO_DISK))
            response.stream = BoundedBody(response.stream, self, path, to_disk=to_disk)


class BoundedBody(httpx.SyncByteStream):
    def __init__(
        self, inner: httpx.SyncByteStream, budget: ByteBudget, path: str, *, to_disk: bool
    ) -> None:
        self.inner = inner
        self.budget = budget
        self.path = path
        self.to_disk = to_disk

    def __iter__(self) -> Iterator[bytes]:
        limits = self.budget.limits
        window_start = self.budget.clock()
        window_bytes = 0
        body = 0
        for chunk in self.inner:
            body += len(chunk)
            if not self.to_disk and body > limits.max_body_bytes:
                raise BodyTooLargeError(
                    f"GET {self.path}: a response over the limit of {limits.max_body_bytes} "
                    "bytes (VASCREEN_FHIR_MAX_BODY_BYTES)",
                    body,
                )
            self.budget.used += len(chunk)
            if self.budget.used > limits.max_total_bytes:
                raise DownloadLimitError(
                    f"GET {self.path}: the night's downloads passed the limit of "
                    f"{limits.max_total_bytes} bytes (VASCREEN_FHIR_MAX_DOWNLOAD_BYTES)"
                )
            window_bytes += len(chunk)
            elapsed = self.budget.clock() - window_start
            if elapsed >= limits.stall_window_s:
                if window_bytes < limits.min_bytes_per_s * elapsed:
                    raise DownloadLimitError(
                        f"GET {self.path}: stalled, {window_bytes} bytes in {elapsed:.0f}s "
                        f"(under VASCREEN_FHIR_MIN_BYTES_PER_S={limits.min_bytes_per_s:g} over "
                        f"VASCREEN_FHIR_STALL_WINDOW_S={limits.stall_window_s:g})"
                    )
                window_start, window_bytes = self.budget.clock(), 0
            yield chunk

    def close(self) -> None:
        self.inner.close()
