"""Columns appended for issue 23: encounters, laterality, abatement, observation panels.

Each case stages a small hand-written source and reads the new columns; the laterality and
loose-date macros are also checked directly on the shapes senders write.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from pipelines.ingest.fields import RESOURCE_FIELDS, duckdb_type
from pipelines.ingest.stage import SQL_DIR
from tests.pipelines.stage_inputs import condition, observation, write_bundle, write_ndjson
from tests.stage_oracle import StagedData, stage_source

SNOMED = "http://snomed.info/sct"
LOCAL = "urn:oid:2.16.840.1.113883.3.9999.7"  # a site's own lab codes


def _stage(src: Path, tmp_path: Path) -> StagedData:
    return stage_source(src, workdir=tmp_path / "work", max_quarantine_ratio=1.0)


def _cols(frame: pl.DataFrame, *names: str) -> list[tuple[Any, ...]]:
    return frame.sort("source_ref", "code", nulls_last=True).select(names).rows()


@pytest.fixture(scope="module")
def macros() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute((SQL_DIR / "macros.sql").read_text())
    return con


# ---- laterality_of: codes, words, and the side abbreviations of local codes ----------------


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("Ankle pressure, right", "right"),
        ("R ABI", "right"),
        ("ABI (R)", "right"),
        ("Toe/brachial index Lt.", "left"),
        ("Hallux pressure L", "left"),
        ("LLE venous duplex", "left"),
        ("ABI R and L", "bilateral"),
        ("B/L ABI", "bilateral"),
        ("Potassium mmol/L", None),
        ("L4-L5 disc", None),
        ("Ratio", None),
        ("RBC count", None),
        ("", None),
    ],
    ids=lambda v: str(v),
)
def test_laterality_from_words_and_capital_abbreviations(
    macros: duckdb.DuckDBPyConnection, words: str, expected: str | None
) -> None:
    assert macros.execute("SELECT laterality_of([], ?)", [words]).fetchone() == (expected,)


@pytest.mark.parametrize(
    ("sites", "expected"),
    [
        ([{"coding": [{"code": "7771000"}]}], "left"),
        ([{"coding": [{"code": "30021000"}], "text": "Right lower leg"}], "right"),
        # A SNOMED CT laterality qualifier in an extension of the site ...
        (
            [
                {
                    "coding": [{"code": "30021000"}],
                    "extension": [{"valueCodeableConcept": {"coding": [{"code": "24028007"}]}}],
                }
            ],
            "right",
        ),
        # ... or postcoordinated into the site's code.
        ([{"coding": [{"code": "30021000:272741003=7771000"}]}], "left"),
        ([{"coding": [{"code": "7771000"}]}, {"coding": [{"code": "24028007"}]}], "bilateral"),
        ([{"coding": [{"code": "30021000"}], "text": "Lower leg"}], None),
        ([], None),
        (None, None),
    ],
    ids=["code", "text", "extension", "postcoordinated", "two_sites", "no_side", "empty", "none"],
)
def test_site_laterality_reads_codes_extensions_and_postcoordination(
    macros: duckdb.DuckDBPyConnection, sites: list[dict[str, Any]] | None, expected: str | None
) -> None:
    site_type = duckdb_type(RESOURCE_FIELDS["bodySites"])
    got = macros.execute(
        f"SELECT sites_laterality(CAST(? AS {site_type}), {{'coding': []}})", [sites]
    ).fetchone()
    assert got == (expected,)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2019-04-02", date(2019, 4, 2)),
        ("2019-04", date(2019, 4, 1)),
        ("4/2/2019", date(2019, 4, 2)),
        ("April 2, 2019", date(2019, 4, 2)),
        ("2 Apr 2019", date(2019, 4, 2)),
        ("  March 2020 ", date(2020, 3, 1)),
        ("after the stent", None),
        ("in childhood", None),
        ("13/45/2019", None),
    ],
    ids=lambda v: str(v),
)
def test_loose_date_reads_dates_written_in_text(
    macros: duckdb.DuckDBPyConnection, written: str, expected: date | None
) -> None:
    assert macros.execute("SELECT loose_date(?)", [written]).fetchone() == (expected,)


# ---- Condition ----------------------------------------------------------------------------


def test_condition_names_its_encounter_side_and_abatement(src: Path, tmp_path: Path) -> None:
    sites = [{"coding": [{"system": SNOMED, "code": "7771000", "display": "Left"}]}]
    write_ndjson(
        src / "Condition.ndjson",
        [
            condition(
                "c1",
                code="I80.12",
                encounter={"reference": "Encounter/visit-7"},
                bodySite=sites,
                abatementDateTime="2024-09-30T10:00:00+02:00",
            ),
            condition("c2", code="M79.661", abatementPeriod={"start": "2023-02-01"}),
            condition(
                "c3",
                code="I87.2",
                abatementPeriod={"start": "2023-02-01", "end": "2023-03-15"},
                bodySite=[{"text": "both lower legs"}],
            ),
            condition("c4", code="R60.0", abatementString="June 3, 2022"),
            condition("c5", code="R60.0", abatementString="when she stopped running"),
            condition("c6", code="I70.213"),
        ],
    )
    got = _cols(
        _stage(src, tmp_path).tables["condition"],
        "source_ref",
        "encounter_id",
        "laterality",
        "abated_on",
    )
    assert got == [
        ("Condition/c1", "visit-7", "left", date(2024, 9, 30)),
        ("Condition/c2", None, None, date(2023, 2, 1)),
        ("Condition/c3", None, "bilateral", date(2023, 3, 15)),
        ("Condition/c4", None, None, date(2022, 6, 3)),
        ("Condition/c5", None, None, None),
        ("Condition/c6", None, None, None),
    ]


def test_a_malformed_abatement_date_is_quarantined_like_other_dates(
    src: Path, tmp_path: Path
) -> None:
    write_ndjson(
        src / "Condition.ndjson",
        [
            condition("c1", code="I80.12", abatementDateTime="2024-02-30"),
            condition("c2", code="I10"),
        ],
    )
    staged = _stage(src, tmp_path)
    assert staged.quarantine.select("source", "reason").rows() == [
        ("Condition.ndjson:1", "invalid_date")
    ]
    assert staged.tables["condition"]["source_ref"].to_list() == ["Condition/c2"]


def test_encounter_references_in_bundles_and_absolute_urls(src: Path, tmp_path: Path) -> None:
    write_bundle(
        src / "bundle.json",
        [
            condition("c1", code="I80.12", encounter={"reference": "urn:uuid:enc-1"}),
            condition(
                "c2",
                code="I80.12",
                encounter={"reference": "https://ehr.example/fhir/Encounter/enc-2/_history/3"},
            ),
            condition("c3", code="I80.12", encounter={"reference": "Group/g1"}),
        ],
    )
    got = _cols(_stage(src, tmp_path).tables["condition"], "source_ref", "encounter_id")
    assert got == [("Condition/c1", "enc-1"), ("Condition/c2", "enc-2"), ("Condition/c3", None)]


# ---- Observation --------------------------------------------------------------------------


def _component(
    text: str, value: float, coding: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    code: dict[str, Any] = {"text": text}
    if coding:
        code["coding"] = coding
    return {"code": code, "valueQuantity": {"value": value, "unit": "1"}}


def test_components_name_their_panel_and_text_only_components_stage(
    src: Path, tmp_path: Path
) -> None:
    panel = observation(
        "o1",
        component=[
            _component("Rt ankle/arm", 0.71, [{"system": LOCAL, "code": "77"}]),
            _component("Ankle/arm index Lt", 0.94),  # no coding at all
        ],
        encounter={"reference": "Encounter/lab-3"},
    )
    panel["code"] = {"coding": [{"system": LOCAL, "code": "VL-ABI"}], "text": "Arterial Doppler"}
    del panel["valueQuantity"]  # a panel: the values are its components'
    write_ndjson(src / "Observation.ndjson", [panel])
    rows = _cols(
        _stage(src, tmp_path).tables["observation"],
        "code",
        "display",
        "value_num",
        "laterality",
        "encounter_id",
        "panel_system",
        "panel_code",
        "panel_display",
    )
    assert rows == [
        ("77", "Rt ankle/arm", 0.71, "right", "lab-3", LOCAL, "VL-ABI", "Arterial Doppler"),
        ("VL-ABI", "Arterial Doppler", None, None, "lab-3", None, None, None),
        (None, "Ankle/arm index Lt", 0.94, "left", "lab-3", LOCAL, "VL-ABI", "Arterial Doppler"),
    ]


def test_top_level_rows_take_their_side_from_the_code_when_no_body_site(
    src: Path, tmp_path: Path
) -> None:
    text_only = observation("o1", value=38.0, unit="mm[Hg]")
    text_only["code"] = {"text": "Great toe pressure R"}
    by_display = observation("o2")
    by_display["code"] = {"coding": [{"system": LOCAL, "code": "T-L", "display": "TBI L"}]}
    site_wins = observation("o3", bodySite={"coding": [{"system": SNOMED, "code": "7771000"}]})
    site_wins["code"] = {"text": "ABI R"}
    unsided = observation("o4", value=4.1, unit="mmol/L")
    unsided["code"] = {"text": "Potassium [Moles/volume] in Serum mmol/L"}
    write_ndjson(src / "Observation.ndjson", [text_only, by_display, site_wins, unsided])
    rows = _cols(
        _stage(src, tmp_path).tables["observation"],
        "source_ref",
        "system",
        "code",
        "display",
        "laterality",
        "panel_code",
    )
    assert rows == [
        ("Observation/o1", None, None, "Great toe pressure R", "right", None),
        ("Observation/o2", LOCAL, "T-L", "TBI L", "left", None),
        ("Observation/o3", None, None, "ABI R", "left", None),
        ("Observation/o4", None, None, "Potassium [Moles/volume] in Serum mmol/L", None, None),
    ]


# ---- Procedure ----------------------------------------------------------------------------


def test_procedure_names_its_encounter_and_side(src: Path, tmp_path: Path) -> None:
    base = {
        "resourceType": "Procedure",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "performedDateTime": "2025-04-01",
        "code": {"text": "Iliac vein stent"},
    }
    write_ndjson(
        src / "Procedure.ndjson",
        [
            {
                **base,
                "id": "x1",
                "encounter": {"reference": "Encounter/or-1"},
                "bodySite": [{"text": "Left common iliac vein"}],
            },
            {
                **base,
                "id": "x2",
                "bodySite": [{"coding": [{"system": SNOMED, "code": "51440002"}]}],
            },
            {**base, "id": "x3"},
        ],
    )
    got = _cols(
        _stage(src, tmp_path).tables["procedure"], "source_ref", "encounter_id", "laterality"
    )
    assert got == [
        ("Procedure/x1", "or-1", "left"),
        ("Procedure/x2", None, "bilateral"),
        ("Procedure/x3", None, None),
    ]
