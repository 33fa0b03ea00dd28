"""Every common note format reads as the same text: PDF (a text layer), RTF, HTML, plain; the
best attachment of several is the one note; an unread note is counted by its reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from pipelines.errors import ExitCode, UnreadNotesThresholdError
from pipelines.fhir.attachments import AttachmentStats, inline_attachments
from pipelines.fhir.client import FhirClient
from pipelines.ingest.notes import (
    MAX_PDF_BYTES,
    UnreadReason,
    decode_attachment,
    decode_notes,
    read_attachment,
)
from pipelines.note_unread import check_unread_share, unread_by_reason, unread_lines
from tests.builders import note
from tests.pipelines.note_documents import b64, pdf_document, rtf_document
from tests.pipelines.stage_inputs import write_ndjson
from tests.pipelines.test_notes_decoding import _frame
from tests.stage_oracle import stage_source

NOTE = (
    "Assessment: claudication of the left calf after two blocks, relieved by rest.\n"
    "ABI 0.62 right, 0.91 left.\n"
    "Plan: refer to vascular surgery."
)


@pytest.mark.parametrize("content_type", ["application/pdf", None], ids=["declared", "sniffed"])
def test_pdf_notes_read_as_their_text_layer(content_type: str | None) -> None:
    assert decode_attachment(content_type, b64(pdf_document(NOTE))) == NOTE


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (pdf_document(NOTE), NOTE),
        (rtf_document(NOTE), NOTE),
        (NOTE.encode(), UnreadReason.UNSUPPORTED_TYPE),
        (b"\x89PNG\r\n", UnreadReason.UNSUPPORTED_TYPE),
    ],
    ids=["pdf", "rtf", "text", "image"],
)
def test_opaque_bytes_from_a_binary_endpoint_read_only_as_a_pdf_or_rtf_document(
    payload: bytes, expected: str
) -> None:
    assert read_attachment("application/octet-stream", b64(payload)) == expected


def test_a_pdf_paragraph_gap_stays_a_blank_line_and_a_wrapped_line_keeps_its_words() -> None:
    # A blank line is the note reader's hard sentence boundary: negation must not run across it.
    text = "No rest pain.\n\nLeft calf " + "pain after walking two blocks, " * 8 + "relieved."
    read = decode_attachment("application/pdf", b64(pdf_document(text)))
    assert read is not None
    assert read.split("\n\n")[0] == "No rest pain." and "\n\n\n" not in read
    assert read.split() == text.split() and read.count("\n") > 2  # wrapped, words intact


def test_a_pdf_note_over_pages_reads_every_page_in_order() -> None:
    lines = [f"Visit line {i}: no rest pain." for i in range(120)]  # more than one A4 page
    assert decode_attachment("application/pdf", b64(pdf_document("\n".join(lines)))) == "\n".join(
        lines
    )


@pytest.mark.parametrize(
    ("content_type", "data", "url", "size", "reason"),
    [
        ("application/pdf", b64(b"%PDF-1.7 truncated"), None, None, UnreadReason.DECODE_ERROR),
        ("application/pdf", b64(pdf_document("\n\n")), None, None, UnreadReason.EMPTY),
        ("application/pdf", "QUFB" * (MAX_PDF_BYTES // 3 + 2), None, None, "too_large"),
        ("application/pdf", None, "Binary/b1", None, UnreadReason.BINARY_NOT_FETCHED),
        ("application/pdf", None, "Binary/b1", MAX_PDF_BYTES + 1, UnreadReason.TOO_LARGE),
        ("text/rtf", None, "Binary/b1", 1000, UnreadReason.BINARY_NOT_FETCHED),
        ("text/plain", None, None, None, UnreadReason.EMPTY),
        ("text/plain", b64(b" \n "), None, None, UnreadReason.EMPTY),
        ("text/plain", "QUFBQ", None, None, UnreadReason.DECODE_ERROR),
        ("text/plain", b64(b"abc\x00def"), None, None, UnreadReason.DECODE_ERROR),
        ("image/png", b64(b"\x89PNG"), None, None, UnreadReason.UNSUPPORTED_TYPE),
        ("image/jpeg", None, "Binary/b1", None, UnreadReason.UNSUPPORTED_TYPE),
        (None, b64(b"\x00\x01binary"), None, None, UnreadReason.UNSUPPORTED_TYPE),
    ],
    ids=[
        "damaged_pdf",
        "pdf_without_text",
        "pdf_too_large",
        "binary_not_fetched",
        "left_unfetched_for_its_size",
        "small_binary_not_fetched",
        "no_data",
        "whitespace",
        "bad_base64",
        "binary_bytes_in_text",
        "image",
        "image_not_fetched",
        "binary_without_type",
    ],
)
def test_an_unread_attachment_says_why(
    content_type: str | None, data: str | None, url: str | None, size: int | None, reason: str
) -> None:
    assert read_attachment(content_type, data, url=url, size=size) == reason


PLAIN = ("text/plain", b64(b"from plain"))
HTML = ("text/html", b64(b"<p>from <b>html</b></p>"))
RTF = ("text/rtf", b64(rtf_document("from rtf")))
PDF = ("application/pdf", b64(pdf_document("from pdf")))
BROKEN_PDF = ("application/pdf", b64(b"%PDF-1.4 truncated"))


@pytest.mark.parametrize(
    ("attachments", "expected"),
    [
        ([PDF, RTF, HTML, PLAIN], "from plain"),
        ([PDF, RTF, HTML], "from html"),
        ([PDF, RTF], "from rtf"),
        ([PDF, ("text/plain", None), ("text/html", b64(b" "))], "from pdf"),
        ([BROKEN_PDF, PDF], "from pdf"),
        ([PDF, BROKEN_PDF, ("image/png", b64(b"\x89PNG"))], "from pdf"),
    ],
    ids=[
        "plain_first",
        "html_over_rtf_and_pdf",
        "rtf_over_pdf",
        "pdf_when_the_others_are_empty",
        "the_pdf_that_reads",
        "pdf_among_unreadable",
    ],
)
def test_one_note_per_resource_from_the_best_attachment_that_reads(
    attachments: list[tuple[str, str | None]], expected: str
) -> None:
    rows = [
        ("DocumentReference/n1", pos, ct, data, None)
        for pos, (ct, data) in enumerate(attachments, start=1)
    ]
    decoded = decode_notes(_frame(rows))
    assert decoded.notes["text"].to_list() == [expected]
    assert decoded.unavailable == 0 and decoded.unread == {}


def test_the_first_reason_in_order_counts_a_note_once() -> None:
    rows = [
        ("DocumentReference/a", 1, "image/png", b64(b"\x89PNG"), None),
        ("DocumentReference/a", 2, "application/pdf", None, None),  # empty
        ("DocumentReference/b", 1, "application/pdf", b64(b"%PDF-1.4 x"), None),
        ("DocumentReference/b", 2, "text/plain", "QUFBQ", None),
        ("DocumentReference/c", 1, "image/png", b64(b"\x89PNG"), None),
        ("DiagnosticReport/d", 0, "text/plain", None, "  "),
        ("DocumentReference/e", 1, "text/plain", b64(b"read"), None),
    ]
    decoded = decode_notes(_frame(rows))
    assert decoded.notes["source_ref"].to_list() == ["DocumentReference/e"]
    assert decoded.unread == {"decode_error": 1, "empty": 2, "unsupported_type": 1}
    assert decoded.unavailable == 4


def _docref(did: str, attachments: list[dict[str, object]]) -> dict[str, Any]:
    doc = note("p1", nid=did)
    doc["content"] = [{"attachment": a} for a in attachments]
    return doc


def test_staged_notes_read_pdf_and_count_an_unfetched_binary_by_its_size(
    src: Path, tmp_path: Path
) -> None:
    write_ndjson(
        src / "DocumentReference.ndjson",
        [
            _docref("pdf", [{"contentType": "application/pdf", "data": b64(pdf_document(NOTE))}]),
            _docref("big", [{"contentType": "application/pdf", "url": "Binary/x", "size": 9**9}]),
            _docref("lost", [{"contentType": "application/pdf", "url": "Binary/y"}]),
        ],
    )
    staged = stage_source(src, workdir=tmp_path / "work", max_quarantine_ratio=1.0)
    note = staged.tables["note"]
    assert note["source_ref"].to_list() == ["DocumentReference/pdf"]
    assert note["text"].to_list() == [NOTE]
    assert staged.notes_unavailable == 2


RTF_NOTE = rtf_document("Rest pain in the left foot at night.\n\nCaf\u00e9 \\ {visit}.")


def test_rtf_documents_built_for_tests_read_back_as_their_text() -> None:
    assert decode_attachment("text/rtf", b64(RTF_NOTE)) == (
        "Rest pain in the left foot at night.\n\nCaf\u00e9 \\ {visit}."
    )


def _binary_server(pdf: bytes) -> FhirClient:
    """A server whose Binary/raw answers the PDF's bytes, Binary/json a FHIR Binary of them."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/Binary/raw"):
            return httpx.Response(200, headers={"Content-Type": "application/pdf"}, content=pdf)
        binary = {"resourceType": "Binary", "contentType": "application/pdf", "data": b64(pdf)}
        return httpx.Response(200, headers={"Content-Type": "application/fhir+json"}, json=binary)

    return FhirClient("http://fhir.test/fhir", transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("binary", ["Binary/raw", "Binary/json"], ids=["raw", "fhir_binary"])
def test_a_pdf_binary_url_is_inlined_by_the_pull_and_read(binary: str) -> None:
    report = {
        "resourceType": "DiagnosticReport",
        "presentedForm": [{"contentType": "application/pdf", "url": binary}],
    }
    stats = AttachmentStats()
    inline_attachments(report, _binary_server(pdf_document(NOTE)), stats)
    form = report["presentedForm"][0]  # type: ignore[index]
    assert stats.inlined == 1
    assert decode_attachment(form["contentType"], form["data"]) == NOTE


@pytest.mark.parametrize("binary", ["Binary/raw", "Binary/json"], ids=["raw", "fhir_binary"])
def test_a_binary_too_large_to_inline_keeps_its_size_and_counts_as_too_large(binary: str) -> None:
    pdf = pdf_document(NOTE)
    doc = _docref("big", [{"contentType": "application/pdf", "url": binary}])
    stats = AttachmentStats()
    inline_attachments(doc, _binary_server(pdf), stats, max_bytes=100)
    attachment = doc["content"][0]["attachment"]  # type: ignore[index]
    assert stats.too_large == 1 and "data" not in attachment
    assert abs(attachment["size"] - len(pdf)) <= 2  # base64 padding aside


@pytest.mark.parametrize(
    ("read", "unread", "fails"),
    [
        (95, {"empty": 5}, False),  # 5.0%: at the threshold, not past it
        (94, {"binary_fetch_failed": 4, "empty": 2}, True),
        (10, {"decode_error": 9}, False),  # 19 notes: too few to judge a night by
        (11, {"decode_error": 9}, True),
        (0, {}, False),
    ],
    ids=["at_threshold", "past_threshold", "too_few_notes", "enough_notes", "no_notes"],
)
def test_the_unread_share_fails_a_night_past_the_threshold_in_one_line(
    read: int, unread: dict[str, int], fails: bool
) -> None:
    if not fails:
        check_unread_share(read, unread, 0.05)
        return
    with pytest.raises(UnreadNotesThresholdError) as raised:
        check_unread_share(read, unread, 0.05)
    assert raised.value.exit_code == ExitCode.QUARANTINE_THRESHOLD
    assert "\n" not in str(raised.value) and "above the 5.0% threshold" in str(raised.value)


def test_unread_counts_add_up_over_shards_in_reason_order() -> None:
    total = unread_by_reason([{"empty": 1, "too_large": 2}, {"binary_fetch_failed": 3, "empty": 1}])
    assert list(total.items()) == [("binary_fetch_failed", 3), ("too_large", 2), ("empty", 2)]
    assert unread_lines(total) == [
        "notes unread by reason: binary_fetch_failed 3, too_large 2, empty 2"
    ]
    assert unread_lines({}) == []
