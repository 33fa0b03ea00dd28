"""Highlight the matched words of a note mention inside its sentence (the evidence snippet)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SnippetParts:
    before: str
    match: str
    after: str


def split_snippet(
    snippet: str | None,
    span_start: int | None,
    span_end: int | None,
    sentence_start: int | None,
) -> SnippetParts | None:
    """Cut the snippet around the mention; the template escapes each part and marks `match`.

    Spans are offsets into the note and the snippet is one sentence of it, so the sentence's
    own offset is needed. Returns the whole snippet unmarked when offsets are missing or do
    not fit, and None when there is no snippet.
    """
    if snippet is None:
        return None
    if None in (span_start, span_end, sentence_start):
        return SnippetParts(snippet, "", "")
    assert span_start is not None and span_end is not None and sentence_start is not None
    start, end = span_start - sentence_start, span_end - sentence_start
    if not 0 <= start < end <= len(snippet):
        return SnippetParts(snippet, "", "")
    return SnippetParts(snippet[:start], snippet[start:end], snippet[end:])
