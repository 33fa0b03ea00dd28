"""Prefect's telemetry stays off in a PHI pipeline unless an operator opts in."""

from __future__ import annotations

import os
import subprocess
import sys


def _probe(env: dict[str, str]) -> str:
    code = (
        "import pipelines.cli\n"
        "from prefect._internal.analytics.enabled import is_telemetry_enabled\n"
        "from prefect.settings import get_current_settings\n"
        "print(is_telemetry_enabled(), get_current_settings().server.analytics_enabled)\n"
    )
    from prefect._internal.analytics.ci_detection import CI_ENV_VARS

    dropped = {"DO_NOT_TRACK", "PREFECT_SERVER_ANALYTICS_ENABLED", *CI_ENV_VARS}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    clean.update(env)
    done = subprocess.run(
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_telemetry_is_off_by_default() -> None:
    assert _probe({}) == "False False"


def test_an_operator_can_opt_in() -> None:
    assert _probe({"DO_NOT_TRACK": "0", "PREFECT_SERVER_ANALYTICS_ENABLED": "true"}) == "True True"
