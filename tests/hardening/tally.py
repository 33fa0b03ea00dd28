"""The hardening tally: what the suite did to the product, printed once as one summary line.

A pytest plugin, registered by the root `tests/conftest.py`, so a hardening test anywhere in the
tree counts (the intake-limit tests beside the FHIR client and the review app too), and a full
`pytest` run, `pytest tests/hardening` or a single file prints the line once when something
was counted:

    hardening: faults injected N, bad inputs tried N, markers planted N, leaks found 0, ...
"""

from __future__ import annotations

from collections import Counter

import pytest

TALLY: Counter[str] = Counter()
TALLY_KEYS = (
    "faults injected",
    "bad inputs tried",
    "markers planted",
    "leaks found",
    "items lost",
    "decisions lost",
)


def tally(kind: str, n: int = 1) -> None:
    """Count something the suite did (`kind` is one of TALLY_KEYS)."""
    assert kind in TALLY_KEYS, kind
    TALLY[kind] += n


def summary_line() -> str:
    return "hardening: " + ", ".join(f"{k} {TALLY[k]}" for k in TALLY_KEYS)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if sum(TALLY.values()) == 0:
        return
    terminalreporter.write_line(summary_line())
