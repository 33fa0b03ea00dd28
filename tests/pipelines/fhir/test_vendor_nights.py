"""Issue 24 item 4 on the vendor emulator: a second, incremental night never retracts what it
did not see.

Night 1 is the full ``vascreen run --source URL`` of `test_vendor_profiles` (one note served
through a Binary on every profile). Then the server's data changes: one ABI result turns normal
(its item goes), one ABI Observation is deleted (its item goes, once the deletion is known), and
the Binary of a note that is its item's only evidence answers 403. Night 2 is incremental
(``_since``; Epic refuses it, so its night is a full read). Where the server lists deletions
(the Bulk Data IG's manifest ``deleted``) or reads in full (Epic), night 2's worklist is the
file-mode worklist of the changed data; where it does neither (Oracle Health, athenahealth), the
deleted result's item stays until the full reconciliation night (`VASCREEN_FULL_RECONCILE_DAYS`),
which then gives the file-mode worklist. The note's item stays open throughout.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.pipelines.fhir.test_vendor_profiles import (  # noqa: F401  (module fixtures)
    SmartRun,
    cohort,
    file_worklist,
)
from tests.pipelines.fhir.vendor_emulator import run_emulator
from tests.pipelines.fhir.vendor_nights import LaterNights
from tests.pipelines.fhir.vendor_token import TokenEndpoint
from tests.pipelines.fhir.worklist_runs import Run, run_cli, run_in_process, worklist_rows_from

NORMAL_ABI = 1.1


@dataclass(frozen=True)
class Changes:
    note_id: str  # its Binary answers 403 on night 2
    note_item: tuple[str, str]
    changed_obs: str  # value turned normal
    changed_item: tuple[str, str]
    deleted_obs: str
    deleted_item: tuple[str, str]
    changed_dir: Path  # the server's data after the change
    expected: bytes  # file-mode worklist of the changed data
    expected_undeleted: bytes  # ... had the deleted Observation stayed


def _only(rows: dict[tuple[str, str], dict[str, str]], kind: str) -> list[tuple[Any, str]]:
    """Items whose whole evidence is one resource of `kind`, with that resource's id."""
    found = []
    for key, row in sorted(rows.items()):
        refs = row["evidence"].split()
        if len(refs) == 1 and refs[0].startswith(kind + "/"):
            found.append((key, refs[0].split("/", 1)[1]))
    return found


def _rewrite(path: Path, edit: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
    out = []
    for line in path.read_bytes().splitlines():
        kept = edit(orjson.loads(line))
        if kept is not None:
            out.append(orjson.dumps(kept))
    path.write_bytes(b"\n".join(out) + b"\n")


def _file_worklist(source: Path, root: Path) -> bytes:
    run = Run(root)
    run_in_process(str(source), run)
    return run.worklist.read_bytes()


@pytest.fixture(scope="module")
def changes(
    cohort: Path,  # noqa: F811
    file_worklist: bytes,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Changes:
    rows = worklist_rows_from(file_worklist)
    (note_item, note_id), *_ = _only(rows, "DocumentReference")
    (changed_item, changed_obs), (deleted_item, deleted_obs), *_ = [
        (k, i) for k, i in _only(rows, "Observation") if k[0] != note_item[0]
    ]
    changed_dir = tmp_path_factory.mktemp("changed") / "data"
    shutil.copytree(cohort, changed_dir)

    def normal(resource: dict[str, Any]) -> dict[str, Any]:
        if resource["id"] == changed_obs:  # an ABI: its value, or its sides' (components)
            for part in [resource, *resource.get("component", [])]:
                if "valueQuantity" in part:
                    part["valueQuantity"]["value"] = NORMAL_ABI
        return resource

    _rewrite(changed_dir / "Observation.ndjson", normal)
    expected_undeleted = _file_worklist(changed_dir, tmp_path_factory.mktemp("undeleted"))
    _rewrite(changed_dir / "Observation.ndjson", lambda r: None if r["id"] == deleted_obs else r)
    expected = _file_worklist(changed_dir, tmp_path_factory.mktemp("changed-run"))
    # The changes matter: each one moves the file-mode worklist.
    assert changed_item not in worklist_rows_from(expected_undeleted)
    assert deleted_item in worklist_rows_from(expected_undeleted)
    assert deleted_item not in worklist_rows_from(expected)
    assert note_item in worklist_rows_from(expected)
    return Changes(
        note_id, note_item, changed_obs, changed_item, deleted_obs, deleted_item,
        changed_dir, expected, expected_undeleted,
    )  # fmt: skip


def night(emulator: LaterNights, root: Path, **env: str) -> tuple[bytes, str]:
    """One ``vascreen run --source URL`` night into `root`'s store; the worklist and output."""
    token = emulator.token
    run = SmartRun(root, token.key_file) if token else Run(root)
    args = [] if emulator.profile == "bulk-ig" else ["--group", emulator.group_id]
    done = run_cli(emulator.fhir_url + "/fhir", run, *args, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return run.worklist.read_bytes(), done.stdout + done.stderr


# profile -> whether night 2 already knows of the deletion
KNOWS_DELETIONS = {"bulk-ig": True, "epic": True, "oracle": False, "athena": False}


@pytest.mark.parametrize("profile", list(KNOWS_DELETIONS))
def test_second_incremental_night_gives_the_changed_worklist_and_resolves_nothing_unseen(
    profile: str,
    cohort: Path,  # noqa: F811
    file_worklist: bytes,  # noqa: F811
    changes: Changes,
    tmp_path: Path,
) -> None:
    # Oracle Health's documented scope rule needs real SMART: it gets a token endpoint.
    token = TokenEndpoint.with_new_key(tmp_path) if profile == "oracle" else None
    with run_emulator(profile, cohort, token, kind=LaterNights) as served:
        assert isinstance(served, LaterNights)
        served.reload(cohort, binary_notes=frozenset({changes.note_id}))
        first, _ = night(served, tmp_path / "store")
        assert first == file_worklist
        assert served.seen["Binary in native form"] >= 1

        served.reload(changes.changed_dir)
        served.refused_binaries.add(f"{changes.note_id}-0")
        served.deletions.append(("Observation", changes.deleted_obs))
        served.next_day()
        second, said = night(served, tmp_path / "store")
        assert served.seen["Binary 403"] >= 1
        assert "notes kept from an earlier night: 1 (binary_fetch_failed 1)" in said
        rows = worklist_rows_from(second)
        assert changes.note_item in rows  # its note was not read tonight: still open
        assert changes.changed_item not in rows
        if KNOWS_DELETIONS[profile]:
            assert second == changes.expected
            assert ("full read of the source" in said) is (profile == "epic")
            return
        assert "last full reconciliation:" in said and "(0 days ago)" in said
        assert second == changes.expected_undeleted  # no deletion list, no _history
        third, said = night(served, tmp_path / "store", VASCREEN_FULL_RECONCILE_DAYS="0")
        assert "full read of the source (reconciliation): tonight" in said
        assert third == changes.expected
        assert changes.note_item in worklist_rows_from(third)
