"""Note text decoding: what a sender is likely to send, read as a clinician would read it."""

import base64
import random
import textwrap
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import notes as notes_module
from pipelines.notes import MAX_NOTE_BYTES, decode_attachment, decode_notes, html_to_text
from screens.model import STG_NOTE


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


# ---- decode_notes: one text per resource, the same whichever path decodes it ----------------

LIMIT = MAX_NOTE_BYTES * 4 // 3 + 4
# (content_type, base64 data): what senders send, and what breaks decoders.
ATTACHMENTS: dict[str, tuple[str | None, str | None]] = {
    "plain": ("text/plain; charset=utf-8", b64("Rest pain, left foot.")),
    "plain_no_charset": ("text/plain", b64("Claudication at two blocks.")),
    "upper_case_type": ("TEXT/PLAIN; CHARSET=UTF-8", b64("Upper-case type.")),
    "utf8_alias": ("text/plain; charset=utf8", b64("Alias of UTF-8.")),
    "python_only_whitespace": ("text/plain", b64("\x1c\u3000 Edema \x1f\n")),
    "whitespace_only": ("text/plain", b64(" \n\t\x1e ")),
    "latin1": ("text/plain; charset=ISO-8859-1", b64("Caf\u00e9".encode("latin-1"))),
    "mime_line_breaks": ("text/plain", "\n".join(textwrap.wrap(b64("Wound " * 40), 76))),
    "non_canonical": ("text/plain", "YR=="),
    "missing_padding": ("text/plain", "aGVsbG8"),
    "url_safe": ("text/plain", "a-b_"),
    "nul_early": ("text/plain", b64(b"abc\x00def")),
    "nul_late": ("text/plain", b64(b"a" * 2000 + b"\x00z")),
    "empty": ("text/plain", ""),
    "no_data": ("text/plain", None),
    "sniffed_plain": (None, b64("Sniffed plain.")),
    "sniffed_html": ("", b64("<p>Sniffed <b>html</b></p>")),
    "html": ("text/html", b64("<p>Rest <b>pain</b></p><p>at night</p>")),
    "pdf": ("application/pdf", b64(b"%PDF-1.4")),
    "markdown": ("text/markdown", b64("# HPI\nrest pain")),
    "too_big": ("text/plain", "QUFB" * (LIMIT // 4 + 1)),
}
CONCLUSIONS = ["  Impression: stenosis  ", "", None, "\x1f"]
RANK = {"text/plain": 0, "text/markdown": 0, "": 0, "text/html": 1}  # else 9; a conclusion 2


def _frame(rows: list[tuple[str, int, str | None, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (f"p-{ref}", ref, date(2026, 1, 2), "note", pos, ct, data, None, concl)
            for ref, pos, ct, data, concl in rows
        ],
        schema={
            "patient_id": pl.String,
            "source_ref": pl.String,
            "note_on": pl.Date,
            "note_type": pl.String,
            "attachment_pos": pl.Int64,
            "content_type": pl.String,
            "data": pl.String,
            "url": pl.String,
            "conclusion": pl.String,
        },
        orient="row",
    )


def _rule(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The rule, row by row: per resource, the decodable attachment of lowest (rank, position)."""
    best: dict[str, tuple[tuple[int, int], dict[str, object]]] = {}
    for r in frame.iter_rows(named=True):
        if r["attachment_pos"] == 0:
            text, rank = (r["conclusion"] or "").strip() or None, 2
        else:
            media = (r["content_type"] or "").split(";")[0].strip().lower()
            text, rank = decode_attachment(r["content_type"], r["data"]), RANK.get(media, 9)
        key = (rank, r["attachment_pos"])
        if text is not None and (r["source_ref"] not in best or key < best[r["source_ref"]][0]):
            best[r["source_ref"]] = (
                key,
                {c: r[c] for c in STG_NOTE if c != "text"} | {"text": text},
            )
    rows = [best[ref][1] for ref in sorted(best)]
    notes = pl.DataFrame(rows, schema=STG_NOTE) if rows else pl.DataFrame(schema=STG_NOTE)
    return notes, frame["source_ref"].n_unique() - len(best)


def _assert_as_the_rule(frame: pl.DataFrame) -> None:
    decoded = decode_notes(frame)
    notes, unavailable = _rule(frame)
    assert_frame_equal(decoded.notes, notes)
    assert decoded.unavailable == unavailable


@pytest.mark.parametrize("name", sorted(ATTACHMENTS))
def test_each_kind_of_attachment_decodes_as_the_rule_says(name: str) -> None:
    ct, data = ATTACHMENTS[name]
    _assert_as_the_rule(_frame([("DocumentReference/d1", 1, ct, data, None)]))


@pytest.mark.parametrize("with_bad_utf8", [False, True], ids=["utf8", "one_note_not_utf8"])
def test_mixed_resources_decode_as_the_rule_says(with_bad_utf8: bool) -> None:
    # One attachment declared UTF-8 that is not sends the whole frame row by row.
    kinds = sorted(ATTACHMENTS)
    pick = random.Random(7)
    rows = []
    for i in range(400):
        ref = f"DiagnosticReport/r{i:03d}"
        positions = pick.sample(range(1, 6), pick.randint(1, 3))
        rows += [(ref, pos, *ATTACHMENTS[pick.choice(kinds)], None) for pos in positions]
        if pick.random() < 0.3:
            rows.append((ref, 0, "text/plain", None, pick.choice(CONCLUSIONS)))
    if with_bad_utf8:
        rows.append(
            ("DocumentReference/bad", 1, "text/plain; charset=utf-8", b64(b"\xff\xfeok"), None)
        )
    rows.sort(key=lambda r: (r[0], r[1]))
    _assert_as_the_rule(_frame(rows))


def test_utf8_plain_notes_are_decoded_without_the_row_by_row_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str | None] = []

    def counted(content_type: str | None, data: str | None) -> str | None:
        calls.append(content_type)
        return decode_attachment(content_type, data)

    monkeypatch.setattr(notes_module, "decode_attachment", counted)
    frame = _frame(
        [
            (f"DocumentReference/d{i}", 1, "text/plain; charset=utf-8", b64(f"Note {i}."), None)
            for i in range(50)
        ]
        + [("DocumentReference/h", 1, "text/html", b64("<p>html</p>"), None)]
    )
    decoded = decode_notes(frame)
    assert decoded.notes.height == 51 and calls == ["text/html"]
