"""Patients merged through Patient.link are screened as one, under the surviving id (issue 24).

Through the one run path (`run_night` on files): a replaced record's evidence is evaluated with
its survivor's, the replaced record is not screened on its own, and its open item resolves as
merged; a merge that arrives on a later night does the same; a `refer` link merges nothing.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa

from pipelines.mirror.merge import mirror_path
from pipelines.night import run_night
from pipelines.run_summary import summary_lines
from pipelines.settings import Settings
from pipelines.store import Store
from pipelines.store.schema import patient_schedule, worklist_item
from tests.builders import bundle, note, observation, patient, validated
from tests.pipelines.fhir.vendor_emulator import run_emulator
from tests.pipelines.fhir.worklist_runs import Run
from tests.pipelines.note_documents import write_by_type

AS_OF = date(2026, 6, 30)
CLAUDICATION = (
    "HPI: Reports aching in the left calf when walking the dog for about 15 minutes, "
    "eases after he stands still for a couple of minutes. Denies rest pain."
)


def _linked(pid: str, other: str, link_type: str, *, active: bool = True) -> dict[str, Any]:
    resource = patient(pid)
    resource["active"] = active
    resource["link"] = [{"other": {"reference": f"Patient/{other}"}, "type": link_type}]
    return validated(resource)


def _write(directory: Path, resources: list[dict[str, Any]]) -> Path:
    write_by_type(directory, resources)
    return directory


def _cohort(old: dict[str, Any], survivor: dict[str, Any]) -> list[dict[str, Any]]:
    """A low ABI on the old record, a claudication note on the survivor, and a bystander."""
    return [
        old,
        survivor,
        patient("bystander"),
        observation("old", value=0.70, side="left", on="2026-02-10"),
        note("new", CLAUDICATION, on="2026-03-01"),
        observation("bystander", value=1.10, on="2026-02-10"),
    ]


def _settings(root: Path, shard_size: int = 1000) -> Settings:
    return Settings(
        workdir=root / "work", store_url=f"sqlite:///{root / 'store.db'}", shard_size=shard_size
    )


def _items(settings: Settings) -> dict[str, dict[str, Any]]:
    """pad items by patient id: flagged, status, merged_into and evidence refs."""
    with Store.connect(settings.store_url) as store, store.read() as conn:
        rows = conn.execute(
            sa.select(worklist_item).where(worklist_item.c.screen == "pad")
        ).mappings()
        return {r["patient_id"]: dict(r) for r in rows}


@pytest.mark.parametrize("shard_size", [1000, 1], ids=["one-shard", "apart"])
def test_a_merged_patient_is_screened_once_under_the_survivor_with_both_records(
    tmp_path: Path, shard_size: int
) -> None:
    source = _write(
        tmp_path / "src",
        _cohort(
            _linked("old", "new", "replaced-by", active=False), _linked("new", "old", "replaces")
        ),
    )
    settings = _settings(tmp_path, shard_size)
    summary = run_night(str(source), settings=settings, as_of=AS_OF, screens=["pad"])
    # With one patient a shard, the old record's rows sit in another shard than the survivor's
    # (hash buckets 38420 and 44834 of 65536): they are read in the survivor's.
    assert summary.shards == (1 if shard_size == 1000 else 3)
    items = _items(settings)
    assert set(items) == {"new"}  # one item, under the survivor; none under the old id
    evidence = items["new"]["evidence"].split()
    # The union of both records: the old record's ABI and the survivor's note.
    assert "Observation/old-obs-77194-9-2026-02-10" in evidence
    assert "DocumentReference/new-note-2026-03-01" in evidence
    assert summary.merged_patients == 1 and summary.merge_problems == {}
    assert any("merged patients (Patient.link): 1" in line for line in summary_lines(summary))


def test_a_merge_arriving_on_a_later_night_resolves_the_old_item_as_merged(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    first = _write(tmp_path / "night1", _cohort(patient("old"), patient("new")))
    run_night(str(first), settings=settings, as_of=AS_OF, screens=["pad"])
    before = _items(settings)
    assert before["old"]["is_flagged"] and before["new"]["is_flagged"]  # screened twice

    # Night two: the EHR merged the records; only the Patient resources changed.
    second = _write(
        tmp_path / "night2",
        _cohort(_linked("old", "new", "replaced-by", active=False), patient("new")),
    )
    summary = run_night(str(second), settings=settings, as_of=AS_OF, screens=["pad"])
    after = _items(settings)
    assert summary.evaluation == "incremental" and summary.merged_patients == 1
    assert not after["old"]["is_flagged"] and after["old"]["merged_into"] == "new"
    assert after["old"]["resolved_on"] == AS_OF
    assert after["new"]["is_flagged"] and after["new"]["merged_into"] is None
    assert "Observation/old-obs-77194-9-2026-02-10" in after["new"]["evidence"].split()
    assert summary.publish["resolved"] == 1
    with Store.connect(settings.store_url) as store, store.read() as conn:
        schedule = dict(
            conn.execute(
                sa.select(patient_schedule.c.patient_id, patient_schedule.c.next_change)
            ).all()
        )
    assert schedule["old"] is None  # never due on its own again


def test_a_refer_link_does_not_merge_two_people(tmp_path: Path) -> None:
    source = _write(
        tmp_path / "src",
        _cohort(_linked("old", "new", "refer"), _linked("new", "old", "seealso")),
    )
    settings = _settings(tmp_path)
    summary = run_night(str(source), settings=settings, as_of=AS_OF, screens=["pad"])
    items = _items(settings)
    assert set(items) == {"old", "new"}  # each screened on their own evidence
    assert "DocumentReference/new-note-2026-03-01" not in items["old"]["evidence"]
    assert "Observation/old-obs-77194-9-2026-02-10" not in items["new"]["evidence"]
    assert summary.merged_patients == 0


def test_a_link_to_a_missing_survivor_is_left_as_is_and_counted(tmp_path: Path) -> None:
    resources = [
        r for r in _cohort(_linked("old", "elsewhere", "replaced-by", active=False), patient("new"))
    ]
    source = _write(tmp_path / "src", resources)
    settings = _settings(tmp_path)
    summary = run_night(str(source), settings=settings, as_of=AS_OF, screens=["pad"])
    assert set(_items(settings)) == {"old", "new"}
    assert summary.merged_patients == 0
    assert summary.merge_problems == {"survivor_missing": 1}


def test_a_merge_pulled_from_a_fhir_server_on_an_incremental_night(tmp_path: Path) -> None:
    """Through a Bulk Data pull (the IG's own profile of the vendor emulator): night one pulls
    both records apart, night two (a `_since` delta) brings the merged Patient records."""
    data = _write(tmp_path / "server", _cohort(patient("old"), patient("new")))
    run = Run(tmp_path / "run")
    with run_emulator("bulk-ig", data) as emulator:
        base = emulator.fhir_url + "/fhir"
        first = run_night(base, settings=run.settings(), as_of=AS_OF, screens=["pad"])
        assert first.merged_patients == 0
        assert {p for p, r in _items(run.settings()).items() if r["is_flagged"]} == {"old", "new"}
        emulator.resources["Patient"] = [
            _linked("old", "new", "replaced-by", active=False),
            _linked("new", "old", "replaces"),
            patient("bystander"),
        ]
        second = run_night(base, settings=run.settings(), as_of=AS_OF, screens=["pad"])
    after = _items(run.settings())
    assert second.source_kind == "fhir" and second.evaluation == "incremental"
    assert second.merged_patients == 1
    assert after["old"]["merged_into"] == "new" and not after["old"]["is_flagged"]
    assert after["new"]["is_flagged"]
    assert "Observation/old-obs-77194-9-2026-02-10" in after["new"]["evidence"].split()


def test_links_are_read_from_bundles_and_relearned_by_a_mirror_that_lost_them(
    tmp_path: Path,
) -> None:
    """A collection Bundle source; then a mirror without its link tables (one from before
    merges were kept, or a run killed between the merge and the links) whose Patient lines
    are all known, so landing parses none of them: the links are still read from the files."""
    source = tmp_path / "src"
    source.mkdir()
    resources = _cohort(
        _linked("old", "new", "replaced-by", active=False), _linked("new", "old", "replaces")
    )
    (source / "cohort.json").write_text(json.dumps(bundle(resources)), encoding="utf-8")
    settings = _settings(tmp_path)
    first = run_night(str(source), settings=settings, as_of=AS_OF, screens=["pad"])
    assert first.merged_patients == 1 and set(_items(settings)) == {"new"}

    ndjson = _write(tmp_path / "ndjson", resources)
    run_night(str(ndjson), settings=settings, as_of=AS_OF, screens=["pad"])
    with duckdb.connect(str(mirror_path(settings.workdir, store_url=settings.store_url))) as con:
        con.execute("DROP TABLE patient_link")
        con.execute("DROP TABLE patient_merge")
    again = run_night(str(ndjson), settings=settings, as_of=AS_OF, screens=["pad"])
    assert again.times.records_parsed == 0  # every line known: landing parsed none
    assert again.merged_patients == 1
    assert {p for p, r in _items(settings).items() if r["is_flagged"]} == {"new"}


def test_a_linked_patient_in_a_file_named_for_another_type_still_merges(tmp_path: Path) -> None:
    """Landing stages a line by its own resourceType, whatever the file is called."""
    old = _linked("old", "new", "replaced-by", active=False)
    resources = _cohort(old, patient("new"))
    source = _write(tmp_path / "src", [r for r in resources if r is not old])
    with (source / "Observation.ndjson").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(old) + "\n")
    settings = _settings(tmp_path)
    summary = run_night(str(source), settings=settings, as_of=AS_OF, screens=["pad"])
    assert summary.merged_patients == 1 and set(_items(settings)) == {"new"}
