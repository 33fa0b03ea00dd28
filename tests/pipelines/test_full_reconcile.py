"""The periodic full read that finds deletions a server neither lists nor keeps in _history."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.full_reconcile import last_full_read, reconcile_line, reconciliation_due
from pipelines.settings import Settings

TODAY = date(2026, 7, 7)


def test_last_full_read_is_the_newest_recorded_one() -> None:
    runs = [
        {"full_read_on": None},  # a file run, or a summary from before the field
        {"full_read_on": "not a date"},
        {"full_read_on": "2026-07-01"},
        {"full_read_on": "2026-06-24"},
    ]
    assert last_full_read(runs) == date(2026, 7, 1)
    assert last_full_read([{}, {"counts": {}}]) is None


@pytest.mark.parametrize(
    ("last", "every", "due"),
    [
        (None, 7, True),  # never read in full
        (date(2026, 6, 30), 7, True),  # exactly 7 days: due
        (date(2026, 7, 1), 7, False),  # 6 days
        (TODAY, 1, False),
        (date(2026, 7, 6), 1, True),
        (TODAY, 0, True),  # 0: every night is a full read
    ],
)
def test_reconciliation_is_due_when_the_last_full_read_is_that_old(
    last: date | None, every: int, due: bool
) -> None:
    assert reconciliation_due(last, TODAY, every) is due


def test_summary_line_says_when_the_last_full_read_ran() -> None:
    assert reconcile_line(date(2026, 7, 4), TODAY, tonight=False) == (
        "last full reconciliation: 2026-07-04 (3 days ago)"
    )
    assert reconcile_line(TODAY, TODAY, tonight=True) == (
        "full read of the source (reconciliation): tonight (2026-07-07)"
    )
    assert reconcile_line(None, TODAY, tonight=False) is None


def test_the_setting_defaults_to_a_week_and_refuses_negative_days() -> None:
    assert Settings().full_reconcile_days == 7  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Settings(full_reconcile_days=-1)  # type: ignore[call-arg]
