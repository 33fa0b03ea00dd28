"""A FHIR server cannot hold the night or fill the disk: each download limit ends it in one line
with exit 4 (`pipelines.fhir.download_limits`).

A loopback http.server in a thread plays the server: one that trickles a byte every 50 ms
forever, one that streams without end, and one that sends files larger than the night's budget;
a listener whose backlog is full plays one that never accepts (the connect timeout).
Limits are set small in each test so the tests stay fast. Each breach counts in the hardening
tally (`tests.hardening.tally`): a stalled or silent server as a fault injected, an endless or
oversized body as a bad input tried.
"""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest

from pipelines.errors import ExitCode, ScreeningError
from pipelines.fhir import bulk
from pipelines.fhir.attachments import AttachmentStats, inline_attachments
from pipelines.fhir.client import FhirClient, RetryPolicy
from pipelines.fhir.download_limits import DownloadLimitError, DownloadLimits
from pipelines.night import run_night
from tests.hardening.tally import tally
from tests.pipelines.engine_spy import mirror_settings
from tests.pipelines.test_intake_memory import CHILD, PEAK_LIMIT_BYTES

CAPABILITY = orjson.dumps(
    {
        "resourceType": "CapabilityStatement",
        "fhirVersion": "4.0.1",
        "rest": [{"mode": "server", "resource": [{"type": "Patient"}]}],
    }
)
FILE_BYTES = 200_000


class _Faulty(BaseHTTPRequestHandler):
    """/metadata answers; /trickle sends a byte every 50 ms, /endless 64 KiB blocks without end,
    /file a {FILE_BYTES}-byte NDJSON file, /bomb a gzip-encoded 64 MiB body, /silent nothing;
    any other path trickles. Under /endless/ (a base of its own) every search is endless."""

    stop = threading.Event()

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path.endswith("/silent"):
            self.stop.wait(30)  # accepts, then says nothing: the read timeout's case
            return
        self.send_response(200)
        ndjson = path.endswith("/file")
        self.send_header("Content-Type", f"application/fhir+{'ndjson' if ndjson else 'json'}")
        if path.endswith("/metadata"):
            self.send_header("Content-Length", str(len(CAPABILITY)))
            self.end_headers()
            self.wfile.write(CAPABILITY)
            return
        if path.endswith("/bomb"):  # 64 MiB of newlines, gzip-encoded: 64 KiB on the wire
            data = gzip.compress(b"\n" * (64 << 20), compresslevel=9)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if path.endswith("/file"):
            line = b'{"resourceType":"Patient","id":"p"}\n'
            data = line * (FILE_BYTES // len(line))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_header("Connection", "close")
        self.end_headers()
        block = b" " * (1 << 16) if "/endless" in path else b" "
        try:
            while not self.stop.is_set():
                self.wfile.write(block)
                self.wfile.flush()
                if len(block) == 1:
                    self.stop.wait(0.05)
        except OSError:
            pass  # the client gave up: what the test wants

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def faulty() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Faulty)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/fhir"
    finally:
        _Faulty.stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def _client(base: str, limits: DownloadLimits) -> FhirClient:
    return FhirClient(base, retry=RetryPolicy(attempts=2, base_delay_s=0.01), limits=limits)


def _one_line(error: ScreeningError) -> str:
    assert error.exit_code == ExitCode.FHIR_SERVER
    message = str(error)
    assert "\n" not in message
    return message


def test_a_trickling_body_fails_once_under_the_minimum_rate(faulty: str) -> None:
    tally("faults injected")
    limits = DownloadLimits(stall_window_s=0.5, min_bytes_per_s=1000, read_timeout_s=5)
    with _client(faulty, limits) as client, pytest.raises(DownloadLimitError) as caught:
        client.get_json("trickle")
    message = _one_line(caught.value)
    assert message.startswith("GET /fhir/trickle: stalled, ")
    assert "VASCREEN_FHIR_MIN_BYTES_PER_S=1000" in message


def test_a_trickling_export_file_is_not_retried(faulty: str, tmp_path: Path) -> None:
    tally("faults injected")
    limits = DownloadLimits(stall_window_s=0.5, min_bytes_per_s=1000, read_timeout_s=5)
    file = bulk.ManifestFile("Patient", f"{faulty}/trickle")
    with _client(faulty, limits) as client, pytest.raises(DownloadLimitError) as caught:
        bulk.download_file(client, file, tmp_path / "Patient.ndjson", anonymous=False)
    assert "stalled" in _one_line(caught.value)


def test_an_endless_stream_stops_at_the_nights_budget(faulty: str, tmp_path: Path) -> None:
    tally("bad inputs tried")
    limits = DownloadLimits(max_total_bytes=4 << 20)
    file = bulk.ManifestFile("Patient", f"{faulty}/endless")
    dest = tmp_path / "Patient.ndjson"
    with _client(faulty, limits) as client, pytest.raises(DownloadLimitError) as caught:
        bulk.download_file(client, file, dest, anonymous=False)
    assert _one_line(caught.value) == (
        "GET /fhir/endless: the night's downloads passed the limit of 4194304 bytes "
        "(VASCREEN_FHIR_MAX_DOWNLOAD_BYTES)"
    )
    assert client.budget.used <= (4 << 20) + (1 << 20)  # stopped within a chunk or so
    assert dest.stat().st_size <= 4 << 20


def test_files_over_the_total_fail_on_the_file_that_passes_it(faulty: str, tmp_path: Path) -> None:
    tally("bad inputs tried")
    limits = DownloadLimits(max_total_bytes=int(FILE_BYTES * 2.5))
    file = bulk.ManifestFile("Patient", f"{faulty}/file")
    with _client(faulty, limits) as client:
        bulk.download_file(client, file, tmp_path / "1.ndjson", anonymous=False)
        bulk.download_file(client, file, tmp_path / "2.ndjson", anonymous=False)
        with pytest.raises(DownloadLimitError) as caught:
            bulk.download_file(client, file, tmp_path / "3.ndjson", anonymous=False)
    assert "VASCREEN_FHIR_MAX_DOWNLOAD_BYTES" in _one_line(caught.value)


def test_a_slow_server_fails_the_night_with_exit_4(faulty: str, tmp_path: Path) -> None:
    tally("faults injected")
    settings = mirror_settings(tmp_path / "work").model_copy(
        update={"fhir_stall_window_s": 0.5, "fhir_min_bytes_per_s": 1000.0}
    )
    with pytest.raises(ScreeningError) as caught:
        run_night(faulty, settings=settings, as_of=date(2026, 6, 30), mode="search")
    assert "stalled" in _one_line(caught.value)


def test_a_silent_server_times_out_and_fails_after_retries(faulty: str) -> None:
    tally("faults injected")
    limits = DownloadLimits(read_timeout_s=0.3)
    with _client(faulty, limits) as client, pytest.raises(ScreeningError) as caught:
        client.get_json("silent")
    assert "ReadTimeout" in _one_line(caught.value)


def test_a_server_that_never_accepts_times_out_on_connect() -> None:
    """A listener whose backlog is full: the kernel drops further SYNs, so connect hangs."""
    tally("faults injected")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    queued = [socket.socket() for _ in range(4)]
    try:
        for waiting in queued:
            waiting.setblocking(False)
            waiting.connect_ex(("127.0.0.1", port))
        limits = DownloadLimits(connect_timeout_s=0.3)
        with (
            _client(f"http://127.0.0.1:{port}/fhir", limits) as client,
            pytest.raises(ScreeningError) as caught,
        ):
            client.get_json("metadata")
    finally:
        for sock in (*queued, listener):
            sock.close()
    assert "ConnectTimeout" in _one_line(caught.value)


def test_the_settings_reach_the_clients_timeouts() -> None:
    from pipelines.fhir.pull import options_from_settings
    from pipelines.settings import Settings

    settings = Settings(fhir_connect_timeout_s=7.0, fhir_read_timeout_s=11.0)
    limits = options_from_settings(settings)["limits"]
    with FhirClient("http://127.0.0.1:9/fhir", limits=limits) as client:
        timeout = client._http.timeout
    assert (timeout.connect, timeout.read) == (7.0, 11.0)


def test_a_body_read_into_memory_stops_at_its_limit(faulty: str) -> None:
    tally("bad inputs tried")
    limits = DownloadLimits(max_body_bytes=1 << 20)
    with _client(faulty, limits) as client, pytest.raises(DownloadLimitError) as caught:
        client.get_json("endless")
    assert _one_line(caught.value) == (
        "GET /fhir/endless: a response over the limit of 1048576 bytes "
        "(VASCREEN_FHIR_MAX_BODY_BYTES)"
    )


def test_an_export_file_goes_to_disk_past_the_body_limit(faulty: str, tmp_path: Path) -> None:
    limits = DownloadLimits(max_body_bytes=FILE_BYTES // 4)
    dest = tmp_path / "Patient.ndjson"
    with _client(faulty, limits) as client:
        bulk.download_file(
            client, bulk.ManifestFile("Patient", f"{faulty}/file"), dest, anonymous=False
        )
    assert dest.stat().st_size > FILE_BYTES // 4


def _note(url: str) -> dict[str, object]:
    return {
        "resourceType": "DocumentReference",
        "id": "note-1",
        "content": [{"attachment": {"contentType": "text/plain", "url": url}}],
    }


def test_an_endless_binary_is_a_note_too_large_not_a_full_memory(faulty: str) -> None:
    tally("bad inputs tried")
    stats = AttachmentStats()
    with _client(faulty, DownloadLimits(max_body_bytes=1 << 20)) as client:
        inline_attachments(_note(f"{faulty}/endless"), client, stats)
    assert (stats.too_large, stats.inlined, stats.failed) == (1, 0, 0)


def test_a_binary_past_the_nights_budget_fails_the_night(faulty: str) -> None:
    tally("bad inputs tried")
    stats = AttachmentStats()
    limits = DownloadLimits(max_total_bytes=1 << 20, max_body_bytes=8 << 20)
    with _client(faulty, limits) as client, pytest.raises(DownloadLimitError) as caught:
        inline_attachments(_note(f"{faulty}/endless"), client, stats)
    assert "VASCREEN_FHIR_MAX_DOWNLOAD_BYTES" in _one_line(caught.value)


def test_a_gzip_encoded_export_file_stops_at_the_file_limit(faulty: str, tmp_path: Path) -> None:
    tally("bad inputs tried")
    limits = DownloadLimits(max_file_bytes=8 << 20)
    dest = tmp_path / "Patient.ndjson"
    with _client(faulty, limits) as client, pytest.raises(DownloadLimitError) as caught:
        bulk.download_file(
            client, bulk.ManifestFile("Patient", f"{faulty}/bomb"), dest, anonymous=False
        )
    assert _one_line(caught.value) == (
        "GET /fhir/bomb: a file over the limit of 8388608 bytes decompressed "
        "(VASCREEN_MAX_FILE_BYTES)"
    )
    assert client.budget.used < 1 << 20  # small on the wire
    assert not dest.exists()


def test_an_endless_search_page_ends_vascreen_run_under_1_5_gb(faulty: str, tmp_path: Path) -> None:
    """Default limits: the page stops at 128 MiB read into memory; the child's peak RSS."""
    tally("bad inputs tried")
    work = tmp_path / "work"
    args = ["run", "--source", faulty.replace("/fhir", "/endless"), "--mode", "search"]
    args += ["--as-of", "2026-06-30", "--store", f"sqlite:///{work / 'store.db'}"]
    result = subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "VASCREEN_WORKDIR": str(work), "VASCREEN_NLP_CACHE": "false"},
        timeout=300,
        check=False,
    )
    assert result.returncode == ExitCode.FHIR_SERVER, result.stderr[-2000:]
    lines = [x for x in result.stderr.splitlines() if x.strip() and "peak_rss" not in x]
    assert len(lines) == 1 and "VASCREEN_FHIR_MAX_BODY_BYTES" in lines[0], result.stderr
    peak = int(result.stderr.rsplit("peak_rss_bytes=", 1)[1].split()[0])
    print(f"peak RSS {peak / 1e6:.0f} MB on an endless search page")
    assert peak < PEAK_LIMIT_BYTES


def test_an_attachment_over_its_setting_is_too_large(faulty: str) -> None:
    tally("bad inputs tried")
    from pipelines.fhir.download_limits import limits_from_settings
    from pipelines.settings import Settings

    limits = limits_from_settings(Settings(fhir_max_attachment_bytes=FILE_BYTES // 2))
    stats = AttachmentStats()
    with _client(faulty, limits) as client:
        note = inline_attachments(_note(f"{faulty}/file"), client, stats)
    assert (stats.too_large, stats.inlined) == (1, 0)
    assert "data" not in note["content"][0]["attachment"]  # type: ignore[index]
    with _client(faulty, DownloadLimits(max_attachment_bytes=FILE_BYTES)) as client:
        inline_attachments(_note(f"{faulty}/file"), client, stats)
    assert stats.inlined == 1
