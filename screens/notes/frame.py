"""extract_mention_frame: stg_note rows -> stg_note_mention rows (STG_NOTE_MENTION)."""

from __future__ import annotations

import polars as pl

from screens.model import STG_NOTE_MENTION, assert_schema
from screens.notes.extract import extract_mentions
from screens.notes.layout import reading_text


def extract_mention_frame(notes: pl.DataFrame) -> pl.DataFrame:
    """One row per concept mention, ordered by (source_ref, span_start, concept)."""
    rows: dict[str, list[object]] = {name: [] for name in STG_NOTE_MENTION}
    for note in notes.select("patient_id", "source_ref", "note_on", "text").iter_rows(named=True):
        # Tables are read row by row; offsets and snippets refer to this reading of the text.
        text = reading_text(note["text"] or "")
        for m in extract_mentions(text, note["note_on"]):
            values = {
                "patient_id": note["patient_id"],
                "source_ref": note["source_ref"],
                "note_on": note["note_on"],
                "concept": m.concept.value,
                "span_start": m.span_start,
                "span_end": m.span_end,
                "sentence_start": m.sentence_start,
                "sentence_end": m.sentence_end,
                "snippet": text[m.sentence_start : m.sentence_end],
                "modifiers": " ".join(sorted(mod.value for mod in m.modifiers)),
                "laterality": m.laterality,
                "value": m.value,
                "unit": m.unit,
                "qualifier": m.qualifier,
                "section": m.section,
                "stated_on": m.stated_on,
            }
            for name, value in values.items():
                rows[name].append(value)
    frame = pl.DataFrame(rows, schema=STG_NOTE_MENTION).sort(
        "source_ref", "span_start", "concept", "span_end", maintain_order=True
    )
    return assert_schema(frame, STG_NOTE_MENTION, "stg_note_mention")
