"""Every sql/checks/*.sql assertion returns zero rows on staged test data."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import SHARED_DATA
from tests.pipelines.stage_inputs import condition, observation, patient, write_ndjson
from tests.stage_oracle import stage_source

CHECKS = sorted((Path(__file__).resolve().parents[2] / "sql" / "checks").glob("*.sql"))


@pytest.fixture(scope="module", params=["hand-written", "synthea-bulk-10"])
def stage_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("work")
    if request.param == "hand-written":
        src = tmp_path_factory.mktemp("src")
        write_ndjson(src / "Patient.ndjson", [patient("p1"), patient("p1")])
        write_ndjson(src / "Condition.ndjson", [condition("c1", code="I70.213")])
        write_ndjson(
            src / "Observation.ndjson",
            [
                observation("o1", unit="mm Hg", value=45.0),
                observation("o2", unit="furlongs"),
                observation("o3", status="entered-in-error"),
                "not json",
            ],
        )
    else:
        src = SHARED_DATA / "synthea-bulk-10"
    stage_source(src, workdir=work, max_quarantine_ratio=1.0)
    return work / "stage.duckdb"


def test_there_are_checks() -> None:
    assert len(CHECKS) >= 5


@pytest.mark.parametrize("check", CHECKS, ids=[c.stem for c in CHECKS])
def test_check_returns_no_rows(stage_db: Path, check: Path) -> None:
    with duckdb.connect(str(stage_db), read_only=True) as con:
        assert con.execute(check.read_text()).fetchall() == []
