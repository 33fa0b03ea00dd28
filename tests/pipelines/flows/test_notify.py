"""Night notifications reach a webhook (a loopback HTTP receiver) as counts-only JSON."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from devtools.synth import write_cohort
from pipelines.errors import QuarantineThresholdError, UnreadNotesThresholdError
from pipelines.flows.screen_cohort import screen_cohort
from pipelines.notify import failed_payload, notify_failed, unread_notes_breach
from pipelines.settings import Settings
from pipelines.store import Store

AS_OF = date(2026, 6, 30)


class Receiver:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.raw.append(body)
                receiver.posts.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?token=t0k3n"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    thread = threading.Thread(target=hook.server.serve_forever, daemon=True)
    thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cohort")
    write_cohort(120, 13, out)
    return out


def _patient_ids(cohort: Path) -> list[str]:
    lines = (cohort / "labels.csv").read_text().splitlines()[1:]
    return [line.split(",")[0] for line in lines]


def test_a_published_night_sends_new_urgent_and_safety_counts_without_phi(
    prefect_harness: None,
    cohort: Path,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VASCREEN_NOTIFY_WEBHOOK_URL", receiver.url)
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    result = screen_cohort(source=str(cohort), as_of=AS_OF, store_url=store_url)
    assert len(receiver.posts) == 1
    post = receiver.posts[0]
    with Store.connect(store_url) as store:
        items = store.worklist()
    urgent = items.filter(items["priority"] == "urgent").height
    safety = items.filter(items["alerts"] != "").height
    assert urgent > 0 and safety > 0, "the synthetic cohort plants urgent and safety items"
    assert post == {
        "source": "vascreen",
        "event": "night_published",
        "run_id": result.run_id,
        "as_of": "2026-06-30",
        "new": items.height,
        "new_urgent": urgent,
        "new_safety": safety,
        "open": items.height,
        "quarantined": 0,
        "breaches": [],
    }
    body = receiver.raw[0].decode()
    assert not [pid for pid in _patient_ids(cohort) if pid in body]


def test_a_quarantine_breach_fails_the_night_and_says_so(
    prefect_harness: None,
    cohort: Path,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = tmp_path / "source"
    shutil.copytree(cohort, source)
    with (source / "Observation.ndjson").open("a") as handle:
        handle.write("".join('{"resourceType": "Observation", "id": 7\n' for _ in range(50)))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VASCREEN_NOTIFY_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("VASCREEN_MAX_QUARANTINE_RATIO", "0.0")
    with pytest.raises(QuarantineThresholdError):
        screen_cohort(source=str(source), as_of=AS_OF, store_url=f"sqlite:///{tmp_path / 's.db'}")
    assert receiver.posts == [
        {
            "source": "vascreen",
            "event": "night_failed",
            "as_of": "2026-06-30",
            "error": "QuarantineThresholdError",
            "exit_code": 7,
            "breaches": [{"kind": "quarantine"}],
        }
    ]


def test_a_failed_night_names_its_breach_kind() -> None:
    """The unread-notes threshold error is a quarantine error by class, but says what it is."""
    unread = failed_payload(UnreadNotesThresholdError("notes: 3 of 20 unread"), AS_OF)
    quarantine = failed_payload(QuarantineThresholdError("quarantined 9 of 10"), AS_OF)
    other = failed_payload(RuntimeError("boom"), None)
    assert (unread["breaches"], unread["exit_code"]) == ([{"kind": "unread_notes"}], 7)
    assert (quarantine["breaches"], quarantine["exit_code"]) == ([{"kind": "quarantine"}], 7)
    assert (other["breaches"], other["as_of"]) == ([], None)


def test_an_unread_notes_share_above_the_threshold_is_a_breach() -> None:
    assert unread_notes_breach({"notes": 90, "notes_unavailable": 10}, 0.05) == {
        "kind": "unread_notes",
        "unread": 10,
        "notes": 100,
        "ratio": 0.1,
        "threshold": 0.05,
    }
    assert unread_notes_breach({"notes": 99, "notes_unavailable": 1}, 0.05) is None
    assert unread_notes_breach({"notes": 0, "notes_unavailable": 0}, 0.05) is None


def test_a_webhook_that_is_down_never_fails_the_caller(
    caplog: pytest.LogCaptureFixture, receiver: Receiver
) -> None:
    url = receiver.url
    receiver.server.shutdown()
    receiver.server.server_close()
    settings = Settings(notify_webhook_url=url)
    assert notify_failed(settings, RuntimeError("x"), AS_OF) is False
    assert "not delivered: ConnectError" in caplog.text and "t0k3n" not in caplog.text


def test_no_webhook_no_request(receiver: Receiver) -> None:
    assert notify_failed(Settings(notify_webhook_url=None), RuntimeError("x"), None) is False
    assert receiver.posts == []


def test_the_documented_prefect_automations_are_valid_and_carry_no_patient_fields() -> None:
    import uuid

    import yaml
    from prefect.events.schemas.automations import AutomationCore

    text = (Path(__file__).resolve().parents[3] / "docs" / "prefect-automation.yaml").read_text()
    data = yaml.safe_load(text.replace("WEBHOOK_BLOCK_ID", str(uuid.uuid4())))
    automations = [AutomationCore.model_validate(a) for a in data["automations"]]
    assert [a.name for a in automations] == ["vascreen night failed", "vascreen no night completed"]
    payloads = " ".join(a.actions[0].payload for a in automations)  # type: ignore[union-attr]
    assert "patient" not in payloads.lower() and "parameters" not in payloads
