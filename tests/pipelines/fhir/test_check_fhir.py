"""`vascreen check` against the real FHIR server (sekmet): auth that works, auth refused."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.errors import ExitCode
from tests.pipelines.fhir.server import SekmetServer

runner = CliRunner()


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"VASCREEN_WORKDIR": str(tmp_path / "work"), **extra}


def test_check_passes_with_smart_backend_auth_and_shows_no_secret(
    sekmet: SekmetServer, tmp_path: Path
) -> None:
    env = _env(
        tmp_path,
        VASCREEN_FHIR_BASE_URL=sekmet.base_url,
        VASCREEN_FHIR_AUTH="smart",
        VASCREEN_SMART_CLIENT_ID=sekmet.rs384.client_id,
        VASCREEN_SMART_KEY_FILE=str(sekmet.rs384.private_key),
        VASCREEN_SMART_KEY_ID="vascreen-rs384",  # required (the spec's `kid`)
        VASCREEN_SMART_SCOPE="system/*.read",  # what sekmet's test clients are registered with
    )
    store = f"sqlite:///{tmp_path / 'var' / 'vascreen.db'}"
    result = runner.invoke(app, ["check", "--store", store], env=env)
    assert result.exit_code == ExitCode.OK, result.output
    assert f"fhir: ok (FHIR {sekmet.base_url}, auth smart, FHIR 4.0.1)" in result.output
    assert "BEGIN" not in result.output and "token" not in result.output.lower()


def test_refused_credentials_are_one_line_naming_server_and_status(
    sekmet: SekmetServer, tmp_path: Path
) -> None:
    env = _env(tmp_path, VASCREEN_FHIR_AUTH="bearer", VASCREEN_FHIR_TOKEN="wrong-token-xyz")
    store = f"sqlite:///{tmp_path / 'var' / 'vascreen.db'}"
    args = ["run", "--source", sekmet.base_url, "--as-of", "2026-06-30", "--store", store]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == ExitCode.FHIR_SERVER
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and sekmet.base_url in lines[0]
    assert "credentials refused: HTTP 401" in lines[0]
    assert "wrong-token-xyz" not in result.output
    assert not (tmp_path / "var" / "vascreen.db").exists()
