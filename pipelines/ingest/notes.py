"""Decode note attachments (DocumentReference content, DiagnosticReport presentedForm) to text.

Input is ``stg_note_attachment`` (see sql/staging), one row per attachment. Output is
``STG_NOTE``: one row per resource with decodable text. For each resource the first decodable
attachment wins, text/plain before text/html before RTF before PDF (`note_markup` reads the
markup, `note_pdf` the PDF text layer): one note per resource, however many renditions it
carries. A DiagnosticReport's ``conclusion`` follows it after a blank line, unless
the attachment already says it (whitespace aside), and is the whole text when no attachment
decodes.

A resource none of whose attachments reads is unread, never raised, and counted by the reason
of its most promising attachment (`UnreadReason`): its Binary was not fetched (only a ``url``),
it is too large (`MAX_NOTE_BYTES`, `MAX_PDF_BYTES`), it does not decode (bad base64, binary
bytes in a text type, a damaged PDF), it is empty (or a PDF without a text layer), or its type
is not one we read. Bytes that are not valid in the declared charset are decoded with U+FFFD
replacement rather than counted: a few mangled characters do not stop a clinician-readable
note from being useful, and NLP tolerates them.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import functools
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl

from pipelines.ingest.note_markup import html_to_text, rtf_to_text
from pipelines.ingest.note_pdf import pdf_to_text
from screens.model import STG_NOTE, assert_schema

MAX_NOTE_BYTES = 2 * 1024 * 1024
# A PDF carries fonts and layout around its text: the limit the pull inlines a Binary up to.
MAX_PDF_BYTES = 5 * 1024 * 1024
_PLAIN = "text/plain"
_HTML = ("text/html", "application/xhtml+xml")
_RTF = ("text/rtf", "application/rtf")
_PDF = "application/pdf"
_PREFERENCE = {
    _PLAIN: 0,
    "text/html": 1,
    "application/xhtml+xml": 1,
    "text/rtf": 2,
    "application/rtf": 2,
    _PDF: 3,
}


class UnreadReason(StrEnum):
    """Why a note resource gave no text (the run summary counts them)."""

    BINARY_NOT_FETCHED = "binary_fetch_failed"  # only a url: the pull could not fetch it
    TOO_LARGE = "too_large"
    DECODE_ERROR = "decode_error"
    EMPTY = "empty"
    UNSUPPORTED_TYPE = "unsupported_type"


# A resource with several unread attachments is counted once, by the first of these it has:
# the attachment that would have been read had it arrived whole.
_REASON_ORDER = tuple(UnreadReason)


@dataclass(frozen=True, slots=True)
class DecodedNotes:
    notes: pl.DataFrame  # STG_NOTE
    unavailable: int
    # Unread resources by `UnreadReason` value (sums to `unavailable`).
    unread: dict[str, int] = field(default_factory=dict)


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


_HTML_START = re.compile(rb"^\s*(?:<!doctype html|<html|<div|<p[ >])", re.IGNORECASE)
_RTF_START = re.compile(rb"^\s*\{\\rtf")
_PDF_START = re.compile(rb"^\s*%PDF-")
# Plain-text types read as text/plain; RTF and other markup are not notes we can read.
_TEXT_AS_PLAIN = ("text/markdown", "text/x-markdown", "text/csv")
# "Some bytes": what a Binary endpoint answers when it does not know better. Read only when the
# bytes say they are a PDF or RTF document.
_OPAQUE = ("application/octet-stream", "binary/octet-stream")


def _effective_media(media: str, raw: bytes) -> str | None:
    """The media type to decode as: a missing contentType is sniffed (PDF, HTML, RTF or plain)."""
    if media in _PREFERENCE:
        return media
    if media in _TEXT_AS_PLAIN:
        return _PLAIN
    if media in _OPAQUE:
        if _PDF_START.match(raw[:200]):
            return _PDF
        return "text/rtf" if _RTF_START.match(raw[:200]) else None
    if not media:  # contentType is optional in R4; senders often leave it out
        if _PDF_START.match(raw[:200]):
            return _PDF
        if _RTF_START.match(raw[:200]):
            return "text/rtf"
        return "text/html" if _HTML_START.match(raw[:200]) else _PLAIN
    return None


def decode_attachment(content_type: str | None, data: str | None) -> str | None:
    """Decode one base64 attachment to text, or None when it is not usable."""
    text = read_attachment(content_type, data)
    return None if isinstance(text, UnreadReason) else text


def read_attachment(
    content_type: str | None, data: str | None, *, url: str | None = None, size: int | None = None
) -> str | UnreadReason:
    """The text of one base64 attachment, or why there is none.

    `url` and `size` (the attachment's own) tell a Binary the pull did not fetch from an empty
    attachment, and one it left out for its size.
    """
    media, charset = _media_type(content_type)
    if media and media not in _PREFERENCE and media not in _TEXT_AS_PLAIN + _OPAQUE:
        return UnreadReason.UNSUPPORTED_TYPE  # fetched or not, an image is no note
    if not data:
        if size is not None and size > _limit(media):
            return UnreadReason.TOO_LARGE
        return UnreadReason.BINARY_NOT_FETCHED if url else UnreadReason.EMPTY
    if len(data) > _limit(media) * 4 // 3 + 4:
        return UnreadReason.TOO_LARGE
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return UnreadReason.DECODE_ERROR
    media_used = _effective_media(media, raw)
    if media_used == _PDF:
        pdf = pdf_to_text(raw)
        if pdf.unreadable:
            return UnreadReason.DECODE_ERROR
        return pdf.text or UnreadReason.EMPTY
    if media_used is None or b"\x00" in raw[:1024]:  # binary (images) is not a note
        known = media and media not in _OPAQUE
        return UnreadReason.DECODE_ERROR if known else UnreadReason.UNSUPPORTED_TYPE
    text = raw.decode(charset, errors="replace")
    if media_used in _HTML:
        text = html_to_text(text)
    elif media_used in _RTF:
        text = rtf_to_text(text)
    return text.strip() or UnreadReason.EMPTY


def _limit(media: str) -> int:
    return MAX_PDF_BYTES if media == _PDF or media in _OPAQUE else MAX_NOTE_BYTES


@functools.cache
def _py_whitespace() -> str:
    """What Python's ``str.strip()`` strips: the vectorised path strips exactly the same."""
    return "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())


def _rank(media: str) -> int:
    """Preference among a resource's attachments (lower wins)."""
    return _PREFERENCE.get(media, 0 if media in _TEXT_AS_PLAIN or not media else 9)


def _stripped(column: pl.Expr) -> pl.Expr:
    text = column.str.strip_chars(_py_whitespace())
    return pl.when(text.str.len_bytes() > 0).then(text)


def decode_notes(attachments: pl.DataFrame) -> DecodedNotes:
    """Turn ``stg_note_attachment`` rows into STG_NOTE rows plus an unavailable count.

    Per resource, the decodable attachment with the lowest (rank, position) wins: plain text,
    then HTML, then RTF, then PDF; a DiagnosticReport's conclusion follows it
    (`_with_conclusion`). UTF-8 plain text in strict base64 without NUL bytes (the bulk of
    notes) is decoded in one vectorised pass (`_vectorised_texts`); every other attachment goes
    through `decode_attachment`, and only when it could still win (`_row_by_row_texts`). Both
    give the same text.
    """
    rows = _vectorised_texts(attachments)
    texts = (
        rows.join(_row_by_row_texts(rows), on="row", how="left")
        .with_columns(text=pl.coalesce("text", "slow_text"))
        .filter(pl.col("text").is_not_null())
        .sort("source_ref", "attachment_pos")
    )
    conclusion = pl.col("attachment_pos") == 0
    body = (
        texts.filter(~conclusion)
        .sort("source_ref", "rank", "attachment_pos")
        .unique("source_ref", keep="first", maintain_order=True)
        .select("source_ref", body="text")
    )
    notes = (
        texts.unique("source_ref", keep="first", maintain_order=True)
        .select([c for c in STG_NOTE if c != "text"])
        .join(body, on="source_ref", how="left", maintain_order="left")
        .join(
            texts.filter(conclusion).select("source_ref", said="text"),
            on="source_ref",
            how="left",
            maintain_order="left",
        )
        .with_columns(text=_with_conclusion(pl.col("body"), pl.col("said")))
        .select(list(STG_NOTE))
        .cast(STG_NOTE)  # type: ignore[arg-type]
    )
    assert_schema(notes, STG_NOTE, "stg_note")
    unread = unread_reasons(
        attachments.join(notes.select("source_ref"), on="source_ref", how="anti")
    )
    return DecodedNotes(notes=notes, unavailable=sum(unread.values()), unread=unread)


def unread_reasons(attachments: pl.DataFrame) -> dict[str, int]:
    """Unread resources by reason, from the attachment rows of resources that gave no text.

    Each resource counts once, by the first reason in `UnreadReason` order any of its
    attachments has (a blank conclusion is empty). Row by row: unread notes are few.
    """
    worst: dict[str, int] = {}
    has_size = "size" in attachments.columns
    for row in attachments.iter_rows(named=True):
        if row["attachment_pos"] == 0:
            reason = UnreadReason.EMPTY
        else:
            got = read_attachment(
                row["content_type"],
                row["data"],
                url=row["url"],
                size=row["size"] if has_size else None,
            )
            reason = got if isinstance(got, UnreadReason) else UnreadReason.EMPTY
        rank = _REASON_ORDER.index(reason)
        worst[row["source_ref"]] = min(worst.get(row["source_ref"], rank), rank)
    counts = Counter(_REASON_ORDER[rank].value for rank in worst.values())
    return {reason.value: counts[reason.value] for reason in UnreadReason if counts[reason.value]}


def _with_conclusion(body: pl.Expr, conclusion: pl.Expr) -> pl.Expr:
    """The attachment's text, a blank line and the conclusion; either alone when the other is
    missing, and the attachment's alone when it already holds the conclusion (whitespace
    aside)."""

    def spaced(text: pl.Expr) -> pl.Expr:
        return text.str.replace_all(r"\s+", " ")

    return (
        pl.when(conclusion.is_null())
        .then(body)
        .when(body.is_null())
        .then(conclusion)
        .when(spaced(body).str.contains(spaced(conclusion), literal=True))
        .then(body)
        .otherwise(pl.concat_str([body, pl.lit("\n\n"), conclusion]))
    )


def _vectorised_texts(attachments: pl.DataFrame) -> pl.DataFrame:
    """`attachments` with ``row``, ``rank``, ``fast`` (decoded here) and ``text``.

    ``text`` is set for conclusions and for ``fast`` rows (NULL when not usable); the other
    attachments are left to `decode_attachment`.
    """
    media = {ct: _media_type(ct) for ct in attachments["content_type"].fill_null("").unique()}
    fast_kinds = [
        ct for ct, (m, charset) in media.items() if m and not _rank(m) and charset == "utf-8"
    ]
    content_type = pl.col("content_type").fill_null("")
    limit = MAX_NOTE_BYTES * 4 // 3 + 4
    rows = attachments.with_row_index("row").with_columns(
        rank=content_type.replace_strict(
            {ct: _rank(m) for ct, (m, _) in media.items()}, default=None
        ).cast(pl.Int32),
        fast=(pl.col("attachment_pos") != 0)
        & content_type.is_in(fast_kinds)
        & pl.col("data").str.len_bytes().is_between(1, limit),
    )
    # Strict base64 only (Python's decoder also skips stray characters: those go row by row).
    raw = pl.when(pl.col("fast")).then(pl.col("data").str.decode("base64", strict=False))
    rows = rows.with_columns(raw=raw).with_columns(
        fast=pl.col("fast") & pl.col("raw").is_not_null() & ~pl.col("raw").bin.contains(b"\x00")
    )
    try:
        decoded = rows.select(pl.when(pl.col("fast")).then(pl.col("raw")).cast(pl.String))
        rows = rows.with_columns(decoded.to_series().alias("decoded"))
    except pl.exceptions.PolarsError:  # a note declared UTF-8 that is not: all row by row
        rows = rows.with_columns(fast=False, decoded=pl.lit(None, pl.String))
    return rows.with_columns(
        text=pl.when(pl.col("attachment_pos") == 0)
        .then(_stripped(pl.col("conclusion")))
        .when(pl.col("fast"))
        .then(_stripped(pl.col("decoded")))
    ).drop("raw", "decoded")


def _row_by_row_texts(rows: pl.DataFrame) -> pl.DataFrame:
    """``row``, ``slow_text`` of the attachments `_vectorised_texts` left, where they could win."""
    best: dict[str, tuple[int, int]] = {}
    for ref, rank, pos in (
        rows.filter(pl.col("text").is_not_null() & (pl.col("attachment_pos") != 0))
        .select("source_ref", "rank", "attachment_pos")
        .iter_rows()
    ):
        best[ref] = min(best.get(ref, (rank, pos)), (rank, pos))
    found: dict[int, str] = {}
    pending = rows.filter((pl.col("attachment_pos") != 0) & ~pl.col("fast"))
    for row, ref, rank, pos, content_type, data in pending.select(
        "row", "source_ref", "rank", "attachment_pos", "content_type", "data"
    ).iter_rows():
        if ref in best and best[ref] < (rank, pos):
            continue  # a better attachment already decoded; skip the base64 work
        text = decode_attachment(content_type, data)
        if text is not None:
            best[ref] = (rank, pos)
            found[row] = text
    return pl.DataFrame(
        {"row": list(found), "slow_text": list(found.values())},
        schema={"row": pl.UInt32, "slow_text": pl.String},
    )
