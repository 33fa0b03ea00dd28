"""Unmatched ABI-like codes: Observation codings that read like a vascular measurement but that
no measurement value set reads, counted by system|code for the run summary."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from screens import valuesets
from screens.valuesets.unmatched import looks_vascular, unmatched_measurement_codes

LOCAL = "urn:oid:1.2.840.99.7"  # a site's own lab code system


def _codings(rows: list[tuple[str | None, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["system", "code", "display"], orient="row")


@pytest.mark.parametrize(
    "display",
    [
        "ABPI left",
        "Rt AAI",
        "Ankle/Brachial ratio R",
        "Toe-Arm Index L",
        "Great toe systolic pressure",
        "Hallux pressure, left",
        "Dorsalis pedis pressure R",
        "TCOM dorsum L",
        "TcPO2 plantar",
        "Anterior compartment pressure, post-exercise",
        "ICP anterior R",
    ],
)
def test_vascular_measurements_are_recognised(display: str) -> None:
    assert looks_vascular(display)


@pytest.mark.parametrize(
    "display",
    [
        "Potassium",
        "Blood pressure systolic",
        "TBI screening (traumatic brain injury)",
        "ICP (intracranial pressure)",
        "Fabian rate",  # "abi" inside a word
        "Arm circumference",
    ],
)
def test_other_observations_are_not(display: str) -> None:
    assert not looks_vascular(display)


def test_only_codings_no_value_set_reads_are_listed_with_their_rows() -> None:
    codings = _codings(
        [
            (LOCAL, "VL-17", "TCOM dorsum L"),  # no value set names TCOM: listed
            (LOCAL, "VL-17", "TCOM dorsum L"),
            (LOCAL, "VL-17", "TCOM foot"),  # same code, another display: counted with it
            (LOCAL, "VL-22", "Dorsalis pedis pressure R"),
            ("http://loinc.org", "77194-9", "Some ABI display"),  # in abi.csv by code
            (LOCAL, "VL-3", "Ankle-brachial index, right"),  # read by abi's text pattern
            (LOCAL, "K", "Potassium"),  # not a vascular measurement
            (LOCAL, None, "TCOM dorsum L"),  # no code: nothing to map
            (LOCAL, "VL-9", None),  # no display: nothing to judge
        ]
    )
    assert unmatched_measurement_codes(codings) == [(f"{LOCAL}|VL-17", 3), (f"{LOCAL}|VL-22", 1)]


def test_counted_rows_sum_their_counts_and_the_top_ten_are_kept_in_order() -> None:
    counted = pl.DataFrame(
        {
            "system": [LOCAL] * 13,
            "code": [f"T{i:02d}" for i in range(12)] + ["T11"],
            "display": ["TCOM site"] * 12 + ["TCOM other site"],
            "n": [1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 4, 6],
        }
    )
    got = unmatched_measurement_codes(counted)
    assert len(got) == 10
    assert got[:3] == [(f"{LOCAL}|T11", 10), (f"{LOCAL}|T09", 9), (f"{LOCAL}|T10", 9)]
    assert got[-1] == (f"{LOCAL}|T02", 2)


def test_a_site_local_value_set_row_maps_a_code_away(tmp_path: Path) -> None:
    lab = "http://vascreen.example.org/fhir/CodeSystem/vascular-lab"
    codings = _codings([(lab, "VL-17", "TCOM dorsum L")])
    assert unmatched_measurement_codes(codings) == [(f"{lab}|VL-17", 1)]
    (tmp_path / "tcpo2.csv").write_text(f"system,code,display,source\n{lab},VL-17,TCOM,site lab\n")
    valuesets.set_extra_dirs((tmp_path,))
    try:
        assert unmatched_measurement_codes(codings) == []
    finally:
        valuesets.set_extra_dirs(())
