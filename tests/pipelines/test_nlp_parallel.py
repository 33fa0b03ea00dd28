"""NLP plumbing for scale: process-pool extraction and the grouped keyword prefilter are exact."""

from __future__ import annotations

import re
from datetime import date

import polars as pl

from pipelines.nlp_cache import extract_frame, shutdown_nlp_pool
from screens.model import STG_NOTE
from screens.notes import extract_mention_frame
from screens.notes.pipeline import _STEMS, PREFILTER

TEXTS = [
    "Left calf claudication at 2 blocks, relieved by rest. ABI 0.72 on the left.",
    "Denies leg pain. Pedal pulses palpable bilaterally.",
    "HPI: swelling of the left leg for 3 months.\nImpression: May-Thurner compression of the LCIV.",
    "Routine visit, no complaints.",
    "Rest pain in the right foot at night, worse lying flat; toe pressure 25 mmHg.",
]


def _notes(n: int) -> pl.DataFrame:
    rows = [
        (
            f"p{i % 7}",
            f"DocumentReference/n{i:03d}",
            date(2025, 1, 1 + i % 28),
            "note",
            TEXTS[i % len(TEXTS)] + f" Visit {i}.",
        )
        for i in range(n)
    ]
    return pl.DataFrame(rows, schema=STG_NOTE, orient="row")


def test_parallel_extraction_equals_one_process() -> None:
    notes = _notes(40)
    try:
        parallel = extract_frame(notes, workers=2, min_parallel=1)
    finally:
        shutdown_nlp_pool()
    serial = extract_mention_frame(notes)
    assert serial.height > 10
    assert parallel.equals(serial)


def test_grouped_prefilter_matches_the_flat_alternation() -> None:
    flat = re.compile(r"\b(?:" + "|".join(_STEMS) + ")")
    text = " ".join(TEXTS).lower() + " a/a l3 hfr bed sore locks up can bike pseudo-claudication"
    expected = [(m.start(), m.end()) for m in flat.finditer(text)]
    assert len(expected) > 20
    assert [(m.start(), m.end()) for m in PREFILTER.finditer(text)] == expected
