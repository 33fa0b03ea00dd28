"""Configuration a site needs (issue 24, item 6): types, SMART v1/v2 per-type scopes, a required
``kid``, the token URL, ``jku``, and the export ``error`` files counted in the pull result."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pipelines.errors import FhirServerError
from pipelines.fhir.auth import SmartBackendAuth, SmartTokenAuth, auth_from_settings
from pipelines.fhir.pull import options_from_settings, pull_to_directory
from pipelines.fhir.resource_types import DEFAULT_TYPES, ScopeVersion, parse_types, smart_scopes
from pipelines.settings import Settings
from tests.pipelines.fhir.test_faults import (
    BASE,
    PATIENT,
    FakeBulkServer,
    Sleeps,
    body,
    make_client,
    ndjson,
)


def smart_settings(tmp_path: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "fhir_auth": "smart",
        "smart_client_id": "vascreen",
        "smart_key_file": tmp_path / "k.pem",
        "smart_key_id": "kid-1",
    }
    return Settings(**(values | extra))  # type: ignore[arg-type]


def test_default_scopes_are_per_type_never_the_wildcard(tmp_path: Path) -> None:
    config = auth_from_settings(smart_settings(tmp_path))
    assert isinstance(config, SmartBackendAuth)
    scopes = config.scope.split()
    assert "system/*.read" not in scopes
    assert scopes == [f"system/{t}.read" for t in (*DEFAULT_TYPES, "Binary")]
    assert SmartBackendAuth("c", tmp_path / "k.pem").scope == config.scope


def test_v2_scopes_cover_the_configured_types_and_the_group(tmp_path: Path) -> None:
    settings = smart_settings(
        tmp_path,
        smart_scope_version="v2",
        fhir_types="Condition,Observation",
        fhir_group_id="g1",
    )
    config = auth_from_settings(settings)
    assert isinstance(config, SmartBackendAuth)
    assert config.scope == (
        "system/Patient.rs system/Condition.rs system/Observation.rs system/Group.rs"
    )


def test_a_site_spelled_scope_wins(tmp_path: Path) -> None:
    config = auth_from_settings(smart_settings(tmp_path, smart_scope="system/Patient.read"))
    assert isinstance(config, SmartBackendAuth) and config.scope == "system/Patient.read"


def test_smart_without_a_kid_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FhirServerError, match="VASCREEN_SMART_KEY_ID"):
        auth_from_settings(smart_settings(tmp_path, smart_key_id=None))


def test_token_url_and_jku_reach_the_signed_assertion(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "k.pem").write_bytes(pem)
    settings = smart_settings(
        tmp_path,
        smart_token_url="https://auth.test/token",
        smart_jku="https://vascreen.test/jwks.json",
    )
    config = auth_from_settings(settings)
    assert isinstance(config, SmartBackendAuth)
    request = SmartTokenAuth(config, BASE)._token_request("https://auth.test/token")
    assert str(request.url) == "https://auth.test/token"
    form = dict(pair.split("=", 1) for pair in request.content.decode().split("&"))
    header = jwt.get_unverified_header(form["client_assertion"])
    assert header["kid"] == "kid-1" and header["jku"] == "https://vascreen.test/jwks.json"


def test_resource_types_are_configurable_and_checked() -> None:
    assert parse_types("") == DEFAULT_TYPES
    assert parse_types("Observation, Condition") == ("Patient", "Observation", "Condition")
    with pytest.raises(ValueError, match="not a FHIR resource type"):
        parse_types("Observation,drop table")
    with pytest.raises(FhirServerError, match="VASCREEN_FHIR_TYPES"):
        options_from_settings(Settings(fhir_types="observation"))
    assert smart_scopes(["Patient"], ScopeVersion.V2) == "system/Patient.rs"


def test_export_error_files_are_counted_in_the_pull_result(tmp_path: Path) -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"code": "processing"}]}
    server = FakeBulkServer(
        files={
            "Patient.ndjson": body(ndjson(PATIENT)),
            "e1.ndjson": body(ndjson(outcome, outcome)),
            "e2.ndjson": body(ndjson(outcome)),
        },
        manifest={
            "transactionTime": "2026-01-02T00:00:00Z",
            "requiresAccessToken": True,
            "output": [{"type": "Patient", "url": f"{BASE}/files/Patient.ndjson"}],
            "error": [
                {"type": "OperationOutcome", "url": f"{BASE}/files/e1.ndjson"},
                {"type": "OperationOutcome", "url": f"{BASE}/files/e2.ndjson"},
            ],
        },
    )
    with make_client(server, Sleeps()) as client:
        report = pull_to_directory(BASE, tmp_path, types=["Patient"], client=client)
    assert (report.error_files, report.error_count) == (2, 3)
