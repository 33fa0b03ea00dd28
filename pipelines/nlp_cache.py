"""Note NLP results cached by note-text hash and NLP version, so unchanged notes are read once.

The cache holds mentions keyed by the hash of the note text (offsets are relative to the text),
never the text itself, under ``<cache_dir>/<NLP_VERSION>/`` in the work directory, which lives
with the store under access control. A new NLP_VERSION starts a new directory.

Writes are append-only parts (``seen-<part>.parquet`` lists the text hashes a part read,
``mentions-<part>.parquet`` their mentions), so shards on different workers can add to the
cache at once. Two parts may hold the same hash; reads keep the smallest part name per hash.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import polars as pl

from screens.model import STG_NOTE_MENTION
from screens.notes import NLP_VERSION, extract_mention_frame

NOTE_KEYS = ("patient_id", "source_ref", "note_on")
CACHED_COLUMNS = [c for c in STG_NOTE_MENTION if c not in NOTE_KEYS]
_CACHED_SCHEMA = {"text_hash": pl.String, "part": pl.String,
                  **{c: STG_NOTE_MENTION[c] for c in CACHED_COLUMNS}}


def text_hashes(texts: list[str]) -> list[str]:
    return [hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest() for t in texts]


def _version_dir(cache_dir: Path) -> Path:
    return cache_dir / NLP_VERSION


def _known(version_dir: Path, wanted: pl.DataFrame) -> pl.DataFrame:
    """(text_hash, part) for the wanted hashes already read, one part per hash."""
    if not any(version_dir.glob("seen-*.parquet")):
        return pl.DataFrame(schema={"text_hash": pl.String, "part": pl.String})
    seen = pl.scan_parquet(version_dir / "seen-*.parquet").join(
        wanted.lazy(), on="text_hash", how="semi")
    return seen.group_by("text_hash").agg(pl.col("part").min()).collect()


def extract_with_cache(notes: pl.DataFrame, *, cache_dir: Path, progress: bool = False) -> pl.DataFrame:
    """STG_NOTE_MENTION for `notes`, running the NLP only on texts not seen before."""
    del progress  # the NLP itself reports nothing per note
    version_dir = _version_dir(cache_dir)
    notes = notes.with_columns(
        text_hash=pl.Series(text_hashes(notes.get_column("text").to_list()), dtype=pl.String))
    known = _known(version_dir, notes.select("text_hash").unique())
    fresh = notes.join(known, on="text_hash", how="anti").unique(
        "text_hash", keep="first", maintain_order=True)
    new_cached = pl.DataFrame(schema=_CACHED_SCHEMA)
    if fresh.height:
        part = uuid.uuid4().hex
        new_mentions = extract_mention_frame(fresh.drop("text_hash"))
        new_cached = new_mentions.join(fresh.select("source_ref", "text_hash"), on="source_ref").select(
            "text_hash", pl.lit(part).alias("part"), *CACHED_COLUMNS)
        version_dir.mkdir(parents=True, exist_ok=True)
        # mentions first: a reader that sees a hash in `seen` finds its mentions
        _atomic_write(new_cached, version_dir / f"mentions-{part}.parquet")
        _atomic_write(fresh.select("text_hash", pl.lit(part).alias("part")),
                      version_dir / f"seen-{part}.parquet")
    cached = new_cached
    if known.height:
        old = pl.scan_parquet(version_dir / "mentions-*.parquet").join(
            known.lazy(), on=["text_hash", "part"], how="semi").collect()
        cached = pl.concat([old.select(list(_CACHED_SCHEMA)), new_cached])
    keys = notes.select(*NOTE_KEYS, "text_hash")
    result = keys.join(cached.drop("part"), on="text_hash", how="inner").select(list(STG_NOTE_MENTION))
    return result.sort(["source_ref", "span_start", "concept", "span_end"])


def _atomic_write(frame: pl.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    frame.write_parquet(tmp)
    tmp.replace(path)
