"""Decode note attachments (DocumentReference content, DiagnosticReport presentedForm) to text.

Input is ``stg_note_attachment`` (see sql/staging), one row per attachment. Output is
``STG_NOTE``: one row per resource with decodable text. For each resource the first decodable
attachment wins, text/plain before text/html, then a DiagnosticReport's ``conclusion``.

A resource with no inline ``data`` (only a ``url``), an unsupported content type, or text over
`MAX_NOTE_BYTES` is counted as unavailable and never raises. Bytes that are not valid in the
declared charset are decoded with U+FFFD replacement rather than quarantined: a few mangled
characters do not stop a clinician-readable note from being useful, and NLP tolerates them.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import functools
import re
from dataclasses import dataclass

import polars as pl
from selectolax.lexbor import LexborHTMLParser

from screens.model import STG_NOTE, assert_schema

MAX_NOTE_BYTES = 2 * 1024 * 1024
_PLAIN = "text/plain"
_HTML = ("text/html", "application/xhtml+xml")
_PREFERENCE = {_PLAIN: 0, "text/html": 1, "application/xhtml+xml": 1}


@dataclass(frozen=True, slots=True)
class DecodedNotes:
    notes: pl.DataFrame  # STG_NOTE
    unavailable: int


@functools.lru_cache(maxsize=1024)
def _media_type(content_type: str | None) -> tuple[str, str]:
    """Split 'text/plain; charset=ISO-8859-1' into ('text/plain', 'iso-8859-1').

    Cached: a shard asks twice per attachment, and a source uses a handful of content types.
    """
    if not content_type:
        return "", "utf-8"
    parts = [p.strip() for p in content_type.split(";")]
    charset = "utf-8"
    for param in parts[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').lower()
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    return parts[0].lower(), charset


_BLOCKS = (
    "p,div,br,li,tr,td,th,h1,h2,h3,h4,h5,h6,ul,ol,table,section,article,header,footer,"
    "pre,blockquote,dt,dd"
)


def html_to_text(html: str) -> str:
    """Visible text of an HTML document, one line per block, scripts and styles removed."""
    tree = LexborHTMLParser(html)
    tree.strip_tags(["script", "style", "head"])
    body = tree.body or tree.root
    if body is None:
        return ""
    # Block elements end a line; inline ones (<b>, <span>) stay inside their sentence, so
    # "Rest pain <b>left</b> foot" reads as one sentence.
    for node in body.css(_BLOCKS):
        node.insert_after("\n")
    lines = (line.strip() for line in body.text(separator="", strip=False).splitlines())
    return "\n".join(line for line in lines if line)


_HTML_START = re.compile(rb"^\s*(?:<!doctype html|<html|<div|<p[ >])", re.IGNORECASE)
# Plain-text types read as text/plain; RTF and other markup are not notes we can read.
_TEXT_AS_PLAIN = ("text/markdown", "text/x-markdown", "text/csv")


def _effective_media(media: str, raw: bytes) -> str | None:
    """The media type to decode as: a missing contentType is sniffed (HTML or plain text)."""
    if media in _PREFERENCE:
        return media
    if media in _TEXT_AS_PLAIN:
        return _PLAIN
    if not media:  # contentType is optional in R4; senders often leave it out
        return "text/html" if _HTML_START.match(raw[:200]) else _PLAIN
    return None


def decode_attachment(content_type: str | None, data: str | None) -> str | None:
    """Decode one base64 attachment to text, or None when it is not usable."""
    media, charset = _media_type(content_type)
    if not data or (media and media not in _PREFERENCE and media not in _TEXT_AS_PLAIN):
        return None
    if len(data) > MAX_NOTE_BYTES * 4 // 3 + 4:
        return None
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None
    media_used = _effective_media(media, raw)
    if media_used is None or b"\x00" in raw[:1024]:  # binary (PDF, images) is not a note
        return None
    text = raw.decode(charset, errors="replace")
    if media_used in _HTML:
        text = html_to_text(text)
    text = text.strip()
    return text or None


def decode_notes(attachments: pl.DataFrame) -> DecodedNotes:
    """Turn ``stg_note_attachment`` rows into STG_NOTE rows plus an unavailable count."""
    best: dict[str, tuple[int, int, dict[str, object]]] = {}
    refs: set[str] = set()
    for row in attachments.iter_rows(named=True):
        ref = row["source_ref"]
        refs.add(ref)
        if row["attachment_pos"] == 0:
            text, rank = (row["conclusion"] or "").strip() or None, 2
        else:
            media, _ = _media_type(row["content_type"])
            rank = _PREFERENCE.get(media, 0 if media in _TEXT_AS_PLAIN or not media else 9)
            if ref in best and best[ref][0] <= rank:
                continue  # a better attachment already decoded; skip the base64 work
            text = decode_attachment(row["content_type"], row["data"])
        if text is None:
            continue
        key = (rank, int(row["attachment_pos"]))
        if ref not in best or key < best[ref][:2]:
            best[ref] = (
                *key,
                {
                    "patient_id": row["patient_id"],
                    "source_ref": ref,
                    "note_on": row["note_on"],
                    "note_type": row["note_type"],
                    "text": text,
                },
            )
    rows = [best[ref][2] for ref in sorted(best)]
    notes = pl.DataFrame({c: [r[c] for r in rows] for c in STG_NOTE}, schema=STG_NOTE)
    assert_schema(notes, STG_NOTE, "stg_note")
    return DecodedNotes(notes=notes, unavailable=len(refs) - len(best))
