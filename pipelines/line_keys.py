"""Line keys: the XXH3-128 and length of each NDJSON record's text (`pipelines.known_lines`).

`line_keys` hashes texts already in a polars frame (those DuckDB's ``read_json_objects``
streams out, `pipelines.land._records`). `export_keys` keys a file laid out as a bulk export
writes it straight from its bytes, without a JSON reader: every line one object alone on it
(``{`` first, ``}`` last), each ended by one newline (the last one may lack it), no other
control byte, valid UTF-8. Such a file's lines are exactly ``read_json_objects``' records,
numbered alike and worded alike (it returns a record's own bytes), so the keys are the same
either way; any other file raises `NotExport` and is keyed from DuckDB's stream.

A line shaped so that is not JSON (``{"id":}``) is keyed all the same: its key matches no
mirror key (only records that staged or were ignored leave one), so it is parsed like any
unknown record and quarantined by file:line as a plain parse quarantines it.

The bytes are read in blocks on a few threads (numpy finds the line ends, polars-hash hashes
each line where it lies, through an Arrow string view over the block), so memory follows the
block, not the file: on the bench cohort's 1.6 GB Observation file, 0.6 to 0.7 s on two
threads and under 100 MB, against 2.15 s streamed from DuckDB.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl
import polars_hash as plh
import pyarrow as pa

from pipelines.fhir.files import MAX_LINE_BYTES

U64 = 1 << 64

# Bytes per block of a file keyed from its bytes, and bytes read past a block's end to finish
# its last line (read further when a line is longer).
EXPORT_BLOCK = 1 << 22
_TAIL = 1 << 16
_NEWLINE, _OPEN, _CLOSE = 0x0A, 0x7B, 0x7D
_INLINE = 12  # an Arrow string view holds a string this short in the view itself


class NotExport(Exception):
    """The file is not laid out as a bulk export writes it: key it from DuckDB's stream."""


def line_keys(texts: pl.DataFrame) -> pl.DataFrame:
    """Each ``line``'s key: XXH3-128 of its UTF-8 bytes (``key_hi``, ``key_lo``) and its length.

    NULL for an unreadable record (then never known). The hash is polars-hash's XXH3-128, a
    128-bit fingerprint at memory speed (MD5 in DuckDB took 2 to 3 times the scan's time); its
    halves travel separately because Arrow has no 128-bit integer. DuckDB's own ``hash`` is a
    hash-table hash, not a fingerprint: near-identical records collide (1,202 pairs among
    150,000 synthetic records differing in their ids, tests/pipelines/test_land_order.py), and a
    changed record colliding with a known one would never be parsed.
    """
    key = plh.col("line").nchash.xxh3_128()
    return texts.select(
        "src_pos",
        (key // U64).cast(pl.UInt64, wrap_numerical=True).alias("key_hi"),
        key.cast(pl.UInt64, wrap_numerical=True).alias("key_lo"),
        pl.col("line").str.len_bytes().cast(pl.Int64).alias("line_len"),
    )


def _block_lines(fd: int, start: int, stop: int, size: int) -> pl.DataFrame:
    """The lines that start in bytes [start, stop) of the file, as a string view over them.

    Raises `NotExport` for a line that is not one object alone on it, a control byte other
    than its newline, or bytes that are not UTF-8.
    """
    base = max(start - 1, 0)  # the byte before `start` says whether a line starts there
    tail = _TAIL
    while True:
        wanted = min(stop - base + tail, size - base)
        data = os.pread(fd, wanted, base)
        if len(data) < wanted:
            raise NotExport("file shorter than when it was opened")
        arr = np.frombuffer(data, np.uint8)
        # Control bytes and non-ASCII bytes in one pass (as int8 both are below 32).
        flagged = np.flatnonzero(arr.view(np.int8) < 32)
        ends = flagged[arr[flagged] == _NEWLINE]
        starts = ends + 1
        starts = starts[starts < stop - base]
        if start == 0:
            starts = np.concatenate([np.zeros(1, np.int64), starts])
        if starts.size == 0:
            return pl.DataFrame(schema={"line": pl.String})  # inside a line begun earlier
        after = np.searchsorted(ends, starts[-1])  # the newline ending the last line
        if after < ends.size:
            end = int(ends[after])
            break
        if base + len(data) == size:
            end = len(data)  # the file's last line, with no newline after it
            break
        if tail > MAX_LINE_BYTES:
            raise NotExport("a line longer than the landing reads")  # DuckDB's reader decides
        tail *= 4  # a line longer than the tail: read further
    lines = slice(int(starts[0]), end)
    inside = flagged[(flagged >= lines.start) & (flagged < lines.stop)]
    odd = arr[inside]
    if np.any(odd[odd < 0x80] != _NEWLINE):
        raise NotExport("control byte")
    if odd.size and odd.max() >= 0x80:
        try:
            data[lines].decode("utf-8")
        except UnicodeDecodeError:
            raise NotExport("not UTF-8") from None
    stops = np.append(starts[1:] - 1, end)
    lens = stops - starts
    shaped = (lens >= 2) & (arr[starts] == _OPEN) & (arr[np.maximum(stops - 1, 0)] == _CLOSE)
    if not shaped.all():
        raise NotExport("line not one object")
    return _string_view(data, starts, lens).to_frame("line")


def _string_view(data: bytes, starts: np.ndarray, lens: np.ndarray) -> pl.Series:
    """The lines as a polars String series pointing into `data` (no copy of their bytes).

    An Arrow string view is 16 bytes per string: its length, then either the string itself
    (12 bytes or fewer, zero-padded) or its first 4 bytes, buffer index and offset.
    """
    arr = np.frombuffer(data, np.uint8)
    n = starts.size
    views = np.zeros((n, 16), np.uint8)
    views[:, 0:4] = lens.astype("<i4").view(np.uint8).reshape(n, 4)
    width = np.arange(_INLINE)
    last = arr.size - 1  # a short line at the end of the data: gather no further
    views[:, 4:8] = arr[np.minimum(starts[:, None] + width[:4], last)]
    short = lens <= _INLINE
    if short.any():
        inline = arr[np.minimum(starts[short][:, None] + width, last)]
        inline[width[None, :] >= lens[short][:, None]] = 0
        views[short, 4:16] = inline
    long = ~short
    views[long, 12:16] = starts[long].astype("<i4").view(np.uint8).reshape(-1, 4)
    array = pa.Array.from_buffers(
        pa.string_view(), n, [None, pa.py_buffer(views), pa.py_buffer(data)]
    )
    series = pl.from_arrow(array)
    assert isinstance(series, pl.Series)
    return series


def export_keys(
    path: Path, *, threads: int = 2, block: int | None = None
) -> Iterator[pl.DataFrame]:
    """Keys (`line_keys` columns) of every line of `path`, in file order, block by block.

    Raises `NotExport`, possibly after some blocks were yielded, when the file is compressed,
    empty or not laid out as an export (module docstring): the caller drops what it has and
    keys the file from DuckDB's stream. At most ``threads + 1`` blocks (`EXPORT_BLOCK` bytes
    unless `block` says) are in flight.
    """
    block = block or EXPORT_BLOCK
    size = path.stat().st_size
    if path.suffix == ".gz" or size == 0:
        raise NotExport("compressed or empty")
    if not hasattr(os, "pread"):  # pragma: no cover - Windows: the stream works everywhere
        raise NotExport("no positioned reads on this platform")
    fd = os.open(path, os.O_RDONLY)
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="line-keys")
    try:
        ordinal = 1
        for keys in _blocks_in_order(pool, fd, size, block, window=threads):
            yield keys.with_columns(src_pos=pl.col("src_pos") + ordinal)
            ordinal += keys.height
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # before the file is closed under it
        os.close(fd)


def _blocks_in_order(
    pool: ThreadPoolExecutor, fd: int, size: int, block: int, *, window: int
) -> Iterator[pl.DataFrame]:
    """Each block's keys numbered from 0, in file order, with `window` + 1 blocks in flight."""
    pending: deque[Future[pl.DataFrame]] = deque()
    for begin in range(0, size, block):
        pending.append(pool.submit(_keyed_block, fd, begin, min(begin + block, size), size))
        if len(pending) > window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _keyed_block(fd: int, start: int, stop: int, size: int) -> pl.DataFrame:
    lines = _block_lines(fd, start, stop, size).with_row_index("src_pos")
    return line_keys(lines.with_columns(pl.col("src_pos").cast(pl.Int64)))
