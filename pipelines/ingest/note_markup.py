"""Marked-up note text (HTML, RTF) to the plain lines a clinician reads.

HTML: block elements end a line, inline ones (``<b>``, ``<span>``) stay inside their sentence.
A ``<table>`` row becomes one line, its first cell the label and the others its values:
``label: value value`` without a header row, and ``label: Header1 value1, Header2 value2`` with
one, so that "ABI | 0.62 | 0.91" under "Site | Right | Left" reads "ABI: Right 0.62, Left 0.91"
(a title that names no concept, "Finding" or "Result", is left out).
Empty cells are skipped; markup inside a cell stays inline. A header row is a ``<thead>`` row or
a first row of ``<th>`` cells, of bold cells, or of words over rows that all carry a number.

RTF: decoded with the maintained `striprtf`; ``\\par`` and ``\\line`` end a line, table cells
are separated by ``|`` and rows end a line.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode
from striprtf.striprtf import rtf_to_text as _striprtf

_BLOCKS = (
    "p,div,br,li,tr,td,th,h1,h2,h3,h4,h5,h6,ul,ol,table,section,article,header,footer,"
    "pre,blockquote,dt,dd"
)
# Inside a cell these only separate words: the cell stays one line.
_CELL_BREAKS = "br,p,div,li,h1,h2,h3,h4,h5,h6,ul,ol,dt,dd,pre,blockquote"
_DIGIT = re.compile(r"\d")
_BOLD = frozenset({"b", "strong"})
# Column titles that name no concept: "Location | Finding" rows read "Location: R malleolus".
_VALUE_TITLES = frozenset(
    {"finding", "findings", "result", "results", "value", "values", "comment", "comments"}
    | {"detail", "details", "description", "note", "notes", "response", "answer"}
)
_TITLE_WORDS = 3  # a column title is a few words: "Site", "PSV (cm/s)", "Ankle pressure L"


def html_to_text(html: str) -> str:
    """Visible text of an HTML document, one line per block and per table row, scripts and
    styles removed."""
    tree = LexborHTMLParser(html)
    tree.strip_tags(["script", "style", "head"])
    body = tree.body or tree.root
    if body is None:
        return ""
    # Innermost tables first: an inner table is then text inside its outer table's cell.
    for table in reversed(body.css("table")):
        table.replace_with("\n" + "\n".join(_table_lines(table)) + "\n")
    for node in body.css(_BLOCKS):
        node.insert_after("\n")
    lines = (line.strip() for line in body.text(separator="", strip=False).splitlines())
    return "\n".join(line for line in lines if line)


def _table_lines(table: LexborNode) -> list[str]:
    """One line per row of `table` (whose inner tables are already text); a header row names
    the columns of the rows after it, up to the next one."""
    rows = [row for row in table.css("tr") if any(True for _ in _cells(row))]
    if not rows:
        return [_inline(table)]
    texts = [[_inline(cell) for cell in _cells(row)] for row in rows]
    header: list[str] = []
    lines: list[str] = []
    for k, (row, cells) in enumerate(zip(rows, texts, strict=True)):
        if _is_header(row, texts) if k == 0 else _is_title_row(row, cells):
            header = cells
            continue
        label, values = (cells[0], cells[1:]) if cells else ("", [])
        if header:
            named = [f"{_title(header, i + 1)} {v}".strip() for i, v in enumerate(values) if v]
            shown = ", ".join(named)
        else:
            shown = " ".join(v for v in values if v)
        line = f"{label}: {shown}" if label and shown else label or shown
        if line:
            lines.append(line)
    if not lines and header:  # a table of titles only
        lines.append(" ".join(h for h in header if h))
    return lines


def _cells(row: LexborNode) -> list[LexborNode]:
    return [child for child in row.iter() if child.tag in ("td", "th")]


def _title(header: list[str], i: int) -> str:
    """Column `i`'s title; none for a title that only says "the value" ("Finding", "Result")."""
    title = header[i] if i < len(header) else ""
    return "" if title.lower() in _VALUE_TITLES else title


def _inline(node: LexborNode) -> str:
    """The text of `node` on one line: block markup inside it separates words only."""
    for inner in node.css(_CELL_BREAKS):
        inner.insert_after(" ")
    return " ".join(node.text(separator="", strip=False).split())


def _is_header(first: LexborNode, texts: list[list[str]]) -> bool:
    """Whether the first row names the columns of the rows below it."""
    cells = _cells(first)
    if first.parent is not None and first.parent.tag == "thead":
        return True
    if all(cell.tag == "th" for cell in cells):
        return True
    filled = [(cell, text) for cell, text in zip(cells, texts[0], strict=True) if text]
    if len(filled) < 2 or len(texts) < 2:
        return False
    if all(_is_bold(cell) for cell, _ in filled):
        return True
    if any(_DIGIT.search(text) for _, text in filled):
        return False
    if not texts[0][0]:  # a blank corner cell over a column of labels: "| Right | Left"
        return True
    # Short column titles over rows of as many cells, each with a number among its values.
    return all(len(text.split()) <= _TITLE_WORDS for _, text in filled) and all(
        len(row) == len(texts[0]) and any(_DIGIT.search(v) for v in row[1:]) for row in texts[1:]
    )


def _is_title_row(row: LexborNode, cells: list[str]) -> bool:
    """A row after the first that starts a new header: two or more cells, all th or bold."""
    filled = [cell for cell, text in zip(_cells(row), cells, strict=True) if text]
    return len(filled) >= 2 and all(cell.tag == "th" or _is_bold(cell) for cell in filled)


def _is_bold(cell: LexborNode) -> bool:
    """A cell whose whole text sits inside ``<b>`` / ``<strong>``."""
    bold = "".join(node.text(separator="") for node in cell.iter() if node.tag in _BOLD)
    return bool(bold.strip()) and bold.split() == cell.text(separator="").split()


def rtf_to_text(rtf: str) -> str:
    """Plain text of an RTF document; characters the RTF's code page cannot map become U+FFFD."""
    text: str = _striprtf(rtf, errors="replace")  # type: ignore[no-untyped-call]  # untyped
    return text
