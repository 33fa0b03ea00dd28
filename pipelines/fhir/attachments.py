"""Inline note attachments given by ``url`` so the landed files carry their own text.

DocumentReference.content[].attachment and DiagnosticReport.presentedForm[] may point at a Binary
(``Binary/123`` or an absolute URL on the same server) instead of carrying ``data``. The pull
fetches those and adds base64 ``data`` (the ``url`` stays), so the file ingest decodes notes
without network access. Oversized, foreign-origin or failing attachments are counted, never
raised: a missing note is ``note_unavailable`` downstream, counted by reason in the run summary
(an oversized one keeps its ``size``, so it counts as too large, not as a failed fetch).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from pipelines.errors import FhirServerError
from pipelines.fhir.client import FhirClient
from pipelines.fhir.download_limits import BodyTooLargeError, DownloadLimitError

NOTE_TYPES = frozenset({"DocumentReference", "DiagnosticReport"})
FHIR_MEDIA = frozenset({"application/fhir+json", "application/json"})


@dataclass(slots=True)
class AttachmentStats:
    inlined: int = 0
    failed: int = 0
    too_large: int = 0


def iter_attachments(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    rtype = resource.get("resourceType")
    if rtype == "DocumentReference":
        for content in resource.get("content") or []:
            attachment = content.get("attachment") if isinstance(content, dict) else None
            if isinstance(attachment, dict):
                yield attachment
    elif rtype == "DiagnosticReport":
        for attachment in resource.get("presentedForm") or []:
            if isinstance(attachment, dict):
                yield attachment


def inline_attachments(
    resource: dict[str, Any],
    client: FhirClient,
    stats: AttachmentStats,
    *,
    max_bytes: int | None = None,
) -> dict[str, Any]:
    """Add ``data`` to url-only attachments of a note resource (mutates and returns it).

    An attachment over `max_bytes` (default: the client's `max_attachment_bytes`,
    VASCREEN_FHIR_MAX_ATTACHMENT_BYTES) is left out and counted too large.
    """
    if resource.get("resourceType") not in NOTE_TYPES:
        return resource
    if max_bytes is None:
        max_bytes = client.budget.limits.max_attachment_bytes
    for attachment in iter_attachments(resource):
        url = attachment.get("url")
        if attachment.get("data") or not isinstance(url, str) or not url:
            continue
        declared = attachment.get("size")
        if isinstance(declared, int) and declared > max_bytes:
            stats.too_large += 1
            continue
        media = attachment.get("contentType")
        fetched = _fetch(client, url, media if isinstance(media, str) else None, max_bytes, stats)
        if isinstance(fetched, int):  # too large: its size tells the note decoder why
            attachment["size"] = fetched
            continue
        if fetched is None:
            continue
        data, content_type = fetched
        attachment["data"] = data
        if content_type and not attachment.get("contentType"):
            attachment["contentType"] = content_type
        stats.inlined += 1
    return resource


def binary_accept(content_type: str | None) -> str:
    """Accept header for a Binary read: the note's own type first, the Binary resource second.

    A Binary read answers in the requested form; asking only for ``application/fhir+json`` gets a
    406 from servers that return documents in their native form alone.
    """
    if content_type and content_type.split(";")[0].strip().lower() not in FHIR_MEDIA:
        return f"{content_type}, application/fhir+json;q=0.9, */*;q=0.1"
    return "application/fhir+json, */*;q=0.1"


def _fetch(
    client: FhirClient,
    url: str,
    content_type: str | None,
    max_bytes: int,
    stats: AttachmentStats,
) -> tuple[str, str | None] | int | None:
    """(base64 data, content type); the size in bytes of one over `max_bytes`; None on failure."""
    if url.startswith(("urn:", "#", "data:")):
        stats.failed += 1
        return None
    absolute = client.url_for(url)
    if not client.is_same_origin(absolute):
        # Credentials are only sent to the FHIR server itself.
        stats.failed += 1
        return None
    try:
        response = client.request(
            "GET", absolute, headers={"Accept": binary_accept(content_type)}, what="GET attachment"
        )
    except BodyTooLargeError as exc:
        stats.too_large += 1
        return exc.size_at_least
    except DownloadLimitError:
        raise  # the night's budget or a stall: not this note's fault alone
    except FhirServerError:
        stats.failed += 1
        return None
    return _decode(response, max_bytes, stats)


def _decode(
    response: httpx.Response, max_bytes: int, stats: AttachmentStats
) -> tuple[str, str | None] | int | None:
    media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if media in FHIR_MEDIA:
        try:
            body = response.json()
        except ValueError:
            stats.failed += 1
            return None
        if not isinstance(body, dict) or body.get("resourceType") != "Binary":
            stats.failed += 1
            return None
        data = body.get("data")
        if not isinstance(data, str) or not data:
            stats.failed += 1
            return None
        # base64 expands by 4/3; compare the decoded size to the limit.
        if len(data) * 3 // 4 > max_bytes:
            stats.too_large += 1
            return len(data) * 3 // 4
        ctype = body.get("contentType")
        return data, ctype if isinstance(ctype, str) else None
    raw = response.content
    if len(raw) > max_bytes:
        stats.too_large += 1
        return len(raw)
    return base64.b64encode(raw).decode("ascii"), media or None
