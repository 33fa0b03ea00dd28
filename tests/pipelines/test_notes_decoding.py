"""Note text decoding: what a sender is likely to send, read as a clinician would read it."""

import base64

import pytest

from pipelines.notes import decode_attachment, html_to_text


def b64(text: str | bytes) -> str:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return base64.b64encode(raw).decode("ascii")


@pytest.mark.parametrize(
    ("content_type", "payload", "expected"),
    [
        ("text/plain; charset=utf-8", "Rest pain, left foot.", "Rest pain, left foot."),
        (None, "Reports claudication after two blocks.", "Reports claudication after two blocks."),
        ("", "<p>Rest pain <b>left</b> foot.</p>", "Rest pain left foot."),
        ("text/markdown", "# HPI\nrest pain", "# HPI\nrest pain"),
        ("text/plain; charset=ISO-8859-1", "Caf\u00e9 au lait", "Caf\u00e9 au lait"),
    ],
    ids=["plain", "no_content_type", "sniffed_html", "markdown", "latin1"],
)
def test_text_attachments_are_read(content_type: str | None, payload: str, expected: str) -> None:
    raw = payload.encode("latin-1") if content_type and "8859" in content_type else payload
    assert decode_attachment(content_type, b64(raw)) == expected


@pytest.mark.parametrize(
    ("content_type", "payload"),
    [
        ("application/pdf", b"%PDF-1.4 ..."),
        (None, b"\x00\x01binary"),
        ("text/plain", b""),
        ("image/png", b"\x89PNG"),
    ],
    ids=["pdf", "binary_without_type", "empty", "image"],
)
def test_unreadable_attachments_are_unavailable(content_type: str | None, payload: bytes) -> None:
    assert decode_attachment(content_type, b64(payload)) is None


def test_html_keeps_inline_words_in_one_sentence_and_blocks_on_their_own_lines() -> None:
    html = (
        "<html><head><style>p{}</style></head><body><p>Rest pain <b>left</b> foot.</p>"
        "<ul><li>ROS: no claudication</li></ul>line<br>two<script>x()</script></body></html>"
    )
    assert html_to_text(html) == "Rest pain left foot.\nROS: no claudication\nline\ntwo"
