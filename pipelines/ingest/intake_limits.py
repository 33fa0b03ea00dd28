"""Refuse source files too big to land safely, before anything reads them whole.

A gzip bomb (a few kilobytes that inflate to gigabytes), a line of a gigabyte, or a ``.gz`` that
is not gzip would otherwise reach DuckDB, the BOM copy or the Python re-reads, and take memory
or disk until the machine gives out, or end in a traceback. Each file is streamed once, in
chunks no longer than the line limit, counting decompressed bytes and the run of bytes since
the last newline; memory stays at one chunk. A breach is one line naming the file and the
limit (`SourceError`, exit 3); nothing is landed.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import IO, cast

from pipelines.errors import SourceError

_CHUNK = 1 << 20


def _mib(n: int) -> str:
    return f"{n} bytes" if n < 1 << 20 else f"{n / (1 << 20):.0f} MiB"


def check_file(path: Path, *, max_file_bytes: int, max_line_bytes: int) -> None:
    """Stream `path` (inflated if ``.gz``) and raise at the first breach of either limit.

    Raises:
        SourceError: more than `max_file_bytes` decompressed, a line longer than
            `max_line_bytes`, or a ``.gz`` file that is not (or not complete) gzip.
    """
    gz = path.suffix == ".gz"
    # A chunk no longer than the limit: a line that starts and ends inside one is within it,
    # so only the runs across chunk edges need counting.
    chunk_size = max(1, min(_CHUNK, max_line_bytes))
    total = 0
    run = 0  # bytes since the last newline
    try:
        if not gz and path.stat().st_size > max_file_bytes:
            raise SourceError(
                f"{path.name}: larger than the limit of {_mib(max_file_bytes)} "
                "(VASCREEN_MAX_FILE_BYTES)"
            )
        with cast(IO[bytes], gzip.open(path, "rb") if gz else path.open("rb")) as fh:
            while chunk := fh.read(chunk_size):
                total += len(chunk)
                if total > max_file_bytes:
                    raise SourceError(
                        f"{path.name}: decompresses to more than the limit of "
                        f"{_mib(max_file_bytes)} (VASCREEN_MAX_FILE_BYTES)"
                    )
                first = chunk.find(b"\n")
                if first < 0:
                    run += len(chunk)
                else:
                    run += first
                    if run <= max_line_bytes:
                        run = len(chunk) - chunk.rfind(b"\n") - 1
                if run > max_line_bytes:
                    raise SourceError(
                        f"{path.name}: a line longer than the limit of {_mib(max_line_bytes)} "
                        "(VASCREEN_MAX_LINE_BYTES)"
                    )
    except (gzip.BadGzipFile, EOFError, zlib.error):
        raise SourceError(f"{path.name}: not a readable gzip file (corrupt or truncated)") from None
    except OSError as exc:
        raise SourceError(f"{path.name}: cannot be read: {exc.strerror}") from None


def check_files(paths: Iterable[Path], *, max_file_bytes: int, max_line_bytes: int) -> None:
    """`check_file` on each path, in order; the first breach stops the night."""
    for path in paths:
        check_file(path, max_file_bytes=max_file_bytes, max_line_bytes=max_line_bytes)
