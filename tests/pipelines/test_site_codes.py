"""The run summary names the site's unmatched ABI-like codes (counts only), full or incremental."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import _print_summary
from pipelines.night import run_night
from pipelines.run_summary import summary_counts, summary_markdown
from tests.pipelines.engine_spy import mirror_settings
from tests.pipelines.stage_inputs import observation, patient, write_ndjson

AS_OF = date(2026, 6, 30)
LOCAL = "urn:oid:1.2.840.99.7"


def _local(oid: str, code: str, display: str, patient_id: str, value: float) -> dict[str, Any]:
    obs = observation(oid, patient_id=patient_id, value=value, unit="mm[Hg]")
    obs["code"] = {"coding": [{"system": LOCAL, "code": code, "display": display}]}
    return obs


def _source(root: Path, observations: list[dict[str, Any]]) -> Path:
    root.mkdir(parents=True)
    write_ndjson(root / "Patient.ndjson", [patient("pt-a"), patient("pt-b")])
    write_ndjson(root / "Observation.ndjson", observations)
    return root


NIGHT_ONE = [
    _local("o1", "TC-1", "TCOM dorsum L", "pt-a", 23.5),
    _local("o2", "TC-1", "TCOM dorsum L", "pt-a", 27.25),
    _local("o3", "DPP", "Dorsalis pedis pressure R", "pt-b", 61.75),
    observation("o4", patient_id="pt-b", value=0.875),  # LOINC: not the site's to map
]


def _assert_counts_only(text: str) -> None:
    for private in ("pt-a", "pt-b", "23.5", "27.25", "61.75", "TCOM dorsum", "Dorsalis"):
        assert private not in text


def test_the_nightly_summary_lists_unmatched_codes(tmp_path: Path) -> None:
    source = _source(tmp_path / "src", NIGHT_ONE)
    summary = run_night(str(source), settings=mirror_settings(tmp_path / "work"), as_of=AS_OF)
    assert summary.unmatched_codes == ((f"{LOCAL}|TC-1", 2), (f"{LOCAL}|DPP", 1))
    markdown = summary_markdown(summary)
    assert f"| {LOCAL} | TC-1 | 2 |" in markdown
    assert "screens/valuesets/local/" in markdown
    _assert_counts_only(markdown)


def test_an_incremental_run_still_reports_the_whole_site(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = mirror_settings(tmp_path / "work")
    run_night(str(_source(tmp_path / "n1", NIGHT_ONE)), settings=settings, as_of=AS_OF)
    # Night two changes pt-a only; pt-b's unmatched code is still the site's.
    night_two = [*NIGHT_ONE, _local("o5", "TC-1", "TCOM dorsum L", "pt-a", 30.0)]
    summary = run_night(str(_source(tmp_path / "n2", night_two)), settings=settings, as_of=AS_OF)
    assert summary.evaluation == "incremental" and summary.touched_patients == 1
    assert summary.unmatched_codes == ((f"{LOCAL}|TC-1", 3), (f"{LOCAL}|DPP", 1))
    result = summary_counts(summary)
    assert result["unmatched_measurement_codes"] == {f"{LOCAL}|TC-1": 3, f"{LOCAL}|DPP": 1}
    _print_summary(summary)
    printed = capsys.readouterr().out
    assert f"{LOCAL}|TC-1 (3), {LOCAL}|DPP (1)" in printed
    _assert_counts_only(printed + summary_markdown(summary))


def test_a_site_with_everything_mapped_gets_no_such_section(tmp_path: Path) -> None:
    source = _source(tmp_path / "src", [observation("o4", patient_id="pt-b", value=0.875)])
    summary = run_night(str(source), settings=mirror_settings(tmp_path / "work"), as_of=AS_OF)
    assert summary.unmatched_codes == ()
    assert "match no value set" not in summary_markdown(summary)
