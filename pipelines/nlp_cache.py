"""Note NLP results cached by note-text hash and NLP version, so unchanged notes are read once.

The cache holds mentions keyed by the hash of the note text (offsets are relative to the text),
never the text itself, in a Parquet file per NLP version under the work directory, which lives
with the store under access control. A new NLP_VERSION starts a new cache file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from screens.model import STG_NOTE_MENTION
from screens.notes import NLP_VERSION, extract_mention_frame

NOTE_KEYS = ("patient_id", "source_ref", "note_on")
CACHED_COLUMNS = [c for c in STG_NOTE_MENTION if c not in NOTE_KEYS]


def text_hashes(texts: list[str]) -> list[str]:
    return [hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest() for t in texts]


def _paths(cache_dir: Path) -> tuple[Path, Path]:
    return cache_dir / f"mentions-{NLP_VERSION}.parquet", cache_dir / f"seen-{NLP_VERSION}.parquet"


def extract_with_cache(notes: pl.DataFrame, *, cache_dir: Path, progress: bool = False) -> pl.DataFrame:
    """STG_NOTE_MENTION for `notes`, running the NLP only on texts not seen before."""
    mentions_path, seen_path = _paths(cache_dir)
    notes = notes.with_columns(text_hash=pl.Series(text_hashes(notes.get_column("text").to_list()), dtype=pl.String))
    seen = pl.read_parquet(seen_path) if seen_path.exists() else pl.DataFrame(schema={"text_hash": pl.String})
    cached = (pl.read_parquet(mentions_path) if mentions_path.exists()
              else pl.DataFrame(schema={"text_hash": pl.String, **{c: STG_NOTE_MENTION[c] for c in CACHED_COLUMNS}}))
    fresh = notes.join(seen, on="text_hash", how="anti").unique("text_hash", keep="first", maintain_order=True)
    new_mentions = extract_mention_frame(fresh.drop("text_hash")) if fresh.height else pl.DataFrame(schema=STG_NOTE_MENTION)
    new_cached = new_mentions.join(fresh.select("source_ref", "text_hash"), on="source_ref").select(
        "text_hash", *CACHED_COLUMNS)
    if fresh.height:
        cache_dir.mkdir(parents=True, exist_ok=True)
        cached = pl.concat([cached, new_cached])
        _atomic_write(cached, mentions_path)
        _atomic_write(pl.concat([seen, fresh.select("text_hash")]), seen_path)
    keys = notes.select(*NOTE_KEYS, "text_hash")
    result = keys.join(cached, on="text_hash", how="inner").select(list(STG_NOTE_MENTION))
    return result.sort(["source_ref", "span_start", "concept"])


def _atomic_write(frame: pl.DataFrame, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    frame.write_parquet(tmp)
    tmp.replace(path)
