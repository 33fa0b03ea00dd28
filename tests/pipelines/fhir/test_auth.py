"""SMART Backend Services against an in-process mock token endpoint: assertion, cache, refresh."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pipelines.errors import FhirServerError
from pipelines.fhir.auth import (
    ASSERTION_TYPE,
    BasicAuth,
    BearerTokenAuth,
    SigningAlg,
    SmartBackendAuth,
    SmartTokenAuth,
)
from pipelines.fhir.client import FhirClient, RetryPolicy

BASE = "http://ehr.test/fhir"
TOKEN_URL = "http://auth.test/token"


def write_key(path: Path, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


class MockEhr:
    """Discovery + token endpoint + a FHIR endpoint that accepts only the latest token."""

    def __init__(self, public_key: object, alg: str, revoke_first: bool = False) -> None:
        self.public_key, self.alg = public_key, alg
        self.issued: list[str] = []
        self.assertions: list[dict[str, object]] = []
        self.headers: list[dict[str, object]] = []
        self.revoke_first = revoke_first
        self.expires_in = 300

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/fhir/.well-known/smart-configuration":
            return httpx.Response(
                200,
                json={
                    "token_endpoint": TOKEN_URL,
                    "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
                },
            )
        if str(request.url) == TOKEN_URL:
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            assert form["grant_type"] == "client_credentials"
            assert form["client_assertion_type"] == ASSERTION_TYPE
            claims = jwt.decode(
                form["client_assertion"],
                self.public_key,  # type: ignore[arg-type]
                algorithms=[self.alg],
                audience=TOKEN_URL,
                leeway=600,  # the renewal test moves the client's clock forward
            )
            self.assertions.append(claims)
            self.headers.append(jwt.get_unverified_header(form["client_assertion"]))
            token = f"access-{len(self.issued)}"
            self.issued.append(token)
            return httpx.Response(
                200,
                json={"access_token": token, "token_type": "bearer", "expires_in": self.expires_in},
            )
        valid = self.issued[-1:] if not (self.revoke_first and len(self.issued) == 1) else []
        if request.headers.get("Authorization") not in [f"Bearer {t}" for t in valid]:
            return httpx.Response(401, json={"resourceType": "OperationOutcome"})
        return httpx.Response(200, json={"resourceType": "Patient", "id": "p1"})


def client_for(ehr: MockEhr, auth: SmartBackendAuth) -> FhirClient:
    return FhirClient(
        BASE, auth=auth, transport=httpx.MockTransport(ehr), retry=RetryPolicy(attempts=1)
    )


@pytest.mark.parametrize("alg", [SigningAlg.RS384, SigningAlg.ES384], ids=["rs384", "es384"])
def test_assertion_is_signed_with_the_configured_key_and_claims(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, alg: SigningAlg
) -> None:
    key = rsa_key if alg is SigningAlg.RS384 else ec.generate_private_key(ec.SECP384R1())
    ehr = MockEhr(key.public_key(), str(alg))
    auth = SmartBackendAuth("vascreen", write_key(tmp_path / "k.pem", key), alg=alg, kid="kid-1")

    with client_for(ehr, auth) as client:
        assert client.get_json("Patient/p1")["id"] == "p1"

    claims, header = ehr.assertions[0], ehr.headers[0]
    assert claims["iss"] == claims["sub"] == "vascreen"
    assert claims["aud"] == TOKEN_URL
    assert 0 < int(claims["exp"]) - int(claims["iat"]) <= 300  # type: ignore[call-overload]
    assert header["alg"] == str(alg) and header["kid"] == "kid-1"


def test_token_is_cached_across_requests(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    ehr = MockEhr(rsa_key.public_key(), "RS384")
    with client_for(
        ehr, SmartBackendAuth("vascreen", write_key(tmp_path / "k.pem", rsa_key))
    ) as client:
        for _ in range(3):
            client.get_json("Patient/p1")
    assert len(ehr.issued) == 1


def test_token_is_refreshed_once_on_401(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    ehr = MockEhr(rsa_key.public_key(), "RS384", revoke_first=True)
    with client_for(
        ehr, SmartBackendAuth("vascreen", write_key(tmp_path / "k.pem", rsa_key))
    ) as client:
        assert client.get_json("Patient/p1")["id"] == "p1"
    assert ehr.issued == ["access-0", "access-1"]
    assert ehr.assertions[0]["jti"] != ehr.assertions[1]["jti"]


def test_expired_token_is_renewed_before_use(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    ehr = MockEhr(rsa_key.public_key(), "RS384")
    now = [time.time()]
    config = SmartBackendAuth(
        "vascreen", write_key(tmp_path / "k.pem", rsa_key), token_url=TOKEN_URL
    )
    auth = SmartTokenAuth(config, BASE, clock=lambda: now[0])
    with httpx.Client(auth=auth, transport=httpx.MockTransport(ehr)) as http:
        http.get(f"{BASE}/Patient/p1")
        now[0] += 400  # past expires_in (300)
        assert http.get(f"{BASE}/Patient/p1").status_code == 200
    assert auth.token_requests == 2


def test_a_short_lived_token_is_reused_until_just_before_it_expires(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    # A 10-second token: renewed a tenth of its life early, not before every request.
    ehr = MockEhr(rsa_key.public_key(), "RS384")
    ehr.expires_in = 10
    now = [time.time()]
    config = SmartBackendAuth(
        "vascreen", write_key(tmp_path / "k.pem", rsa_key), token_url=TOKEN_URL
    )
    auth = SmartTokenAuth(config, BASE, clock=lambda: now[0])
    with httpx.Client(auth=auth, transport=httpx.MockTransport(ehr)) as http:
        for step in (0, 4, 4):  # t = 0, 4, 8: the first token serves all three
            now[0] += step
            assert http.get(f"{BASE}/Patient/p1").status_code == 200
        assert auth.token_requests == 1
        now[0] += 1.5  # t = 9.5: inside the last tenth of its life
        assert http.get(f"{BASE}/Patient/p1").status_code == 200
    assert auth.token_requests == 2 and ehr.issued == ["access-0", "access-1"]


def test_key_of_the_wrong_kind_is_rejected(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    config = SmartBackendAuth(
        "vascreen", write_key(tmp_path / "k.pem", rsa_key), alg=SigningAlg.ES384
    )
    with pytest.raises(FhirServerError, match="does not match ES384"):
        FhirClient(BASE, auth=config)


def test_unreadable_key_file_error_does_not_quote_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text(
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(FhirServerError) as caught:
        FhirClient(BASE, auth=SmartBackendAuth("vascreen", bad))
    assert "c2VjcmV0" not in str(caught.value) and "\n" not in str(caught.value)


def test_token_endpoint_rejection_is_reported_without_the_description(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401, json={"error": "invalid_client", "error_description": "assertion eyJhbGc..."}
        )

    config = SmartBackendAuth(
        "vascreen", write_key(tmp_path / "k.pem", rsa_key), token_url=TOKEN_URL
    )
    with FhirClient(BASE, auth=config, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(FhirServerError) as caught:
            client.get_json("Patient/p1")
    assert str(caught.value) == "SMART token request failed: HTTP 401 (invalid_client)"


def test_static_and_basic_credentials_are_sent_and_never_shown() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(200, json={"resourceType": "Patient", "id": "p1"})

    for config in (BearerTokenAuth("tok-s3cret"), BasicAuth("dev", "pw-s3cret")):
        with FhirClient(BASE, auth=config, transport=httpx.MockTransport(handler)) as client:
            client.get_json("Patient/p1")
            assert "s3cret" not in repr(config) + repr(client) + repr(client.auth)
    assert seen[0] == "Bearer tok-s3cret"
    assert seen[1] == "Basic " + base64.b64encode(b"dev:pw-s3cret").decode()


def test_smart_config_repr_hides_nothing_secret_but_names_the_client(tmp_path: Path) -> None:
    config = SmartBackendAuth("vascreen", tmp_path / "k.pem")
    assert "vascreen" in repr(config)


def test_auth_from_settings_builds_each_scheme(tmp_path: Path) -> None:
    from pipelines.fhir.pull import auth_from_settings
    from pipelines.settings import Settings

    assert auth_from_settings(Settings(fhir_auth="none")) is None
    bearer = auth_from_settings(Settings(fhir_auth="bearer", fhir_token="t0k"))  # type: ignore[arg-type]
    assert bearer == BearerTokenAuth("t0k")
    smart = auth_from_settings(
        Settings(
            fhir_auth="smart",
            smart_client_id="vascreen",
            smart_key_file=tmp_path / "k.pem",
            smart_key_id="kid-1",
            smart_algorithm="es384",
        )
    )
    assert smart == SmartBackendAuth(
        "vascreen", tmp_path / "k.pem", alg=SigningAlg.ES384, kid="kid-1"
    )
    with pytest.raises(FhirServerError, match="VASCREEN_FHIR_TOKEN"):
        auth_from_settings(Settings(fhir_auth="bearer"))


@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_token_endpoint_is_retried_after_the_wait_it_asks_for(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, status: int
) -> None:
    """athenahealth limits token requests per minute and answers 429: the night waits."""
    ehr = MockEhr(rsa_key.public_key(), "RS384")
    busy = [status]

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL and busy:
            return httpx.Response(busy.pop(), headers={"Retry-After": "7"})
        return ehr(request)

    waits: list[float] = []
    config = SmartBackendAuth(
        "vascreen", write_key(tmp_path / "k.pem", rsa_key), token_url=TOKEN_URL
    )
    with FhirClient(
        BASE,
        auth=config,
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=3),
        sleep=waits.append,
    ) as client:
        assert client.get_json("Patient/p1")["id"] == "p1"
    assert waits == [7.0] and ehr.issued == ["access-0"]


def test_a_token_endpoint_busy_every_time_fails_in_one_line(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"error": "rate_limited", "error_description": "x"})

    config = SmartBackendAuth(
        "vascreen", write_key(tmp_path / "k.pem", rsa_key), token_url=TOKEN_URL
    )
    waits: list[float] = []
    with FhirClient(
        BASE,
        auth=config,
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=2, base_delay_s=0.01),
        sleep=waits.append,
    ) as client:
        with pytest.raises(FhirServerError) as caught:
            client.get_json("Patient/p1")
    assert str(caught.value) == (
        "GET /fhir/Patient/p1 failed after 2 attempts: "
        "SMART token request failed: HTTP 429 (rate_limited)"
    )
    assert len(waits) == 1
