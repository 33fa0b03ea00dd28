"""The NLP cache reads each note text once, and merging its parts changes no read."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines import nlp_cache
from pipelines.nlp_cache import compact, extract_with_cache
from screens.model import STG_NOTE
from screens.notes import NLP_VERSION, extract_mention_frame

TEXTS = [
    "Left calf claudication at 2 blocks, relieved by rest. ABI 0.72 on the left.",
    "Rest pain in the right foot at night, worse lying flat; toe pressure 25 mmHg.",
    "HPI: swelling of the left leg for 3 months. Impression: May-Thurner compression.",
    "Routine visit, no complaints.",  # no mention: a seen text with no mentions row
]


def _notes(ids: range) -> pl.DataFrame:
    """Notes n<i>; every text occurs in several notes, so parts overlap by text."""
    rows = [
        (
            f"p{i % 5}",
            f"DocumentReference/n{i:03d}",
            date(2025, 1, 1 + i % 28),
            "note",
            TEXTS[i % 4],
        )
        for i in ids
    ] + [
        (f"p{i % 5}", f"DocumentReference/u{i:03d}", date(2025, 2, 1), "note", f"Claudication {i}.")
        for i in ids
    ]
    return pl.DataFrame(rows, schema=STG_NOTE, orient="row")


@pytest.fixture
def nlp_rows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Notes each NLP call was given (the NLP itself runs unchanged)."""
    calls: list[int] = []
    real = nlp_cache.extract_frame

    def counting(notes: pl.DataFrame, **kwargs: int) -> pl.DataFrame:
        calls.append(notes.height)
        return real(notes, **kwargs)

    monkeypatch.setattr(nlp_cache, "extract_frame", counting)
    return calls


def _files(cache: Path) -> list[str]:
    return sorted(p.name.split("-")[0] for p in (cache / NLP_VERSION).iterdir())


def test_each_text_reaches_the_nlp_once(tmp_path: Path, nlp_rows: list[int]) -> None:
    notes = _notes(range(12))
    first = extract_with_cache(notes, cache_dir=tmp_path)
    again = extract_with_cache(notes, cache_dir=tmp_path)

    assert first.equals(extract_mention_frame(notes)) and first.height > 10
    assert again.equals(first)
    assert nlp_rows == [4 + 12]  # four shared texts, twelve unique ones; nothing the second time


def test_merged_parts_give_the_same_mentions(tmp_path: Path, nlp_rows: list[int]) -> None:
    # Four shards that read overlapping notes at once: each writes its own part, so the four
    # shared texts (and some others) are in several parts.
    cache = tmp_path / "cache"
    for start in range(0, 20, 5):
        shard = tmp_path / f"shard{start}"
        extract_with_cache(_notes(range(start, start + 8)), cache_dir=shard)
        shutil.copytree(shard, cache, dirs_exist_ok=True)
    every = _notes(range(0, 23))  # every text seen already: no new part
    before = extract_with_cache(every, cache_dir=cache)
    assert len(nlp_rows) == 4

    assert compact(cache, min_parts=5) == 0  # below the threshold: left alone
    assert _files(cache) == ["mentions"] * 4 + ["seen"] * 4
    assert compact(cache, min_parts=4) == 4
    assert _files(cache) == ["mentions", "seen"]
    after = extract_with_cache(every, cache_dir=cache)

    assert after.equals(before)
    assert before.equals(extract_mention_frame(every))
    assert len(nlp_rows) == 4  # every text was still known: the NLP did not run again
    merged = pl.read_parquet(next((cache / NLP_VERSION).glob("seen-*.parquet")))
    assert merged["text_hash"].is_unique().all() and merged.height == 4 + 23
