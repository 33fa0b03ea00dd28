"""One rule for every CSV and spreadsheet the project writes: no cell starts a formula.

A cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula by
Excel, LibreOffice and Google Sheets (CSV injection). Such text gets a leading apostrophe,
which spreadsheets show as plain text. Used by the CLI's `worklist.csv` (`pipelines.store`)
and the review app's exports (`review.worklist_view`).
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value: object) -> str:
    """Text for a CSV cell: dates as ISO, None as empty, a formula start neutralised."""
    if value is None:
        return ""
    isoformat = getattr(value, "isoformat", None)
    text = isoformat() if callable(isoformat) else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
