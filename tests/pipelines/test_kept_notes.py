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


def write_source(directory: Path, note: dict[str, Any]) -> Path:
    directory.mkdir(parents=True)
    found = scenario()
    for rtype, resource in (("Patient", found["Patient"]), ("DocumentReference", note)):
        (directory / f"{rtype}.ndjson").write_bytes(orjson.dumps(resource) + b"\n")
    return directory


def with_attachment(**attachment: Any) -> dict[str, Any]:
    note = scenario()["DocumentReference"]
    note["content"] = [{"attachment": attachment}]
    return note


def text_note(text: str) -> dict[str, Any]:
    data = base64.b64encode(text.encode()).decode()
    return with_attachment(contentType="text/plain", data=data)


class Nights:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.settings = Settings(workdir=root / "work", store_url=f"sqlite:///{root / 'store.db'}")  # type: ignore[call-arg]
        self.number = 0

    def run(self, note: dict[str, Any]) -> RunSummary:
        self.number += 1
        source = write_source(self.root / f"night-{self.number}", note)
        return run_night(
            str(source), settings=self.settings, as_of=AS_OF, export_dir=self.root / "export"
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
