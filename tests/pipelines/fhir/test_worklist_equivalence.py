"""Issue 4, "what it must show", at the worklist level against a real sekmet-fhir server.

A synthetic cohort (plus every scenario bundle under tests/scenarios) is loaded into the server
as transaction Bundles of PUTs. The nightly pipeline then runs three ways, each with its own
store and work directory: from the same data as files, with ``--mode bulk`` and with
``--mode search`` (that one through the real CLI in a subprocess). The three ``worklist.csv``
files must be byte-identical. Then a few resources change on the server (an ABI entered in
error, a deleted note, a new PAD diagnosis) and a rerun must change exactly those patients'
items.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from devtools.synth import write_cohort
from pipelines.run_summary import RunSummary
from pipelines.store import Store
from screens.model import ItemStatus
from tests.pipelines.fhir.server import SekmetServer, start_sekmet, stop_sekmet
from tests.pipelines.fhir.worklist_runs import (
    AS_OF,
    COHORT_PATIENTS,
    COHORT_SEED,
    Run,
    load_resources,
    ndjson_resources,
    run_cli,
    run_in_process,
    scenario_resources,
    worklist_rows,
    worklist_rows_from,
    write_scenario_bundle,
)

Key = tuple[str, str]  # (patient_id, screen)


@pytest.fixture(scope="module")
def file_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cohort as Bulk NDJSON plus the scenario bundles as one Bundle file."""
    directory = tmp_path_factory.mktemp("source")
    write_cohort(COHORT_PATIENTS, COHORT_SEED, directory)
    scenarios = scenario_resources()
    if scenarios:
        write_scenario_bundle(directory, scenarios)
    return directory


@pytest.fixture(scope="module")
def server(file_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SekmetServer]:
    """A sekmet server holding exactly what ``file_source`` holds (ids kept)."""
    process, sekmet = start_sekmet(tmp_path_factory.mktemp("sekmet-worklist"))
    try:
        load_resources(sekmet, list(ndjson_resources(file_source)) + scenario_resources())
        yield sekmet
    finally:
        stop_sekmet(process)


@dataclass(frozen=True)
class Baseline:
    files: Run
    bulk: Run
    search: Run
    cli_stdout: str


@pytest.fixture(scope="module")
def baseline(
    file_source: Path, server: SekmetServer, tmp_path_factory: pytest.TempPathFactory
) -> Baseline:
    runs = {name: Run(tmp_path_factory.mktemp(name)) for name in ("files", "bulk", "search")}
    run_in_process(str(file_source), runs["files"])
    run_in_process(server.base_url, runs["bulk"], mode="bulk")
    result = run_cli(server.base_url, runs["search"], "--mode", "search")
    assert result.returncode == 0, result.stderr[-3000:]
    return Baseline(runs["files"], runs["bulk"], runs["search"], result.stdout)


def test_files_bulk_and_search_give_byte_identical_worklists(baseline: Baseline) -> None:
    files = baseline.files.worklist.read_bytes()

    assert baseline.bulk.worklist.read_bytes() == files
    assert baseline.search.worklist.read_bytes() == files
    rows = worklist_rows(baseline.files.worklist)
    screens = {screen for _, screen in rows}
    assert len(rows) >= 20 and screens == {"pad", "clti", "may_thurner", "cecs", "safety"}, (
        len(rows),
        screens,
    )
    if scenario_resources():
        # Scenario patients went through the server too, not only the synthetic cohort.
        assert any(not pid.startswith("p0") for pid, _ in rows)


def test_cli_run_reports_counts_and_the_worklist(baseline: Baseline) -> None:
    out = baseline.cli_stdout
    assert "flagged: " in out and f"worklist: {baseline.search.worklist}" in out
    store = Store.connect(baseline.search.store_url)
    try:
        runs = store.runs()
    finally:
        store.close()
    assert [r["status"] for r in runs] == ["succeeded"]


# --- a changed server changes exactly the affected items ------------------------------------


@dataclass(frozen=True)
class Change:
    """Resources to PUT (whole, new version) and to DELETE, and the items they must resolve."""

    put: list[dict[str, Any]]
    delete: list[tuple[str, str]]
    resolves: set[Key]


def _refs(row: dict[str, str]) -> list[str]:
    return row["evidence"].split()


def _pick(
    rows: dict[Key, dict[str, str]],
    taken: set[str],
    *,
    screen: str,
    criterion: str | None,
    evidence_type: str,
) -> Key:
    """First item of ``screen`` whose only evidence is one resource of ``evidence_type``."""
    for key in sorted(rows):
        row = rows[key]
        refs = _refs(row)
        if (
            key[1] == screen
            and key[0] not in taken
            and len(refs) == 1
            and refs[0].startswith(evidence_type + "/")
            and (criterion is None or row["criteria"].split() == [criterion])
        ):
            taken.add(key[0])
            return key
    raise AssertionError(f"no {screen} item backed by one {evidence_type} in the baseline worklist")


def _plan_change(rows: dict[Key, dict[str, str]], server: SekmetServer) -> Change:
    taken: set[str] = set()
    low_abi = _pick(rows, taken, screen="pad", criterion="pad.low_abi", evidence_type="Observation")
    by_note = _pick(rows, taken, screen="pad", criterion=None, evidence_type="DocumentReference")
    diagnosed = next(key for key in sorted(rows) if key[1] == "pad" and key[0] not in taken)
    with server.admin() as http:
        abi_ref = _refs(rows[low_abi])[0]
        abi = http.get(abi_ref).json()
    abi.pop("meta", None)
    abi["status"] = "entered-in-error"
    pad_dx = {
        "resourceType": "Condition",
        "id": f"itest-pad-dx-{diagnosed[0]}",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "code": {
            "coding": [
                {
                    "system": "http://hl7.org/fhir/sid/icd-10-cm",
                    "code": "I70.213",
                    "display": "Atherosclerosis of native arteries of extremities "
                    "with intermittent claudication, bilateral legs",
                }
            ]
        },
        "subject": {"reference": f"Patient/{diagnosed[0]}"},
        "recordedDate": (AS_OF - timedelta(days=20)).isoformat(),
    }
    note_type, note_id = _refs(rows[by_note])[0].split("/")
    return Change(
        put=[abi, pad_dx], delete=[(note_type, note_id)], resolves={low_abi, by_note, diagnosed}
    )


def _apply_to_server(server: SekmetServer, change: Change) -> None:
    with server.admin() as http:
        for resource in change.put:
            response = http.put(f"{resource['resourceType']}/{resource['id']}", json=resource)
            assert response.status_code in (200, 201), response.status_code
        for rtype, rid in change.delete:
            assert http.delete(f"{rtype}/{rid}").status_code in (200, 204)


def _apply_to_files(directory: Path, change: Change) -> None:
    """The same change to the file source: replace or drop lines/entries, append new resources."""
    replaced = {(r["resourceType"], r["id"]): r for r in change.put}
    dropped = set(change.delete)
    written: set[tuple[str, str]] = set()

    def edit(resource: dict[str, Any]) -> dict[str, Any] | None:
        key = (resource["resourceType"], resource["id"])
        if key in dropped:
            return None
        if key in replaced:
            written.add(key)
            return replaced[key]
        return resource

    for path in sorted(directory.glob("*.ndjson")):
        lines = [edit(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
        path.write_text("".join(json.dumps(r) + "\n" for r in lines if r is not None))
    bundle_path = directory / "scenarios.json"
    if bundle_path.is_file():
        bundle = json.loads(bundle_path.read_text())
        entries = [{"resource": edit(e["resource"])} for e in bundle["entry"]]
        bundle["entry"] = [e for e in entries if e["resource"] is not None]
        bundle_path.write_text(json.dumps(bundle))
    for key, resource in replaced.items():
        if key not in written:
            with (directory / f"{key[0]}.ndjson").open("a") as handle:
                handle.write(json.dumps(resource) + "\n")


@dataclass(frozen=True)
class Rerun:
    change: Change
    before: dict[Key, dict[str, str]]
    before_bytes: bytes
    unchanged: RunSummary  # incremental bulk run with nothing changed on the server
    unchanged_worklist: bytes
    summaries: dict[str, RunSummary]  # the reruns after the change, per source
    after: dict[str, bytes]  # their worklist.csv, per source
    full_worklist: bytes  # the bulk store rerun once more with full=True
    runs: dict[str, Run]


@pytest.fixture(scope="module")
def rerun(
    baseline: Baseline,
    server: SekmetServer,
    file_source: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Rerun:
    """Rerun with nothing changed, then change the server (and a copy of the files) and rerun.

    Every rerun keeps the as_of, so unchanged items keep their status. The bulk and search
    stores rerun incrementally (only what changed since their last pull); the bulk store then
    reruns once more with ``full=True``.
    """
    before_bytes = baseline.files.worklist.read_bytes()
    before = worklist_rows_from(before_bytes)
    unchanged = run_in_process(server.base_url, baseline.bulk, mode="bulk")
    unchanged_worklist = baseline.bulk.worklist.read_bytes()
    change = _plan_change(before, server)
    _apply_to_server(server, change)
    changed_files = tmp_path_factory.mktemp("source-changed")
    for path in file_source.iterdir():
        (changed_files / path.name).write_bytes(path.read_bytes())
    _apply_to_files(changed_files, change)
    runs = {"files": baseline.files, "bulk": baseline.bulk, "search": baseline.search}
    summaries = {
        "files": run_in_process(str(changed_files), baseline.files),
        "bulk": run_in_process(server.base_url, baseline.bulk, mode="bulk"),
        "search": run_in_process(server.base_url, baseline.search, mode="search"),
    }
    after = {name: run.worklist.read_bytes() for name, run in runs.items()}
    run_in_process(server.base_url, baseline.bulk, mode="bulk", full=True)
    return Rerun(
        change,
        before,
        before_bytes,
        unchanged,
        unchanged_worklist,
        summaries,
        after,
        baseline.bulk.worklist.read_bytes(),
        runs,
    )


def test_rerun_with_nothing_changed_is_incremental_and_identical(rerun: Rerun) -> None:
    assert rerun.unchanged_worklist == rerun.before_bytes
    assert rerun.unchanged.evaluation == "incremental"
    assert rerun.unchanged.touched_patients == 0


def test_rerun_after_changes_is_still_identical_across_sources(rerun: Rerun) -> None:
    assert rerun.after["bulk"] == rerun.after["files"]
    assert rerun.after["search"] == rerun.after["files"]
    assert rerun.full_worklist == rerun.after["files"]
    assert rerun.summaries["bulk"].evaluation == "incremental"
    assert rerun.summaries["search"].evaluation == "incremental"


@pytest.mark.parametrize("source", ["files", "bulk", "search"])
def test_changes_resolve_exactly_the_affected_items(rerun: Rerun, source: str) -> None:
    after = worklist_rows_from(rerun.after[source])
    affected = {pid for pid, _ in rerun.change.resolves}

    assert rerun.change.resolves <= set(rerun.before)
    assert rerun.change.resolves.isdisjoint(after)
    unaffected_before = {k: v for k, v in rerun.before.items() if k[0] not in affected}
    unaffected_after = {k: v for k, v in after.items() if k[0] not in affected}
    assert unaffected_after == unaffected_before
    store = Store.connect(rerun.runs[source].store_url)
    try:
        items = store.worklist(include_closed=True)
    finally:
        store.close()
    status = {(r["patient_id"], r["screen"]): r["status"] for r in items.iter_rows(named=True)}
    assert {status[k] for k in rerun.change.resolves} == {str(ItemStatus.RESOLVED)}
    if source != "files":
        # Touched: the three changed patients only (the mirror re-evaluates their history).
        assert rerun.summaries[source].touched_patients == len(affected)
