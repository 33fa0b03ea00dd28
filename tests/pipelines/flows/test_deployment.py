"""The deployments in prefect.yaml: the worker's pull step and the empty-source refusal."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from prefect.deployments.steps.core import run_steps

from pipelines.checks import check_source
from pipelines.errors import ExitCode, SourceError
from pipelines.flows.screen_cohort import screen_cohort
from pipelines.settings import Settings

REPO = Path(__file__).resolve().parents[3]
PULL_STEPS = yaml.safe_load((REPO / "prefect.yaml").read_text())["pull"]


def _pull(monkeypatch: pytest.MonkeyPatch, cwd: Path) -> Path:
    monkeypatch.chdir(cwd)
    asyncio.run(run_steps(PULL_STEPS, {}))
    return Path.cwd()


def test_pull_step_without_vascreen_home_starts_the_run_in_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VASCREEN_HOME", raising=False)
    assert _pull(monkeypatch, tmp_path) == REPO


def test_pull_step_enters_vascreen_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "prefect.yaml").write_text("name: vascreen\n")
    monkeypatch.setenv("VASCREEN_HOME", str(home))
    assert _pull(monkeypatch, tmp_path) == home


def test_pull_step_refuses_a_home_that_is_not_a_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VASCREEN_HOME", str(tmp_path))
    with pytest.raises(Exception, match="enter_vascreen_home") as raised:
        _pull(monkeypatch, tmp_path / "..")
    assert str(raised.value.__cause__) == (
        f"VASCREEN_HOME {tmp_path} is not a vascreen checkout (no prefect.yaml)"
    )


def test_pull_step_names_a_missing_vascreen_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VASCREEN_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(Exception, match="enter_vascreen_home") as raised:
        _pull(monkeypatch, tmp_path)
    cause = raised.value.__cause__
    assert isinstance(cause, SourceError)
    assert str(cause) == f"VASCREEN_HOME {tmp_path / 'nowhere'} is not a directory"
    assert Path.cwd() == tmp_path


@pytest.mark.parametrize("source", ["", "  ", "{{ $VASCREEN_FHIR_BASE_URL }}"])
def test_an_unfilled_deployment_source_is_refused_not_read_as_a_directory(source: str) -> None:
    result = check_source(source, Settings())
    assert result.exit_code == ExitCode.SOURCE
    assert "set VASCREEN_FHIR_BASE_URL" in result.line()


def test_flow_with_an_empty_source_refuses_to_run_with_one_line(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Patient.ndjson").write_text("")  # what reading the cwd would have found
    with pytest.raises(SourceError) as raised:
        screen_cohort(source="", store_url=f"sqlite:///{tmp_path / 'store.db'}")
    message = str(raised.value)
    assert "\n" not in message and "VASCREEN_FHIR_BASE_URL" in message
    assert [p.name for p in tmp_path.iterdir()] == ["Patient.ndjson"]
