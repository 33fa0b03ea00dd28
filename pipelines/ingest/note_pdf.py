"""PDF note text: the text layer of an ``application/pdf`` attachment, page after page.

Read with the maintained `pypdf` (pure Python, no system libraries). A PDF is a note when it
carries a text layer: what EHRs print from their note editors (athenahealth, Epic's "print to
PDF" documents, outside-records faxed through a text-recognising gateway). A scanned page
without a text layer reads as empty; nothing is recognised from images.

Returns `PdfText`: the text (possibly empty), or ``unreadable`` when the bytes are not a PDF
pypdf can open (damaged, truncated, encrypted with a password). The text keeps the page's lines
(a line wrapped at the margin stays wrapped: the note reader joins such lines) and its
paragraph gaps as blank lines; a page runs on into the next (text flows across pages). Pages
past `MAX_PDF_PAGES` are not read: a note is a few pages, and a 2,000-page scan would only
spend the night.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass

from pypdf import PageObject, PdfReader
from pypdf.errors import PyPdfError

MAX_PDF_PAGES = 200
# pypdf names structural problems of the file (never its text) at WARNING; one damaged PDF a
# night is counted as unread in the run summary, so its warnings would only be noise.
logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass(frozen=True, slots=True)
class PdfText:
    text: str
    unreadable: bool = False


def pdf_to_text(raw: bytes) -> PdfText:
    """The text layer of the PDF in `raw`, one line per line of the page, pages in order."""
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            return PdfText("", unreadable=True)  # a password we do not have
        pages = [_page_text(page) for page in reader.pages[:MAX_PDF_PAGES]]
    except _DAMAGED:
        return PdfText("", unreadable=True)
    return PdfText(_tidy("\n".join(pages)))


# pypdf reports a damaged file with its own errors, and with the built-in ones its parser meets
# on bytes it did not expect (a truncated stream, a missing key, a bad number).
_DAMAGED = (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError, IndexError)
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")


def _page_text(page: PageObject) -> str:
    """The page's text in layout mode, which keeps a paragraph gap as a blank line (the note
    reader's hard sentence boundary, `screens.notes.sentences`); the plain mode, which loses
    the gaps, for a page whose fonts layout mode cannot place."""
    try:
        return page.extract_text(extraction_mode="layout") or ""
    except _DAMAGED:
        return page.extract_text() or ""


def _tidy(text: str) -> str:
    """Lines without the layout's indents and column padding (one space between words), at
    most one blank line in a row."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()
