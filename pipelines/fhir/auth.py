"""Authentication for FHIR servers: SMART Backend Services, static bearer token, basic auth.

SMART Backend Services (https://hl7.org/fhir/smart-app-launch/backend-services.html): the client
signs a short-lived JWT with its private key (RS384 or ES384) and trades it for an access token
at the token endpoint found in ``.well-known/smart-configuration``. Tokens are cached until shortly
before they expire (``expires_in``), so a night outlives many short-lived tokens, and refreshed
once when the server answers 401 (a token revoked or expired early).

Secrets (tokens, passwords, key material) never appear in reprs, logs or exception messages.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pipelines.errors import FhirServerError
from pipelines.fhir.resource_types import DEFAULT_TYPES, ScopeVersion, parse_types, smart_scopes

if TYPE_CHECKING:
    from pipelines.settings import Settings

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# The spec caps the assertion lifetime at five minutes; stay under it to absorb clock skew.
ASSERTION_LIFETIME_S = 240
# Refresh this long before the advertised expiry so a token never dies mid-request; a tenth of a
# short lifetime at most, so a server handing out 10-second tokens is not asked before every call.
EXPIRY_MARGIN_S = 30


# A token endpoint that answers these is busy or restarting (athenahealth documents 429 for its
# per-minute token limit): the request that needed the token is retried, after Retry-After.
TOKEN_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class TokenEndpointBusy(FhirServerError):
    """The token endpoint answered 429 or 5xx; `retry_after` is its raw Retry-After header."""

    def __init__(self, message: str, retry_after: str | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SigningAlg(StrEnum):
    RS384 = "RS384"
    ES384 = "ES384"


@dataclass(frozen=True, slots=True)
class BearerTokenAuth:
    """A static bearer token (development only)."""

    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class BasicAuth:
    """HTTP basic auth (development only)."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SmartBackendAuth:
    """SMART Backend Services client registration.

    Attributes:
        client_id: the client id registered at the EHR.
        private_key_path: PEM file with the private key (PKCS#8 or traditional, unencrypted).
        alg: RS384 (RSA key) or ES384 (P-384 key).
        kid: key id of the registered public key, sent in the JWT header (the spec requires it;
            ``auth_from_settings`` refuses a configuration without one).
        scope: requested scopes; per-type system read scopes (v1) by default.
        token_url: token endpoint; discovered from .well-known/smart-configuration when None.
        jku: optional JWKS URL sent in the JWT header.
    """

    client_id: str
    private_key_path: Path
    alg: SigningAlg = SigningAlg.RS384
    kid: str | None = None
    scope: str = field(default_factory=lambda: smart_scopes(DEFAULT_TYPES))
    token_url: str | None = None
    jku: str | None = None


AuthConfig = BearerTokenAuth | BasicAuth | SmartBackendAuth


@dataclass(slots=True)
class _CachedToken:
    value: str = field(repr=False)
    expires_at: float


def load_signing_key(path: Path, alg: SigningAlg) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    """Load a PEM private key and check that it fits the algorithm.

    Raises:
        FhirServerError: the file is missing, unreadable, or holds the wrong kind of key.
    """
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        # Never echo the file content; the exception text from cryptography may quote it.
        raise FhirServerError(
            f"SMART private key could not be loaded ({type(exc).__name__})"
        ) from None
    if alg is SigningAlg.RS384 and isinstance(key, rsa.RSAPrivateKey):
        return key
    if (
        alg is SigningAlg.ES384
        and isinstance(key, ec.EllipticCurvePrivateKey)
        and key.curve.name == "secp384r1"
    ):
        return key
    raise FhirServerError(f"SMART private key does not match {alg} (need RSA or P-384 EC)")


class SmartTokenAuth(httpx.Auth):
    """httpx auth flow for SMART Backend Services with caching and refresh on 401."""

    def __init__(
        self,
        config: SmartBackendAuth,
        base_url: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._base_url = base_url.rstrip("/")
        self._key = load_signing_key(config.private_key_path, config.alg)
        self._clock = clock
        self._token: _CachedToken | None = None
        self._token_url = config.token_url
        self._lock = threading.Lock()
        self.token_requests = 0

    def __repr__(self) -> str:
        return f"SmartTokenAuth(client_id={self._config.client_id!r}, alg={self._config.alg})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = yield from self._current_token(force=False)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # The cached token was revoked or expired early: fetch a fresh one and retry once.
            token = yield from self._current_token(force=True)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def _current_token(self, *, force: bool) -> Generator[httpx.Request, httpx.Response, str]:
        with self._lock:
            cached = self._token
        if cached is not None and not force and cached.expires_at > self._clock():
            return cached.value
        if self._token_url is None:
            discovery = yield httpx.Request(
                "GET",
                f"{self._base_url}/.well-known/smart-configuration",
                headers={"Accept": "application/json"},
            )
            discovery.read()
            self._token_url = _token_endpoint_from(discovery, self._config.alg)
        response = yield self._token_request(self._token_url)
        response.read()
        token = _token_from(response, self._clock())
        with self._lock:
            self._token = token
            self.token_requests += 1
        return token.value

    def _token_request(self, token_url: str) -> httpx.Request:
        now = int(self._clock())
        claims = {
            "iss": self._config.client_id,
            "sub": self._config.client_id,
            "aud": token_url,
            "exp": now + ASSERTION_LIFETIME_S,
            "iat": now,
            "jti": uuid.uuid4().hex,
        }
        headers: dict[str, str] = {"typ": "JWT"}
        if self._config.kid:
            headers["kid"] = self._config.kid
        if self._config.jku:
            headers["jku"] = self._config.jku
        assertion = jwt.encode(claims, self._key, algorithm=str(self._config.alg), headers=headers)
        form = {
            "grant_type": "client_credentials",
            "scope": self._config.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }
        return httpx.Request("POST", token_url, data=form, headers={"Accept": "application/json"})


def _token_endpoint_from(response: httpx.Response, alg: SigningAlg) -> str:
    if response.status_code != 200:
        raise FhirServerError(f"SMART discovery failed: HTTP {response.status_code}")
    try:
        config = response.json()
    except ValueError:
        raise FhirServerError("SMART discovery returned non-JSON") from None
    endpoint = config.get("token_endpoint") if isinstance(config, dict) else None
    if not isinstance(endpoint, str) or not endpoint:
        raise FhirServerError("SMART discovery has no token_endpoint")
    algs = config.get("token_endpoint_auth_signing_alg_values_supported")
    if isinstance(algs, list) and algs and str(alg) not in algs:
        raise FhirServerError(f"SMART token endpoint does not accept {alg} assertions")
    return endpoint


def _token_from(response: httpx.Response, now: float) -> _CachedToken:
    if response.status_code != 200:
        # The OAuth error code is safe to show; error_description may quote client input.
        code = ""
        try:
            body = response.json()
            if isinstance(body, dict) and isinstance(body.get("error"), str):
                code = f" ({body['error']})"
        except ValueError:
            pass
        message = f"SMART token request failed: HTTP {response.status_code}{code}"
        if response.status_code in TOKEN_RETRYABLE_STATUS:
            raise TokenEndpointBusy(message, response.headers.get("Retry-After"))
        raise FhirServerError(message)
    try:
        body = response.json()
        value = str(body["access_token"])
        lifetime = float(body.get("expires_in", 300))
    except (ValueError, KeyError, TypeError):
        raise FhirServerError("SMART token response is malformed") from None
    margin = min(EXPIRY_MARGIN_S, max(0.0, lifetime) / 10)
    return _CachedToken(value=value, expires_at=now + max(0.0, lifetime - margin))


def auth_from_settings(settings: Settings) -> AuthConfig | None:
    """The auth config described by ``VASCREEN_FHIR_AUTH`` and friends (None for ``none``).

    Raises:
        FhirServerError: the chosen scheme is missing a setting (named, never its value).
    """
    scheme = settings.fhir_auth.strip().lower()
    if scheme == "none":
        return None
    if scheme == "bearer":
        if settings.fhir_token is None:
            raise FhirServerError("fhir_auth=bearer needs VASCREEN_FHIR_TOKEN")
        return BearerTokenAuth(settings.fhir_token.get_secret_value())
    if scheme == "basic":
        if settings.fhir_username is None or settings.fhir_password is None:
            raise FhirServerError("fhir_auth=basic needs VASCREEN_FHIR_USERNAME and _PASSWORD")
        return BasicAuth(settings.fhir_username, settings.fhir_password.get_secret_value())
    if scheme == "smart":
        return _smart_from_settings(settings)
    raise FhirServerError("fhir_auth must be one of none, bearer, basic, smart")


def _smart_from_settings(settings: Settings) -> SmartBackendAuth:
    if settings.smart_client_id is None or settings.smart_key_file is None:
        raise FhirServerError("fhir_auth=smart needs VASCREEN_SMART_CLIENT_ID and _KEY_FILE")
    if not settings.smart_key_id:
        raise FhirServerError("fhir_auth=smart needs VASCREEN_SMART_KEY_ID (the JWT kid)")
    try:
        alg = SigningAlg(settings.smart_algorithm.upper())
        version = ScopeVersion(settings.smart_scope_version.strip().lower())
        types = parse_types(settings.fhir_types)
    except ValueError as exc:
        raise FhirServerError(
            f"bad SMART or type setting: smart_algorithm RS384|ES384, "
            f"smart_scope_version v1|v2, fhir_types ({exc})"
        ) from None
    scope = settings.smart_scope.strip() or smart_scopes(
        types, version, group=settings.fhir_group_id is not None
    )
    return SmartBackendAuth(
        client_id=settings.smart_client_id,
        private_key_path=settings.smart_key_file,
        alg=alg,
        kid=settings.smart_key_id,
        scope=scope,
        token_url=settings.smart_token_url,
        jku=settings.smart_jku,
    )


def build_httpx_auth(config: AuthConfig | None, base_url: str) -> httpx.Auth | None:
    """Turn an auth config into an httpx auth object (None for anonymous access)."""
    if config is None:
        return None
    if isinstance(config, BearerTokenAuth):
        return _StaticBearer(config.token)
    if isinstance(config, BasicAuth):
        return httpx.BasicAuth(config.username, config.password)
    return SmartTokenAuth(config, base_url)


class _StaticBearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "_StaticBearer(token=***)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request
