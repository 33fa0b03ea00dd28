"""Note text rendered as the documents EHRs send: RTF and PDF, built at test time (no binary
fixtures), and resources whose notes are rewritten into one of them."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fpdf import FPDF

from pipelines.ingest.notes import decode_attachment

PDF_LINE_MM = 5.0


def rtf_document(text: str) -> bytes:
    """`text` as an RTF document: one ``\\par`` a line, non-ASCII as ``\\uN?``."""
    out = []
    for char in text:
        if char in "\\{}":
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\par\n")
        elif ord(char) > 127:
            code = ord(char)
            out.append(f"\\u{code - 65536 if code > 32767 else code}?")
        else:
            out.append(char)
    return ("{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Arial;}}\\f0\\fs20 " + "".join(out) + "}").encode(
        "ascii"
    )


def pdf_document(text: str) -> bytes:
    """`text` as a PDF with a text layer, as a note editor prints it: A4 pages, long lines
    wrapped at the margin, a blank line as a gap."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("helvetica", size=10)
    for line in text.split("\n"):
        if line.strip():
            pdf.multi_cell(0, PDF_LINE_MM, line, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.ln(PDF_LINE_MM)
    return bytes(pdf.output())


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def plain_text(text: str) -> bytes:
    return text.encode("utf-8")


def with_notes_as(
    resources: list[dict[str, Any]], render: Callable[[str], bytes], content_type: str
) -> list[dict[str, Any]]:
    """Copies of `resources` whose note attachments carry `render` of their text, declared as
    `content_type` (the text as the pipeline reads it, whatever the attachment's own format)."""
    out = copy.deepcopy(resources)
    for resource in out:
        for attachment in _attachments(resource):
            text = decode_attachment(attachment.get("contentType"), attachment.get("data"))
            if text is not None:
                attachment["contentType"] = content_type
                attachment["data"] = b64(render(text))
    return out


def write_by_type(directory: Path, resources: list[dict[str, Any]]) -> None:
    """`resources` as Bulk NDJSON files, one per resource type."""
    directory.mkdir(parents=True, exist_ok=True)
    by_type: dict[str, list[str]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(json.dumps(resource) + "\n")
    for rtype, lines in by_type.items():
        (directory / f"{rtype}.ndjson").write_text("".join(lines), encoding="utf-8")


def _attachments(resource: dict[str, Any]) -> list[dict[str, Any]]:
    if resource["resourceType"] == "DocumentReference":
        return [c["attachment"] for c in resource.get("content", []) if "attachment" in c]
    if resource["resourceType"] == "DiagnosticReport":
        return list(resource.get("presentedForm", []))
    return []
