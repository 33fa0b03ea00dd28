"""A file laid out as an export is keyed from its bytes exactly as DuckDB's records are keyed.

The reference is DuckDB's own reading (``read_json_objects`` numbered by ``WITH ORDINALITY``,
one thread, file order) hashed by the ``xxhash`` package. Blocks are made small (down to one
byte) so that lines cross blocks, span several, and blocks fall inside one line.
"""

from __future__ import annotations

import gzip
import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
import xxhash

from pipelines.ingest import line_keys as line_keys_module
from pipelines.ingest.line_keys import KeysAhead, NotExport, export_keys


def _reference(path: Path) -> list[tuple[int, int, int]]:
    rows = duckdb.sql(
        "SELECT ordinality, json::VARCHAR FROM read_json_objects("
        f"'{path}', format = 'newline_delimited', ignore_errors = true) WITH ORDINALITY"
    ).fetchall()
    return [(pos, xxhash.xxh3_128_intdigest(t.encode()), len(t.encode())) for pos, t in rows]


def _keys(path: Path, **kwargs: int) -> list[tuple[int, int, int]]:
    frames = list(export_keys(path, **kwargs))
    keys = pl.concat(frames) if frames else pl.DataFrame()
    return [(pos, (hi << 64) | lo, n) for pos, hi, lo, n in keys.iter_rows()]


def _record(rng: random.Random, i: int) -> str:
    """An object of 2 to about 3,000 bytes: around the 12-byte inline limit of a string view
    too, with non-ASCII text now and then."""
    size = rng.choice([0, 1, 2, 3, 4, 5, 6, 20, 300, 3000])
    if size == 0:
        return "{}"
    text = "".join(rng.choice("ab é€😀") for _ in range(size)) if i % 5 == 0 else "x" * size
    return '{"i":' + str(i) + ',"t":"' + text + '"}' if size > 3 else '{"' + "k" * size + '":1}'


@pytest.fixture(scope="module")
def export_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(7)
    path = tmp_path_factory.mktemp("keys") / "Observation.ndjson"
    path.write_text("".join(_record(rng, i) + "\n" for i in range(600)), encoding="utf-8")
    return path


@pytest.mark.parametrize("block", [97, 1000, 4096, 1 << 20])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_export_keys_are_duckdbs_records_keyed(
    export_file: Path, monkeypatch: pytest.MonkeyPatch, block: int, threads: int
) -> None:
    monkeypatch.setattr(line_keys_module, "_TAIL", 5)  # lines finished in several reads
    expected = _reference(export_file)

    assert len(expected) == 600
    assert _keys(export_file, block=block, threads=threads) == expected


def test_last_line_without_newline_and_one_line_files(tmp_path: Path) -> None:
    for text in ['{"a":1}\n{"b":"µ"}', "{}", '{"a":1}\n', '{"a":"' + "x" * 5000 + '"}']:
        path = tmp_path / "Observation.ndjson"
        path.write_text(text, encoding="utf-8")
        for block in (1, 3, 1 << 20):
            assert _keys(path, block=block) == _reference(path), (text[:20], block)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1}\r\n{"b":2}\r\n',  # CRLF
        b'\xef\xbb\xbf{"a":1}\n',  # BOM
        b'{"a":1}\n\n{"b":2}\n',  # blank line
        b'{"a":1}\n{"b":2}\n\n',  # blank end
        b'\n{"a":1}\n',  # blank start
        b'{"a":1}\n {"b":2}\n',  # padded
        b'{"a":1} \n',  # padded end
        b'{"a":1}\n{"b":\t2}\n',  # tab
        b'{"a":1}\n{"b":"\x01"}\n',  # raw control byte
        b'{"a":1}\n{"b":"\xe9"}\n',  # latin-1
        b'{"a":1}\n{"b":"\xed\xa0\x80"}\n',  # UTF-8 surrogate
        b'{"a":1}\n[1]\n',  # not an object
        b'{"a":1}\n1\n',  # one byte
        b"",  # empty
    ],
)
def test_any_other_layout_is_not_an_export(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "Observation.ndjson"
    path.write_bytes(raw)
    for block in (1, 4, 1 << 20):
        with pytest.raises(NotExport):
            _keys(path, block=block)


def test_a_compressed_file_is_not_an_export(tmp_path: Path) -> None:
    path = tmp_path / "Observation.ndjson.gz"
    path.write_bytes(gzip.compress(b'{"a":1}\n'))
    with pytest.raises(NotExport):
        _keys(path)


def _open_files() -> int:
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


def test_an_abandoned_pass_closes_its_file_and_threads(export_file: Path) -> None:
    """A caller that stops early (a block not laid out as an export) leaves nothing open."""
    fds = _open_files()
    threads = threading.active_count()
    keys = export_keys(export_file, block=64, threads=2)
    first = next(keys)
    assert first.height > 0
    assert _open_files() == fds + 1
    keys.close()

    assert _open_files() == fds
    assert threading.active_count() == threads


def test_a_file_that_shrank_since_it_was_opened_is_not_read_as_an_export(tmp_path: Path) -> None:
    path = tmp_path / "Observation.ndjson"
    path.write_bytes(b'{"a":1}\n{"b":2}\n')
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(NotExport):
            line_keys_module._block_lines(fd, 0, 10, size=1000)  # it was 1,000 bytes
    finally:
        os.close(fd)


def test_a_line_longer_than_the_landing_reads_is_left_to_duckdb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MAX_LINE_BYTES DuckDB's reader rejects a record (quarantined as too large): such a
    file is keyed from its stream, and a block never reads a line without bound."""
    monkeypatch.setattr(line_keys_module, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(line_keys_module, "_TAIL", 5)
    path = tmp_path / "Observation.ndjson"
    path.write_text('{"a":1}\n{"b":"' + "x" * 5000 + '"}\n', encoding="utf-8")
    assert _keys(path, block=1 << 20) == _reference(path)  # within one block: keyed
    with pytest.raises(NotExport):
        _keys(path, block=16)


def test_a_real_bulk_export_is_keyed_from_its_bytes_as_duckdb_keys_it(shared_data: Path) -> None:
    """Synthea's bulk export (the shared data, read in place): every file is laid out as an
    export, non-ASCII ones too, and its keys are DuckDB's records' keys."""
    files = sorted((shared_data / "synthea-bulk-10").glob("*.ndjson"))
    assert len(files) >= 10
    for path in files:
        assert _keys(path, block=1 << 16) == _reference(path), path.name


def _ahead_keys(frames: Iterator[pl.DataFrame]) -> list[tuple[int, int, int]]:
    keys = pl.concat(list(frames))
    return [(pos, (hi << 64) | lo, n) for pos, hi, lo, n in keys.iter_rows()]


def test_keys_ahead_gives_each_files_keys_in_order(
    export_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that is not an export ends its frames with NotExport; the next files still come."""
    monkeypatch.setattr(line_keys_module, "EXPORT_BLOCK", 97)  # many frames per file
    crlf = tmp_path / "Condition.ndjson"
    crlf.write_bytes(b'{"a":1}\r\n{"b":2}\r\n')
    short = tmp_path / "Patient.ndjson"
    short.write_text('{"a":1}\n{"b":"\u00b5"}', encoding="utf-8")
    with KeysAhead([export_file, crlf, short], threads=2, memo_dir=None, max_rows=50) as ahead:
        assert _ahead_keys(ahead.frames(export_file)) == _reference(export_file)
        with pytest.raises(NotExport):
            list(ahead.frames(crlf))
        assert _ahead_keys(ahead.frames(short)) == _reference(short)


def test_keys_ahead_holds_at_most_about_max_rows(
    export_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory follows max_rows: the thread waits while that many keyed rows are not taken."""
    monkeypatch.setattr(line_keys_module, "EXPORT_BLOCK", 97)
    waiting: list[int] = []
    with KeysAhead([export_file], threads=1, memo_dir=None, max_rows=20) as ahead:
        for frame in ahead.frames(export_file):
            time.sleep(0.005)  # time for the thread to run ahead, were it unbounded
            waiting.append(ahead._rows)
            assert frame.height <= 60  # lines start in a block of 97 bytes (two or more each)
    assert len(waiting) > 10
    assert max(waiting) < 20 + 60  # the whole file is 600 rows


def test_an_error_while_keying_ahead_reaches_the_caller_at_its_file(
    export_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "Procedure.ndjson"  # not there: the thread's open fails
    with KeysAhead([export_file, gone], threads=2, memo_dir=None, max_rows=1000) as ahead:
        assert _ahead_keys(ahead.frames(export_file)) == _reference(export_file)
        with pytest.raises(FileNotFoundError):
            list(ahead.frames(gone))


def test_files_are_taken_in_the_order_given(export_file: Path, tmp_path: Path) -> None:
    other = tmp_path / "Patient.ndjson"
    other.write_text('{"a":1}\n', encoding="utf-8")
    with KeysAhead([export_file, other], threads=1, memo_dir=None, max_rows=1000) as ahead:
        with pytest.raises(ValueError, match="out of the order given"):
            next(ahead.frames(other))


def test_closing_keys_ahead_early_stops_its_thread_and_writes_no_memo(
    export_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A landing that fails midway (a DuckDB error, an interrupt) leaves nothing running or
    open, and no memo of a file not keyed to its end."""
    monkeypatch.setattr(line_keys_module, "EXPORT_BLOCK", 97)
    fds, threads = _open_files(), threading.active_count()
    memo = tmp_path / "line-keys"
    with KeysAhead([export_file], threads=2, memo_dir=memo, max_rows=10) as ahead:
        assert next(ahead.frames(export_file)).height > 0
    assert threading.active_count() == threads
    assert _open_files() == fds
    assert not memo.exists() or not any(memo.iterdir())
    with KeysAhead([export_file], threads=2, memo_dir=memo, max_rows=10) as ahead:
        assert _ahead_keys(ahead.frames(export_file)) == _reference(export_file)
    assert [p.name for p in memo.iterdir()] == [f"{export_file.name}.linekeys"]
