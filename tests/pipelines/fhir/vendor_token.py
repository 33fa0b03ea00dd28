"""A SMART Backend Services token endpoint as Oracle Health documents its scope rules.

It verifies the client's signed assertion (RS384, the registered ``kid`` in the header, ``aud``
the token URL) and grants per-type system scopes only: a request that names the wildcard
``system/*.read`` is refused with ``invalid_scope``. The access token it hands out is the
emulator's static bearer token, so the FHIR host checks one value whichever way it was obtained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.pipelines.fhir.server import DEV_TOKEN

CLIENT_ID, KID = "vascreen-emulated", "vascreen-key-2026"
TOKEN_PATH = "/oauth2/token"
DISCOVERY_PATH = "/fhir/.well-known/smart-configuration"
PER_TYPE_SCOPE = re.compile(r"system/[A-Z][A-Za-z]+\.(read|rs|r|s)")


@dataclass
class TokenEndpoint:
    """One registered client (``CLIENT_ID`` / ``KID``) and the scopes it was granted."""

    key_file: Path
    origin: str = ""
    granted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    @classmethod
    def with_new_key(cls, directory: Path) -> TokenEndpoint:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path = directory / "emulated-client.pem"
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cls(path)

    def _public_key(self) -> rsa.RSAPublicKey:
        key = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key.public_key()

    async def discovery(self, request: Request) -> Response:
        body = {
            "token_endpoint": self.origin + TOKEN_PATH,
            "token_endpoint_auth_signing_alg_values_supported": ["RS384"],
            "grant_types_supported": ["client_credentials"],
        }
        return JSONResponse(body)

    async def token(self, request: Request) -> Response:
        # Parsed by hand: Starlette's form parser needs python-multipart, not a dependency here.
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        assertion, scope = form.get("client_assertion", ""), form.get("scope", "")
        try:
            header = jwt.get_unverified_header(assertion)
            jwt.decode(
                assertion,
                self._public_key(),
                algorithms=["RS384"],
                audience=self.origin + TOKEN_PATH,
                issuer=CLIENT_ID,
            )
        except jwt.PyJWTError:
            return self._refuse("invalid_client", scope)
        if header.get("kid") != KID:
            return self._refuse("invalid_client", scope)
        if not scope or not all(PER_TYPE_SCOPE.fullmatch(s) for s in scope.split()):
            return self._refuse("invalid_scope", scope)
        self.granted.append(scope)
        body = {"access_token": DEV_TOKEN, "token_type": "bearer", "expires_in": 570}
        return JSONResponse(body | {"scope": scope})

    def _refuse(self, error: str, scope: str) -> Response:
        self.refused.append(f"{error}: {scope}")
        return JSONResponse({"error": error}, 400)
