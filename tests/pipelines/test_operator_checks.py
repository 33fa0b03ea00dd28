"""Operator errors before anything runs: one line naming where and why, a documented exit code.

The store checks use real SQLite files and the real PostgreSQL (127.0.0.1:5432); a closed
loopback port stands for a PostgreSQL or FHIR server that is down.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.checks import mask_url
from pipelines.cli import app
from pipelines.errors import ExitCode

runner = CliRunner()


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"VASCREEN_WORKDIR": str(tmp_path / "work"), "VASCREEN_FHIR_BASE_URL": ""}


def _one_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    return lines[0]


def test_run_refuses_a_sqlite_store_in_a_missing_directory_before_landing(
    tmp_path: Path, env: dict[str, str]
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    store = tmp_path / "typo" / "var" / "vascreen.db"
    args = [
        "run",
        "--source",
        str(source),
        "--as-of",
        "2026-06-30",
        "--store",
        f"sqlite:///{store}",
    ]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == ExitCode.STORE
    line = _one_line(result.output)
    assert f"directory {tmp_path / 'typo'} does not exist" in line and str(store) in line
    assert not (tmp_path / "typo").exists() and not (tmp_path / "work").exists()


def test_serve_refuses_a_sqlite_file_that_does_not_exist_and_creates_none(
    tmp_path: Path, env: dict[str, str]
) -> None:
    store = tmp_path / "vascreen.bd"
    result = runner.invoke(app, ["serve", "--store", f"sqlite:///{store}"], env=env)
    assert result.exit_code == ExitCode.STORE
    assert "no such file" in _one_line(result.output)
    assert not store.exists()


def test_serve_refuses_a_file_that_is_not_a_sqlite_database(
    tmp_path: Path, env: dict[str, str]
) -> None:
    store = tmp_path / "notes.txt"
    store.write_text("not a database, just text long enough to have a header" * 4)
    result = runner.invoke(app, ["serve", "--store", f"sqlite:///{store}"], env=env)
    assert result.exit_code == ExitCode.STORE
    assert "not a database" in _one_line(result.output)


def test_unreachable_postgresql_is_one_line_with_host_and_cause_and_no_password(
    env: dict[str, str],
) -> None:
    port = _closed_port()
    url = f"postgresql://nobody:s3cret-pw@127.0.0.1:{port}/none"
    result = runner.invoke(app, ["serve", "--store", url], env=env)
    assert result.exit_code == ExitCode.STORE
    line = _one_line(result.output)
    assert f"127.0.0.1:{port}/none" in line and "refused" in line.lower()
    assert "s3cret-pw" not in result.output


def test_postgresql_that_refuses_the_database_names_the_cause(env: dict[str, str]) -> None:
    url = "postgresql://postgres@127.0.0.1:5432/no_such_database_vascreen"
    result = runner.invoke(app, ["check", "--store", url], env=env)
    assert result.exit_code == ExitCode.STORE
    assert 'database "no_such_database_vascreen" does not exist' in result.output


def test_unwritable_work_directory_is_exit_9(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = {"VASCREEN_WORKDIR": str(blocker / "work"), "VASCREEN_FHIR_BASE_URL": ""}
    store = f"sqlite:///{tmp_path / 'var' / 'vascreen.db'}"
    result = runner.invoke(app, ["check", "--store", store], env=env)
    assert result.exit_code == ExitCode.WORKDIR
    assert f"workdir: FAILED {blocker / 'work'}: Not a directory" in result.output


def test_unreachable_fhir_server_is_one_line_naming_the_host(
    tmp_path: Path, env: dict[str, str]
) -> None:
    base = f"http://127.0.0.1:{_closed_port()}/fhir"
    store = f"sqlite:///{tmp_path / 'var' / 'vascreen.db'}"
    args = ["run", "--source", base, "--as-of", "2026-06-30", "--store", store]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == ExitCode.FHIR_SERVER
    line = _one_line(result.output)
    assert base in line and "unreachable" in line
    assert not (tmp_path / "var" / "vascreen.db").exists()


def test_missing_auth_setting_is_named_without_a_value(tmp_path: Path, env: dict[str, str]) -> None:
    base = f"http://127.0.0.1:{_closed_port()}/fhir"
    store = f"sqlite:///{tmp_path / 'var' / 'vascreen.db'}"
    env = {**env, "VASCREEN_FHIR_AUTH": "bearer"}
    result = runner.invoke(app, ["check", "--source", base, "--store", store], env=env)
    assert result.exit_code == ExitCode.FHIR_SERVER
    assert "fhir_auth=bearer needs VASCREEN_FHIR_TOKEN" in result.output


def test_check_on_a_directory_source_and_a_new_store_passes(
    tmp_path: Path, env: dict[str, str]
) -> None:
    store = f"sqlite:///{tmp_path / 'var' / 'vascreen.db'}"
    result = runner.invoke(app, ["check", "--source", str(tmp_path), "--store", store], env=env)
    assert result.exit_code == ExitCode.OK, result.output
    assert result.output.splitlines() == [
        f"store: ok (sqlite {tmp_path / 'var' / 'vascreen.db'}, created by the run)",
        f"workdir: ok ({tmp_path / 'work'})",
        f"source: ok (directory {tmp_path})",
    ]


def test_passwords_in_urls_are_masked() -> None:
    assert (
        mask_url("postgresql://app:pw@db.example:5432/v")
        == "postgresql://app:***@db.example:5432/v"
    )
    assert mask_url("https://ehr.example/fhir") == "https://ehr.example/fhir"


def test_a_transient_503_at_metadata_is_retried_not_reported(
    tmp_path: Path, env: dict[str, str]
) -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class FlakyFhir(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            if self.path.startswith("/fhir/metadata") and len(seen) == 1:
                self.send_response(503)
                self.end_headers()
                return
            body = json.dumps({"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1"})
            if self.path.startswith("/fhir/Patient"):
                body = json.dumps({"resourceType": "Bundle", "type": "searchset", "total": 3})
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyFhir)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
        store = f"sqlite:///{tmp_path / 'var' / 'vascreen.db'}"
        result = runner.invoke(app, ["check", "--source", base, "--store", store], env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == ExitCode.OK, result.output
    assert f"fhir: ok (FHIR {base}, auth none, FHIR 4.0.1)" in result.output
    assert seen == ["/fhir/metadata", "/fhir/metadata", "/fhir/Patient?_summary=count"]
