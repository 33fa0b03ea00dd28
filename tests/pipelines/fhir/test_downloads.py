"""Downloads as the Bulk Data spec allows (issue 24, item 2), with ``httpx.MockTransport``.

Oracle Health serves export files through a 307 to pre-signed cloud storage that refuses a request
carrying a bearer token; the token goes only to the FHIR server's own origin, and only where the
manifest's ``requiresAccessToken`` asks for it. The status URL may live on another host too.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pipelines.errors import FhirServerError
from pipelines.fhir import bulk
from pipelines.fhir.attachments import AttachmentStats, binary_accept, inline_attachments
from pipelines.fhir.auth import BearerTokenAuth
from pipelines.fhir.client import FhirClient, RetryPolicy
from pipelines.fhir.progress import Progress
from tests.pipelines.fhir.test_faults import BASE, PATIENT, Sleeps, body, json_response, ndjson

STORAGE = "http://storage.test/bucket/Patient.ndjson?X-Amz-Signature=abc"


def authed_client(handler: httpx.MockTransport) -> FhirClient:
    return FhirClient(
        BASE,
        auth=BearerTokenAuth("secret-token"),
        transport=handler,
        retry=RetryPolicy(attempts=2, base_delay_s=0.01),
        sleep=Sleeps(),
        timeout_s=5,
    )


class Recorder:
    """Oracle-style file host: the FHIR server redirects, the storage refuses any token."""

    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if request.url.host == "storage.test":
            if "Authorization" in request.headers:
                return json_response({"error": "only one auth mechanism allowed"}, 400)
            return body(ndjson(PATIENT))
        if request.url.path.endswith("/files/Patient.ndjson"):
            return httpx.Response(307, headers={"Location": STORAGE})
        return json_response({}, 404)

    def token_sent(self, host: str) -> list[bool]:
        return ["Authorization" in r.headers for r in self.seen if r.url.host == host]


def test_a_redirect_to_storage_is_followed_without_the_token(tmp_path: Path) -> None:
    server = Recorder()
    file = bulk.ManifestFile("Patient", f"{BASE}/files/Patient.ndjson")
    with authed_client(httpx.MockTransport(server)) as client:
        bulk.download_file(client, file, tmp_path / "f", anonymous=False)
    assert [r["id"] for r in bulk.iter_ndjson(tmp_path / "f", "Patient")] == ["p1"]
    assert server.token_sent("fhir.test") == [True]
    assert server.token_sent("storage.test") == [False]


def test_no_token_when_the_manifest_says_files_need_none(tmp_path: Path) -> None:
    server = Recorder()
    file = bulk.ManifestFile("Patient", f"{BASE}/files/Patient.ndjson")
    with authed_client(httpx.MockTransport(server)) as client:
        bulk.download_file(client, file, tmp_path / "f", anonymous=True)
    assert server.token_sent("fhir.test") == [False]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("true", True), ("false", False)],
    ids=["true", "false", "string-true", "string-false"],
)
def test_requires_access_token_is_read_as_a_boolean_or_a_string(
    value: object, expected: bool
) -> None:
    response = httpx.Response(200, json={"requiresAccessToken": value, "output": []})
    assert bulk.parse_manifest(response).requires_access_token is expected


def test_a_status_url_on_another_host_gets_no_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response({"transactionTime": "2026-01-01T00:00:00Z", "output": []})

    with authed_client(httpx.MockTransport(handler)) as client:
        manifest = bulk.wait_for_manifest(client, "http://jobs.test/status/1", Progress(False))
    assert manifest is not None and manifest.output == ()
    assert len(seen) == 1 and "Authorization" not in seen[0].headers


def test_endless_redirects_fail_with_one_line(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": f"{BASE}/files/again"})

    file = bulk.ManifestFile("Patient", f"{BASE}/files/Patient.ndjson")
    with (
        authed_client(httpx.MockTransport(handler)) as client,
        pytest.raises(FhirServerError, match="redirects"),
    ):
        bulk.download_file(client, file, tmp_path / "f", anonymous=False)


def test_binary_is_asked_for_in_the_notes_own_type_first() -> None:
    accepted: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        accepted.append(request.headers["Accept"])
        return httpx.Response(200, headers={"Content-Type": "text/rtf"}, content=b"{\\rtf1 hi}")

    note = {
        "resourceType": "DocumentReference",
        "id": "d1",
        "content": [{"attachment": {"contentType": "text/rtf", "url": "Binary/b1"}}],
    }
    stats = AttachmentStats()
    with authed_client(httpx.MockTransport(handler)) as client:
        inline_attachments(note, client, stats)
    assert stats.inlined == 1
    assert accepted == [binary_accept("text/rtf")]
    assert accepted[0].startswith("text/rtf, application/fhir+json")
    assert binary_accept(None).startswith("application/fhir+json")
