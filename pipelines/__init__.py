"""vascreen's pipeline: pull, land, stage, screen, publish.

A PHI pipeline sends nothing home: Prefect's anonymous SDK telemetry and its server's analytics
are off unless an operator sets these variables otherwise (docs/run-nightly.md). This runs
before any module imports Prefect, which reads them when it starts.
"""

import os

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
