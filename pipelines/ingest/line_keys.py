"""Line keys: the XXH3-128 and length of each NDJSON record's text (`pipelines.ingest.known_lines`).

`line_keys` hashes texts already in a polars frame (those DuckDB's ``read_json_objects``
streams out, `pipelines.ingest.land._records`). `export_keys` keys a file laid out as a bulk export
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

Given a memo directory, the keys of the last file of the same name are read back wherever its
bytes recur (`pipelines.ingest.line_memo`, `_walk`): on that file with 1% of the patients changed,
0.55 to 0.63 s on one thread against 1.0 to 1.2 s, unchanged 0.42 to 0.52 s.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import polars_hash as plh
import pyarrow as pa
import xxhash

from pipelines.fhir.files import MAX_LINE_BYTES
from pipelines.ingest.line_memo import (
    CHUNK_BYTES,
    CHUNK_DTYPE,
    LINE_DTYPE,
    MemoReader,
    MemoWriter,
    chunk_block,
    line_records,
    memo_file,
    split_digests,
)

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


@dataclass(frozen=True, slots=True)
class _Lines:
    """Lines read from a file: a string view over `data`, which holds file bytes from `base`."""

    frame: pl.DataFrame | None  # "line" (None when not asked for)
    data: bytes
    base: int
    starts: np.ndarray  # each line's first byte in `data`
    lens: np.ndarray  # its bytes, without the newline
    last_nl: bool  # a newline follows the last line (False only at the end of the file)

    @property
    def stop(self) -> int:
        """The file offset just past the last line (and its newline)."""
        if self.starts.size == 0:
            return self.base
        return self.base + int(self.starts[-1] + self.lens[-1]) + int(self.last_nl)


def _block_lines(fd: int, start: int, stop: int, size: int, *, view: bool = True) -> _Lines:
    """The lines that start in bytes [start, stop) of the file, as a string view over them
    (``frame``, unless not `view`).

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
        if starts.size == 0:  # inside a line begun earlier
            none = np.zeros(0, np.int64)
            return _Lines(pl.DataFrame(schema={"line": pl.String}), data, base, none, none, True)
        after = np.searchsorted(ends, starts[-1])  # the newline ending the last line
        if after < ends.size:
            end, last_nl = int(ends[after]), True
            break
        if base + len(data) == size:
            end, last_nl = len(data), False  # the file's last line, with no newline after it
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
    frame = _string_view(data, starts, lens).to_frame("line") if view else None
    return _Lines(frame, data, base, starts, lens, last_nl)


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
    path: Path,
    *,
    threads: int = 2,
    block: int | None = None,
    memo_dir: Path | None = None,
) -> Generator[pl.DataFrame, None, None]:
    """Keys (`line_keys` columns) of every line of `path`, in file order, block by block.

    Raises `NotExport`, possibly after some blocks were yielded, when the file is compressed,
    empty or not laid out as an export (module docstring): the caller drops what it has and
    keys the file from DuckDB's stream. At most ``threads + 1`` blocks (`EXPORT_BLOCK` bytes
    unless `block` says) are in flight.

    With `memo_dir`, the memo of the last file of this name (`pipelines.ingest.line_memo`) is used
    where its bytes recur (`_walk`), and tonight's replaces it once every line is keyed.
    """
    block = block or EXPORT_BLOCK
    size = path.stat().st_size
    if path.suffix == ".gz" or size == 0:
        raise NotExport("compressed or empty")
    if not hasattr(os, "pread"):  # pragma: no cover - Windows: the stream works everywhere
        raise NotExport("no positioned reads on this platform")
    memo = writer = None
    if memo_dir is not None:
        memo = MemoReader.open(memo_file(memo_dir, path.name))
        writer = MemoWriter(memo_file(memo_dir, path.name))
    fd = os.open(path, os.O_RDONLY)
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="line-keys")
    done = False
    try:
        if memo is not None and memo.chunks.size:
            yield from _walk(fd, size, memo, writer, pool=pool, threads=threads, block=block)
        else:
            yield from _keyed_from(pool, fd, size, block, threads, writer, start=0, ordinal=1)
        done = True
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # before the file is closed under it
        os.close(fd)
        if memo is not None:
            memo.close()
        if writer is not None:
            if done:
                writer.commit()
            else:
                writer.discard()


class _Stopped(Exception):
    """The consumer closed `KeysAhead`: the thread ends."""


_END = object()  # a file's last item in `KeysAhead`


class KeysAhead:
    """`export_keys` of several files, run on a thread of its own ahead of the caller.

    The caller takes each file's frames (`frames`) in the order the files were given and meanwhile
    runs what it likes, typically DuckDB statements (which let go of the GIL): on a nightly run the
    lookup of one type's keys among the mirror's then overlaps the keying of the next type's
    files. At most about `max_rows` keyed rows wait between the two (one frame more may), so memory
    follows `max_rows`, not the files. A file that is not laid out as an export ends its frames
    with `NotExport` (possibly after some), as `export_keys` would, and the thread goes on to the
    next file; any other error ends the thread and reaches the caller where it takes that file.
    `close` (or leaving the ``with``) stops the thread: a memo of a file not keyed to its end is
    not written (`export_keys`).
    """

    def __init__(
        self, paths: Iterable[Path], *, threads: int, memo_dir: Path | None, max_rows: int
    ) -> None:
        self._paths = list(paths)
        self._threads, self._memo_dir, self._max_rows = threads, memo_dir, max_rows
        self._items: deque[tuple[int, object]] = deque()
        self._rows = 0  # keyed rows waiting in `_items`
        self._taken = 0  # the file `frames` gives next
        self._stop = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="line-keys-ahead", daemon=True)
        self._thread.start()

    def __enter__(self) -> KeysAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def frames(self, path: Path) -> Iterator[pl.DataFrame]:
        """The keys of `path`, as `export_keys` yields them. The files are taken in the order
        given, each to its end (or to the error it raises)."""
        index = self._taken
        if index >= len(self._paths) or self._paths[index] != path:
            raise ValueError(f"{path.name} asked for out of the order given")
        self._taken += 1
        while True:
            with self._cond:
                while not self._items:
                    self._cond.wait()
                got, item = self._items.popleft()
                if isinstance(item, pl.DataFrame):
                    self._rows -= item.height
                self._cond.notify_all()
            assert got == index, (got, index)  # the thread keys the files in order
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, pl.DataFrame)
            yield item

    def close(self) -> None:
        """Stop the thread and wait for it (it finishes the frame it is keying)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join()

    def _put(self, index: int, item: object, *, wait: bool = True) -> None:
        rows = item.height if isinstance(item, pl.DataFrame) else 0
        with self._cond:
            while wait and self._rows >= self._max_rows and not self._stop:
                self._cond.wait()
            if self._stop:
                raise _Stopped
            self._items.append((index, item))
            self._rows += rows
            self._cond.notify_all()

    def _run(self) -> None:
        index = 0
        try:
            for index, path in enumerate(self._paths):
                keys = export_keys(path, threads=self._threads, memo_dir=self._memo_dir)
                try:
                    for frame in keys:
                        self._put(index, frame)
                except NotExport as why:
                    self._put(index, why)
                    continue
                finally:
                    keys.close()  # stopped midway: the memo is not written
                self._put(index, _END)
        except _Stopped:
            return
        except BaseException as exc:  # handed to the caller, raised where it takes the file
            try:
                self._put(index, exc, wait=False)
            except _Stopped:
                return


def _keyed_from(
    pool: ThreadPoolExecutor,
    fd: int,
    size: int,
    block: int,
    threads: int,
    writer: MemoWriter | None,
    *,
    start: int,
    ordinal: int,
) -> Iterator[pl.DataFrame]:
    """Every line from byte `start` (a line start) keyed on the pool; the first is `ordinal`."""
    for keys, records, chunks in _blocks_in_order(
        pool, fd, size, block, window=threads, start=start, remember=writer is not None
    ):
        if writer is not None:
            writer.add(records, chunks)
        yield keys.with_columns(src_pos=pl.col("src_pos") + ordinal)
        ordinal += keys.height


def _blocks_in_order(
    pool: ThreadPoolExecutor,
    fd: int,
    size: int,
    block: int,
    *,
    window: int,
    start: int,
    remember: bool,
) -> Iterator[tuple[pl.DataFrame, np.ndarray, np.ndarray]]:
    """Each block's `_keyed_block`, in file order, with `window` + 1 blocks in flight."""
    pending: deque[Future[tuple[pl.DataFrame, np.ndarray, np.ndarray]]] = deque()
    for begin in range(start, size, block):
        stop = min(begin + block, size)
        pending.append(pool.submit(_keyed_block, fd, begin, stop, size, remember=remember))
        if len(pending) > window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _keyed_block(
    fd: int, start: int, stop: int, size: int, *, remember: bool
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """A block's keys (numbered from 0), and if it is to be `remember`ed, as memo line records
    too, and its memo chunks (else both empty)."""
    lines = _block_lines(fd, start, stop, size)
    assert lines.frame is not None
    numbered = lines.frame.with_row_index("src_pos")
    keys = line_keys(numbered.with_columns(pl.col("src_pos").cast(pl.Int64)))
    if not remember:
        return keys, np.zeros(0, LINE_DTYPE), np.zeros(0, CHUNK_DTYPE)
    records = line_records(keys)
    return keys, records, chunk_block(lines.data, lines.starts, lines.lens, lines.last_nl, records)


def _window_records(lines: _Lines) -> np.ndarray:
    """The lines' keys as memo line records, hashed one by one: for the few hundred lines of a
    walk's window this costs a fraction of a polars expression's overhead."""
    view = memoryview(lines.data)
    digests = [
        xxhash.xxh3_128_intdigest(view[s : s + n])
        for s, n in zip(lines.starts.tolist(), lines.lens.tolist(), strict=True)
    ]
    out = np.empty(len(digests), LINE_DTYPE)
    out["key_hi"], out["key_lo"] = split_digests(digests)
    out["line_len"] = lines.lens
    return out


def _key_frame(records: np.ndarray, ordinal: int) -> pl.DataFrame:
    """Line records as `line_keys` columns, numbered from `ordinal`."""
    return pl.DataFrame(
        {
            "src_pos": np.arange(ordinal, ordinal + records.size, dtype=np.int64),
            "key_hi": records["key_hi"],
            "key_lo": records["key_lo"],
            "line_len": records["line_len"],
        }
    )


# A changed stretch is keyed in windows of lines, from a chunk and a quarter (the next chunk
# begins within one, unless the change grew it), doubling up to a block while no known chunk
# resumes; in each window the first lines that begin a known chunk (up to this many) are tried
# as the place where the memo resumes.
_FIRST_WINDOW = CHUNK_BYTES * 5 // 4
_RESUME_TRIES = 8
# Unchanged bytes no longer expected: after this many keyed in a row with none recognised, the
# rest of the file is keyed on every thread, without the memo.
_GIVE_UP_BYTES = 64 << 20
# Changes too scattered for the memo to pay: past this many windows per megabyte walked
# (counted from `_SCATTER_FROM` bytes on) the rest of the file is keyed on every thread. On the
# bench's Observation file (1.67 GB, scatter of one changed line in every k), the walk beat
# keying every line at 0.5 windows per MB (0.71 to 0.76 s against 0.92 to 0.99 s), lost at 1.5
# (1.34 to 1.42 s against 1.11 to 1.18 s); 1% of patients changed makes 0.2.
_SCATTER_WINDOWS_PER_MB = 0.8
_SCATTER_FROM = 8 << 20
# Line keys read back from the memo before they are handed on: memory follows this.
_MEMO_FLUSH_LINES = 1 << 20


def _walk(
    fd: int,
    size: int,
    memo: MemoReader,
    writer: MemoWriter | None,
    *,
    pool: ThreadPoolExecutor,
    threads: int,
    block: int,
) -> Iterator[pl.DataFrame]:
    """The file's keys, reading back the memo's where its chunks recur in order.

    At each position the next chunk of the memo is expected: if the bytes there hash as it did,
    its lines' keys are the memo's. If not, lines are keyed (raising `NotExport` as a block
    would) up to the first that begins a memo chunk whose bytes are there too, and the walk
    goes on from that chunk.
    """
    chunks = memo.chunks
    heads, expected_at = _Heads(chunks), _Expected(chunks)
    line_at = np.concatenate([[0], np.cumsum(chunks["lines"])]).tolist()
    pos, expected, ordinal = 0, 0, 1
    run_from = expected  # the memo chunks [run_from, expected) recur, not yet read back
    window, unmatched, windows = _FIRST_WINDOW, 0, 0

    def read_back() -> pl.DataFrame:
        nonlocal ordinal, run_from
        first, count = line_at[run_from], line_at[expected] - line_at[run_from]
        lines = memo.read_lines(first, count)
        if writer is not None:
            placed = chunks[run_from:expected].copy()
            placed["first"] -= first
            writer.add(lines, placed)
        frame = _key_frame(lines, ordinal)
        ordinal += count
        run_from = expected
        return frame

    recurring = expected_at.chunks
    while pos < size:
        while expected < len(recurring) and _recurs(fd, pos, size, recurring[expected]):
            pos += recurring[expected][0]
            expected += 1
            window, unmatched = _FIRST_WINDOW, 0
            if line_at[expected] - line_at[run_from] >= _MEMO_FLUSH_LINES:
                yield read_back()
        if expected > run_from:
            yield read_back()
        if pos >= size:
            break
        scattered = pos >= _SCATTER_FROM and windows > _SCATTER_WINDOWS_PER_MB * pos / (1 << 20)
        if unmatched >= _GIVE_UP_BYTES or scattered:
            yield from _keyed_from(
                pool, fd, size, block, threads, writer, start=pos, ordinal=ordinal
            )
            return
        windows += 1
        lines = _block_lines(fd, pos, min(pos + min(window, block), size), size, view=False)
        records = _window_records(lines)
        resume = _resume_at(fd, size, lines, records, heads, expected_at)
        n = records.size if resume is None else resume[0]
        kept = records[:n]
        if writer is not None:
            last_nl = lines.last_nl if n == records.size else True
            placed = chunk_block(lines.data, lines.starts[:n], lines.lens[:n], last_nl, kept)
            writer.add(kept, placed)
        yield _key_frame(kept, ordinal)
        ordinal += n
        if resume is None:
            pos = lines.stop
            unmatched += lines.stop - (lines.base + int(lines.starts[0]))
            window *= 2
        else:
            pos = lines.base + int(lines.starts[n])
            expected = run_from = resume[1]


def _recurs(fd: int, pos: int, size: int, chunk: tuple[int, int, bool]) -> bool:
    """Whether the bytes at `pos` are a memo chunk's (`_Expected`: size, XXH3-128, newline)."""
    length, digest, ends_nl = chunk
    end = pos + length
    if end > size or (not ends_nl and end != size):
        return False
    data = os.pread(fd, length, pos)
    return len(data) == length and xxhash.xxh3_128_intdigest(data) == digest


class _Expected:
    """The memo's chunks as `_recurs` reads them, one Python tuple each (faster than records)."""

    def __init__(self, chunks: np.ndarray) -> None:
        digests = (
            (int(hi) << 64) | int(lo)
            for hi, lo in zip(chunks["hash_hi"].tolist(), chunks["hash_lo"].tolist(), strict=True)
        )
        self.chunks = list(
            zip(
                chunks["size"].tolist(),
                digests,
                chunks["ends_nl"].astype(bool).tolist(),
                strict=True,
            )
        )


class _Heads:
    """The memo chunks by the key of their first line."""

    def __init__(self, chunks: np.ndarray) -> None:
        self._order = np.argsort(chunks["head_lo"], kind="stable")
        self._lo = chunks["head_lo"][self._order]
        self._chunks = chunks

    def find(self, records: np.ndarray) -> Iterator[tuple[int, int]]:
        """(line index, chunk) for each line record after the first that begins a chunk, in
        order."""
        lo = records["key_lo"]
        at = np.searchsorted(self._lo, lo)
        hit = np.flatnonzero(at < self._lo.size)
        hit = hit[(self._lo[at[hit]] == lo[hit]) & (hit > 0)]
        hi, n = records["key_hi"], records["line_len"]
        for i in hit:
            k = int(at[i])
            while k < self._lo.size and self._lo[k] == lo[i]:  # low halves may repeat
                chunk = int(self._order[k])
                if (
                    self._chunks["head_hi"][chunk] == hi[i]
                    and self._chunks["head_len"][chunk] == n[i]
                ):
                    yield int(i), chunk
                    break
                k += 1


def _resume_at(
    fd: int, size: int, lines: _Lines, records: np.ndarray, heads: _Heads, recur: _Expected
) -> tuple[int, int] | None:
    """The first line after the window's first (its index) that begins a memo chunk whose
    bytes are there too, and that chunk; None if none of the first `_RESUME_TRIES` does."""
    for tries, (i, chunk) in enumerate(heads.find(records)):
        if tries == _RESUME_TRIES:
            break
        if _recurs(fd, lines.base + int(lines.starts[i]), size, recur.chunks[chunk]):
            return i, chunk
    return None
