"""PDF and RTF notes pulled from a real sekmet-fhir server read as the text they were written in:
inline ``data`` and Binary ``url`` attachments, DocumentReference and DiagnosticReport alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.fhir.auth import BearerTokenAuth
from pipelines.fhir.pull import pull_to_directory
from tests.builders import note
from tests.pipelines.fhir.server import DEV_TOKEN, SekmetServer
from tests.pipelines.fhir.worklist_runs import load_resources
from tests.pipelines.note_documents import b64, pdf_document, rtf_document
from tests.stage_oracle import stage_source

PDF_NOTE = "Assessment: rest pain, left foot, worse lying flat.\n\nPlan: arterial duplex."
RTF_REPORT = "Left common iliac vein compressed by the right common iliac artery."


def _resources() -> list[dict[str, Any]]:
    patient = {"resourceType": "Patient", "id": "fmt-p1", "birthDate": "1961-04-02"}
    inline = note("fmt-p1", PDF_NOTE, nid="fmt-pdf-inline", content_type="application/pdf")
    inline["content"][0]["attachment"]["data"] = b64(pdf_document(PDF_NOTE))
    by_url = note("fmt-p1", nid="fmt-pdf-binary")
    by_url["content"] = [{"attachment": {"contentType": "application/pdf", "url": "Binary/fmt-b1"}}]
    report = {
        "resourceType": "DiagnosticReport",
        "id": "fmt-rtf-report",
        "status": "final",
        "code": {"text": "Venous duplex"},
        "subject": {"reference": "Patient/fmt-p1"},
        "effectiveDateTime": "2026-05-02",
        "presentedForm": [{"contentType": "text/rtf", "url": "Binary/fmt-b2"}],
    }
    binaries = [
        {"resourceType": "Binary", "id": bid, "contentType": ct, "data": b64(raw)}
        for bid, ct, raw in [
            ("fmt-b1", "application/pdf", pdf_document(PDF_NOTE)),
            ("fmt-b2", "text/rtf", rtf_document(RTF_REPORT)),
        ]
    ]
    return [patient, inline, by_url, report, *binaries]


@pytest.fixture(scope="module")
def server(fresh_sekmet: SekmetServer) -> SekmetServer:
    load_resources(fresh_sekmet, _resources())
    return fresh_sekmet


@pytest.mark.parametrize("mode", ["bulk", "search"])
def test_pdf_and_rtf_notes_pulled_inline_or_by_binary_url_read_as_their_text(
    server: SekmetServer, tmp_path: Path, mode: str
) -> None:
    report = pull_to_directory(
        server.base_url,
        tmp_path / "landing",
        mode=mode,  # type: ignore[arg-type]
        auth=BearerTokenAuth(DEV_TOKEN),
    )
    staged = stage_source(tmp_path / "landing", workdir=tmp_path / "work", max_quarantine_ratio=1.0)

    assert report.attachments_failed == 0
    texts = dict(
        zip(staged.tables["note"]["source_ref"], staged.tables["note"]["text"], strict=True)
    )
    assert texts["DocumentReference/fmt-pdf-inline"] == PDF_NOTE
    assert texts["DocumentReference/fmt-pdf-binary"] == PDF_NOTE
    assert texts["DiagnosticReport/fmt-rtf-report"] == RTF_REPORT
    assert staged.notes_unread == {}
