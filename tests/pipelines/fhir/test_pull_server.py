"""Bulk and search pulls against a real sekmet-fhir server land exactly the loaded bundle."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pipelines.errors import FhirServerError
from pipelines.fhir.auth import BasicAuth, BearerTokenAuth, SigningAlg, SmartBackendAuth
from pipelines.fhir.pull import DEFAULT_TYPES, PullMode, pull_to_directory
from tests.pipelines.fhir.landing_helpers import (
    binaries,
    bundle_resources,
    decoded_attachment_texts,
    read_landing,
    without_server_fields,
)
from tests.pipelines.fhir.server import (
    DEV_PASSWORD,
    DEV_TOKEN,
    DEV_USER,
    SekmetServer,
    cohort_bundle,
)

BEARER = BearerTokenAuth(DEV_TOKEN)


def _assert_lands_cohort(out_dir: Path) -> None:
    bundle = cohort_bundle()
    expected = bundle_resources(bundle)
    landed = read_landing(out_dir)
    assert sorted(landed) == sorted(expected)
    for key, resource in expected.items():
        assert without_server_fields(landed[key]) == resource, key
        assert landed[key]["meta"]["versionId"]
    # url-only attachments now carry the Binary's bytes inline.
    blobs = binaries(bundle)
    for key in [
        ("DocumentReference", "pull-beta-note-binary"),
        ("DiagnosticReport", "pull-alpha-duplex-report"),
    ]:
        attachments = (
            landed[key].get("content", [{}])[0].get("attachment") or landed[key]["presentedForm"][0]
        )
        assert attachments["data"] == blobs[attachments["url"]]
    assert decoded_attachment_texts(landed[("DocumentReference", "pull-alpha-note-inline")])


@pytest.mark.parametrize("mode", ["bulk", "search"])
def test_pull_lands_every_loaded_resource_with_its_content(
    sekmet: SekmetServer, tmp_path: Path, mode: str
) -> None:
    report = pull_to_directory(sekmet.base_url, tmp_path, mode=mode, auth=BEARER, page_size=2)  # type: ignore[arg-type]

    _assert_lands_cohort(tmp_path)
    assert report.mode == mode
    assert report.counts["Observation"] == 3
    assert set(report.counts) == set(DEFAULT_TYPES)
    assert report.error_count == 0 and report.error_file is None
    assert report.attachments_inlined == 2 and report.attachments_failed == 0
    assert report.transaction_time is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{t}.ndjson" for t in DEFAULT_TYPES
    )


def test_bulk_and_search_land_identical_resources(sekmet: SekmetServer, tmp_path: Path) -> None:
    pull_to_directory(sekmet.base_url, tmp_path / "bulk", mode="bulk", auth=BEARER)
    pull_to_directory(sekmet.base_url, tmp_path / "search", mode="search", auth=BEARER)

    assert read_landing(tmp_path / "bulk") == read_landing(tmp_path / "search")


def test_mode_defaults_to_bulk_when_the_server_advertises_export(
    sekmet: SekmetServer, tmp_path: Path
) -> None:
    report = pull_to_directory(sekmet.base_url, tmp_path, types=["Patient"], auth=BEARER)

    assert report.mode is PullMode.BULK
    assert report.counts == {"Patient": 2}


def test_bulk_export_job_is_deleted_and_state_cleared(sekmet: SekmetServer, tmp_path: Path) -> None:
    state = tmp_path / "state"
    report = pull_to_directory(
        sekmet.base_url,
        tmp_path / "out",
        mode="bulk",
        types=["Condition"],
        auth=BEARER,
        state_dir=state,
    )

    assert report.status_url is not None
    assert not list(state.glob("*"))
    with sekmet.admin() as http:
        assert http.get(report.status_url).status_code == 404


def test_group_export_lands_only_the_groups_patients(sekmet: SekmetServer, tmp_path: Path) -> None:
    report = pull_to_directory(
        sekmet.base_url, tmp_path, mode="bulk", auth=BEARER, group_id="pull-group-alpha"
    )

    landed = read_landing(tmp_path)
    assert {rid for (rtype, rid) in landed if rtype == "Patient"} == {"pull-alpha"}
    assert all("pull-beta" not in rid for _, rid in landed)
    assert report.counts["Condition"] == 1


@pytest.mark.parametrize("alg", [SigningAlg.RS384, SigningAlg.ES384], ids=["rs384", "es384"])
def test_smart_backend_services_pull(sekmet: SekmetServer, tmp_path: Path, alg: SigningAlg) -> None:
    keys = sekmet.rs384 if alg is SigningAlg.RS384 else sekmet.es384
    # sekmet registers these clients with the wildcard scope (server.py), so ask for that.
    auth = SmartBackendAuth(
        client_id=keys.client_id, private_key_path=keys.private_key, alg=alg, scope="system/*.read"
    )

    report = pull_to_directory(
        sekmet.base_url, tmp_path, mode="bulk", types=["Patient", "Condition"], auth=auth
    )

    assert report.counts == {"Patient": 2, "Condition": 2}


def test_basic_auth_pull(sekmet: SekmetServer, tmp_path: Path) -> None:
    auth = BasicAuth(DEV_USER, DEV_PASSWORD)

    report = pull_to_directory(
        sekmet.base_url, tmp_path, mode="search", types=["Patient"], auth=auth
    )

    assert report.counts == {"Patient": 2}


def test_unregistered_key_fails_without_leaking_secrets(
    sekmet: SekmetServer, tmp_path: Path
) -> None:
    # A well-formed RS384 key, but not the one registered for this client id.
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(
        rsa.generate_private_key(65537, 2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    auth = SmartBackendAuth(client_id=sekmet.rs384.client_id, private_key_path=stranger)

    with pytest.raises(FhirServerError) as caught:
        pull_to_directory(sekmet.base_url, tmp_path, mode="search", types=["Patient"], auth=auth)

    message = str(caught.value)
    assert "invalid_client" in message and "\n" not in message
    assert "eyJ" not in message  # no JWT
    assert not (tmp_path / "Patient.ndjson").exists()


def test_wrong_static_token_is_a_one_line_server_error(
    sekmet: SekmetServer, tmp_path: Path
) -> None:
    with pytest.raises(FhirServerError, match="HTTP 401") as caught:
        pull_to_directory(
            sekmet.base_url,
            tmp_path,
            mode="search",
            types=["Patient"],
            auth=BearerTokenAuth("nope-token"),
        )
    assert "nope-token" not in str(caught.value)


def test_capability_statement_is_readable_without_credentials(sekmet: SekmetServer) -> None:
    assert httpx.get(f"{sekmet.base_url}/metadata", timeout=10).status_code == 200


def test_landed_directories_stage_like_a_file_source(sekmet: SekmetServer, tmp_path: Path) -> None:
    """The file ingest reads both landings the same way, notes included (no note left url-only)."""
    from tests.stage_oracle import stage_source

    staged = {}
    for mode in ("bulk", "search"):
        pull_to_directory(sekmet.base_url, tmp_path / mode, mode=mode, auth=BEARER)  # type: ignore[arg-type]
        staged[mode] = stage_source(tmp_path / mode, workdir=tmp_path / f"work-{mode}")

    bulk_run, search_run = staged["bulk"], staged["search"]
    assert bulk_run.counts == search_run.counts
    assert bulk_run.quarantine.height == 0 and bulk_run.notes_unavailable == 0
    for name, table in bulk_run.tables.items():
        other = search_run.tables[name]
        assert table.sort(table.columns).equals(other.sort(other.columns)), name
    assert bulk_run.tables["note"].height == 3


def test_type_filter_narrows_the_export(sekmet: SekmetServer, tmp_path: Path) -> None:
    report = pull_to_directory(
        sekmet.base_url,
        tmp_path,
        mode="bulk",
        types=["Observation"],
        type_filters=["Observation?category=laboratory"],
        auth=BEARER,
    )

    assert report.counts == {"Observation": 1}
    assert list(read_landing(tmp_path)) == [("Observation", "pull-beta-ldl")]
