"""Issue 24, "what it must show": RTF-only and PDF-only notes give the worklist of the same notes
in plain text, and a night that could not read its notes fails in one line, publishing nothing.

The source is every clinical story under tests/scenarios (their notes carry most of the
evidence), written as Bulk NDJSON three times: notes as text/plain, as RTF documents and as PDF
documents of the same text, built here at test time (`tests.pipelines.note_documents`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import _print_summary
from pipelines.errors import ExitCode
from pipelines.night import run_night
from pipelines.run_summary import RunSummary, summary_markdown
from pipelines.store import Store
from tests.pipelines.fhir.worklist_runs import (
    AS_OF,
    Run,
    run_cli,
    run_in_process,
    scenario_resources,
)
from tests.pipelines.note_documents import (
    pdf_document,
    plain_text,
    rtf_document,
    with_notes_as,
    write_by_type,
)

PLAIN_TYPE = "text/plain; charset=utf-8"
FORMATS = {"rtf": (rtf_document, "text/rtf"), "pdf": (pdf_document, "application/pdf")}
UNFETCHED = 9  # of the stories' 85 notes: over 5%


def _note_types(resources: list[dict[str, Any]]) -> list[str]:
    types = []
    for r in resources:
        if r["resourceType"] == "DocumentReference":
            types += [c["attachment"].get("contentType", "") for c in r.get("content", [])]
        elif r["resourceType"] == "DiagnosticReport":
            types += [a.get("contentType", "") for a in r.get("presentedForm", [])]
    return types


@pytest.fixture(scope="module")
def plain_resources() -> list[dict[str, Any]]:
    resources = with_notes_as(scenario_resources(), plain_text, PLAIN_TYPE)
    assert len(_note_types(resources)) >= 80 and set(_note_types(resources)) == {PLAIN_TYPE}
    return resources


@pytest.fixture(scope="module")
def plain(
    plain_resources: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Run, RunSummary]:
    source = tmp_path_factory.mktemp("plain-source")
    write_by_type(source, plain_resources)
    run = Run(tmp_path_factory.mktemp("plain"))
    summary = run_in_process(str(source), run)
    rows = run.worklist.read_text().splitlines()[1:]
    # The notes carry the evidence: a note read differently would change this worklist.
    assert len(rows) >= 40 and sum("DocumentReference/" in row for row in rows) >= 30
    assert summary.notes_unavailable == 0 and summary.notes_unread == {}
    return run, summary


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_rtf_only_and_pdf_only_notes_give_the_plain_text_worklist(
    fmt: str,
    plain: tuple[Run, RunSummary],
    plain_resources: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    render, content_type = FORMATS[fmt]
    resources = with_notes_as(plain_resources, render, content_type)
    assert set(_note_types(resources)) == {content_type}  # every note in this format only
    write_by_type(tmp_path / "source", resources)
    run = Run(tmp_path / "run")

    summary = run_in_process(str(tmp_path / "source"), run)

    plain_run, plain_summary = plain
    assert summary.notes == plain_summary.notes and summary.notes_unread == {}
    assert summary.mentions == plain_summary.mentions
    assert run.worklist.read_bytes() == plain_run.worklist.read_bytes()


def _with_unfetched_binaries(resources: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Copies where `n` notes carry only a Binary url, as after a pull whose reads were refused."""
    out = with_notes_as(resources, plain_text, PLAIN_TYPE)
    docs = sorted(
        (r for r in out if r["resourceType"] == "DocumentReference"), key=lambda r: r["id"]
    )
    for doc in docs[:n]:
        attachment = doc["content"][0]["attachment"]
        del attachment["data"]
        attachment["url"] = f"Binary/{doc['id']}"
    return out


def _items(run: Run) -> Any:
    store = Store.connect(run.store_url)
    try:
        return store.worklist(include_closed=True)
    finally:
        store.close()


def test_a_night_with_too_many_unread_notes_fails_in_one_line_and_keeps_the_worklist(
    plain: tuple[Run, RunSummary], plain_resources: list[dict[str, Any]], tmp_path: Path
) -> None:
    shutil.copytree(plain[0].root, tmp_path / "run")
    run = Run(tmp_path / "run")
    worklist_before, items_before = run.worklist.read_bytes(), _items(run)
    write_by_type(tmp_path / "source", _with_unfetched_binaries(plain_resources, UNFETCHED))

    result = run_cli(str(tmp_path / "source"), run, "--full", timeout_s=240)

    assert result.returncode == ExitCode.QUARANTINE_THRESHOLD, result.stderr[-2000:]
    reasons = [line for line in result.stderr.splitlines() if line.startswith("vascreen: ")]
    total = plain[1].notes
    assert reasons == [
        f"vascreen: notes: {UNFETCHED} of {total} unread ({UNFETCHED / total:.1%}: "
        f"binary_fetch_failed {UNFETCHED}), above the 5.0% threshold "
        "(VASCREEN_MAX_UNREAD_NOTE_SHARE)"
    ], result.stderr[-2000:]
    assert result.stdout == ""
    assert run.worklist.read_bytes() == worklist_before
    assert _items(run).equals(items_before)

    # The Binary reads work again: the next night reads every note and keeps every item.
    write_by_type(tmp_path / "fixed", plain_resources)
    summary = run_in_process(str(tmp_path / "fixed"), run)
    assert summary.notes == total and summary.notes_unread == {}
    assert run.worklist.read_bytes() == worklist_before
    assert summary.publish["resolved"] == 0 and summary.publish["evidence_retracted"] == 0


def test_unread_notes_under_the_threshold_are_counted_by_reason_in_the_summary(
    plain_resources: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_by_type(tmp_path / "source", _with_unfetched_binaries(plain_resources, UNFETCHED))
    run = Run(tmp_path / "run")
    settings = run.settings().model_copy(update={"max_unread_note_share": 0.2})

    summary = run_night(
        str(tmp_path / "source"), settings=settings, as_of=AS_OF, export_dir=run.export_dir
    )

    assert summary.notes_unread == {"binary_fetch_failed": UNFETCHED}
    assert summary.notes_unavailable == UNFETCHED
    line = f"notes unread by reason: binary_fetch_failed {UNFETCHED}"
    assert line in summary_markdown(summary).splitlines()  # the flow's run artifact
    _print_summary(summary)  # what `vascreen run` prints
    assert line in capsys.readouterr().out.splitlines()
