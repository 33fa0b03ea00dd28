"""Line-key memo: last night's line keys of an export file, by stretches of its bytes.

A nightly export rewrites every file, but most of each file's bytes are the same as the night
before. Keying a line (`pipelines.ingest.line_keys`) costs finding it and hashing it; recognising an
unchanged stretch costs one XXH3-128 of its bytes, at memory speed. So each file's keys are kept
beside the mirror, cut into chunks: runs of whole lines of about `CHUNK_BYTES`, each with the
hash and size of its bytes and the key of its first line. The next night walks the new file
chunk by chunk (`pipelines.ingest.line_keys.export_keys`): where the bytes at the current position
hash as the expected chunk did, its lines' keys are read back instead of computed; elsewhere
the lines are keyed, and the first one that begins a known chunk is where the walk picks up
again.

The memo is a cache of a pure function (a chunk's bytes decide its lines' keys), so it never
needs to agree with the mirror: a memo from another source or an older night only matches
less. A memo that cannot be read back whole and intact (torn write, another version, damage)
is ignored and rewritten.

File layout, little-endian: ``MAGIC``, the line records (`LINE_DTYPE`), the chunk records
(`CHUNK_DTYPE`), then a footer: line count, chunk count, XXH3-128 of everything before the
footer (two 64-bit halves), ``MAGIC``. Written to a temporary name and renamed into place.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import BinaryIO, Self

import numpy as np
import polars as pl
import xxhash

log = logging.getLogger(__name__)

# The memo directory, beside the mirror files (`pipelines.cohort_run.prepare`).
MEMO_DIR = "line-keys"
MAGIC = b"VSLKEY01"
# Target bytes per chunk: a changed record costs keying about one chunk around it, an unchanged
# chunk one hash call (and a positioned read) of Python's overhead.
CHUNK_BYTES = 1 << 16
LINE_DTYPE = np.dtype([("key_hi", "<u8"), ("key_lo", "<u8"), ("line_len", "<i8")])
CHUNK_DTYPE = np.dtype(
    [
        ("size", "<i8"),  # bytes of the chunk's lines, each with its newline if it has one
        ("hash_hi", "<u8"),
        ("hash_lo", "<u8"),
        ("first", "<i8"),  # index of its first line among the file's lines (0-based)
        ("lines", "<i8"),
        ("ends_nl", "<i8"),  # 1 when its last byte is a newline; 0 only for a file's last line
        ("head_hi", "<u8"),  # the key of its first line
        ("head_lo", "<u8"),
        ("head_len", "<i8"),
    ]
)
_FOOTER = np.dtype([("lines", "<i8"), ("chunks", "<i8"), ("sum_hi", "<u8"), ("sum_lo", "<u8")])
_U64 = (1 << 64) - 1


def split_digests(digests: list[int]) -> tuple[list[int], list[int]]:
    """128-bit digests as their high and low 64-bit halves (Arrow and numpy have no 128-bit
    integer)."""
    return [d >> 64 for d in digests], [d & _U64 for d in digests]


def memo_file(memo_dir: Path, name: str) -> Path:
    """The memo of the export file called `name` (one per file name: tonight's replaces it)."""
    return memo_dir / f"{name}.linekeys"


def chunk_block(
    data: bytes | memoryview,
    starts: np.ndarray,
    lens: np.ndarray,
    last_nl: bool,
    records: np.ndarray,
) -> np.ndarray:
    """The chunks of a run of whole lines in `data`: `CHUNK_DTYPE` records, ``first`` relative
    to the run.

    `starts` and `lens` place each line in `data` (without its newline); every line but the
    last is followed by a newline, the last one too when `last_nl`. `records` are their keys
    (`LINE_DTYPE`), in order. Lines are grouped by where they start, `CHUNK_BYTES` at a time.
    """
    n = starts.size
    if n == 0:
        return np.zeros(0, CHUNK_DTYPE)
    group = (starts - starts[0]) // CHUNK_BYTES
    first = np.flatnonzero(np.diff(group, prepend=-1))
    last = np.append(first[1:] - 1, n - 1)
    begin = starts[first]
    end = starts[last] + lens[last] + 1
    if not last_nl:
        end[-1] -= 1
    out = np.zeros(first.size, CHUNK_DTYPE)
    out["size"] = end - begin
    out["first"] = first
    out["lines"] = last - first + 1
    out["ends_nl"] = 1
    out["ends_nl"][-1] = int(last_nl)
    view = memoryview(data)
    digests = [xxhash.xxh3_128_intdigest(view[b:e]) for b, e in zip(begin, end, strict=True)]
    out["hash_hi"], out["hash_lo"] = split_digests(digests)
    out["head_hi"] = records["key_hi"][first]
    out["head_lo"] = records["key_lo"][first]
    out["head_len"] = records["line_len"][first]
    return out


def line_records(keys: pl.DataFrame) -> np.ndarray:
    """`keys` (``key_hi``, ``key_lo``, ``line_len``) as `LINE_DTYPE` records."""
    out = np.empty(keys.height, LINE_DTYPE)
    for name in LINE_DTYPE.names or ():
        out[name] = keys[name].to_numpy()
    return out


def _checked(fh: BinaryIO) -> tuple[np.ndarray, int]:
    """The chunk records and line count of the open memo `fh`.

    Raises:
        ValueError: it is not a whole memo (magic, footer, sizes, checksum, chunks that do not
            cover the lines).
    """
    size = os.fstat(fh.fileno()).st_size
    if size < len(MAGIC) + _FOOTER.itemsize + len(MAGIC) or fh.read(8) != MAGIC:
        raise ValueError("not a memo")
    fh.seek(size - _FOOTER.itemsize - len(MAGIC))
    footer = np.frombuffer(fh.read(_FOOTER.itemsize), _FOOTER)[0]
    if fh.read(len(MAGIC)) != MAGIC:
        raise ValueError("no footer")
    n_lines, n_chunks = int(footer["lines"]), int(footer["chunks"])
    body = len(MAGIC) + n_lines * LINE_DTYPE.itemsize
    whole = body + n_chunks * CHUNK_DTYPE.itemsize + _FOOTER.itemsize + len(MAGIC)
    if n_lines < 0 or n_chunks < 0 or whole != size:
        raise ValueError("sizes disagree")
    fh.seek(0)
    digest = xxhash.xxh3_128()
    left = size - _FOOTER.itemsize - len(MAGIC)
    while left:
        piece = fh.read(min(left, 1 << 22))
        if not piece:
            raise ValueError("short read")
        digest.update(piece)
        left -= len(piece)
    if split_digests([digest.intdigest()]) != ([int(footer["sum_hi"])], [int(footer["sum_lo"])]):
        raise ValueError("checksum")
    fh.seek(body)
    chunks = np.frombuffer(fh.read(n_chunks * CHUNK_DTYPE.itemsize), CHUNK_DTYPE).copy()
    if chunks.size and (
        int(chunks["first"][-1] + chunks["lines"][-1]) != n_lines
        or np.any(chunks["first"][1:] != np.cumsum(chunks["lines"])[:-1])
    ):
        raise ValueError("chunks disagree")
    return chunks, n_lines


class MemoReader:
    """A memo file, checked whole (footer and checksum) before any of it is used, and read
    back through the handle that was checked."""

    def __init__(self, path: Path, fh: BinaryIO, chunks: np.ndarray, lines: int) -> None:
        self.path = path
        self.chunks = chunks
        self.lines = lines
        self._fh = fh

    @classmethod
    def open(cls, path: Path) -> Self | None:
        """The memo at `path`, or None when there is none or it is not intact."""
        fh = None
        try:
            fh = path.open("rb")
            chunks, lines = _checked(fh)
        except FileNotFoundError:
            return None  # the first run of this file name
        except (OSError, ValueError) as why:
            if fh is not None:
                fh.close()
            reason = why.strerror if isinstance(why, OSError) else str(why)
            log.info("%s: line-key memo not used (%s); keying every line", path.name, reason)
            return None
        return cls(path, fh, chunks, lines)

    def read_lines(self, first: int, count: int) -> np.ndarray:
        """Line records [first, first + count)."""
        self._fh.seek(len(MAGIC) + first * LINE_DTYPE.itemsize)
        raw = self._fh.read(count * LINE_DTYPE.itemsize)
        if len(raw) != count * LINE_DTYPE.itemsize:
            raise OSError(f"{self.path.name}: line-key memo shorter than it was")
        return np.frombuffer(raw, LINE_DTYPE)

    def close(self) -> None:
        self._fh.close()


class MemoWriter:
    """Writes tonight's memo of one file, line records as they come; `commit` puts it in place.

    Best effort: a memo that cannot be written (disk full, read-only directory) is logged and
    dropped, and the run goes on; the next one keys every line of that file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tmp = path.with_name(path.name + ".tmp")
        self._fh: BinaryIO | None = None
        self._digest = xxhash.xxh3_128()
        self._chunks: list[np.ndarray] = []
        self._lines = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self._tmp.open("wb")
        except OSError as why:
            self._fail(why)
        self._write(MAGIC)

    def _write(self, data: bytes) -> None:
        if self._fh is None:
            return
        try:
            self._fh.write(data)
        except OSError as why:
            self._fail(why)
            return
        self._digest.update(data)

    def _fail(self, why: OSError) -> None:
        log.warning(
            "%s: line-key memo not written (%s); the next run keys every line of it",
            self.path.name,
            why.strerror or type(why).__name__,
        )
        self.discard()

    def add(self, lines: np.ndarray, chunks: np.ndarray) -> None:
        """Append `lines` (`LINE_DTYPE`) and their `chunks`, ``first`` relative to `lines`."""
        if self._fh is None:
            return
        if chunks.size:
            placed = chunks.copy()
            placed["first"] += self._lines
            self._chunks.append(placed)
        self._write(np.ascontiguousarray(lines).tobytes())
        self._lines += lines.size

    def commit(self) -> None:
        """Put the memo in place of the last one (atomically: a rename)."""
        if self._fh is None:
            return
        chunks = np.concatenate(self._chunks) if self._chunks else np.zeros(0, CHUNK_DTYPE)
        self._write(chunks.tobytes())
        (hi,), (lo,) = split_digests([self._digest.intdigest()])
        footer = np.array([(self._lines, chunks.size, hi, lo)], _FOOTER)
        self._write(footer.tobytes() + MAGIC)  # after the digest was taken: not part of it
        if self._fh is None:
            return
        try:
            self._fh.close()
            self._fh = None
            self._tmp.replace(self.path)
        except OSError as why:
            self._fail(why)

    def discard(self) -> None:
        """Drop what was written (the last memo stays)."""
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()
            self._fh = None
        with contextlib.suppress(OSError):
            self._tmp.unlink()
