"""Hardening suite fixtures: a `vascreen` subprocess runner, and the tally for the closing note.

Every test here adds what it did to `TALLY` (faults injected, bad inputs tried, markers
planted, and what went wrong: leaks found, items or decisions lost). The tally is the
`tests.hardening.tally` plugin (registered by the root conftest, so tests elsewhere count too);
the session prints its one summary line at the end, so the issue's closing note can quote real
figures.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hardening.tally import tally

REPO = Path(__file__).resolve().parents[2]
__all__ = ["CliResult", "cli_env", "tally", "vascreen"]


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def prefect_api_url(prefect_harness: None) -> str:
    """The session test server's API URL, for `vascreen` subprocesses (no 20 s ephemeral start)."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    assert url, "prefect_test_harness did not set PREFECT_API_URL"
    return str(url)


def cli_env(workdir: Path, prefect_api_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VASCREEN_")}
    env.update(
        PREFECT_API_URL=prefect_api_url,
        VASCREEN_WORKDIR=str(workdir),
        PYTHONPATH=str(REPO),
        PREFECT_LOGGING_COLORS="false",
    )
    env.update(extra)
    return env


def vascreen(
    args: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    driver: list[str] | None = None,
    timeout: float = 240.0,
) -> CliResult:
    """Run the `vascreen` CLI (or a test driver that wraps it) in a subprocess."""
    argv = [sys.executable, "-m", *(driver or ["pipelines.cli"]), *args]
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def run_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
