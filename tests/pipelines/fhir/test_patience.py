"""Patience that follows the server (issue 24, item 5), with ``httpx.MockTransport``.

Retry-After (seconds or HTTP date) is honoured up to a ceiling at kick-off and while polling; a
429 at kick-off (Oracle Health: one export at a time) is waited out; a refused ``_since`` turns
the night into a full pull with a warning; the OperationOutcome text shows in the one-line error.
"""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipelines.errors import FhirServerError
from pipelines.fhir import bulk
from pipelines.fhir.client import FhirClient, RetryPolicy
from pipelines.fhir.progress import Progress
from pipelines.fhir.pull import pull_to_directory
from tests.pipelines.fhir.test_faults import (
    BASE,
    PATIENT,
    FakeBulkServer,
    Sleeps,
    body,
    json_response,
    ndjson,
    scripted,
)

SINCE = datetime(2026, 1, 1, tzinfo=UTC)
MANIFEST = {
    "transactionTime": "2026-01-02T00:00:00Z",
    "requiresAccessToken": True,
    "output": [{"type": "Patient", "url": f"{BASE}/files/Patient.ndjson"}],
    "error": [],
}


def outcome(text: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "processing", "diagnostics": text}],
    }


def client_with(handler: Any, sleeps: Sleeps, cap_s: float = 900.0) -> FhirClient:
    policy = RetryPolicy(attempts=4, base_delay_s=0.01, max_delay_s=30, retry_after_cap_s=cap_s)
    return FhirClient(
        BASE, transport=httpx.MockTransport(handler), retry=policy, sleep=sleeps, timeout_s=5
    )


class ScriptedKickOff(FakeBulkServer):
    """FakeBulkServer whose kick-off answers come from a script (the last one repeats)."""

    def __init__(self, *kick_offs: httpx.Response) -> None:
        super().__init__({"Patient.ndjson": body(ndjson(PATIENT))}, MANIFEST)
        self.kick_offs = list(kick_offs)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/fhir/$export" and self.kick_offs:
            answer = self.kick_offs.pop(0) if len(self.kick_offs) > 1 else self.kick_offs[0]
            if answer.status_code != 202:
                self.requests.append(request)
                return answer
        return super().__call__(request)


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [("120", 120.0), ("600", 600.0), ("5000", 900.0)],
    ids=["120s", "600s-not-capped-at-120", "capped-at-ceiling"],
)
def test_polling_waits_as_long_as_the_server_asks_up_to_the_ceiling(
    retry_after: str, expected: float
) -> None:
    handler, seen = scripted(
        json_response(outcome("busy"), 429, **{"Retry-After": retry_after}),
        httpx.Response(202, headers={"Retry-After": retry_after}),
        json_response(MANIFEST),
    )
    sleeps = Sleeps()
    with client_with(handler, sleeps) as client:
        assert bulk.wait_for_manifest(client, f"{BASE}/status/1", Progress(False)) is not None
    # A 429 at poll is a wait, not one of the client's four 30 s retries.
    assert sleeps == [expected, expected] and len(seen) == 3


def test_retry_after_as_an_http_date_is_honoured() -> None:
    when = email.utils.formatdate(time.time() + 90, usegmt=True)
    handler, _ = scripted(
        httpx.Response(202, headers={"Retry-After": when}), json_response(MANIFEST)
    )
    sleeps = Sleeps()
    with client_with(handler, sleeps) as client:
        bulk.wait_for_manifest(client, f"{BASE}/status/1", Progress(False))
    assert len(sleeps) == 1 and 80 <= sleeps[0] <= 90


def test_a_busy_server_at_kick_off_is_waited_for(tmp_path: Path) -> None:
    busy = json_response(outcome("another export is running"), 429, **{"Retry-After": "300"})
    server = ScriptedKickOff(busy, busy, busy, busy, busy, httpx.Response(202))
    sleeps = Sleeps()
    with client_with(server, sleeps) as client:
        report = pull_to_directory(BASE, tmp_path, types=["Patient"], client=client)
    # Five 429s in a row: more than the client's retry budget (4), still no failure.
    assert report.counts == {"Patient": 1}
    assert sleeps[:5] == [300.0] * 5


def test_a_server_busy_past_the_export_timeout_fails_with_one_line(tmp_path: Path) -> None:
    busy = json_response(outcome("another export is running"), 429, **{"Retry-After": "600"})
    server = ScriptedKickOff(busy)
    with (
        client_with(server, Sleeps()) as client,
        pytest.raises(FhirServerError, match="still busy") as caught,
    ):
        pull_to_directory(BASE, tmp_path, types=["Patient"], client=client, export_timeout_s=1800)
    assert "\n" not in str(caught.value)


def test_a_refused_since_becomes_a_full_pull_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    refused = json_response(outcome("The _since parameter is not supported"), 400)
    server = ScriptedKickOff(refused, httpx.Response(202))
    with client_with(server, Sleeps()) as client:
        report = pull_to_directory(
            BASE, tmp_path, types=["Patient"], since=SINCE, client=client, state_dir=tmp_path / "s"
        )
    kick_offs = [r for r in server.requests if r.url.path == "/fhir/$export"]
    assert [("_since" in r.url.params) for r in kick_offs] == [True, False]
    assert report.since_honoured == {"Patient": False}
    assert report.counts == {"Patient": 1}
    assert "refused _since (HTTP 400)" in caplog.text


def test_an_error_file_that_mentions_since_does_not_make_a_delta_full(tmp_path: Path) -> None:
    server = FakeBulkServer(
        {
            "Patient.ndjson": body(
                ndjson({**PATIENT, "meta": {"lastUpdated": "2026-01-03T00:00:00Z"}})
            ),
            "errors.ndjson": body(ndjson(outcome("Observation: _since window was reduced"))),
        },
        {**MANIFEST, "error": [{"type": "OperationOutcome", "url": f"{BASE}/files/errors.ndjson"}]},
    )
    with client_with(server, Sleeps()) as client:
        report = pull_to_directory(BASE, tmp_path, types=["Patient"], since=SINCE, client=client)
    assert report.since_honoured == {"Patient": True}
    assert report.error_count == 1


def test_the_servers_reason_is_in_the_one_line_error_in_our_words(tmp_path: Path) -> None:
    """The issue code and the reasons vascreen knows, never the server's text (it may name a
    patient: `tests/hardening/test_prefect_failure_states.py`)."""
    too_soon = json_response(
        outcome("Bulk export requested too recently for Jane Roe.\nTry later."), 400
    )
    server = ScriptedKickOff(too_soon)
    with (
        client_with(server, Sleeps()) as client,
        pytest.raises(FhirServerError) as caught,
    ):
        pull_to_directory(BASE, tmp_path, types=["Patient"], client=client)
    message = str(caught.value)
    assert message == (
        "$export kick-off (system) failed: HTTP 400 (processing: requested too recently, try later)"
    )
