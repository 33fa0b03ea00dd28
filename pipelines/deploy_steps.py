"""Prefect pull steps for the deployments in prefect.yaml (run by the worker before a flow run).

A run starts in the vascreen home, the checkout holding prefect.yaml: Prefect loads the flow
from the entrypoint's path relative to it, and relative paths (the default store
`var/vascreen.db`, the work directory `var/work`, exports) resolve there. Production sets
VASCREEN_STORE_URL and VASCREEN_WORKDIR to absolute paths instead (docs/run-nightly.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import pipelines
from pipelines.errors import SourceError


def vascreen_home() -> Path:
    """VASCREEN_HOME when set; else the checkout the worker runs this package from (where
    prefect.yaml is); else the worker's current directory."""
    if home := os.environ.get("VASCREEN_HOME", "").strip():
        return Path(home)
    checkout = Path(pipelines.__file__).resolve().parents[1]
    if (checkout / "prefect.yaml").is_file():
        return checkout
    return Path.cwd()


def enter_vascreen_home() -> dict[str, str]:
    """Change to the vascreen home (the pull step); a missing one is one line, not a crash."""
    home = vascreen_home()
    if not home.is_dir():
        raise SourceError(f"VASCREEN_HOME {home} is not a directory")
    if not (home / "prefect.yaml").is_file():
        raise SourceError(f"VASCREEN_HOME {home} is not a vascreen checkout (no prefect.yaml)")
    os.chdir(home)
    return {"directory": str(home)}
