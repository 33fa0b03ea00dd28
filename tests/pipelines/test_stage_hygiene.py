"""Staging hygiene and quarantine reasons, one small hand-written input per rule."""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines.errors import QuarantineThresholdError, SourceError
from screens.model import STG_NOTE, STG_OBSERVATION, assert_schema
from tests.pipelines.stage_inputs import (
    condition,
    observation,
    patient,
    write_bundle,
    write_ndjson,
)
from tests.stage_oracle import StagedData, stage_source


def _stage(src: Path, tmp_path: Path, **kw: float) -> StagedData:
    return stage_source(src, workdir=tmp_path / "work", max_quarantine_ratio=1.0, **kw)


def test_bad_json_line_is_quarantined_with_file_and_line(src: Path, tmp_path: Path) -> None:
    write_ndjson(
        src / "Observation.ndjson",
        [observation("o1"), '{"resourceType": "Obs', "", "[1, 2]", observation("o2")],
    )
    staged = _stage(src, tmp_path)
    q = staged.quarantine.sort("source")
    assert q.select("source", "reason").rows() == [
        ("Observation.ndjson:2", "invalid_json"),
        ("Observation.ndjson:4", "not_a_resource"),
    ]
    assert staged.counts["Observation"]["read"] == 4
    assert staged.counts["Observation"]["staged"] == 2


def test_missing_id_and_bad_date_are_quarantined(src: Path, tmp_path: Path) -> None:
    no_id = observation("x")
    del no_id["id"]
    bad_date = observation("o3", effectiveDateTime="2025-13-45")
    write_ndjson(src / "Observation.ndjson", [observation("o1"), no_id, bad_date])
    staged = _stage(src, tmp_path)
    assert sorted(staged.quarantine.select("source", "reason").rows()) == [
        ("Observation.ndjson:2", "missing_id"),
        ("Observation.ndjson:3", "invalid_date"),
    ]
    assert "2025" not in " ".join(staged.quarantine["detail"].to_list())


def test_partial_dates_become_first_day(src: Path, tmp_path: Path) -> None:
    write_ndjson(
        src / "Condition.ndjson",
        [
            condition("c1", code="I10", onsetDateTime="2019"),
            condition("c2", code="I10", onsetDateTime="2019-04"),
            condition("c3", code="I10", onsetDateTime="2019-04-05T23:30:00-05:00"),
            condition("c4", code="I10"),
        ],
    )
    cond = _stage(src, tmp_path).tables["condition"].sort("source_ref")
    assert cond["recorded_on"].to_list() == [
        date(2019, 1, 1),
        date(2019, 4, 1),
        date(2019, 4, 5),
        date(2024, 6, 1),
    ]


def test_entered_in_error_is_dropped_and_counted(src: Path, tmp_path: Path) -> None:
    write_ndjson(
        src / "Observation.ndjson",
        [observation("o1"), observation("o2", status="entered-in-error")],
    )
    staged = _stage(src, tmp_path)
    assert staged.tables["observation"]["source_ref"].to_list() == ["Observation/o1"]
    assert staged.counts["Observation"]["entered_in_error"] == 1


def test_duplicate_keeps_latest_version(src: Path, tmp_path: Path) -> None:
    write_ndjson(
        src / "Observation.ndjson",
        [
            observation(
                "o1", value=0.95, meta={"versionId": "3", "lastUpdated": "2025-01-03T00:00:00Z"}
            ),
            observation(
                "o1", value=0.70, meta={"versionId": "10", "lastUpdated": "2025-01-04T00:00:00Z"}
            ),
            observation(
                "o1", value=0.99, meta={"versionId": "2", "lastUpdated": "2025-01-02T00:00:00Z"}
            ),
        ],
    )
    staged = _stage(src, tmp_path)
    assert staged.tables["observation"]["value_num"].to_list() == [0.70]
    assert staged.counts["Observation"]["duplicates"] == 2


@pytest.mark.parametrize(
    ("code", "norm"),
    [("I70.213", "I70213"), ("I70213", "I70213"), ("440.21", "44021"), ("i70.2 13", "I70213")],
    ids=["icd10-dots", "icd10-plain", "icd9-dots", "lower-space"],
)
def test_code_norm_removes_dots_and_spaces(src: Path, tmp_path: Path, code: str, norm: str) -> None:
    write_ndjson(src / "Condition.ndjson", [condition("c1", code=code)])
    cond = _stage(src, tmp_path).tables["condition"]
    assert cond.select("code", "code_norm").rows() == [(code, norm)]


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("mm Hg", "mm[Hg]"),
        ("mmhg", "mm[Hg]"),
        ("mm[Hg]", "mm[Hg]"),
        ("mmHg", "mm[Hg]"),
        ("{ratio}", "1"),
        ("1", "1"),
        ("ratio", "1"),
        (None, "1"),
        ("%", "%"),
        ("kg", "kg"),
        ("furlongs", "unit_unrecognized"),
    ],
    ids=lambda v: repr(v),
)
def test_units_are_normalised_to_ucum(
    src: Path, tmp_path: Path, unit: str | None, expected: str
) -> None:
    write_ndjson(src / "Observation.ndjson", [observation("o1", unit=unit)])
    obs = _stage(src, tmp_path).tables["observation"]
    assert obs["unit"].to_list() == [expected]


def test_components_and_laterality_become_rows(src: Path, tmp_path: Path) -> None:
    obs = observation(
        "o1", bodySite={"coding": [{"system": "http://snomed.info/sct", "code": "7771000"}]}
    )
    obs["component"] = [
        {
            "code": {
                "coding": [{"system": "http://loinc.org", "code": "x1", "display": "ABI right leg"}]
            },
            "valueQuantity": {"value": 0.6, "unit": "{ratio}"},
        },
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "x2", "display": "ABI"}]},
            "valueString": "noncompressible",
        },
    ]
    # One component, no bodySite: the component's own words give its laterality.
    single = observation("o2", value=0.7)
    single["component"] = [
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "x3", "display": "left"}]},
            "valueQuantity": {"value": 0.5, "unit": "{ratio}"},
        }
    ]
    write_ndjson(src / "Observation.ndjson", [obs, single])
    frame = assert_schema(_stage(src, tmp_path).tables["observation"], STG_OBSERVATION, "obs")
    rows = (
        frame.sort("source_ref", "code")
        .select("source_ref", "code", "value_num", "value_str", "unit", "laterality")
        .rows()
    )
    assert rows == [
        ("Observation/o1", "76497-3", 0.8, None, "1", "left"),
        ("Observation/o1", "x1", 0.6, None, "1", "right"),
        ("Observation/o1", "x2", None, "noncompressible", None, "left"),
        ("Observation/o2", "76497-3", 0.7, None, "1", None),
        ("Observation/o2", "x3", 0.5, None, "1", "left"),
    ]


def test_gz_and_split_files_are_read(src: Path, tmp_path: Path) -> None:
    write_ndjson(src / "Observation.000.ndjson.gz", [observation("o1")])
    write_ndjson(src / "Observation.001.ndjson", [observation("o2")])
    (src / "log.ndjson").write_text('{"not": "fhir"}\n')
    staged = _stage(src, tmp_path)
    assert staged.tables["observation"]["source_ref"].to_list() == [
        "Observation/o1",
        "Observation/o2",
    ]


def test_bundle_entries_resolve_urn_uuid_patients(tmp_path: Path) -> None:
    d = tmp_path / "src"
    d.mkdir()
    write_bundle(
        d / "b.json",
        [patient("p9"), condition("c1", code="I70.213", patient_ref="urn:uuid:p9")],
        kind="transaction",
    )
    staged = _stage(d, tmp_path)
    assert staged.tables["condition"].select("patient_id", "source_ref").rows() == [
        ("p9", "Condition/c1")
    ]
    assert staged.tables["patient"]["patient_id"].to_list() == ["p9"]


def test_notes_decode_plain_and_html(src: Path, tmp_path: Path) -> None:
    def docref(did: str, content_type: str, text: str | None, url: str | None = None) -> dict:
        att: dict = {"contentType": content_type}
        if text is not None:
            att["data"] = base64.b64encode(text.encode("latin-1")).decode()
        if url:
            att["url"] = url
        return {
            "resourceType": "DocumentReference",
            "id": did,
            "status": "current",
            "type": {"text": "Progress note"},
            "subject": {"reference": "Patient/p1"},
            "date": "2025-02-01T10:00:00Z",
            "content": [{"attachment": att}],
        }

    write_ndjson(
        src / "DocumentReference.ndjson",
        [
            docref("d1", "text/plain; charset=ISO-8859-1", "Calf pain \xe0 100 m."),
            docref(
                "d2", "text/html", "<html><body><p>Rest pain</p><script>x()</script></body></html>"
            ),
            docref("d3", "text/plain", None, url="https://ehr/Binary/1"),
            docref("d4", "application/pdf", "%PDF"),
        ],
    )
    staged = _stage(src, tmp_path)
    notes = assert_schema(staged.tables["note"], STG_NOTE, "note")
    assert notes.select("source_ref", "text").rows() == [
        ("DocumentReference/d1", "Calf pain \xe0 100 m."),
        ("DocumentReference/d2", "Rest pain"),
    ]
    assert staged.notes_unavailable == 2


def test_missing_source_and_empty_dir_raise_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        stage_source(tmp_path / "nope", workdir=tmp_path / "w")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.txt").write_text("x")
    with pytest.raises(SourceError, match="no FHIR"):
        stage_source(tmp_path / "empty", workdir=tmp_path / "w")


def test_quarantine_threshold_fails_systemic_bad_data(src: Path, tmp_path: Path) -> None:
    lines: list = [observation(f"o{i}") for i in range(20)] + ['{"broken'] * 5
    write_ndjson(src / "Observation.ndjson", lines)
    with pytest.raises(QuarantineThresholdError, match=r"Observation: 5 of 25") as err:
        stage_source(src, workdir=tmp_path / "w", max_quarantine_ratio=0.05)
    assert "broken" not in str(err.value)


def test_every_staged_table_matches_its_contract(src: Path, tmp_path: Path) -> None:
    staged = _stage(src, tmp_path)
    assert set(staged.tables) == {
        "patient",
        "condition",
        "observation",
        "procedure",
        "medication",
        "encounter",
        "note",
    }
    assert all(isinstance(f, pl.DataFrame) for f in staged.tables.values())


@pytest.mark.parametrize(
    ("unit", "system", "code", "expected"),
    [
        ("", None, None, "1"),
        ("mm Hg", "http://unitsofmeasure.org", "mm[Hg]", "mm[Hg]"),
        ("mmHg", "http://unitsofmeasure.org", "mmHg", "mm[Hg]"),
        ("bpm", None, None, "/min"),
    ],
    ids=["empty", "ucum-coded", "ucum-miscoded", "alias"],
)
def test_unit_macro_maps_sent_units(
    unit: str, system: str | None, code: str | None, expected: str
) -> None:
    # An empty unit string is invalid R4 (sampled validation quarantines it), so the SQL
    # mapping for it is checked directly.
    import duckdb

    from pipelines.ingest.stage import SQL_DIR

    con = duckdb.connect()
    con.execute((SQL_DIR / "macros.sql").read_text())
    got = con.execute("SELECT ucum_unit(?, ?, ?)", [unit, system, code]).fetchone()
    assert got == (expected,)
