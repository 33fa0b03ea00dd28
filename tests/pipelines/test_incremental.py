"""Sharded and incremental runs give the worklist a full run gives, whatever the shard count."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from pathlib import Path

import duckdb
import orjson
import pytest

from devtools.synth import write_cohort
from pipelines import nlp_cache, run_summary
from pipelines.mirror.merge import ZSTD_COLUMNS, mirror_path
from pipelines.night import run_night
from pipelines.settings import Settings
from screens.notes import NLP_VERSION

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cohort") / "source"
    write_cohort(300, 11, out)
    return out


def _settings(work: Path, shard_size: int = 1000) -> Settings:
    return Settings(workdir=work, store_url=f"sqlite:///{work / 'store.db'}", shard_size=shard_size)


def _patients_with(source: Path, screen: str, n: int) -> list[str]:
    with (source / "labels.csv").open() as handle:
        return [r["patient_id"] for r in csv.DictReader(handle) if screen in r["screens"].split()][
            :n
        ]


def _rewrite(path: Path, keep: object) -> None:
    lines = path.read_bytes().splitlines()
    path.write_bytes(
        b"\n".join(x for x in (keep(orjson.loads(line)) for line in lines) if x) + b"\n"
    )  # type: ignore[operator]


def change_one_percent(source: Path, target: Path) -> set[str]:
    """Copy `source` and change three of its 300 patients: add, modify and delete resources."""
    shutil.copytree(source, target)
    pad = _patients_with(target, "pad", 2)
    clti = _patients_with(target, "clti", 1)
    diagnosed, modified, deleted = pad[0], pad[1], clti[0]
    with (target / "Condition.ndjson").open("ab") as handle:  # added: a PAD diagnosis
        handle.write(
            orjson.dumps(
                {
                    "resourceType": "Condition",
                    "id": f"cond-{diagnosed}-new",
                    "subject": {"reference": f"Patient/{diagnosed}"},
                    "clinicalStatus": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                "code": "active",
                            }
                        ]
                    },
                    "code": {
                        "coding": [
                            {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I70.213"}
                        ]
                    },
                    "onsetDateTime": "2026-05-01",
                }
            )
            + b"\n"
        )

    def modify(r: dict) -> bytes:  # type: ignore[type-arg]
        if r.get("subject", {}).get("reference") == f"Patient/{modified}" and "valueQuantity" in r:
            r["valueQuantity"]["value"] = 1.1
        return orjson.dumps(r)

    def delete(r: dict) -> bytes | None:  # type: ignore[type-arg]
        return (
            None
            if r.get("subject", {}).get("reference") == f"Patient/{deleted}"
            else orjson.dumps(r)
        )

    _rewrite(target / "Observation.ndjson", modify)
    _rewrite(target / "Observation.ndjson", delete)
    return {diagnosed, modified, deleted}


def test_shard_count_does_not_change_the_worklist(cohort: Path, tmp_path: Path) -> None:
    one = run_night(
        str(cohort), settings=_settings(tmp_path / "a"), as_of=AS_OF, export_dir=tmp_path / "a"
    )
    many = run_night(
        str(cohort), settings=_settings(tmp_path / "b", 70), as_of=AS_OF, export_dir=tmp_path / "b"
    )
    assert (one.shards, many.shards) == (1, 5)
    assert (tmp_path / "a" / "worklist.csv").read_bytes() == (
        tmp_path / "b" / "worklist.csv"
    ).read_bytes()
    assert one.flagged and one.evaluation == "full"


def test_incremental_run_after_one_percent_change_equals_a_full_run(
    cohort: Path, tmp_path: Path
) -> None:
    changed = tmp_path / "changed"
    touched = change_one_percent(cohort, changed)
    inc, full = _settings(tmp_path / "inc"), _settings(tmp_path / "full")
    for settings in (inc, full):
        run_night(str(cohort), settings=settings, as_of=AS_OF)
    second = run_night(str(changed), settings=inc, as_of=AS_OF, export_dir=tmp_path / "inc")
    reference = run_night(
        str(changed), settings=full, as_of=AS_OF, full=True, export_dir=tmp_path / "full"
    )
    assert second.evaluation == "incremental" and reference.evaluation == "full"
    assert second.touched_patients == len(touched) == second.evaluated_patients
    assert second.publish["resolved"] >= 1  # the newly diagnosed patient leaves the pad worklist
    assert (tmp_path / "inc" / "worklist.csv").read_bytes() == (
        tmp_path / "full" / "worklist.csv"
    ).read_bytes()


def test_rerun_without_changes_evaluates_nobody_and_keeps_the_worklist(
    cohort: Path, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    run_night(str(cohort), settings=settings, as_of=AS_OF, export_dir=tmp_path / "1")
    again = run_night(str(cohort), settings=settings, as_of=AS_OF, export_dir=tmp_path / "2")
    assert (again.evaluation, again.evaluated_patients, again.shards) == ("incremental", 0, 0)
    assert (tmp_path / "1" / "worklist.csv").read_bytes() == (
        tmp_path / "2" / "worklist.csv"
    ).read_bytes()
    # The run flagged nobody new, but the summary still says what is open in the store.
    open_rows = len((tmp_path / "2" / "worklist.csv").read_text().splitlines()) - 1
    assert again.flagged == {} and sum(again.items["open"].values()) == open_rows > 0


def test_a_new_as_of_evaluates_the_due_patients_and_new_value_sets_everyone(
    cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    first = run_night(str(cohort), settings=settings, as_of=AS_OF)
    # Lookbacks move with as_of, but only patients whose next-change date came are due
    # (`screens.schedule`; tests/pipelines/test_month_of_nights.py checks the worklist).
    later = run_night(str(cohort), settings=settings, as_of=date(2026, 7, 1))
    assert later.evaluation == "incremental"
    assert later.evaluated_patients < first.evaluated_patients
    monkeypatch.setattr(run_summary, "evaluation_key", lambda: "valuesets=changed nlp=same")
    changed = run_night(str(cohort), settings=settings, as_of=date(2026, 7, 2))
    assert changed.evaluation == "full"


def test_the_run_merges_the_nlp_cache_parts_of_its_shards(
    cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nlp_cache, "COMPACT_MIN_PARTS", 2)
    settings = _settings(tmp_path, 70)
    first = run_night(str(cohort), settings=settings, as_of=AS_OF, export_dir=tmp_path / "1")
    seen = sorted((tmp_path / "nlp-cache" / NLP_VERSION).glob("seen-*.parquet"))
    assert first.shards == 5 and len(seen) == 1  # five shards' parts, merged once they finished
    later = run_night(str(cohort), settings=settings, as_of=date(2026, 7, 1), full=True)
    assert later.evaluation == "full" and later.notes == first.notes > 0
    # Every note text was read from the merged part: the NLP wrote nothing new.
    assert sorted((tmp_path / "nlp-cache" / NLP_VERSION).glob("seen-*.parquet")) == seen


def test_the_mirror_keeps_note_texts_in_zstd_and_leaves_other_columns_to_duckdb(
    cohort: Path, tmp_path: Path
) -> None:
    # The landing forces ZSTD on its scratch tables; the mirror, attached to the same
    # connection, must keep its own choice, with ZSTD only where ZSTD_COLUMNS asks for it.
    settings = _settings(tmp_path)
    run_night(str(cohort), settings=settings, as_of=AS_OF)
    change_one_percent(cohort, tmp_path / "changed")
    run_night(str(tmp_path / "changed"), settings=settings, as_of=AS_OF)
    path = mirror_path(tmp_path, store_url=settings.store_url)
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        segments = {
            (table, column, method)
            for table in tables
            for column, method in con.execute(
                "SELECT column_name, compression FROM pragma_storage_info(?) "
                "WHERE segment_type = 'VARCHAR'",
                [table],
            ).fetchall()
        }
    zstd = {(t, c) for t, c, method in segments if method == "ZSTD"}
    assert zstd == {(t, c) for t, cols in ZSTD_COLUMNS.items() for c in cols}
    assert {(t, c) for t, c, _ in segments} > zstd  # other string columns were looked at too
