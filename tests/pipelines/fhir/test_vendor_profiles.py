"""Issue 24, item 7: each vendor profile of the emulator gives the file-mode worklist.

The synthetic cohort (ABI results moved to a site-specific Observation category, which a
category-only crawl would miss) is the file source; the emulator serves the same resources in
each vendor's documented shape. ``vascreen run --source URL`` through the real CLI must write a
``worklist.csv`` byte-identical to the file run's, and the emulator must have exercised the
profile's behaviours (docs/vendors.md lists them per test). Oracle, Epic and athenahealth runs
sign in through their emulated SMART Backend Services token endpoints.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from devtools.synth import write_cohort
from pipelines.errors import FhirServerError
from pipelines.fhir.auth import BearerTokenAuth, SmartBackendAuth
from pipelines.fhir.pull import pull_to_directory
from tests.pipelines.fhir.server import DEV_TOKEN
from tests.pipelines.fhir.vendor_emulator import GROUP_IDS, Emulator, run_emulator
from tests.pipelines.fhir.vendor_paging import Paging
from tests.pipelines.fhir.vendor_token import CLIENT_ID, KID, VENDOR_RULES, TokenEndpoint
from tests.pipelines.fhir.worklist_runs import Run, run_cli, run_in_process

PATIENTS, SEED = 120, 20260630
SITE_CATEGORY = {"coding": [{"system": "http://site.example/obs-category", "code": "vasc-lab"}]}
ABI_LOINC = "77194-9"


def move_abi_to_a_site_category(directory: Path) -> int:
    path = directory / "Observation.ndjson"
    moved, lines = 0, []
    for line in path.read_bytes().splitlines():
        item: dict[str, Any] = orjson.loads(line)
        codes = [c.get("code") for c in (item.get("code") or {}).get("coding") or []]
        if ABI_LOINC in codes:
            item["category"] = [SITE_CATEGORY]
            moved += 1
        lines.append(orjson.dumps(item))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return moved


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("vendor-cohort")
    write_cohort(PATIENTS, SEED, directory)
    (directory / "labels.csv").unlink()
    assert move_abi_to_a_site_category(directory) > 0
    return directory


@pytest.fixture(scope="module")
def file_worklist(cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    run = Run(tmp_path_factory.mktemp("file-run"))
    run_in_process(str(cohort), run)
    data = run.worklist.read_bytes()
    assert data.count(b"\n") > 2, "the cohort must flag some patients"
    return data


@contextmanager
def vendor(
    profile: str, cohort: Path, key_dir: Path, paging: Paging | None = None, **token: Any
) -> Iterator[Emulator]:
    """The emulated ``profile``; Oracle, Epic and athenahealth with their token endpoints.

    ``token`` changes the vendor's token rules for one test (``lifetime_s=2``).
    """
    endpoint = None
    key_dir.mkdir(parents=True, exist_ok=True)
    if profile in VENDOR_RULES:
        endpoint = TokenEndpoint.for_vendor(profile, key_dir, **token)
    with run_emulator(profile, cohort, endpoint, paging) as emulator:
        yield emulator


@pytest.fixture
def emulated(
    request: pytest.FixtureRequest, cohort: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Emulator]:
    with vendor(request.param, cohort, tmp_path_factory.mktemp("smart-key")) as emulator:
        yield emulator


@dataclass(frozen=True)
class SmartRun(Run):
    """A CLI run that authenticates with SMART Backend Services, default (per-type) scopes."""

    key_file: Path = Path()
    settings_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in super().env().items() if k != "VASCREEN_FHIR_TOKEN"}
        return env | {
            "VASCREEN_FHIR_AUTH": "smart",
            "VASCREEN_SMART_CLIENT_ID": CLIENT_ID,
            "VASCREEN_SMART_KEY_FILE": str(self.key_file),
            "VASCREEN_SMART_KEY_ID": KID,
            **self.settings_env,
        }


def cli_worklist(emulator: Emulator, root: Path, *extra: str) -> bytes:
    token = emulator.token
    run = SmartRun(root, token.key_file, token.client_env()) if token else Run(root)
    args = list(extra)
    if emulator.profile != "bulk-ig":
        args += ["--group", emulator.group_id]
    done = run_cli(emulator.fhir_url + "/fhir", run, *args)
    assert done.returncode == 0, done.stderr[-2000:]
    return run.worklist.read_bytes()


EXPECTED_BEHAVIOURS = {
    "epic": {"Binary in native form"},
    "oracle": {"429 at kick-off", "429 while polling", "307 to storage", "202 with Retry-After"},
    "athena": {"202 with Retry-After"},
    "bulk-ig": {"202 with Retry-After"},
}


@pytest.mark.parametrize("emulated", list(EXPECTED_BEHAVIOURS), indirect=True)
def test_bulk_run_against_each_vendor_profile_gives_the_file_worklist(
    emulated: Emulator, file_worklist: bytes, tmp_path: Path
) -> None:
    assert cli_worklist(emulated, tmp_path) == file_worklist
    assert EXPECTED_BEHAVIOURS[emulated.profile] <= set(emulated.seen)
    assert emulated.tokens_at_storage == 0
    assert emulated.exports_started == 1
    token = emulated.token
    if token is not None:  # per-type scopes asked for (Epic grants its own)
        # One sign-in for the credentials check before the pull, one for the pull: no more.
        assert 1 <= len(token.granted) <= 2 and not token.refused and not token.rate_limited
        assert "system/Observation.read" in token.granted[0].split()
        assert token.expired_refused == 0


@pytest.mark.parametrize("profile", ["epic", "oracle"])
def test_search_crawl_from_the_group_across_many_pages_gives_the_file_worklist(
    profile: str, cohort: Path, file_worklist: bytes, tmp_path: Path
) -> None:
    """Epic and Oracle page search answers; here 3 results a page, whatever ``_count`` asks.

    Epic's tokens last 2 s in this run: the night outlives many of them and signs in again.
    """
    paging = Paging(default=3, maximum=3)
    lifetime = {"lifetime_s": 2} if profile == "epic" else {}
    with vendor(profile, cohort, tmp_path / "key", paging, **lifetime) as emulated:
        assert emulated.token is not None
        assert cli_worklist(emulated, tmp_path / "run", "--mode", "search") == file_worklist
        assert emulated.exports_started == 0
        # The Group (one read) names more patients than a page holds; each one's searches page,
        # and every page was followed to the end.
        assert emulated.pages.followed > PATIENTS and not emulated.pages.open
        if profile == "epic":
            # ABIs sit in a site category here: only the search by the screens' codes finds them.
            assert emulated.seen["Observation searched by code"] >= PATIENTS
            assert len(emulated.token.granted) >= 2 and not emulated.token.refused


def test_a_token_revoked_mid_night_is_renewed_and_the_night_succeeds(
    cohort: Path, file_worklist: bytes, tmp_path: Path
) -> None:
    """Epic revokes each token after 5 uses: the server answers 401, the client signs in again."""
    with vendor("epic", cohort, tmp_path / "key", revoke_after_uses=5) as emulated:
        assert emulated.token is not None
        assert cli_worklist(emulated, tmp_path / "run") == file_worklist
        assert emulated.token.expired_refused >= 2
        assert len(emulated.token.granted) > emulated.token.expired_refused // 2
        assert not emulated.token.refused


def pull(emulator: Emulator, out: Path, **kwargs: Any) -> None:
    auth: BearerTokenAuth | SmartBackendAuth = BearerTokenAuth(DEV_TOKEN)
    if emulator.token is not None:
        auth = SmartBackendAuth(
            CLIENT_ID,
            emulator.token.key_file,
            kid=KID,
            token_url=emulator.token.token_url,
            jku=emulator.token.client_env().get("VASCREEN_SMART_JKU"),
        )
    pull_to_directory(emulator.fhir_url + "/fhir", out, auth=auth, **kwargs)


@pytest.mark.parametrize("emulated", ["epic"], indirect=True)
def test_a_next_link_to_another_host_is_refused_and_gets_no_token(
    emulated: Emulator, tmp_path: Path
) -> None:
    emulated.pages.paging = Paging(default=2, maximum=2, next_host="storage")
    with pytest.raises(FhirServerError, match="next link points outside the FHIR base origin"):
        pull(
            emulated,
            tmp_path,
            types=["Patient", "Condition"],
            mode="search",
            group_id=GROUP_IDS["epic"],
        )
    assert emulated.pages.pages_served >= 1  # a first page was read, its next link refused
    assert emulated.pages.asked_at_storage == 0 and emulated.tokens_at_storage == 0


@pytest.mark.parametrize("emulated", ["epic"], indirect=True)
def test_epic_second_export_within_a_day_shows_the_servers_reason(
    emulated: Emulator, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    since = datetime(2026, 6, 29, tzinfo=UTC)
    pull(emulated, tmp_path / "a", types=["Patient"], group_id=GROUP_IDS["epic"], since=since)
    assert emulated.seen["_since refused"] == 1  # and the night became a full pull
    with pytest.raises(FhirServerError) as caught:
        pull(emulated, tmp_path / "b", types=["Patient"], group_id=GROUP_IDS["epic"])
    assert "HTTP 400 (processing: requested too recently)" in str(caught.value)


@pytest.mark.parametrize("emulated", ["oracle", "epic"], indirect=True)
def test_group_only_population_without_a_group_is_refused_before_any_export(
    emulated: Emulator, tmp_path: Path
) -> None:
    with pytest.raises(FhirServerError, match="--group ID"):
        pull(emulated, tmp_path, types=["Patient"])
    assert emulated.exports_started == 0 and "patient export of all patients refused" not in (
        emulated.seen
    )


def other_key(directory: Path) -> Path:
    directory.mkdir()
    return TokenEndpoint.with_new_key(directory).key_file


@pytest.mark.parametrize(
    ("profile", "change", "answer"),
    [
        ("epic", {"key": "unregistered"}, "HTTP 400 (invalid_client)"),
        ("epic", {"jku": "http://127.0.0.1:9/elsewhere.json"}, "HTTP 400 (invalid_client)"),
        ("athena", {"key": "unregistered"}, "HTTP 401 (invalid_client)"),
        ("athena", {"scope": "system/*.read"}, "HTTP 400 (invalid_scope)"),
        ("athena", {"scope": "system/Patient.rs"}, "HTTP 400 (invalid_scope)"),
    ],
    ids=[
        "epic-bad-signature",
        "epic-foreign-jku",
        "athena-bad-signature",
        "athena-wildcard",
        "athena-v2",
    ],
)
def test_epic_and_athena_answer_a_bad_assertion_or_scope_as_documented(
    profile: str, change: dict[str, str], answer: str, cohort: Path, tmp_path: Path
) -> None:
    with vendor(profile, cohort, tmp_path) as emulated:
        token = emulated.token
        assert token is not None
        auth = SmartBackendAuth(CLIENT_ID, token.key_file, kid=KID, token_url=token.token_url)
        if "key" in change:
            auth = dataclasses.replace(auth, private_key_path=other_key(tmp_path / "other"))
        if "jku" in change:
            auth = dataclasses.replace(auth, jku=change["jku"])
        if "scope" in change:
            auth = dataclasses.replace(auth, scope=change["scope"])
        with pytest.raises(
            FhirServerError, match=f"SMART token request failed: {re.escape(answer)}"
        ):
            pull_to_directory(
                emulated.fhir_url + "/fhir",
                tmp_path / "out",
                types=["Patient"],
                auth=auth,
                group_id="x",
            )
        assert token.refused and not token.granted and not token.issued


@pytest.mark.parametrize("emulated", ["oracle"], indirect=True)
@pytest.mark.parametrize(
    ("scope", "kid", "error"),
    [("system/*.read", KID, "invalid_scope"), (None, None, "invalid_client")],
    ids=["wildcard-scope", "no-kid"],
)
def test_oracle_token_endpoint_refuses_the_wildcard_and_a_missing_kid(
    emulated: Emulator, tmp_path: Path, scope: str | None, kid: str | None, error: str
) -> None:
    assert emulated.token is not None
    auth = SmartBackendAuth(CLIENT_ID, emulated.token.key_file, kid=kid)
    if scope is not None:
        auth = dataclasses.replace(auth, scope=scope)
    with pytest.raises(FhirServerError, match=f"HTTP 400 \\({error}\\)"):
        pull_to_directory(
            emulated.fhir_url + "/fhir", tmp_path, types=["Patient"], auth=auth, group_id="x"
        )
