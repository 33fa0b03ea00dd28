"""Plain-text tables read as sentences: each row becomes "label: Column value, Column value".

Vascular-lab reports and procedure notes lay results out in fixed-width columns:

                RIGHT   LEFT
    Brachial    144     139
    Ankle PT    44      106
    ABI         0.31    0.74

A reader takes each number with its row and its column; a sentence-by-sentence reader sees
"Ankle PT 44 106" and cannot tell the side. `reading_text` rewrites such a table as one line per
row, "Ankle PT pressure: RIGHT 44, LEFT 106", and leaves everything else as it was. The rewritten
text is what the NLP reads and what evidence snippets show, so offsets stay consistent.

A table is a header line of two or more column names set apart by runs of spaces (or tabs),
an optional rule line (----, ====), and at least one row whose cells line up with the header
and hold values. In a table of pressures (a brachial row, or a unit in the header) a row that
names no index gets "pressure" added, and a table keyed by compartment names its rows
"<row> compartment pressure", so the measurement reader knows what the numbers are.
"""

# ruff: noqa: E501  (one pattern per line reads better than regexes split mid-token)

from __future__ import annotations

import re

_I = re.IGNORECASE
_CELL_GAP = re.compile(r"\t+| {2,}")
_RULE = re.compile(r"^\s*[-=_\u2500]{5,}\s*$")
_VALUE = re.compile(
    r"^(?:[<>]=?\s*)?(?:\d+(?:\.\d+)?|\.\d+|--|-|n/?a|nc|non-?compressible|absent|\?)(?:\s*(?:mm ?hg|%))?$",
    _I,
)
_UNIT = re.compile(r"\s*\((?:mm ?hg|mmhg|ratio|%)\)\s*", _I)
_PRESSURE_TABLE = re.compile(r"\bbrachial\b|mm ?hg|\bpressures?\b", _I)
_INDEX_ROW = re.compile(
    r"\b(?:ABI|ABPI|TBI|AAI|index|ratio|PVR|waveform|TcPO2|TcO2|TCOM|PSV|velocity)\b", _I
)
_COMPARTMENT_KEY = re.compile(r"^\s*compartments?\s*$", _I)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in _CELL_GAP.split(line.strip()) if c.strip()]


def _is_header(cells: list[str]) -> bool:
    return len(cells) >= 2 and not any(_VALUE.match(c) for c in cells[1:])


def _row(cells: list[str], width: int) -> bool:
    """A data row: a label, then values filling the columns (at least half of them)."""
    if len(cells) < 2 or _VALUE.match(cells[0]):
        return False
    values = cells[1:]
    return len(values) <= width and sum(bool(_VALUE.match(v)) for v in values) * 2 >= len(values)


def reading_text(text: str) -> str:
    """`text` with its plain-text tables rewritten as one "label: column value, ..." line per row."""
    if "  " not in text and "\t" not in text:
        return text
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        table = _table_at(lines, i)
        if table is None:
            out.append(lines[i])
            i += 1
            continue
        rewritten, used = table
        out.extend(rewritten)
        i += used
    return "\n".join(out)


def _table_at(lines: list[str], start: int) -> tuple[list[str], int] | None:
    header = _cells(lines[start])
    if not _is_header(header) or not _CELL_GAP.search(lines[start].strip()):
        return None
    i = start + 1
    if i < len(lines) and _RULE.match(lines[i]):
        i += 1
    rows: list[list[str]] = []
    while i < len(lines):
        cells = _cells(lines[i])
        if not _row(cells, len(header)):
            break
        rows.append(cells)
        i += 1
    if not rows:
        return None
    width = max(len(r) - 1 for r in rows)
    # "Site  Right  Left" names the label column too; "      RIGHT  LEFT" names values only.
    key = header[0] if len(header) > width else ""
    names = [_UNIT.sub(" ", c).strip() for c in header[len(header) - width :]]
    pressure = _PRESSURE_TABLE.search(lines[start]) or any(
        re.search(r"\bbrachial\b", r[0], _I) for r in rows
    )
    rewritten = []
    for cells in rows:
        label = cells[0]
        if _COMPARTMENT_KEY.match(key):
            label = f"{label} compartment pressure"
        elif pressure and not _INDEX_ROW.search(label):
            label = f"{label} pressure"
        pairs = [
            f"{name} {value}"
            for name, value in zip(names, cells[1:], strict=False)
            if value not in {"--", "-"}
        ]
        rewritten.append(f"{label}: {', '.join(pairs)}.")
    return rewritten, i - start
