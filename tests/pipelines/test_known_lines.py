"""Known lines: a record the mirror holds is not parsed again, and nothing else changes.

Each test lands a first snapshot, then a second one into the same mirror, and compares the
mirror (every table, every row) and the counts with a fresh mirror built from the second
snapshot alone: the incremental landing must be indistinguishable from a full one.
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import orjson
import pytest

from devtools.synth import write_cohort
from pipelines.cohort_run import Fetched, Prepared, prepare
from pipelines.errors import ScreeningError
from pipelines.ingest import land
from pipelines.mirror.merge import LOOKUP_TABLES, STAGED_TABLES
from pipelines.settings import Settings
from screens.rules import rule_versions
from tests.pipelines.test_incremental import change_one_percent

AS_OF = date(2026, 6, 30)
SCREENS = ["cecs", "clti", "may_thurner", "pad"]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("known") / "source"
    write_cohort(120, 5, out)
    # A type staging does not read (the synthetic cohort writes none since Encounter is staged).
    allergies = [
        {"resourceType": "AllergyIntolerance", "id": f"alg{i}", "patient": {"reference": ref}}
        for i, ref in enumerate(f"Patient/{p['id']}" for p in _patients(out))
    ]
    _write(out / "AllergyIntolerance.ndjson", [orjson.dumps(a) for a in allergies])
    return out


def _patients(source: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in _lines(source / "Patient.ndjson")][:10]


def _prepare(source: Path, work: Path) -> Prepared:
    settings = Settings(workdir=work, store_url=f"sqlite:///{work / 'store.db'}")
    return prepare(
        Fetched(source, None),
        settings=settings,
        as_of=AS_OF,
        screens=SCREENS,
        full=False,
        rule_versions=rule_versions(),
    )


def _dump(mirror: Path) -> dict[str, list[tuple[object, ...]]]:
    with duckdb.connect(str(mirror), read_only=True) as con:
        return {
            table: sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in ["resource", "ignored_line", *STAGED_TABLES, *LOOKUP_TABLES]
        }


def _same_as_fresh(second: Path, tmp_path: Path, incremental: Prepared) -> None:
    fresh = _prepare(second, tmp_path / "fresh")
    assert incremental.counts == fresh.counts
    assert _dump(incremental.mirror) == _dump(fresh.mirror)
    assert incremental.quarantine.equals(fresh.quarantine)


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def _lines(path: Path) -> list[bytes]:
    return [x for x in path.read_bytes().splitlines() if x.strip()]


def _write(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"\n".join(lines) + b"\n")


def _landed_then_copied(cohort: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(work directory whose mirror holds `cohort`, a copy of `cohort` to change)."""
    work = tmp_path / "work"
    _prepare(cohort, work)
    return work, _copy(cohort, tmp_path / "second")


def _laid_out(
    cohort: Path, tmp_path: Path, layout: Callable[[Path, Path], Path]
) -> tuple[Path, Path]:
    """(work directory whose mirror holds `cohort`, the 1%-changed cohort), both in `layout`."""
    work = tmp_path / "work"
    _prepare(layout(cohort, tmp_path / "first"), work)
    changed = tmp_path / "changed"
    change_one_percent(cohort, changed)
    return work, layout(changed, tmp_path / "second")


def _new_version(line: bytes, version: str, **fields: object) -> bytes:
    record = orjson.loads(line)
    record["meta"] = {"versionId": version}
    record.update(fields)
    return orjson.dumps(record)


@pytest.mark.parametrize("delta_max_share", [land.DELTA_MAX_SHARE, 0.0])
def test_one_percent_change_parses_only_changed_records_and_equals_a_fresh_mirror(
    cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, delta_max_share: float
) -> None:
    # 0.0 forces the whole-file path (parse, then keep the unknown ordinals).
    monkeypatch.setattr(land, "DELTA_MAX_SHARE", delta_max_share)
    work = tmp_path / "work"
    first = _prepare(cohort, work)
    assert first.records[0] == first.records[1] > 0  # nothing known on a first run
    second = tmp_path / "second"
    change_one_percent(cohort, second)
    before = {p.name: set(_lines(p)) for p in cohort.glob("*.ndjson")}
    new_lines = sum(len(set(_lines(p)) - before[p.name]) for p in second.glob("*.ndjson"))
    incremental = _prepare(second, work)
    assert incremental.records[1] == new_lines > 0
    assert incremental.records[0] == sum(len(_lines(p)) for p in second.glob("*.ndjson"))
    assert 0 < incremental.changes.changed + incremental.changes.added
    assert incremental.changes.removed > 0
    _same_as_fresh(second, tmp_path, incremental)
    assert not list(work.glob("run/delta-*"))


def test_unchanged_snapshot_parses_nothing(cohort: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    first = _prepare(cohort, work)
    again = _prepare(cohort, work)
    assert again.records == (first.records[0], 0)
    assert (again.changes.added, again.changes.changed, again.changes.removed) == (0, 0, 0)
    assert again.counts == first.counts
    assert _dump(again.mirror) == _dump(first.mirror)


def test_meta_only_change_is_parsed_once_and_touches_nobody(cohort: Path, tmp_path: Path) -> None:
    work, second = _landed_then_copied(cohort, tmp_path)
    conditions = _lines(second / "Condition.ndjson")
    conditions[0] = _new_version(conditions[0], "7")
    _write(second / "Condition.ndjson", conditions)
    once = _prepare(second, work)
    assert once.records[1] == 1 and once.changes.touched == ()
    _same_as_fresh(second, tmp_path, once)
    twice = _prepare(second, work)
    assert twice.records[1] == 0 and twice.changes.touched == ()


def test_a_changed_patient_resource_touches_its_patient(cohort: Path, tmp_path: Path) -> None:
    # A Patient's own resource has no subject: the mirror keys it by its id, so a change of its
    # birth date or gender re-evaluates that patient.
    work, second = _landed_then_copied(cohort, tmp_path)
    patients = _lines(second / "Patient.ndjson")
    record = orjson.loads(patients[2])
    record["gender"] = "female" if record.get("gender") != "female" else "male"
    _write(second / "Patient.ndjson", [*patients[:2], orjson.dumps(record), *patients[3:]])
    incremental = _prepare(second, work)
    assert incremental.changes.touched == (record["id"],)
    assert incremental.changes.changed == 1
    with duckdb.connect(str(incremental.mirror), read_only=True) as con:
        owners = con.execute(
            "SELECT count(*) FILTER (WHERE patient_id = id), count(*) FROM resource "
            "WHERE resourcetype = 'Patient'"
        ).fetchone()
    assert owners == (len(patients), len(patients))
    _same_as_fresh(second, tmp_path, incremental)


def test_newer_version_of_a_known_record_wins_and_a_repeated_line_is_a_duplicate(
    cohort: Path, tmp_path: Path
) -> None:
    work, second = _landed_then_copied(cohort, tmp_path)
    observations = _lines(second / "Observation.ndjson")
    newer = _new_version(observations[3], "2", status="amended")
    conditions = _lines(second / "Condition.ndjson")
    # A newer version before the known one (the rank decides, not the order), and a known
    # Condition line repeated verbatim.
    _write(second / "Observation.ndjson", [newer, *observations])
    _write(second / "Condition.ndjson", [*conditions, conditions[1]])
    incremental = _prepare(second, work)
    assert incremental.records[1] == 1
    assert incremental.counts["Observation"]["duplicates"] == 1
    assert incremental.counts["Condition"]["duplicates"] == 1
    assert incremental.changes.changed == 1
    _same_as_fresh(second, tmp_path, incremental)


def test_entered_in_error_version_removes_a_known_resource(cohort: Path, tmp_path: Path) -> None:
    work, second = _landed_then_copied(cohort, tmp_path)
    procedures = _lines(second / "Procedure.ndjson")
    voided = _new_version(procedures[0], "99", status="entered-in-error")
    _write(second / "Procedure.ndjson", [*procedures, voided])
    incremental = _prepare(second, work)
    assert incremental.changes.removed == 1
    assert incremental.counts["Procedure"]["entered_in_error"] == 1
    _same_as_fresh(second, tmp_path, incremental)


def test_known_ignored_types_are_counted_and_forgotten_when_gone(
    cohort: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    first = _prepare(cohort, work)
    allergies = _lines(cohort / "AllergyIntolerance.ndjson")
    assert first.counts["AllergyIntolerance"]["ignored"] == len(allergies) > 2
    second = _copy(cohort, tmp_path / "second")
    _write(second / "AllergyIntolerance.ndjson", allergies[2:])
    incremental = _prepare(second, work)
    assert incremental.records[1] == 0
    assert incremental.counts["AllergyIntolerance"]["ignored"] == len(allergies) - 2
    _same_as_fresh(second, tmp_path, incremental)


def test_broken_line_in_an_incremental_run_is_quarantined_where_a_full_run_puts_it(
    cohort: Path, tmp_path: Path
) -> None:
    work, second = _landed_then_copied(cohort, tmp_path)
    lines = (second / "Condition.ndjson").read_bytes().splitlines()
    lines.insert(4, b"")  # a blank line: ordinals and physical lines part ways
    lines.insert(6, b'{"resourceType": "Condition", "id": ')
    _write(second / "Condition.ndjson", lines)
    incremental = _prepare(second, work)
    assert incremental.quarantine.height == 1
    assert incremental.quarantine["source"].to_list() == ["Condition.ndjson:7"]
    _same_as_fresh(second, tmp_path, incremental)


def test_gzipped_files_take_the_same_paths_and_leave_no_delta_file(
    cohort: Path, tmp_path: Path
) -> None:
    def gzipped(source: Path, target: Path) -> Path:
        target.mkdir()
        for path in source.glob("*.ndjson"):
            (target / (path.name + ".gz")).write_bytes(gzip.compress(path.read_bytes()))
        return target

    work, second = _laid_out(cohort, tmp_path, gzipped)
    incremental = _prepare(second, work)
    assert 0 < incremental.records[1] < incremental.records[0] / 10
    assert not list((work / "run").glob("delta-*"))
    _same_as_fresh(second, tmp_path, incremental)


def test_a_merge_that_fails_midway_leaves_the_mirror_as_it_was(
    cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.mirror import merge as mirror_module

    work = tmp_path / "work"
    first = _prepare(cohort, work)
    before = _dump(first.mirror)
    second = tmp_path / "second"
    change_one_percent(cohort, second)

    def fail(*args: object, **kwargs: object) -> None:  # the last write of the merge
        raise OSError("disk full")

    monkeypatch.setattr(mirror_module, "_remember_ignored_lines", fail)
    with pytest.raises(OSError, match="disk full"):
        _prepare(second, work)
    assert _dump(first.mirror) == before  # the resource and stg_* writes were rolled back
    monkeypatch.undo()
    retried = _prepare(second, work)
    assert retried.changes.touched  # the retry still sees every change
    _same_as_fresh(second, tmp_path, retried)


def test_a_type_split_over_several_files_keeps_each_files_ordinals(
    cohort: Path, tmp_path: Path
) -> None:
    def split(source: Path, target: Path) -> Path:
        shutil.copytree(source, target)
        lines = _lines(target / "Observation.ndjson")
        (target / "Observation.ndjson").unlink()
        third = len(lines) // 3
        for k, part in enumerate((lines[:third], lines[third : 2 * third], lines[2 * third :])):
            _write(target / f"Observation.{k:03d}.ndjson", part)
        return target

    work, second = _laid_out(cohort, tmp_path, split)
    lines = _lines(second / "Observation.002.ndjson")
    lines.insert(1, b"[not a resource")  # a bad line in the last part: named in its own file
    _write(second / "Observation.002.ndjson", lines)
    incremental = _prepare(second, work)
    assert 0 < incremental.records[1] < incremental.records[0] / 10
    assert incremental.quarantine["source"].to_list() == ["Observation.002.ndjson:2"]
    _same_as_fresh(second, tmp_path, incremental)


def test_a_changed_record_that_fails_validation_is_quarantined_as_in_a_full_run(
    cohort: Path, tmp_path: Path
) -> None:
    work, second = _landed_then_copied(cohort, tmp_path)
    observations = _lines(second / "Observation.ndjson")
    record = orjson.loads(observations[0])  # the head of a type is always in the sample
    record["notAnR4Field"] = True  # ignored by landing, rejected by R4B validation
    observations[0] = orjson.dumps(record)
    _write(second / "Observation.ndjson", observations)
    incremental = _prepare(second, work)
    assert incremental.records[1] == 1
    assert incremental.quarantine["reason"].to_list() == ["invalid_resource"]
    assert incremental.quarantine["source"].to_list() == ["Observation.ndjson:1"]
    _same_as_fresh(second, tmp_path, incremental)


def test_a_killed_runs_delta_file_is_removed_by_the_next_run(cohort: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "run").mkdir(parents=True)
    leftover = work / "run" / "delta-Observation.ndjson"
    leftover.write_bytes(b'{"resourceType": "Observation", "id": "left-behind"}\n')
    _prepare(cohort, work)
    assert not leftover.exists()


def _bundle(resources: list[bytes]) -> bytes:
    entries = [{"resource": orjson.loads(r)} for r in resources]
    return orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})


def test_resources_from_a_bundle_stay_while_it_lands_and_go_with_it(
    cohort: Path, tmp_path: Path
) -> None:
    # Bundle entries have no line key: every run parses them again, and a mirror row of theirs
    # is only kept while the Bundle still brings it.
    first = _copy(cohort, tmp_path / "first")
    conditions = _lines(first / "Condition.ndjson")
    moved = [_new_version(c, "1", id=f"from-bundle-{k}") for k, c in enumerate(conditions[:3])]
    (first / "extra.json").write_bytes(_bundle(moved))
    work = tmp_path / "work"
    _prepare(first, work)
    again = _prepare(first, work)
    assert again.changes.removed == again.changes.added == again.changes.changed == 0
    second = _copy(first, tmp_path / "second")
    (second / "extra.json").write_bytes(_bundle(moved[1:]))
    _write(second / "Condition.ndjson", conditions[1:])  # and one known line dropped
    incremental = _prepare(second, work)
    assert incremental.changes.removed == 2
    _same_as_fresh(second, tmp_path, incremental)


def test_a_delta_pull_removes_only_what_its_snapshot_types_lack(
    cohort: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    _prepare(cohort, work)
    delta = tmp_path / "delta"
    delta.mkdir()
    procedures = _lines(cohort / "Procedure.ndjson")
    _write(delta / "Procedure.ndjson", procedures[1:])  # Procedure in full, less one
    conditions = _lines(cohort / "Condition.ndjson")
    _write(delta / "Condition.ndjson", conditions[:1])  # a Condition delta: the rest stay
    settings = Settings(workdir=work, store_url=f"sqlite:///{work / 'store.db'}")
    pulled = prepare(
        Fetched(delta, ("Procedure",)),
        settings=settings,
        as_of=AS_OF,
        screens=SCREENS,
        full=False,
        rule_versions=rule_versions(),
    )
    assert pulled.changes.removed == 1
    assert pulled.changes.added == pulled.changes.changed == 0
    held = _dump(pulled.mirror)["resource"]
    kinds = [row[0] for row in held]
    assert kinds.count("Condition") == len(conditions)
    assert kinds.count("Procedure") == len(procedures) - 1
    assert kinds.count("Observation") > 0  # not in the pull at all, and kept


def test_a_mirror_holding_a_line_key_twice_fails_the_run_loudly(
    cohort: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    first = _prepare(cohort, work)
    with duckdb.connect(str(first.mirror)) as con:
        con.execute("INSERT INTO ignored_line SELECT * FROM ignored_line LIMIT 1")
    with pytest.raises(
        ScreeningError, match=r"^AllergyIntolerance: the mirror holds a line key more"
    ):
        _prepare(cohort, work)
