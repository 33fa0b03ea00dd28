"""Record ordinals survive parallel reading: each record lands at its own file:line.

`pipelines.ingest.land` reads a file on every thread with insertion order kept, and takes a row's
rowid + 1 as its record ordinal (not ``WITH ORDINALITY``, which reads on one thread). The file
here is big enough, with a 1 MiB object limit (DuckDB's read buffers follow that limit), that
DuckDB reads it in several buffers on two threads: checked by hand, an unordered copy of it
comes back out of order (119,381 of 150,000 rows moved). Blank lines (not records) and broken
lines (records DuckDB cannot read) sit in different buffers. A third copy is laid out as a
bulk export writes it (no blank lines), so unknown texts are read at their byte offsets.

Line keys come from the same kind of scan, its texts streamed to polars in file order
(`land._records`) in many small batches here, or, for a file laid out as an export, from its
bytes in many small blocks (`pipelines.ingest.line_keys.export_keys`), and are checked against
``WITH
ORDINALITY`` numbering and the ``xxhash`` package: with the stream's insertion order not kept,
15 of these tests fail (checked by hand).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
import xxhash

from pipelines.fhir.files import NdjsonFile, discover_source
from pipelines.ingest import land
from pipelines.ingest import line_keys as line_keys_module
from pipelines.ingest.land import KNOWN_LINE_DDL, land_source
from pipelines.ingest.line_keys import NotExport, line_keys

RECORDS = 150_000
BLANK_AFTER = {10, 40_000, 77_777}  # a blank line follows these records
BROKEN_AFTER = {1, 55_555, 120_000}  # a broken line follows these records
PAD = "x" * 200


def _write(path: Path, *, layout: str) -> tuple[dict[str, int], set[int]]:
    """Write the file; return each record id's ordinal and the broken lines' line numbers."""
    ordinal_of: dict[str, int] = {}
    broken: set[int] = set()
    line = ordinal = 0
    with path.open("w") as f:
        for i in range(1, RECORDS + 1):
            line += 1
            ordinal += 1
            f.write(
                f'{{"resourceType":"Observation","id":"o{i}","status":"final",'
                f'"subject":{{"reference":"Patient/p{i % 97}"}},"code":{{"text":"{PAD}"}}}}\n'
            )
            ordinal_of[f"o{i}"] = ordinal
            if layout in ("broken-lines", "blank-lines") and i in BLANK_AFTER:
                line += 1
                f.write("\n")
            if layout in ("broken-lines", "export-broken") and i in BROKEN_AFTER:
                line += 1
                ordinal += 1
                broken.add(line)
                # Shaped as an object or not: DuckDB reads neither; the first leaves the file
                # laid out as an export (keyed from its bytes).
                f.write(
                    '{"resourceType":"Observation","id":}\n'
                    if layout == "export-broken"
                    else '{"resourceType":"Observation","id":\n'
                )
    return ordinal_of, broken


Source = tuple[Path, dict[str, int], set[int]]
# export: as a bulk export writes it; export-broken: the same with three lines that are shaped
# as objects ({...}) but are not JSON.
LAYOUTS = ["broken-lines", "blank-lines", "export", "export-broken"]
PLAIN = {"export", "export-broken"}  # keyed from their bytes, without DuckDB's JSON reader


@pytest.fixture(scope="module", params=LAYOUTS)
def source(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Source:
    out = tmp_path_factory.mktemp("order") / "source"
    out.mkdir()
    ordinal_of, broken = _write(out / "Observation.ndjson", layout=request.param)
    return out, ordinal_of, broken


@pytest.fixture
def con(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    monkeypatch.setattr(land, "MAX_LINE_BYTES", 1 << 20)
    monkeypatch.setattr(land, "_OFFSET_BATCH", 5000)  # offsets summed over many batches
    monkeypatch.setattr(land, "_KEY_BATCH", 4096)  # records streamed in many batches
    monkeypatch.setattr(land, "_KEY_FLUSH_ROWS", 50_000)  # and written to DuckDB in several
    # Files laid out as exports keyed in 1,100 blocks, each reading past its end in 64-byte
    # steps to finish its last line.
    monkeypatch.setattr(line_keys_module, "EXPORT_BLOCK", 1 << 15)
    monkeypatch.setattr(line_keys_module, "_TAIL", 64)
    connection = duckdb.connect(str(tmp_path / "landing.duckdb"))
    connection.execute("SET threads = 2")
    connection.execute("SET preserve_insertion_order = false")  # as the pipeline sets it
    return connection


@pytest.fixture
def plain_reads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each file was keyed from its bytes (`export_keys` ran to the end) or not."""
    export_keys = line_keys_module.export_keys
    returned: list[bool] = []

    def spy(path: Path, **kwargs: int) -> Iterator[pl.DataFrame]:
        try:
            yield from export_keys(path, **kwargs)
        except NotExport:
            returned.append(False)
            raise
        returned.append(True)

    monkeypatch.setattr(line_keys_module, "export_keys", spy)
    return returned


@pytest.fixture
def offset_reads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What each `land._read_at_offsets` call returned (True: texts read at their offsets)."""
    read_at_offsets = land._read_at_offsets
    returned: list[bool] = []

    def spy(con: duckdb.DuckDBPyConnection, f: NdjsonFile) -> bool:
        returned.append(read_at_offsets(con, f))
        return returned[-1]

    monkeypatch.setattr(land, "_read_at_offsets", spy)
    return returned


def _truth(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Line keys numbered by ``WITH ORDINALITY`` (one thread, file order) and hashed by the
    ``xxhash`` package, the reference XXH3-128: the landing's keys must equal these."""
    rows = con.execute(
        "SELECT ordinality, json::VARCHAR FROM read_json_objects("
        f"'{path}', format = 'newline_delimited', ignore_errors = true) WITH ORDINALITY"
    ).fetchall()
    truth = pl.DataFrame(
        {
            "src_pos": [pos for pos, _ in rows],
            "line_hash": [
                None if text is None else str(xxhash.xxh3_128_intdigest(text.encode()))
                for _, text in rows
            ],
            "line_len": [None if text is None else len(text.encode()) for _, text in rows],
        },
        schema={"src_pos": pl.Int64, "line_hash": pl.String, "line_len": pl.Int64},
    )
    con.register("truth_frame", truth)
    con.execute(
        "CREATE TEMP TABLE truth AS SELECT src_pos, line_hash::UHUGEINT AS line_hash, line_len "
        "FROM truth_frame"
    )
    con.unregister("truth_frame")


def _landed(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return dict(con.execute("SELECT id, src_pos FROM raw_resource").fetchall())


@pytest.mark.parametrize("track_lines", [False, True])
def test_whole_file_lands_every_record_at_its_ordinal(
    request: pytest.FixtureRequest,
    source: Source,
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    plain_reads: list[bool],
    track_lines: bool,
) -> None:
    src, ordinal_of, broken = source
    problems = land_source(con, discover_source(src), track_lines=track_lines, scratch=tmp_path)

    assert _landed(con) == ordinal_of
    assert {p.source for p in problems} == {f"Observation.ndjson:{n}" for n in broken}
    if track_lines:
        plain = request.node.callspec.params["source"] in PLAIN
        assert plain_reads == [plain]
        _truth(con, src / "Observation.ndjson")
        # Every record DuckDB reads has its key; one it cannot read has none, unless the file
        # was keyed from its bytes, which keys every line.
        differ = con.execute(
            "SELECT count(*) FILTER (WHERE t.line_hash IS NOT NULL AND ("
            "l.line_hash IS DISTINCT FROM t.line_hash OR l.line_len IS DISTINCT FROM t.line_len"
            ")), count(*) FILTER (WHERE t.line_hash IS NULL AND l.line_hash IS NOT NULL), "
            "count(*) FILTER (WHERE l.src_pos IS NULL OR t.src_pos IS NULL) "
            "FROM raw_line AS l FULL JOIN truth AS t USING (src_pos)"
        ).fetchone()
        assert differ == (0, len(broken) if plain else 0, 0)
        # Every record differs from the others, so must its key. DuckDB's own hash() gives
        # these records 148,798 distinct values (1,202 collisions): not a fingerprint.
        keys = con.execute(
            "SELECT count(DISTINCT (line_hash, line_len)) FROM raw_line "
            "WHERE src_pos IN (SELECT src_pos FROM truth WHERE line_len IS NOT NULL)"
        ).fetchone()
        assert keys == (RECORDS,)


@pytest.mark.parametrize("unknown_every", [7, 500])  # 14% and 0.2% of the records unknown
@pytest.mark.parametrize("delta_max_share", [land.DELTA_MAX_SHARE, 0.0])  # 0.0: whole, filtered
def test_unknown_records_land_at_their_ordinals(
    request: pytest.FixtureRequest,
    source: Source,
    con: duckdb.DuckDBPyConnection,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    offset_reads: list[bool],
    unknown_every: int,
    delta_max_share: float,
) -> None:
    """Records whose key a mirror holds are not parsed; the others land at their own ordinals."""
    src, ordinal_of, broken = source
    monkeypatch.setattr(land, "DELTA_MAX_SHARE", delta_max_share)
    _truth(con, src / "Observation.ndjson")
    con.execute(KNOWN_LINE_DDL)
    con.execute(
        "INSERT INTO known_line SELECT line_hash, line_len, 'Observation' FROM truth "
        f"WHERE line_hash IS NOT NULL AND src_pos % {unknown_every} <> 3"
    )
    # A broken line is never known. One DuckDB cannot read has no key, and its file is parsed
    # whole and filtered; a file keyed from its bytes has keys for its broken lines, which go
    # to the delta file with the unknown records and are rejected there. A clean file's
    # unknown records are read from a delta file unless more than DELTA_MAX_SHARE are unknown.
    problems = land_source(con, discover_source(src), track_lines=True, scratch=tmp_path)

    expected = {i: n for i, n in ordinal_of.items() if n % unknown_every == 3}
    assert expected
    assert _landed(con) == expected
    known = con.execute("SELECT count(known_type) FROM raw_line").fetchone()
    assert known == (len(ordinal_of) - len(expected),)
    assert not list(tmp_path.glob("delta-*"))
    # Broken lines are quarantined at their own line, whichever way they were keyed.
    assert {p.source for p in problems} == {f"Observation.ndjson:{n}" for n in broken}
    # Texts are read at their offsets only from a file laid out one record per line; after a
    # blank line the offsets are off, no text matches its key, and the file is scanned instead.
    layout = request.node.callspec.params["source"]
    if delta_max_share == 0.0 or layout == "broken-lines":
        assert offset_reads == []  # parsed whole and filtered: no text fetched
    else:
        assert offset_reads == [layout in PLAIN]


@pytest.mark.parametrize("newline", ["\n", "\r\n", " \n"])
def test_texts_read_at_offsets_or_scanned_by_layout(
    con: duckdb.DuckDBPyConnection, offset_reads: list[bool], tmp_path: Path, newline: str
) -> None:
    """A CRLF or padded file lands its unknown records as a plain one does, whichever way
    their texts are fetched (a misplaced offset never passes the key check)."""
    src = tmp_path / "source"
    src.mkdir()
    records = [
        f'{{"resourceType":"Observation","id":"o{i}","status":"final",'
        f'"subject":{{"reference":"Patient/p{i}"}},"code":{{"text":"é{i}"}}}}'
        for i in range(1, 41)
    ]
    (src / "Observation.ndjson").write_bytes(newline.join(records).encode() + newline.encode())
    _truth(con, src / "Observation.ndjson")
    con.execute(KNOWN_LINE_DDL)
    con.execute(
        "INSERT INTO known_line SELECT line_hash, line_len, 'Observation' FROM truth "
        "WHERE src_pos NOT IN (3, 40)"
    )
    land_source(con, discover_source(src), track_lines=True, scratch=tmp_path)

    assert _landed(con) == {"o3": 3, "o40": 40}
    assert offset_reads == [newline == "\n"]


@pytest.mark.parametrize("size", [0, 1, 3, 16, 17, 128, 129, 240, 241, 1000, 70_000])
def test_line_keys_are_the_reference_xxh3_128_of_the_utf8_text(size: int) -> None:
    """Keys are persisted in the mirror: they must be XXH3-128 as published, at every length
    the algorithm treats apart (0, 1-3, 4-8, 9-16, 17-128, 129-240, longer), non-ASCII too."""
    texts = [("é" * size)[:size], ("x" * size), None]
    keys = line_keys(pl.DataFrame({"src_pos": [1, 2, 3], "line": texts}))

    for row, text in zip(keys.iter_rows(named=True), texts, strict=True):
        if text is None:
            assert (row["key_hi"], row["key_lo"], row["line_len"]) == (None, None, None)
            continue
        expected = xxhash.xxh3_128_intdigest(text.encode())
        assert (row["key_hi"] << 64) | row["key_lo"] == expected
        assert row["line_len"] == len(text.encode())


_RECORD = (
    '{{"resourceType":"Observation","id":"o{i}","status":"final",'
    '"subject":{{"reference":"Patient/p{i}"}},"code":{{"text":"é{i}"}}}}'
)
_EXPORT = "".join(_RECORD.format(i=i) + "\n" for i in range(1, 31))


_ONE = _RECORD.format(i=1) + "\n"
_THREE = _RECORD.format(i=3)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        (_EXPORT, True),
        (_EXPORT.removesuffix("\n"), True),
        (_EXPORT.replace("\n", "\r\n"), False),
        ("\ufeff" + _EXPORT, False),
        (_EXPORT + "\n", False),
        (_ONE + '{"id":"o\x01"}\n' + _THREE + "\n", False),
        (_ONE + '{"id":"o2"} {"id":"o3"}\n' + _RECORD.format(i=4), True),
        (_ONE + '{"id":"o2"}{"id":"o3"}\n' + _RECORD.format(i=4), True),
        (_ONE + '{"id":"o2",}\n' + _THREE + "\n", True),
        (_ONE + '{"id":"o2","x":"\udce9"}\n' + _THREE, False),
        (_ONE + '{"resourceType":"Observation",\r"id":"o2"}\n', False),
        (_ONE + '{"resourceType":"Observation",\t"id":"o2"}\n' + _THREE, False),
        (_ONE + ' {"resourceType":"Observation","id":"o2"}\n' + _THREE, False),
        (_ONE + "{}\n" + '{"id":"o"}\n' + _THREE + "\n{}", True),
        (_ONE + '{"resourceType":"Observation","id":"o2","note":"µ€😀"}\n' + _THREE, True),
    ],
    ids=[
        "export",
        "no-final-newline",
        "crlf",
        "bom",
        "blank-end",
        "raw-control",
        "two",
        "two-touching",
        "bad",
        "latin-1",
        "inner-cr",
        "tab",
        "padded",
        "short-objects",
        "utf-8",
    ],
)
def test_known_lines_land_and_quarantine_as_a_plain_parse(
    con: duckdb.DuckDBPyConnection,
    caplog: pytest.LogCaptureFixture,
    plain_reads: list[bool],
    tmp_path: Path,
    text: str,
    plain: bool,
) -> None:
    """Whatever the file's layout, with a mirror knowing every other record that lands, the
    landing lands the rest and quarantines exactly what a plain parse lands and quarantines;
    only a file laid out as an export is keyed from its bytes."""
    src = tmp_path / "source"
    src.mkdir()
    # U+DCxx (a lone surrogate) stands for one byte that is not UTF-8 (\udce9: latin-1 'é').
    (src / "Observation.ndjson").write_bytes(text.encode("utf-8", "surrogateescape"))
    parsed = land_source(con, discover_source(src), track_lines=False, scratch=tmp_path)
    expected = (_landed(con), sorted(p.source for p in parsed))
    _truth(con, src / "Observation.ndjson")
    con.execute(KNOWN_LINE_DDL)
    # The mirror holds keys of records that landed only (a quarantined one never stages).
    known = sorted(expected[0].values())[1::2]
    con.execute(
        "INSERT INTO known_line SELECT line_hash, line_len, 'Observation' FROM truth "
        "WHERE list_contains($1, src_pos)",
        [known],
    )

    with caplog.at_level(logging.INFO, logger="vascreen"):
        tracked = land_source(con, discover_source(src), track_lines=True, scratch=tmp_path)

    assert plain_reads == [plain]
    # The slower path is named, with the file and why (no record text).
    said = [r.getMessage() for r in caplog.records if "DuckDB's stream" in r.getMessage()]
    assert [m.split(":")[0] for m in said] == ([] if plain else ["Observation.ndjson"])
    unknown = {i: n for i, n in expected[0].items() if n not in known}
    assert (_landed(con), sorted(p.source for p in tracked)) == (unknown, expected[1])
    assert known
