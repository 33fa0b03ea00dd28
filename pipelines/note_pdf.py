"""PDF note text: the text layer of an ``application/pdf`` attachment, page after page.

Read with the maintained `pypdf` (pure Python, no system libraries). A PDF is a note when it
carries a text layer: what EHRs print from their note editors (athenahealth, Epic's "print to
PDF" documents, outside-records faxed through a text-recognising gateway). A scanned page
without a text layer reads as empty; nothing is recognised from images.

Returns `PdfText`: the text (possibly empty), or ``unreadable`` when the bytes are not a PDF
pypdf can open (damaged, truncated, encrypted with a password). Pages past `MAX_PDF_PAGES` are
not read: a note is a few pages, and a 2,000-page scan would only spend the night.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from pypdf import PdfReader
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
        pages = [page.extract_text() or "" for page in reader.pages[:MAX_PDF_PAGES]]
    # pypdf reports a damaged file with its own errors, and with the built-in ones its parser
    # meets on bytes it did not expect (a truncated stream, a missing key, a bad number).
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return PdfText("", unreadable=True)
    lines = (line.rstrip() for page in pages for line in page.splitlines())
    return PdfText("\n".join(lines).strip())
