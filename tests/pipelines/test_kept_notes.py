"""Issue 24 item 4: a note whose text could not be read tonight keeps what an earlier night read.

File sources through `pipelines.night.run_night`: night 1 reads the scenario's note (dry gangrene,
the only evidence of its CLTI item); night 2 lands the same note changed so that it gives no
text. The earlier text stays in the mirror, the item stays open and the summary counts the note.
"""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipelines.errors import ExitCode, UnreadNotesThresholdError
from pipelines.night import run_night
from pipelines.run_summary import RunSummary, summary_lines
from pipelines.settings import Settings
from tests.pipelines.fhir.worklist_runs import SCENARIOS, worklist_rows

AS_OF = date(2026, 6, 30)
SCENARIO = SCENARIOS / "clti_dry_gangrene_second_toe" / "bundle.json"
ITEM = ("clti-dry-gangrene", "clti")
NOTE_REF = "DocumentReference/clti-dry-gangrene-wound"


def scenario() -> dict[str, dict[str, Any]]:
    bundle = json.loads(SCENARIO.read_text(encoding="utf-8"))
    return {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}


def write_source(directory: Path, *notes: dict[str, Any]) -> Path:
    directory.mkdir(parents=True)
    (directory / "Patient.ndjson").write_bytes(orjson.dumps(scenario()["Patient"]) + b"\n")
    lines = b"".join(orjson.dumps(note) + b"\n" for note in notes)
    (directory / "DocumentReference.ndjson").write_bytes(lines)
    return directory


def with_attachment(**attachment: Any) -> dict[str, Any]:
    note = scenario()["DocumentReference"]
    note["content"] = [{"attachment": attachment}]
    return note


def text_note(text: str) -> dict[str, Any]:
    data = base64.b64encode(text.encode()).decode()
    return with_attachment(contentType="text/plain", data=data)


class Nights:
    def __init__(self, root: Path, max_unread_note_share: float = 0.05) -> None:
        self.root = root
        self.settings = Settings(
            workdir=root / "work",
            store_url=f"sqlite:///{root / 'store.db'}",
            max_unread_note_share=max_unread_note_share,
        )  # type: ignore[call-arg]
        self.number = 0

    def run(self, *notes: dict[str, Any], full: bool = False) -> RunSummary:
        self.number += 1
        source = write_source(self.root / f"night-{self.number}", *notes)
        return run_night(
            str(source),
            settings=self.settings,
            as_of=AS_OF,
            export_dir=self.root / "export",
            full=full,
        )

    @property
    def worklist(self) -> dict[tuple[str, str], dict[str, str]]:
        return worklist_rows(self.root / "export" / "worklist.csv")


def test_note_whose_binary_was_not_fetched_keeps_its_earlier_text(tmp_path: Path) -> None:
    nights = Nights(tmp_path)
    nights.run(scenario()["DocumentReference"])
    assert nights.worklist[ITEM]["evidence"] == NOTE_REF
    second = nights.run(with_attachment(contentType="text/plain", url="Binary/wound-1"))
    assert second.notes_kept == {"binary_fetch_failed": 1}
    assert second.publish["resolved"] == 0
    assert nights.worklist[ITEM]["evidence"] == NOTE_REF
    assert "notes kept from an earlier night: 1 (binary_fetch_failed 1)" in summary_lines(second)
    # Once the note reads again its new text wins: here it no longer says gangrene.
    third = nights.run(text_note("Routine visit. Feet warm, pulses palpable."))
    assert not third.notes_kept and third.publish["resolved"] >= 1
    assert ITEM not in nights.worklist


def test_note_in_a_format_not_read_keeps_its_earlier_text(tmp_path: Path) -> None:
    nights = Nights(tmp_path)
    nights.run(scenario()["DocumentReference"])
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(32)).decode()
    second = nights.run(with_attachment(contentType="image/png", data=png))
    assert second.notes_kept == {"unsupported_type": 1}
    assert ITEM in nights.worklist and second.publish["resolved"] == 0


def test_a_changed_note_that_reads_replaces_the_earlier_one(tmp_path: Path) -> None:
    nights = Nights(tmp_path)
    nights.run(scenario()["DocumentReference"])
    second = nights.run(text_note("Routine visit. Feet warm, pulses palpable."))
    assert not second.notes_kept and second.publish["resolved"] >= 1
    assert ITEM not in nights.worklist
    assert not any(line.startswith("notes kept") for line in summary_lines(second))


def test_a_note_never_read_before_is_not_kept(tmp_path: Path) -> None:
    nights = Nights(tmp_path)
    first = nights.run(with_attachment(contentType="text/plain", url="Binary/wound-1"))
    assert first.notes_unread == {"binary_fetch_failed": 1} and ITEM not in nights.worklist
    second = nights.run(with_attachment(contentType="text/plain", url="Binary/wound-2"))
    assert not second.notes_kept and second.notes_unread == {"binary_fetch_failed": 1}


def copies(n: int) -> list[dict[str, Any]]:
    """`n` readable notes of the scenario's text, under their own ids."""
    return [scenario()["DocumentReference"] | {"id": f"wound-copy-{k}"} for k in range(n)]


@pytest.mark.parametrize(("max_share", "fails"), [(0.05, False), (0.04, True)])
def test_kept_notes_count_as_unread_for_the_nights_threshold(
    tmp_path: Path, max_share: float, fails: bool
) -> None:
    """20 notes read, then one of them unread and kept: 1 of 21 (4.8%) against the share.

    The share is of the notes the night evaluated: night 2 re-evaluates everyone (``full``).
    """
    nights = Nights(tmp_path, max_unread_note_share=max_share)
    nights.run(*copies(20))
    unread = with_attachment(contentType="text/plain", url="Binary/b") | {"id": "wound-copy-0"}
    later = [unread, *copies(20)[1:]]
    if not fails:
        assert nights.run(*later, full=True).notes_kept == {"binary_fetch_failed": 1}
        return
    with pytest.raises(UnreadNotesThresholdError) as caught:
        nights.run(*later, full=True)
    assert caught.value.exit_code == ExitCode.QUARANTINE_THRESHOLD
    assert "1 of 21 unread" in str(caught.value)
