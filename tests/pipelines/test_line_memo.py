"""The line-key memo: keys read back where a file's bytes recur are the keys of its lines.

Each case keys a file with a memo directory (writing the memo), then keys an edited copy of it
(the next night's export, in another directory, under the same name). The reference is each
line's XXH3-128 and length computed here, line by line. Chunks are made small (256 bytes) so
that a few thousand records make many of them, and blocks small so that windows hit their cap.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import xxhash

from pipelines.ingest import line_keys as line_keys_module
from pipelines.ingest import line_memo
from pipelines.ingest.line_keys import NotExport, export_keys
from pipelines.ingest.line_memo import CHUNK_DTYPE, LINE_DTYPE, MemoReader, MemoWriter, memo_file

Lines = list[bytes]


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(line_memo, "CHUNK_BYTES", 256)
    monkeypatch.setattr(line_keys_module, "CHUNK_BYTES", 256)


def _records(seed: int, n: int) -> Lines:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        size = rng.choice([0, 3, 12, 40, 200, 900])
        text = "".join(rng.choice("ab é€") for _ in range(size)) if i % 7 == 0 else "x" * size
        out.append(('{"i":' + str(i) + ',"s":' + str(seed) + ',"t":"' + text + '"}').encode())
    return out


def _write(directory: Path, lines: Lines, *, final_newline: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "Observation.ndjson"
    path.write_bytes(b"\n".join(lines) + (b"\n" if final_newline else b""))
    return path


def _expected(path: Path) -> list[tuple[int, int, int]]:
    lines = path.read_bytes().split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [(i, xxhash.xxh3_128_intdigest(b), len(b)) for i, b in enumerate(lines, start=1)]


def _keys(path: Path, memo: Path | None, **kwargs: int) -> list[tuple[int, int, int]]:
    frames = list(export_keys(path, memo_dir=memo, **kwargs))
    keys = pl.concat(frames)
    return [(pos, (hi << 64) | lo, n) for pos, hi, lo, n in keys.iter_rows()]


def _changed(lines: Lines, at: int) -> bytes:
    return lines[at].replace(b'"t":"', b'"t":"changed ', 1)


EDITS: dict[str, Callable[[Lines], Lines]] = {
    "same": lambda old: old,
    "one changed": lambda old: [*old[:1000], _changed(old, 1000), *old[1001:]],
    "every 97th changed": lambda old: [
        _changed(old, i) if i % 97 == 0 else line for i, line in enumerate(old)
    ],
    "first changed": lambda old: [_changed(old, 0), *old[1:]],
    "last changed": lambda old: [*old[:-1], _changed(old, len(old) - 1)],
    "inserted": lambda old: [*old[:700], *_records(99, 5), *old[700:]],
    "deleted": lambda old: [*old[:300], *old[311:]],
    "appended": lambda old: [*old, *_records(98, 50)],
    "truncated": lambda old: old[:-500],
    "halves swapped": lambda old: [*old[1000:], *old[:1000]],
    "another file": lambda old: _records(2, 1800),
    "one line": lambda old: old[:1],
}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("edit", sorted(EDITS))
def test_keys_read_back_are_the_lines_keys(
    tmp_path: Path, keyed: list[int], edit: str, threads: int
) -> None:
    memo = tmp_path / "memo"
    old = _records(1, 2000)
    first = _write(tmp_path / "night1", old)
    assert _keys(first, memo, threads=threads, block=4096) == _expected(first)
    assert keyed[0] == len(old)  # no memo yet: every line keyed

    new = EDITS[edit](old)
    second = _write(tmp_path / "night2", new)
    keyed[0] = 0
    assert _keys(second, memo, threads=threads, block=4096) == _expected(second)
    if edit == "same":
        assert keyed[0] == 0
    elif edit in {"one changed", "first changed", "last changed", "inserted", "deleted"}:
        assert 0 < keyed[0] < len(new) // 10  # a few chunks around the change, not the file

    keyed[0] = 0  # tonight's memo is the file's as it is now
    assert _keys(second, memo, threads=threads, block=4096) == _expected(second)
    assert keyed[0] == 0


@pytest.mark.parametrize("final_newline", [True, False])
def test_a_last_line_without_newline_is_matched_only_at_the_end(
    tmp_path: Path, final_newline: bool
) -> None:
    """A memo chunk ending a file without a newline must not match where lines follow it."""
    memo = tmp_path / "memo"
    old = _records(1, 400)
    first = _write(tmp_path / "a", old, final_newline=final_newline)
    assert _keys(first, memo) == _expected(first)
    for lines, nl in [(old + _records(5, 3), True), (old, not final_newline), (old[:-1], False)]:
        path = _write(tmp_path / f"b{len(lines)}{nl}", lines, final_newline=nl)
        assert _keys(path, memo) == _expected(path)


def test_repeated_lines_resume_at_the_right_chunk(tmp_path: Path) -> None:
    """Every chunk begins with the same line: resuming must still find the bytes that recur."""
    memo = tmp_path / "memo"
    old = [b'{"same":1}'] * 3000
    assert _keys(_write(tmp_path / "a", old), memo) == _expected(tmp_path / "a/Observation.ndjson")
    new = [*old[:1500], b'{"same":2}', *old[1500:]]
    path = _write(tmp_path / "b", new)
    assert _keys(path, memo) == _expected(path)


def _spy_keyed_from(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The first ordinal of each stretch handed to the threaded keying, as it is handed."""
    handed: list[int] = []
    real = line_keys_module._keyed_from

    def spy(*args: object, start: int, ordinal: int) -> object:
        handed.append(ordinal)
        return real(*args, start=start, ordinal=ordinal)  # type: ignore[arg-type]

    monkeypatch.setattr(line_keys_module, "_keyed_from", spy)
    return handed


def test_a_long_new_stretch_hands_the_rest_to_the_threaded_keying(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(line_keys_module, "_GIVE_UP_BYTES", 2000)
    handed = _spy_keyed_from(monkeypatch)
    memo = tmp_path / "memo"
    _keys(_write(tmp_path / "a", _records(1, 2000)), memo)
    handed.clear()  # the first night had no memo: all of it was keyed on the threads
    path = _write(tmp_path / "b", _records(2, 2000))
    assert _keys(path, memo, block=1024) == _expected(path)
    assert len(handed) == 1 and handed[0] > 1  # the walk keyed some lines itself first


def test_changes_too_scattered_for_the_memo_hand_the_rest_to_the_threaded_keying(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keyed: list[int]
) -> None:
    """A change in every few chunks costs more windows than keying it all: the walk stops."""
    monkeypatch.setattr(line_keys_module, "_SCATTER_FROM", 20_000)
    handed = _spy_keyed_from(monkeypatch)
    memo = tmp_path / "memo"
    old = _records(1, 2000)
    _keys(_write(tmp_path / "a", old), memo)
    handed.clear()
    keyed[0] = 0
    new = [_changed(old, i) if i % 5 == 0 else line for i, line in enumerate(old)]
    path = _write(tmp_path / "b", new)
    assert _keys(path, memo, block=1024) == _expected(path)
    assert len(handed) == 1 and 1 < handed[0] < len(new) // 2
    assert keyed[0] >= len(new) - handed[0] + 1  # the rest was keyed, every line of it


@pytest.mark.parametrize(
    "damage",
    ["flip a byte", "truncate", "garbage", "empty", "another file's memo"],
)
def test_a_damaged_memo_is_ignored_and_replaced(
    tmp_path: Path, keyed: list[int], damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    memo = tmp_path / "memo"
    lines = _records(1, 1000)
    path = _write(tmp_path / "a", lines)
    _keys(path, memo)
    stored = memo_file(memo, path.name)
    raw = bytearray(stored.read_bytes())
    if damage == "flip a byte":
        raw[len(raw) // 3] ^= 0x01
    elif damage == "truncate":
        raw = raw[: len(raw) - 5]
    elif damage == "garbage":
        raw = bytearray(b"not a memo at all" * 10)
    elif damage == "empty":
        raw = bytearray()
    else:  # intact, but of other bytes: it matches nothing
        other = tmp_path / "other"
        _keys(_write(tmp_path / "o", _records(3, 50)), other)
        raw = bytearray(memo_file(other, path.name).read_bytes())
    stored.write_bytes(bytes(raw))
    keyed[0] = 0
    with caplog.at_level(logging.INFO, logger="pipelines.ingest.line_memo"):
        assert _keys(path, memo) == _expected(path)
    if damage != "another file's memo":
        assert keyed[0] == len(lines)
        assert "line-key memo not used" in caplog.text
        assert "Observation.ndjson.linekeys" in caplog.text
    reader = MemoReader.open(stored)  # replaced by tonight's, intact
    assert reader is not None and reader.lines == len(lines)
    reader.close()


def test_a_file_that_stops_being_an_export_keeps_the_last_memo(tmp_path: Path) -> None:
    memo = tmp_path / "memo"
    lines = _records(1, 1000)
    path = _write(tmp_path / "a", lines)
    _keys(path, memo)
    stored = memo_file(memo, path.name)
    before = stored.read_bytes()
    bad = _write(tmp_path / "b", [*lines[:500], lines[500] + b"\r", *lines[501:]])
    with pytest.raises(NotExport):
        _keys(bad, memo)
    assert stored.read_bytes() == before
    assert sorted(p.name for p in memo.iterdir()) == [stored.name]  # no temporary file left


def test_a_memo_that_cannot_be_written_does_not_stop_the_keying(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "memo"
    blocked.write_text("a file where the memo directory should be")
    path = _write(tmp_path / "a", _records(1, 300))
    with caplog.at_level(logging.WARNING, logger="pipelines.ingest.line_memo"):
        assert _keys(path, blocked) == _expected(path)
    assert "line-key memo not written" in caplog.text


def test_a_memo_whose_chunks_do_not_cover_its_lines_is_not_used(tmp_path: Path) -> None:
    """Intact bytes (the checksum holds) but chunks that do not add up to the lines."""
    path = tmp_path / "Observation.ndjson.linekeys"
    writer = MemoWriter(path)
    lines = np.zeros(3, LINE_DTYPE)
    chunks = np.zeros(1, CHUNK_DTYPE)
    chunks["lines"] = 5
    writer.add(lines, chunks)
    writer.commit()
    assert MemoReader.open(path) is None
    chunks["lines"] = 3
    writer = MemoWriter(path)
    writer.add(lines, chunks)
    writer.commit()
    reader = MemoReader.open(path)
    assert reader is not None and reader.lines == 3
    reader.close()
