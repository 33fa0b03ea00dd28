"""Note NLP results cached by note-text hash and NLP version, so unchanged notes are read once.

The cache holds mentions keyed by the hash of the note text (offsets are relative to the text),
under ``<cache_dir>/<NLP_VERSION>/`` in the work directory. It never holds a whole note, but each
mention keeps its sentence (``snippet``), the evidence text the store shows: that is PHI, so the
cache is private to the run's user like the rest of the work directory. A new NLP_VERSION starts
a new directory.

Writes are append-only parts (``seen-<part>.parquet`` lists the text hashes a part read,
``mentions-<part>.parquet`` their mentions), so shards on different workers can add to the
cache at once. Two parts may hold the same hash; reads keep the smallest part name per hash.
Every run adds parts (one per shard that read a new text), so once `COMPACT_MIN_PARTS` have
gathered, the flow merges them into one (`compact`) after its shards are done.
"""

from __future__ import annotations

import atexit
import hashlib
import math
import multiprocessing
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import polars as pl

from screens.model import STG_NOTE_MENTION
from screens.notes import NLP_VERSION, extract_mention_frame

NOTE_KEYS = ("patient_id", "source_ref", "note_on")
CACHED_COLUMNS = [c for c in STG_NOTE_MENTION if c not in NOTE_KEYS]
_CACHED_SCHEMA = {
    "text_hash": pl.String,
    "part": pl.String,
    **{c: STG_NOTE_MENTION[c] for c in CACHED_COLUMNS},
}


# Below this many fresh notes the NLP runs in this process: starting workers (spaCy import and
# pipeline build, ~3 s each) would cost more than it saves.
PARALLEL_MIN_NOTES = 2000
_CHUNKS_PER_WORKER = 4
_pool: ProcessPoolExecutor | None = None
_pool_workers = 0


def _nlp_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool for the NLP, kept for the life of this process (spawned: no fork of a
    process running DuckDB and polars threads)."""
    global _pool, _pool_workers
    if _pool is None or _pool_workers != workers:
        shutdown_nlp_pool()
        _pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        _pool_workers = workers
    return _pool


def nlp_worker_peak_mb() -> float:
    """Peak RSS (VmHWM) of the largest live NLP worker, 0 without a pool (Linux /proc)."""
    peak = 0.0
    for pid in list(getattr(_pool, "_processes", None) or {}):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) / 1024)
    return peak


def shutdown_nlp_pool() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


atexit.register(shutdown_nlp_pool)


def extract_frame(
    notes: pl.DataFrame, *, workers: int = 1, min_parallel: int = PARALLEL_MIN_NOTES
) -> pl.DataFrame:
    """`extract_mention_frame` of `notes`, over `workers` processes when there are enough notes.

    Chunks are contiguous runs of notes and their frames are re-sorted with the same stable
    order, so the result is identical to one `extract_mention_frame` call.
    """
    notes = notes.select("patient_id", "source_ref", "note_on", "text")
    if (
        workers <= 1
        or notes.height < max(1, min_parallel)
        or multiprocessing.current_process().daemon
    ):  # a daemon may not start children
        return extract_mention_frame(notes)
    size = math.ceil(notes.height / (workers * _CHUNKS_PER_WORKER))
    chunks = [notes.slice(start, size) for start in range(0, notes.height, size)]
    frames = list(_nlp_pool(workers).map(extract_mention_frame, chunks))
    return pl.concat(frames).sort(
        "source_ref", "span_start", "concept", "span_end", maintain_order=True
    )


def text_hashes(texts: list[str]) -> list[str]:
    return [
        hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        for t in texts
    ]


def _version_dir(cache_dir: Path) -> Path:
    return cache_dir / NLP_VERSION


def _known(version_dir: Path, wanted: pl.DataFrame) -> pl.DataFrame:
    """(text_hash, part) for the wanted hashes already read, one part per hash."""
    if not any(version_dir.glob("seen-*.parquet")):
        return pl.DataFrame(schema={"text_hash": pl.String, "part": pl.String})
    seen = pl.scan_parquet(version_dir / "seen-*.parquet").join(
        wanted.lazy(), on="text_hash", how="semi"
    )
    return _choose_parts(seen)


def _choose_parts(seen: pl.LazyFrame) -> pl.DataFrame:
    """(text_hash, part): the part reads take a hash from when several hold it (the smallest)."""
    return seen.group_by("text_hash").agg(pl.col("part").min()).collect()


def extract_with_cache(
    notes: pl.DataFrame, *, cache_dir: Path, progress: bool = False, workers: int = 1
) -> pl.DataFrame:
    """STG_NOTE_MENTION for `notes`, running the NLP only on texts not seen before."""
    del progress  # the NLP itself reports nothing per note
    version_dir = _version_dir(cache_dir)
    notes = notes.with_columns(
        text_hash=pl.Series(text_hashes(notes.get_column("text").to_list()), dtype=pl.String)
    )
    known = _known(version_dir, notes.select("text_hash").unique())
    fresh = notes.join(known, on="text_hash", how="anti").unique(
        "text_hash", keep="first", maintain_order=True
    )
    new_cached = pl.DataFrame(schema=_CACHED_SCHEMA)
    if fresh.height:
        part = uuid.uuid4().hex
        new_mentions = extract_frame(fresh.drop("text_hash"), workers=workers)
        new_cached = new_mentions.join(
            fresh.select("source_ref", "text_hash"), on="source_ref"
        ).select("text_hash", pl.lit(part).alias("part"), *CACHED_COLUMNS)
        version_dir.mkdir(parents=True, exist_ok=True)
        # mentions first: a reader that sees a hash in `seen` finds its mentions
        _atomic_write(new_cached, version_dir / f"mentions-{part}.parquet")
        _atomic_write(
            fresh.select("text_hash", pl.lit(part).alias("part")),
            version_dir / f"seen-{part}.parquet",
        )
    cached = new_cached
    if known.height:
        old = (
            pl.scan_parquet(version_dir / "mentions-*.parquet")
            .join(known.lazy(), on=["text_hash", "part"], how="semi")
            .collect()
        )
        cached = pl.concat([old.select(list(_CACHED_SCHEMA)), new_cached])
    keys = notes.select(*NOTE_KEYS, "text_hash")
    result = keys.join(cached.drop("part"), on="text_hash", how="inner").select(
        list(STG_NOTE_MENTION)
    )
    return result.sort(["source_ref", "span_start", "concept", "span_end"])


def _atomic_write(frame: pl.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    frame.write_parquet(tmp)
    tmp.replace(path)


# Parts of one NLP version after which `compact` merges them: each read opens every part.
COMPACT_MIN_PARTS = 32


def compact(cache_dir: Path, *, min_parts: int | None = None) -> int:
    """Merge the NLP version's parts into one once there are `min_parts` (default
    `COMPACT_MIN_PARTS`); return how many were merged (0: none).

    Runs when no shard is reading the cache (the flow calls it after its shards): a part is
    deleted once the merged part holds its hashes and mentions. The merged part keeps, per
    hash, the part a reader would have chosen (the smallest name). Streams from Parquet to
    Parquet, so memory follows the number of distinct texts, not the mentions.
    """
    version_dir = _version_dir(cache_dir)
    parts = sorted(
        p.name[len("seen-") : -len(".parquet")] for p in version_dir.glob("seen-*.parquet")
    )
    if len(parts) < max(2, COMPACT_MIN_PARTS if min_parts is None else min_parts):
        return 0
    seen = [version_dir / f"seen-{p}.parquet" for p in parts]
    mentions = [version_dir / f"mentions-{p}.parquet" for p in parts]
    merged = uuid.uuid4().hex
    chosen = _choose_parts(pl.scan_parquet(seen))
    merged_mentions = version_dir / f"mentions-{merged}.parquet"
    tmp = merged_mentions.with_name(merged_mentions.name + ".tmp")
    (
        pl.scan_parquet(mentions)
        .join(chosen.lazy(), on=["text_hash", "part"], how="semi")
        .with_columns(part=pl.lit(merged))
        .sink_parquet(tmp)
    )
    tmp.replace(merged_mentions)  # mentions first, as a write does
    _atomic_write(
        chosen.select("text_hash", part=pl.lit(merged)), version_dir / f"seen-{merged}.parquet"
    )
    for path in seen + mentions:  # a seen part goes before its mentions
        path.unlink(missing_ok=True)
    return len(parts)
