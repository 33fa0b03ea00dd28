"""Note text decoding: what a sender is likely to send, read as a clinician would read it."""

import base64
import random
import textwrap
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.ingest import notes as notes_module
from pipelines.ingest.notes import MAX_NOTE_BYTES, decode_attachment, decode_notes, html_to_text
from screens.model import STG_NOTE
from tests.pipelines.note_documents import pdf_document
from tests.pipelines.stage_inputs import write_ndjson
from tests.stage_oracle import stage_source


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
    "pdf_text": ("application/pdf", b64(pdf_document("ABI 0.55 left.\nRest pain at night."))),
    "markdown": ("text/markdown", b64("# HPI\nrest pain")),
    "rtf": ("text/rtf", b64(r"{\rtf1\ansi Rest pain\par at night}")),
    "rtf_sniffed": (None, b64(r"{\rtf1\ansi Sniffed \b rtf\b0\par}")),
    "too_big": ("text/plain", "QUFB" * (LIMIT // 4 + 1)),
}
CONCLUSIONS = ["  Impression: stenosis  ", "", None, "\x1f"]
RANK = {
    "text/plain": 0,
    "text/markdown": 0,
    "": 0,
    "text/html": 1,
    "text/rtf": 2,
    "application/pdf": 3,
}


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
    """The rule, row by row: per resource, the decodable attachment of lowest (rank, position),
    then a blank line and the conclusion unless the attachment already says it."""
    best: dict[str, tuple[tuple[int, int], str]] = {}
    conclusion: dict[str, str] = {}
    meta: dict[str, dict[str, object]] = {}
    for r in frame.iter_rows(named=True):
        ref = r["source_ref"]
        if r["attachment_pos"] == 0:
            text = (r["conclusion"] or "").strip() or None
            if text is not None:
                conclusion[ref] = text
        else:
            media = (r["content_type"] or "").split(";")[0].strip().lower()
            text = decode_attachment(r["content_type"], r["data"])
            key = (RANK.get(media, 9), r["attachment_pos"])
            if text is not None and (ref not in best or key < best[ref][0]):
                best[ref] = (key, text)
        if text is not None:
            meta.setdefault(ref, {c: r[c] for c in STG_NOTE if c != "text"})
    rows = []
    for ref in sorted(meta):
        body, tail = best[ref][1] if ref in best else None, conclusion.get(ref)
        if body is None or tail is None:
            text = body or tail
        elif " ".join(tail.split()) in " ".join(body.split()):
            text = body
        else:
            text = f"{body}\n\n{tail}"
        rows.append(meta[ref] | {"text": text})
    notes = pl.DataFrame(rows, schema=STG_NOTE) if rows else pl.DataFrame(schema=STG_NOTE)
    return notes, frame["source_ref"].n_unique() - len(meta)


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


# ---- RTF -----------------------------------------------------------------------------------

RTF_NOTE = (
    r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Arial;}}{\colortbl;\red0\green0\blue0;}"
    r"\f0\fs20 {\b Assessment}\par Ulcer dorsum R foot, 3 wks, non-healing.\par "
    r"Pedal pulses absent \'96 refer to vascular.\line Caf\'e9 visit.\par}"
)


@pytest.mark.parametrize(
    "content_type", ["text/rtf", "application/rtf", "TEXT/RTF; charset=us-ascii", None]
)
def test_rtf_notes_read_as_lines(content_type: str | None) -> None:
    assert decode_attachment(content_type, b64(RTF_NOTE)) == (
        "Assessment\nUlcer dorsum R foot, 3 wks, non-healing.\n"
        "Pedal pulses absent \u2013 refer to vascular.\nCaf\u00e9 visit."
    )


def test_rtf_tables_keep_their_cells_on_one_line() -> None:
    rtf = r"{\rtf1\ansi \trowd\cellx1000\cellx2000 ABI\cell 0.58\cell\row Done.\par}"
    assert decode_attachment("text/rtf", b64(rtf)) == "ABI|0.58|\nDone."


# ---- HTML tables ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (
            "<table><tr><th>Site</th><th>Right</th><th>Left</th></tr>"
            "<tr><td>ABI</td><td>0.62</td><td>0.91</td></tr>"
            "<tr><td>TBI</td><td></td><td>0.40</td></tr></table>",
            "ABI: Right 0.62, Left 0.91\nTBI: Left 0.40",
        ),
        (
            "<table><thead><tr><td>Vessel</td><td>PSV (cm/s)</td></tr></thead>"
            "<tbody><tr><td>L CFV</td><td>non-compressible</td></tr></tbody></table>",
            "L CFV: PSV (cm/s) non-compressible",
        ),
        (
            "<table><tr><td><b>Segment</b></td><td><strong>Waveform</strong></td></tr>"
            "<tr><td>SFA</td><td>monophasic</td></tr>"
            "<tr><td><b>Parameter</b></td><td><b>Finding</b></td></tr>"
            "<tr><td>Pulses</td><td>absent</td></tr></table>",
            "SFA: Waveform monophasic\nPulses: absent",
        ),
        (
            "<table><tr><td></td><td>Rt</td><td>Lt</td></tr>"
            "<tr><td>Ankle pressure</td><td>48 mmHg</td><td>96 mmHg</td></tr></table>",
            "Ankle pressure: Rt 48 mmHg, Lt 96 mmHg",
        ),
        (
            "<table><tr><td>Pulses</td><td>DP absent</td><td>PT absent</td></tr>"
            "<tr><td>Cap refill</td><td>5 s</td></tr></table>",
            "Pulses: DP absent PT absent\nCap refill: 5 s",
        ),
        (
            "<table><tr><td>Test</td><td>Result</td><td>Units</td></tr>"
            "<tr><td>TcPO2 dorsum</td><td>22</td><td>mmHg</td></tr></table>",
            "TcPO2 dorsum: 22, Units mmHg",
        ),
        (
            "<table><tr><td>Plan</td><td>Refer <b>vascular</b> surgery<br>this week</td></tr>"
            "</table>",
            "Plan: Refer vascular surgery this week",
        ),
        (
            "<p>Doppler study</p><table><tr><td>ABI R</td><td>0.45</td></tr></table>"
            "<p>Rest pain <b>left</b> foot.</p>",
            "Doppler study\nABI R: 0.45\nRest pain left foot.",
        ),
        (
            "<table><tr><td>Exam</td><td><table><tr><td>DP</td><td>0</td></tr>"
            "<tr><td>PT</td><td>1+</td></tr></table></td></tr></table>",
            "Exam: DP: 0 PT: 1+",
        ),
        ("<table><tr><td>  </td><td></td></tr><tr><td>Note</td></tr></table>", "Note"),
    ],
    ids=[
        "th_header",
        "thead_header",
        "bold_header",
        "first_row_of_labels",
        "no_header",
        "first_row_of_titles",
        "inline_markup_in_cell",
        "between_paragraphs",
        "nested_table",
        "empty_cells",
    ],
)
def test_html_table_rows_read_as_label_and_values(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


def test_non_table_html_keeps_one_line_per_block() -> None:
    html = "<div>HPI</div><ul><li>calf pain at 1 block</li><li>no rest pain</li></ul><p>Plan</p>"
    assert html_to_text(html) == "HPI\ncalf pain at 1 block\nno rest pain\nPlan"


# ---- several attachments and a DiagnosticReport's conclusion ---------------------------------


def _note_text(rows: list[tuple[str, int, str | None, str | None, str | None]]) -> str | None:
    decoded = decode_notes(_frame(rows))
    return decoded.notes["text"][0] if decoded.notes.height else None


def test_the_conclusion_follows_the_report_text_after_a_blank_line() -> None:
    ref = "DiagnosticReport/d1"
    rows = [
        (ref, 0, "text/plain", None, "Occlusion of the R popliteal artery."),
        (ref, 1, "text/html", b64("<p>Arterial duplex, right leg.</p>"), None),
    ]
    assert _note_text(rows) == (
        "Arterial duplex, right leg.\n\nOcclusion of the R popliteal artery."
    )


def test_a_conclusion_already_in_the_report_text_is_not_repeated() -> None:
    ref = "DiagnosticReport/d1"
    body = "FINDINGS: monophasic flow.\nIMPRESSION: Occlusion of the\n  R popliteal artery."
    rows = [
        (ref, 0, "text/plain", None, "Occlusion of the R popliteal   artery."),
        (ref, 1, "text/plain", b64(body), None),
    ]
    assert _note_text(rows) == body


def test_a_conclusion_alone_is_the_note_when_no_attachment_reads() -> None:
    ref = "DiagnosticReport/d1"
    rows = [
        (ref, 0, "text/plain", None, " Left CIA compression. "),
        (ref, 1, "application/pdf", b64(b"%PDF-1.7"), None),
    ]
    assert _note_text(rows) == "Left CIA compression."


@pytest.mark.parametrize(
    ("attachments", "expected"),
    [
        ([("text/rtf", r"{\rtf1 from rtf\par}"), ("text/html", "<p>from html</p>")], "from html"),
        ([("text/html", "<p>from html</p>"), ("text/plain", "from plain")], "from plain"),
        ([("application/pdf", "%PDF"), ("text/rtf", r"{\rtf1 from rtf\par}")], "from rtf"),
    ],
    ids=["html_over_rtf", "plain_over_html", "rtf_over_unreadable"],
)
def test_the_best_attachment_wins(attachments: list[tuple[str, str]], expected: str) -> None:
    rows = [
        ("DocumentReference/n1", pos, ct, b64(data), None)
        for pos, (ct, data) in enumerate(attachments, start=1)
    ]
    assert _note_text(rows) == expected


def test_notes_with_nothing_readable_are_counted_unavailable() -> None:
    rows = [
        ("DocumentReference/a", 1, "application/pdf", b64(b"%PDF"), None),
        ("DocumentReference/b", 1, "text/rtf", None, None),
        ("DiagnosticReport/c", 0, "text/plain", None, "  "),
        ("DocumentReference/d", 1, "text/rtf", b64(r"{\rtf1 ok\par}"), None),
    ]
    decoded = decode_notes(_frame(rows))
    assert decoded.notes["source_ref"].to_list() == ["DocumentReference/d"]
    assert decoded.unavailable == 3


def test_a_staged_report_reads_its_attachment_then_its_conclusion(
    src: Path, tmp_path: Path
) -> None:
    report = {
        "resourceType": "DiagnosticReport",
        "id": "us1",
        "status": "final",
        "code": {"text": "Venous duplex, left leg"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-02-10",
        "presentedForm": [
            {"contentType": "text/rtf", "data": b64(r"{\rtf1 Thrombus in the L CFV.\par}")},
            {"contentType": "text/html", "data": b64("<p>Thrombus in the <b>L CFV</b>.</p>")},
        ],
        "conclusion": "Acute left iliofemoral DVT.",
    }
    write_ndjson(src / "DiagnosticReport.ndjson", [report])
    staged = stage_source(src, workdir=tmp_path / "work", max_quarantine_ratio=1.0)
    assert staged.tables["note"]["text"].to_list() == [
        "Thrombus in the L CFV.\n\nAcute left iliofemoral DVT."
    ]
