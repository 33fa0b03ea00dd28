"""SMART Backend Services token endpoints as Oracle Health, Epic and athenahealth document them.

Each endpoint verifies the client's signed assertion (the vendor's algorithms, the registered
``kid`` in the header, ``aud`` the token URL, ``iss`` and ``sub`` the client id) and answers a bad
one with ``invalid_client``. The vendors differ (sources: docs/vendors.md):

* Oracle Health grants per-type system scopes only and refuses the wildcard ``system/*.read``
  with ``invalid_scope``; its access token is the emulator's static bearer token.
* Epic serves its token URL in ``.well-known/smart-configuration``, accepts RS384 and ES384, a
  ``jku`` header only when it names the registered JWK Set URL, and grants the scopes the app was
  registered for, whatever the request names.
* athenahealth's token URL is ``/oauth2/v1/token`` (no discovery here: the site sets it), scopes
  are ``system/<Type>.read``, a token lasts an hour and new tokens are rate-limited per minute.

With ``own_tokens`` (Epic, athenahealth) the FHIR host accepts only tokens this endpoint issued,
until they expire (``lifetime_s``) or are revoked (``revoke_after_uses``).
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.pipelines.fhir.server import DEV_TOKEN

CLIENT_ID, KID = "vascreen-emulated", "vascreen-key-2026"
TOKEN_PATH = "/oauth2/token"
DISCOVERY_PATH = "/fhir/.well-known/smart-configuration"
JWKS_PATH = "/jwks/vascreen.json"
PER_TYPE_SCOPE = re.compile(r"system/[A-Z][A-Za-z]+\.(read|rs|r|s)")
PER_TYPE_V1_SCOPE = re.compile(r"system/[A-Z][A-Za-z]+\.read")
EPIC_REGISTERED_SCOPE = "system/Patient.read system/Observation.read system/Group.read"


@dataclass(frozen=True)
class TokenRules:
    """How one vendor's authorization server behaves (docs/vendors.md says where from)."""

    token_path: str = TOKEN_PATH
    discovery: bool = True
    algorithms: tuple[str, ...] = ("RS384",)
    lifetime_s: float = 570
    scope_rule: str = "per-type"  # "per-type" | "per-type-v1" | "registered"
    refusal_status: int = 400
    own_tokens: bool = False
    tokens_per_minute: int | None = None
    registered_jku: bool = False
    revoke_after_uses: int | None = None


VENDOR_RULES = {
    "oracle": TokenRules(),
    "epic": TokenRules(
        token_path="/interconnect-fhir-oauth/oauth2/token",
        algorithms=("RS384", "ES384"),
        lifetime_s=300,
        scope_rule="registered",
        own_tokens=True,
        registered_jku=True,
    ),
    "athena": TokenRules(
        token_path="/oauth2/v1/token",
        discovery=False,
        lifetime_s=3600,
        scope_rule="per-type-v1",
        refusal_status=401,
        own_tokens=True,
        tokens_per_minute=5,
    ),
}


@dataclass
class TokenEndpoint:
    """One registered client (``CLIENT_ID`` / ``KID``) and the scopes it was granted."""

    key_file: Path
    rules: TokenRules = field(default_factory=TokenRules)
    origin: str = ""
    granted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    issued: dict[str, float] = field(default_factory=dict)  # token -> monotonic expiry
    uses: dict[str, int] = field(default_factory=dict)
    expired_refused: int = 0
    rate_limited: int = 0
    _recent: list[float] = field(default_factory=list, init=False)

    @classmethod
    def with_new_key(cls, directory: Path, rules: TokenRules | None = None) -> TokenEndpoint:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path = directory / "emulated-client.pem"
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cls(path, rules or TokenRules())

    @classmethod
    def for_vendor(cls, profile: str, directory: Path, **changes: Any) -> TokenEndpoint:
        """The endpoint ``profile`` documents; ``changes`` override rules (``lifetime_s=3``)."""
        return cls.with_new_key(directory, dataclasses.replace(VENDOR_RULES[profile], **changes))

    @property
    def token_url(self) -> str:
        return self.origin + self.rules.token_path

    @property
    def jku(self) -> str:
        return self.origin + JWKS_PATH

    def client_env(self) -> dict[str, str]:
        """The settings a site sets for this vendor beyond client id, key and kid."""
        env = {}
        if not self.rules.discovery:
            env["VASCREEN_SMART_TOKEN_URL"] = self.token_url
        if self.rules.registered_jku:
            env["VASCREEN_SMART_JKU"] = self.jku
        return env

    def routes(self) -> list[Route]:
        routes = [Route(self.rules.token_path, self.token, methods=["POST"])]
        if self.rules.discovery:
            routes.append(Route(DISCOVERY_PATH, self.discovery))
        if self.rules.registered_jku:
            routes.append(Route(JWKS_PATH, self.jwks))
        return routes

    def open_paths(self) -> tuple[str, ...]:
        return tuple(str(route.path) for route in self.routes())

    def authorises(self, header: str) -> bool:
        """Whether the FHIR host takes this ``Authorization`` header."""
        if not self.rules.own_tokens:
            return header == f"Bearer {DEV_TOKEN}"
        value = header.removeprefix("Bearer ")
        expiry = self.issued.get(value)
        if expiry is None:
            return False
        self.uses[value] = self.uses.get(value, 0) + 1
        revoked = self.rules.revoke_after_uses is not None and (
            self.uses[value] > self.rules.revoke_after_uses
        )
        if revoked or time.monotonic() >= expiry:
            self.expired_refused += 1
            return False
        return True

    def _public_key(self) -> rsa.RSAPublicKey:
        key = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key.public_key()

    async def discovery(self, request: Request) -> Response:
        body = {
            "token_endpoint": self.token_url,
            "token_endpoint_auth_signing_alg_values_supported": list(self.rules.algorithms),
            "grant_types_supported": ["client_credentials"],
        }
        return JSONResponse(body)

    async def jwks(self, request: Request) -> Response:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self._public_key(), as_dict=True)
        return JSONResponse({"keys": [jwk | {"kid": KID, "alg": "RS384", "use": "sig"}]})

    async def token(self, request: Request) -> Response:
        # Parsed by hand: Starlette's form parser needs python-multipart, not a dependency here.
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        assertion, scope = form.get("client_assertion", ""), form.get("scope", "")
        if form.get("grant_type") != "client_credentials":
            return self._refuse("unsupported_grant_type", scope, 400)
        if self.rules.tokens_per_minute is not None and self._over_rate():
            self.rate_limited += 1
            return JSONResponse({"error": "rate_limited"}, 429)
        if not self._assertion_ok(assertion):
            return self._refuse("invalid_client", scope, self.rules.refusal_status)
        granted = self._grant(scope)
        if granted is None:
            return self._refuse("invalid_scope", scope, 400)
        self.granted.append(granted)
        body = {"token_type": "bearer", "expires_in": int(self.rules.lifetime_s), "scope": granted}
        return JSONResponse(body | {"access_token": self._new_token()})

    def _assertion_ok(self, assertion: str) -> bool:
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion,
                self._public_key(),
                algorithms=list(self.rules.algorithms),
                audience=self.token_url,
                issuer=CLIENT_ID,
                options={"require": ["exp", "jti"]},
            )
        except jwt.PyJWTError:
            return False
        if header.get("kid") != KID or claims.get("sub") != CLIENT_ID:
            return False
        # Epic: a jku header, when sent, must name the JWK Set URL registered for the client.
        return not self.rules.registered_jku or header.get("jku", self.jku) == self.jku

    def _grant(self, scope: str) -> str | None:
        if self.rules.scope_rule == "registered":
            return EPIC_REGISTERED_SCOPE
        pattern = PER_TYPE_V1_SCOPE if self.rules.scope_rule == "per-type-v1" else PER_TYPE_SCOPE
        if not scope or not all(pattern.fullmatch(s) for s in scope.split()):
            return None
        return scope

    def _over_rate(self) -> bool:
        now = time.monotonic()
        self._recent = [t for t in self._recent if now - t < 60] + [now]
        assert self.rules.tokens_per_minute is not None
        return len(self._recent) > self.rules.tokens_per_minute

    def _new_token(self) -> str:
        if not self.rules.own_tokens:
            return DEV_TOKEN
        value = secrets.token_urlsafe(24)
        self.issued[value] = time.monotonic() + self.rules.lifetime_s
        return value

    def _refuse(self, error: str, scope: str, status: int) -> Response:
        self.refused.append(f"{error}: {scope}")
        return JSONResponse({"error": error, "error_description": None}, status)
