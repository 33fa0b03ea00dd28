"""Fault injection with httpx.MockTransport: retries, Retry-After, truncation, failed types."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from pipelines.errors import FhirServerError
from pipelines.fhir import bulk
from pipelines.fhir.client import FhirClient, RetryPolicy
from pipelines.fhir.landing import QUARANTINE_DIR, QUARANTINE_FILE
from pipelines.fhir.progress import Progress
from pipelines.fhir.pull import pull_to_directory
from tests.pipelines.fhir.landing_helpers import read_landing

BASE = "http://fhir.test/fhir"
Handler = Callable[[httpx.Request], httpx.Response]


def ndjson(*resources: dict[str, Any]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in resources)


def body(data: bytes, status: int = 200, **headers: str) -> httpx.Response:
    # A stream (not content=) so httpx counts the raw bytes like it does on a socket.
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(data))


def json_response(payload: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, json=payload)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(handler: Handler, sleeps: Sleeps, attempts: int = 3) -> FhirClient:
    return FhirClient(
        BASE,
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=attempts, base_delay_s=0.01, max_delay_s=60),
        sleep=sleeps,
        timeout_s=5,
    )


def scripted(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen


PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "meta": {"lastUpdated": "2026-01-02T00:00:00.000Z"},
}


def test_429_is_retried_after_the_servers_retry_after() -> None:
    handler, seen = scripted(json_response({}, 429, **{"Retry-After": "7"}), json_response(PATIENT))
    sleeps = Sleeps()
    with make_client(handler, sleeps) as client:
        assert client.get_json("Patient/p1")["id"] == "p1"
    assert sleeps == [7.0] and len(seen) == 2


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadError("connection reset by peer"),
        httpx.ReadTimeout("timed out"),
        json_response({}, 502),
    ],
    ids=["reset", "timeout", "502"],
)
def test_transient_failures_are_retried_with_backoff(failure: httpx.Response | Exception) -> None:
    handler, seen = scripted(failure, failure, json_response(PATIENT))
    sleeps = Sleeps()
    with make_client(handler, sleeps) as client:
        assert client.get_json("Patient/p1")["id"] == "p1"
    assert len(seen) == 3 and len(sleeps) == 2 and sleeps[1] > sleeps[0]


def test_exhausted_retries_raise_a_one_line_phi_free_error() -> None:
    handler, seen = scripted(json_response({"issue": [{"diagnostics": "Jane Doe"}]}, 503))
    with make_client(handler, Sleeps()) as client, pytest.raises(FhirServerError) as caught:
        client.get_json("Observation", params={"patient": "secret-name"})
    message = str(caught.value)
    assert message == "GET /fhir/Observation failed after 3 attempts: HTTP 503"
    assert len(seen) == 3


def test_client_errors_are_not_retried() -> None:
    handler, seen = scripted(json_response({}, 404))
    with make_client(handler, Sleeps()) as client, pytest.raises(FhirServerError, match="HTTP 404"):
        client.get_json("Patient/nope")
    assert len(seen) == 1


@pytest.mark.parametrize(
    "broken",
    [
        body(ndjson(PATIENT), **{"Content-Length": "999"}),
        body(ndjson(PATIENT) + b'{"resourceType":"Pat'),
        body(gzip.compress(ndjson(PATIENT))[:-6]),
    ],
    ids=["content-length-mismatch", "incomplete-last-line", "cut-gzip"],
)
def test_truncated_download_is_detected_and_retried(tmp_path: Path, broken: httpx.Response) -> None:
    handler, seen = scripted(broken, body(ndjson(PATIENT, {**PATIENT, "id": "p2"})))
    file = bulk.ManifestFile("Patient", f"{BASE}/files/Patient.ndjson")
    with make_client(handler, Sleeps()) as client:
        bulk.download_file(client, file, tmp_path / "f", anonymous=False)
    assert len(seen) == 2
    assert [r["id"] for r in bulk.iter_ndjson(tmp_path / "f", "Patient")] == ["p1", "p2"]


def test_persistently_truncated_download_fails(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return body(ndjson(PATIENT), **{"Content-Length": "999"})

    file = bulk.ManifestFile("Patient", f"{BASE}/files/Patient.ndjson?token=abc")
    with make_client(handler, Sleeps()) as client, pytest.raises(FhirServerError) as caught:
        bulk.download_file(client, file, tmp_path / "f", anonymous=False)
    assert "truncated" in str(caught.value) and "token=abc" not in str(caught.value)


def test_status_polling_honours_retry_after_and_reports_progress() -> None:
    manifest = {"transactionTime": "2026-01-02T00:00:00Z", "output": [], "error": []}
    handler, _ = scripted(
        httpx.Response(202, headers={"Retry-After": "3", "X-Progress": "40% done"}),
        httpx.Response(202, headers={"X-Progress": "90% done"}),
        json_response(manifest),
    )
    sleeps, stream = Sleeps(), io.StringIO()
    with make_client(handler, sleeps) as client:
        result = bulk.wait_for_manifest(client, f"{BASE}/status/1", Progress(True, stream))
    assert result is not None and result.output == ()
    assert sleeps == [3.0, bulk.DEFAULT_POLL_S * 1.5]
    assert "40% done" in stream.getvalue() and "90% done" in stream.getvalue()


def test_status_polling_gives_up_after_its_timeout() -> None:
    handler, _ = scripted(httpx.Response(202, headers={"Retry-After": "10"}))
    with (
        make_client(handler, Sleeps()) as client,
        pytest.raises(FhirServerError, match="did not complete"),
    ):
        bulk.wait_for_manifest(client, f"{BASE}/status/1", Progress(False), timeout_s=30)


class FakeBulkServer:
    """Just enough of a Bulk Data server: capability, kick-off, status, files, DELETE."""

    def __init__(self, files: dict[str, httpx.Response], manifest: dict[str, Any]) -> None:
        self.files = files
        self.manifest = manifest
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/fhir/metadata":
            return json_response(
                {
                    "resourceType": "CapabilityStatement",
                    "rest": [{"operation": [{"name": "export"}]}],
                }
            )
        if path == "/fhir/$export":
            assert request.headers["Prefer"] == "respond-async"
            return httpx.Response(202, headers={"Content-Location": f"{BASE}/status/job1"})
        if path == "/fhir/status/job1":
            if request.method == "DELETE":
                return httpx.Response(202)
            return json_response(self.manifest)
        name = path.rsplit("/", 1)[-1]
        return self.files.pop(name) if name in self.files else body(b"", 404)


def test_bulk_pull_quarantines_errors_records_deletions_and_reads_gzip(tmp_path: Path) -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "processing"}],
    }
    deleted = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"request": {"method": "DELETE", "url": "Condition/c9"}}],
    }
    server = FakeBulkServer(
        files={
            "Patient.ndjson": body(gzip.compress(ndjson(PATIENT)), **{"Content-Encoding": "gzip"}),
            "errors.ndjson": body(ndjson(outcome)),
            "deleted.ndjson": body(ndjson(deleted)),
        },
        manifest={
            "transactionTime": "2026-01-02T00:00:00Z",
            "requiresAccessToken": True,
            "output": [{"type": "Patient", "url": f"{BASE}/files/Patient.ndjson"}],
            "error": [{"type": "OperationOutcome", "url": f"{BASE}/files/errors.ndjson"}],
            "deleted": [{"type": "Bundle", "url": f"{BASE}/files/deleted.ndjson"}],
        },
    )
    with make_client(server, Sleeps()) as client:
        report = pull_to_directory(
            BASE,
            tmp_path,
            types=["Patient", "Condition"],
            client=client,
            state_dir=tmp_path / "state",
        )

    assert report.mode == "bulk" and report.counts == {"Patient": 1, "Condition": 0}
    assert report.error_count == 1
    assert report.error_file == tmp_path / QUARANTINE_DIR / QUARANTINE_FILE
    assert orjson.loads(report.error_file.read_bytes()) == outcome
    assert report.deleted == {"Patient": (), "Condition": ("c9",)}
    assert server.requests[-1].method == "DELETE"
    assert "gzip" in server.requests[3].headers["Accept-Encoding"]


def test_a_type_that_cannot_be_pulled_fails_and_publishes_nothing(tmp_path: Path) -> None:
    capability = {
        "resourceType": "CapabilityStatement",
        "rest": [{"resource": [{"type": "Patient"}, {"type": "Observation"}]}],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/metadata"):
            return json_response(capability)
        if request.url.path.endswith("/Observation"):
            return json_response({}, 500)
        return json_response(
            {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": PATIENT}]}
        )

    with (
        make_client(handler, Sleeps()) as client,
        pytest.raises(FhirServerError, match="Observation"),
    ):
        pull_to_directory(BASE, tmp_path, types=["Patient", "Observation"], client=client)

    assert list(tmp_path.iterdir()) == []


def test_observation_search_falls_back_to_patient_and_category_crawl(tmp_path: Path) -> None:
    obs = {"resourceType": "Observation", "id": "o1", "subject": {"reference": "Patient/p1"}}
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if request.url.path.endswith("/metadata"):
            return json_response({"resourceType": "CapabilityStatement", "rest": [{}]})
        if request.url.path.endswith("/Patient"):
            return json_response({"resourceType": "Bundle", "entry": [{"resource": PATIENT}]})
        # US Core style: Observation needs both patient and category.
        if "patient" not in params or "category" not in params:
            return json_response({"resourceType": "OperationOutcome"}, 400)
        asked.append(params["category"])
        hit = params["category"] == "laboratory"
        return json_response(
            {"resourceType": "Bundle", "entry": [{"resource": obs}] if hit else []}
        )

    with make_client(handler, Sleeps()) as client:
        report = pull_to_directory(
            BASE, tmp_path, mode="search", types=["Patient", "Observation"], client=client
        )

    assert report.counts == {"Patient": 1, "Observation": 1}
    assert "laboratory" in asked and "vital-signs" in asked
    assert set(read_landing(tmp_path)) == {("Patient", "p1"), ("Observation", "o1")}


def test_server_ignoring_since_is_reported_as_not_honoured(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    capability = {
        "resourceType": "CapabilityStatement",
        "rest": [{"resource": [{"type": "Patient", "searchParam": [{"name": "_lastUpdated"}]}]}],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/metadata"):
            return json_response(capability)
        if request.url.path.endswith("/_history"):
            return json_response({"resourceType": "Bundle", "type": "history"})
        return json_response({"resourceType": "Bundle", "entry": [{"resource": PATIENT}]})

    with make_client(handler, Sleeps()) as client:
        report = pull_to_directory(
            BASE,
            tmp_path,
            mode="search",
            types=["Patient"],
            since=datetime(2026, 6, 1, tzinfo=UTC),
            client=client,
        )

    assert report.since_honoured == {"Patient": False}
    assert report.counts == {"Patient": 1}


def test_next_link_to_another_origin_is_refused() -> None:
    page = {
        "resourceType": "Bundle",
        "link": [{"relation": "next", "url": "http://evil.test/fhir/Patient?page=2"}],
    }
    handler, _ = scripted(json_response(page))
    with make_client(handler, Sleeps()) as client, pytest.raises(FhirServerError, match="outside"):
        list(client.iter_pages("Patient"))
