"""The mirror's content hash is a fingerprint: near-identical records get different hashes."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import duckdb

from pipelines.mirror.content_hash import text_hash_sql
from pipelines.mirror.merge import mirror_path
from pipelines.night import run_night
from tests.pipelines.engine_spy import mirror_settings
from tests.pipelines.stage_inputs import observation, patient, write_ndjson

RECORDS = 150_000
_AS_OF = date(2026, 6, 30)


def _near_identical(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """150,000 records alike but for one character of the id or one digit of the value."""
    return con.sql(
        "SELECT 'Observation.ndjson' AS src, i AS src_pos, "
        "CAST(to_json(struct_pack(id := 'obs-' || lpad(CAST(i // 2 AS VARCHAR), 6, '0'), "
        "subject := 'Patient/p1', value := 0.90 + (i % 2) / 100)) AS VARCHAR) AS content "
        f"FROM range({RECORDS}) AS t(i)"
    )


def test_near_identical_records_get_different_content_hashes() -> None:
    with duckdb.connect() as con:
        ((distinct, rows),) = (
            _near_identical(con)
            .aggregate(f"count(DISTINCT {text_hash_sql('content')}), count(*)")
            .fetchall()
        )
    assert rows == RECORDS
    assert distinct == RECORDS


def test_the_content_hash_is_the_md5_of_the_record_text() -> None:
    with duckdb.connect() as con:
        rows = (
            _near_identical(con)
            .limit(3)
            .select(f"content, CAST({text_hash_sql('content')} AS VARCHAR)")
            .fetchall()
        )
    hashes = [int(h) for _, h in rows]
    assert hashes == [int.from_bytes(hashlib.md5(t.encode()).digest(), "little") for t, _ in rows]
    assert len(set(hashes)) == 3


def test_a_one_character_change_re_evaluates_the_patient(tmp_path: Path) -> None:
    settings = mirror_settings(tmp_path / "work")
    for night, value in (("n1", 0.71), ("n2", 0.17)):  # the same characters, two swapped
        source = tmp_path / night
        source.mkdir()
        write_ndjson(source / "Patient.ndjson", [patient("p1"), patient("p2")])
        write_ndjson(
            source / "Observation.ndjson",
            [observation("o1", patient_id="p1", value=value), observation("o2", patient_id="p2")],
        )
        summary = run_night(str(source), settings=settings, as_of=_AS_OF)
    assert summary.evaluation == "incremental" and summary.touched_patients == 1
    mirror = mirror_path(settings.workdir, store_url=settings.store_url)
    with duckdb.connect(str(mirror), read_only=True) as con:
        (kind,) = con.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'resource' AND column_name = 'content_hash'"
        ).fetchone() or ("",)
    assert kind == "UHUGEINT"
