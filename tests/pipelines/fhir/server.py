"""A real FHIR server for the pull tests: sekmet-fhir 0.1.1 in its own uv tool environment.

The server runs from uv's cache (``uvx --offline``); ``ensure_sekmet_installed`` fills that cache
from PyPI once per session on a new machine. ``VASCREEN_SEKMET_CMD`` overrides the command.
It listens on a free loopback port with SMART Backend Services, static bearer and basic auth.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

DATA = Path(__file__).parent / "data"
SEKMET_CMD = ("uvx", "--offline", "--from", "sekmet-fhir==0.1.1", "sekmet")
STARTUP_TIMEOUT_S = 90.0
DEV_TOKEN = "dev-static-token-for-tests"
DEV_USER, DEV_PASSWORD = "dev", "dev-password-for-tests"


@dataclass(frozen=True)
class SmartClientKeys:
    client_id: str
    private_key: Path


@dataclass(frozen=True)
class SekmetServer:
    base_url: str
    root: Path
    rs384: SmartClientKeys
    es384: SmartClientKeys

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url + "/",
            headers={"Authorization": f"Bearer {DEV_TOKEN}", "Accept": "application/fhir+json"},
            timeout=30.0,
        )

    def load_bundle(self, bundle: dict[str, Any]) -> None:
        with self.admin() as http:
            response = http.post("", json=bundle, headers={"Content-Type": "application/fhir+json"})
            assert response.status_code == 200, response.text[:500]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_key(path: Path, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = path.with_suffix(".pub.pem")
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def _settings(root: Path, port: int, rs_pub: Path, es_pub: Path) -> dict[str, Any]:
    return {
        "base_url": f"http://127.0.0.1:{port}/fhir",
        "host": "127.0.0.1",
        "port": port,
        "data_dir": str(root / "data"),
        "log_inbound": False,
        # No simulated hospital reacting to writes; the bulk job's artificial delay kept short.
        "simulator": {"enabled": False, "delay_seconds": 0.2},
        "server_auth": {
            "types": ["smart", "bearer", "basic"],
            "tokens": [DEV_TOKEN],
            "users": {DEV_USER: DEV_PASSWORD},
            "token_lifetime": 600,
            "smart_clients": [
                {
                    "client_id": "vascreen-rs",
                    "public_key_path": str(rs_pub),
                    "scopes": "system/*.read",
                },
                {
                    "client_id": "vascreen-es",
                    "public_key_path": str(es_pub),
                    "scopes": "system/*.read",
                },
            ],
        },
    }


@functools.cache
def ensure_sekmet_installed() -> None:
    """Put sekmet-fhir in uv's cache once (from PyPI): offline starts then work on a new machine."""
    if os.environ.get("VASCREEN_SEKMET_CMD"):
        return
    online = [arg for arg in SEKMET_CMD if arg != "--offline"]
    subprocess.run([*online, "--help"], check=True, capture_output=True, timeout=600)


def start_sekmet(root: Path) -> tuple[subprocess.Popen[bytes], SekmetServer]:
    """Start a sekmet server rooted at ``root`` and wait until /metadata answers."""
    ensure_sekmet_installed()
    root.mkdir(parents=True, exist_ok=True)
    rs_key = _write_key(root / "rs384.pem", rsa.generate_private_key(65537, 2048))
    es_key = _write_key(root / "es384.pem", ec.generate_private_key(ec.SECP384R1()))
    port = _free_port()
    settings = _settings(root, port, rs_key.with_suffix(".pub.pem"), es_key.with_suffix(".pub.pem"))
    (root / "settings.yaml").write_text(json.dumps(settings))  # JSON is valid YAML
    command = os.environ.get("VASCREEN_SEKMET_CMD")
    argv = [*(shlex.split(command) if command else SEKMET_CMD), "serve", "-c", "settings.yaml"]
    with (root / "sekmet.log").open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base_url = settings["base_url"]
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if process.poll() is not None:
            tail = (root / "sekmet.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"sekmet exited with {process.returncode}:\n{tail}")
        try:
            if httpx.get(f"{base_url}/metadata", timeout=2.0).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            stop_sekmet(process)
            raise RuntimeError(f"sekmet did not become ready within {STARTUP_TIMEOUT_S}s")
        time.sleep(0.2)
    server = SekmetServer(
        base_url=base_url,
        root=root,
        rs384=SmartClientKeys("vascreen-rs", rs_key),
        es384=SmartClientKeys("vascreen-es", es_key),
    )
    return process, server


def stop_sekmet(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # The server runs in its own session (uvx -> python); end that process group only.
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def cohort_bundle() -> dict[str, Any]:
    return json.loads((DATA / "cohort.json").read_text())
