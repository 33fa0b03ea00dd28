"""Patient identity in the review app: name, MRN, age and sex; search; the EHR link; hidden
names; exports in sentences. All names and MRNs are synthetic."""

from __future__ import annotations

import csv
import io
from datetime import date

import polars as pl
import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient

from pipelines.store import Store
from review.identity import ehr_url
from review.settings import ReviewSettings
from screens.model import STG_PATIENT

MR = "MR"
SITE = "urn:oid:2.16.840.1.113883.3.999.1"


def patients(*rows: dict[str, object]) -> pl.DataFrame:
    return pl.DataFrame([{c: r.get(c) for c in STG_PATIENT} for r in rows], schema=STG_PATIENT)


@pytest.fixture
def identified(store: Store) -> Store:
    """The seeded store's two patients with synthetic identity; a third has no item."""
    store.save_patients(
        patients(
            {
                "patient_id": "pad-low-abi",
                "name": "Testa, June",
                "birth_date": date(1950, 3, 2),
                "gender": "female",
                "identifiers": [
                    {"system": "ssn", "value": "999-00-1111", "type_code": "SS"},
                    {"system": "other", "value": "MR-OTHER-1", "type_code": MR},
                    {"system": SITE, "value": "SITE-0042", "type_code": None},
                ],
            },
            {
                "patient_id": "clti-rest-pain",
                "name": "Mockley, Finn",
                "birth_date": date(1940, 12, 31),
                "gender": "male",
                "identifiers": [{"system": "x", "value": "=HYPERLINK(1)", "type_code": MR}],
            },
            {"patient_id": "no-item", "name": "Nobody, Here", "identifiers": []},
        )
    )
    return store


def test_only_patients_with_items_are_kept(identified: Store) -> None:
    assert identified.patient_identity("no-item", None) is None
    kept = identified.patient_identity("pad-low-abi", None)
    assert kept is not None and kept["name"] == "Testa, June"


def test_the_mrn_is_the_site_system_else_type_mr_never_another_identifier(
    identified: Store,
) -> None:
    assert identified.patient_identity("pad-low-abi", SITE)["mrn"] == "SITE-0042"
    assert identified.patient_identity("pad-low-abi", None)["mrn"] == "MR-OTHER-1"
    assert identified.patient_identity("pad-low-abi", "unknown-system")["mrn"] == "MR-OTHER-1"
    identified.save_patients(
        patients(
            {
                "patient_id": "pad-low-abi",
                "identifiers": [{"system": "ssn", "value": "999-00-1111", "type_code": "SS"}],
            }
        )
    )
    assert identified.patient_identity("pad-low-abi", None)["mrn"] is None


def test_worklist_and_patient_page_show_name_mrn_age_and_sex(
    identified: Store, make_client, login
) -> None:
    client = make_client(settings=ReviewSettings(mrn_system=SITE))
    login(client, "coord")
    page = client.get("/").text
    assert "Testa, June" in page and "SITE-0042" in page
    assert "74 F" in page  # age on the worklist date 2025-03-01, and sex
    patient = client.get("/patients/pad-low-abi").text
    assert "Testa, June" in patient and "SITE-0042" in patient and ">74<" in patient
    assert "999-00-1111" not in patient  # another identifier is never shown


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("SITE-0042", {"pad-low-abi"}),
        ("testa", {"pad-low-abi"}),
        ("june testa", {"pad-low-abi"}),
        ("finn", {"clti-rest-pain"}),
        ("clti", {"clti-rest-pain"}),
        ("SITE-00", set()),  # an MRN matches whole, not by its beginning
        ("%", set()),  # LIKE wildcards are searched for, not obeyed
    ],
    ids=["mrn", "family", "two-words", "given", "patient-id", "mrn-prefix", "wildcard"],
)
def test_search_by_mrn_name_or_id(identified: Store, make_client, login, q: str, found) -> None:
    client = make_client(settings=ReviewSettings(mrn_system=SITE))
    login(client, "coord")
    page = client.get("/", params={"q": q}).text
    shown = {p for p in ("pad-low-abi", "clti-rest-pain") if f'data-col="patient">{p}<' in page}
    assert shown == found


def test_hidden_names_are_not_shown_exported_or_searchable(
    identified: Store, make_client, login
) -> None:
    client = make_client(settings=ReviewSettings(hide_names=True))
    login(client, "coord")
    assert "Testa" not in client.get("/").text
    assert "Testa" not in client.get("/patients/pad-low-abi").text
    assert "pad-low-abi" not in client.get("/", params={"q": "testa"}).text
    assert "MR-OTHER-1" in client.get("/", params={"q": "MR-OTHER-1"}).text
    export = client.get("/export.csv").text
    assert "Testa" not in export and "name" not in export.splitlines()[0].split(",")


def test_open_in_ehr_link_fills_and_encodes_the_template(
    identified: Store, make_client, login
) -> None:
    template = "https://ehr.example.org/chart?mrn={mrn}&fhir={patient_id}"
    client = make_client(settings=ReviewSettings(ehr_url_template=template))
    login(client, "coord")
    page = client.get("/patients/clti-rest-pain").text
    assert (
        'href="https://ehr.example.org/chart?mrn=%3DHYPERLINK%281%29&amp;fhir=clti-rest-pain"'
        in page
    )
    assert ehr_url("https://e/{mrn}", "p 1", None) == ""  # no MRN, no link
    assert ehr_url("https://e/{patient_id}", "p/1", None) == "https://e/p%2F1"
    with pytest.raises(ValueError, match="https"):
        ReviewSettings(ehr_url_template="javascript:alert(1)")


def test_exports_are_sentences_with_ids_apart_and_formulas_neutralised(
    identified: Store, app_client: TestClient, login
) -> None:
    login(app_client, "coord")
    rows = list(csv.DictReader(io.StringIO(app_client.get("/export.csv").text)))
    by_patient = {r["patient_id"]: r for r in rows}
    pad = by_patient["pad-low-abi"]
    assert pad["criteria"] == "pad.low_abi"
    assert pad["findings"].startswith("A resting ankle-brachial index of 0.90 or lower")
    assert "pad.low_abi" not in pad["findings"]
    assert pad["name"] == "Testa, June" and pad["age"] == "74" and pad["sex"] == "F"
    assert by_patient["clti-rest-pain"]["mrn"] == "'=HYPERLINK(1)"
    assert "Pain at rest" not in app_client.get("/export.csv").text  # no note text
    sheet = load_workbook(io.BytesIO(app_client.get("/export.xlsx").content)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    cells = {c.value for row in sheet.iter_rows(min_row=2) for c in row}
    assert {"findings", "criteria", "name", "mrn"} <= set(header)
    assert "'=HYPERLINK(1)" in cells and "=HYPERLINK(1)" not in cells
