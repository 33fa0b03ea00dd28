"""Issue 24, item 7: each vendor profile of the emulator gives the file-mode worklist.

The synthetic cohort (ABI results moved to a site-specific Observation category, which a
category-only crawl would miss) is the file source; the emulator serves the same resources in
each vendor's documented shape. ``vascreen run --source URL`` through the real CLI must write a
``worklist.csv`` byte-identical to the file run's, and the emulator must have exercised the
profile's behaviours (docs/vendors.md lists them per test).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
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
from tests.pipelines.fhir.vendor_token import CLIENT_ID, KID, TokenEndpoint
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


@pytest.fixture
def emulated(
    request: pytest.FixtureRequest, cohort: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Emulator]:
    # Oracle Health's documented scope rule needs real SMART: it gets a token endpoint.
    token = None
    if request.param == "oracle":
        token = TokenEndpoint.with_new_key(tmp_path_factory.mktemp("smart-key"))
    with run_emulator(request.param, cohort, token) as emulator:
        yield emulator


@dataclass(frozen=True)
class SmartRun(Run):
    """A CLI run that authenticates with SMART Backend Services, default (per-type) scopes."""

    key_file: Path = Path()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in super().env().items() if k != "VASCREEN_FHIR_TOKEN"}
        return env | {
            "VASCREEN_FHIR_AUTH": "smart",
            "VASCREEN_SMART_CLIENT_ID": CLIENT_ID,
            "VASCREEN_SMART_KEY_FILE": str(self.key_file),
            "VASCREEN_SMART_KEY_ID": KID,
        }


def cli_worklist(emulator: Emulator, root: Path, *extra: str) -> bytes:
    token = emulator.token
    run = SmartRun(root, token.key_file) if token else Run(root)
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
    if emulated.token is not None:  # Oracle: per-type scopes were asked for and granted
        assert emulated.token.granted and not emulated.token.refused
        assert "system/Observation.read" in emulated.token.granted[0].split()


@pytest.mark.parametrize("emulated", ["epic"], indirect=True)
def test_epic_search_crawl_from_the_group_gives_the_file_worklist(
    emulated: Emulator, file_worklist: bytes, tmp_path: Path
) -> None:
    assert cli_worklist(emulated, tmp_path, "--mode", "search") == file_worklist
    # ABIs sit in a site category here: only the search by the screens' codes finds them.
    assert emulated.seen["Observation searched by code"] >= PATIENTS
    assert emulated.exports_started == 0


def pull(emulator: Emulator, out: Path, **kwargs: Any) -> None:
    pull_to_directory(emulator.fhir_url + "/fhir", out, auth=BearerTokenAuth(DEV_TOKEN), **kwargs)


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
