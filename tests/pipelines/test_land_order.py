"""Record ordinals survive parallel reading: each record lands at its own file:line.

`pipelines.ingest.land` reads a file on every thread with insertion order kept, and takes a row's
rowid + 1 as its record ordinal (not ``WITH ORDINALITY``, which reads on one thread). The file
here is big enough, with a 1 MiB object limit (DuckDB's read buffers follow that limit), that
DuckDB reads it in several buffers on two threads: checked by hand, an unordered copy of it
comes back out of order (119,381 of 150,000 rows moved). Blank lines (not records) and broken
lines (records DuckDB cannot read) sit in different buffers.

Line keys come from the same kind of scan (``read_json_objects``, MD5 in DuckDB) and are
checked against ``WITH ORDINALITY`` numbering and Python's ``hashlib.md5``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.fhir.files import discover_source
from pipelines.ingest import land
from pipelines.ingest.land import KNOWN_LINE_DDL, land_source

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
                # Shaped as an object or not: DuckDB reads neither.
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


@pytest.fixture(scope="module", params=LAYOUTS)
def source(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Source:
    out = tmp_path_factory.mktemp("order") / "source"
    out.mkdir()
    ordinal_of, broken = _write(out / "Observation.ndjson", layout=request.param)
    return out, ordinal_of, broken


@pytest.fixture
def con(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    monkeypatch.setattr(land, "MAX_LINE_BYTES", 1 << 20)
    connection = duckdb.connect(str(tmp_path / "landing.duckdb"))
    connection.execute("SET threads = 2")
    connection.execute("SET preserve_insertion_order = false")  # as the pipeline sets it
    return connection


def _truth(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Line keys numbered by ``WITH ORDINALITY`` (one thread, file order) and hashed by
    ``hashlib.md5``, the reference: the landing's keys must equal these."""
    rows = con.execute(
        "SELECT ordinality, json::VARCHAR FROM read_json_objects("
        f"'{path}', format = 'newline_delimited', ignore_errors = true) WITH ORDINALITY"
    ).fetchall()
    truth = pl.DataFrame(
        {
            "src_pos": [pos for pos, _ in rows],
            "line_hash": [
                None
                if text is None
                else str(int.from_bytes(hashlib.md5(text.encode()).digest(), "little"))
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
    source: Source,
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    track_lines: bool,
) -> None:
    src, ordinal_of, broken = source
    problems = land_source(con, discover_source(src), track_lines=track_lines, scratch=tmp_path)

    assert _landed(con) == ordinal_of
    assert {p.source for p in problems} == {f"Observation.ndjson:{n}" for n in broken}
    if track_lines:
        _truth(con, src / "Observation.ndjson")
        # Every record DuckDB reads has its key; one it cannot read has none.
        differ = con.execute(
            "SELECT count(*) FILTER (WHERE t.line_hash IS NOT NULL AND ("
            "l.line_hash IS DISTINCT FROM t.line_hash OR l.line_len IS DISTINCT FROM t.line_len"
            ")), count(*) FILTER (WHERE t.line_hash IS NULL AND l.line_hash IS NOT NULL), "
            "count(*) FILTER (WHERE l.src_pos IS NULL OR t.src_pos IS NULL) "
            "FROM raw_line AS l FULL JOIN truth AS t USING (src_pos)"
        ).fetchone()
        assert differ == (0, 0, 0)
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
    source: Source,
    con: duckdb.DuckDBPyConnection,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
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
    # A broken line is never known: DuckDB cannot read it, it has no key, and its file is
    # parsed whole and filtered. A clean file's unknown records are read from a delta file
    # unless more than DELTA_MAX_SHARE are unknown.
    problems = land_source(con, discover_source(src), track_lines=True, scratch=tmp_path)

    expected = {i: n for i, n in ordinal_of.items() if n % unknown_every == 3}
    assert expected
    assert _landed(con) == expected
    known = con.execute("SELECT count(known_type) FROM raw_line").fetchone()
    assert known == (len(ordinal_of) - len(expected),)
    assert not list(tmp_path.glob("delta-*"))
    # Broken lines are quarantined at their own line, whichever way they were keyed.
    assert {p.source for p in problems} == {f"Observation.ndjson:{n}" for n in broken}


@pytest.mark.parametrize("newline", ["\n", "\r\n", " \n"])
def test_unknown_records_of_a_crlf_or_padded_file_land_as_in_a_plain_one(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    newline: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Texts are read at byte offsets from a file of one record per line; after a CR or a pad
    the offsets are off, no text matches its key, and they are taken by ordinal instead."""
    read_at_offsets = land._texts_at_offsets
    returned: list[bool] = []

    def spy(c: duckdb.DuckDBPyConnection, f: object) -> bool:
        returned.append(read_at_offsets(c, f))  # type: ignore[arg-type]
        return returned[-1]

    monkeypatch.setattr(land, "_texts_at_offsets", spy)
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
    assert returned == [newline == "\n"]
    assert not list(tmp_path.glob("delta-*"))


def test_a_text_that_changed_since_it_was_keyed_lands_from_the_whole_file(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fetched text whose key is not its record's (the file changed between the passes) is
    not kept: the file is parsed whole and filtered instead of landing that text."""
    src = tmp_path / "source"
    src.mkdir()
    path = src / "Observation.ndjson"
    records = [_RECORD.format(i=i) for i in range(1, 41)]
    path.write_text("\n".join(records) + "\n")
    _truth(con, path)
    con.execute(KNOWN_LINE_DDL)
    con.execute(
        "INSERT INTO known_line SELECT line_hash, line_len, 'Observation' FROM truth "
        "WHERE src_pos <> 3"
    )
    fetch = land._fetch_unknown_texts

    def change_then_fetch(c: duckdb.DuckDBPyConnection, f: object) -> None:
        path.write_text("\n".join(records).replace('"o3"', '"x3"') + "\n")
        fetch(c, f)  # type: ignore[arg-type]

    monkeypatch.setattr(land, "_fetch_unknown_texts", change_then_fetch)
    land_source(con, discover_source(src), track_lines=True, scratch=tmp_path)

    assert _landed(con) == {"x3": 3}  # from the whole file as it now is, never a stale text


_RECORD = (
    '{{"resourceType":"Observation","id":"o{i}","status":"final",'
    '"subject":{{"reference":"Patient/p{i}"}},"code":{{"text":"é{i}"}}}}'
)
_EXPORT = "".join(_RECORD.format(i=i) + "\n" for i in range(1, 31))


_ONE = _RECORD.format(i=1) + "\n"
_THREE = _RECORD.format(i=3)


@pytest.mark.parametrize(
    "text",
    [
        _EXPORT,
        _EXPORT.removesuffix("\n"),
        _EXPORT.replace("\n", "\r\n"),
        "\ufeff" + _EXPORT,
        _EXPORT + "\n",
        _ONE + '{"id":"o\x01"}\n' + _THREE + "\n",
        _ONE + '{"id":"o2"} {"id":"o3"}\n' + _RECORD.format(i=4),
        _ONE + '{"id":"o2"}{"id":"o3"}\n' + _RECORD.format(i=4),
        _ONE + '{"id":"o2",}\n' + _THREE + "\n",
        _ONE + '{"id":"o2","x":"\udce9"}\n' + _THREE,
        _ONE + '{"resourceType":"Observation",\r"id":"o2"}\n',
        _ONE + '{"resourceType":"Observation",\t"id":"o2"}\n' + _THREE,
        _ONE + ' {"resourceType":"Observation","id":"o2"}\n' + _THREE,
        _ONE + "{}\n" + '{"id":"o"}\n' + _THREE + "\n{}",
        _ONE + '{"resourceType":"Observation","id":"o2","note":"µ€😀"}\n' + _THREE,
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
    con: duckdb.DuckDBPyConnection, tmp_path: Path, text: str
) -> None:
    """Whatever the file's layout, with a mirror knowing every other record that lands, the
    landing lands the rest and quarantines exactly what a plain parse lands and quarantines."""
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

    tracked = land_source(con, discover_source(src), track_lines=True, scratch=tmp_path)

    unknown = {i: n for i, n in expected[0].items() if n not in known}
    assert (_landed(con), sorted(p.source for p in tracked)) == (unknown, expected[1])
    assert known
