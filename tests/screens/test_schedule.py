"""Next-change dates (`screens.schedule`): the day a hit leaves its window is the day a result
can change, and only hits bring such days."""

from datetime import date, timedelta

import polars as pl

from screens.engine import evaluate_screens
from screens.rules import PAD
from screens.schedule import next_change_dates
from tests.screens.tables import abi, condition, tables

AS_OF = date(2026, 6, 30)
WINDOW = PAD.criteria_index["pad.low_abi"].lookback.days or 0


def _next_change(t: dict[str, pl.DataFrame], as_of: date = AS_OF) -> dict[str, date | None]:
    leaving = evaluate_screens([PAD], t, as_of).leaving
    return dict(next_change_dates(t, as_of, leaving).iter_rows())


def _flagged(t: dict[str, pl.DataFrame], as_of: date) -> set[str]:
    return set(evaluate_screens([PAD], t, as_of).items["patient_id"].to_list())


def test_a_low_abi_flags_until_the_day_after_its_window_ends() -> None:
    on = AS_OF - timedelta(days=WINDOW)  # the window's first day
    t = tables(observation=[abi("p1", 0.72, on)])
    assert WINDOW > 0 and _next_change(t) == {"p1": AS_OF + timedelta(days=1)}
    assert _flagged(t, AS_OF) == {"p1"}
    assert _flagged(t, AS_OF + timedelta(days=1)) == set()


def test_the_next_change_is_the_earliest_of_leaving_a_window_coming_into_view_and_a_birthday() -> (
    None
):
    early = AS_OF - timedelta(days=WINDOW - 10)  # leaves on 11 July
    t = tables(
        observation=[abi("p1", 0.72, early), abi("p2", 0.72, AS_OF + timedelta(days=5))],
        condition=[condition("p3", "E785", AS_OF - timedelta(days=WINDOW - 3))],
    )
    assert _next_change(t) == {
        "p1": AS_OF + timedelta(days=11),  # its low ABI leaves the window
        "p2": AS_OF + timedelta(days=5),  # its result comes into view
        "p3": date(2027, 1, 1),  # no criterion finds its lipid diagnosis: its birthday only
    }


def test_a_normal_result_brings_no_date() -> None:
    t = tables(observation=[abi("p1", 1.10, AS_OF - timedelta(days=WINDOW))])
    assert _next_change(t) == {"p1": date(2027, 1, 1)}
