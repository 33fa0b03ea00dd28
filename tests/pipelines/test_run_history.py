"""A no-change rerun says how many items are open; `vascreen runs` lists runs with counts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devtools.synth import write_cohort
from pipelines.cli import app
from pipelines.errors import ExitCode
from pipelines.night import run_night
from pipelines.run_summary import RunSummary, summary_counts, summary_lines
from pipelines.settings import Settings

AS_OF = date(2026, 6, 30)
runner = CliRunner()


@pytest.fixture(scope="module")
def two_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Settings, list[dict], list[RunSummary]]:
    root = tmp_path_factory.mktemp("runs")
    write_cohort(120, 5, root / "source")
    settings = Settings(workdir=root / "work", store_url=f"sqlite:///{root / 'store.db'}")
    summaries = [run_night(str(root / "source"), as_of=AS_OF, settings=settings) for _ in range(2)]
    return settings, [summary_counts(s) for s in summaries], summaries


def test_a_no_change_rerun_flags_nothing_new_and_says_how_many_items_are_open(
    two_runs: tuple[Settings, list[dict], list[RunSummary]],
) -> None:
    _, (first, _rerun), (first_summary, rerun_summary) = two_runs
    open_items = sum(first["items"]["open"].values())
    assert open_items > 0
    lines = summary_lines(rerun_summary)
    assert lines[1] == "flagged: none (new 0, resolved 0)"
    assert lines[2].startswith(f"open items: {open_items} (")
    created = first["publish"]["created"]
    assert summary_lines(first_summary)[1].endswith(f"(new {created}, resolved 0)")


def test_runs_lists_recent_runs_newest_first_with_counts(
    two_runs: tuple[Settings, list[dict], list[RunSummary]],
) -> None:
    settings, (first, rerun), _ = two_runs
    result = runner.invoke(app, ["runs", "--store", settings.store_url])
    assert result.exit_code == 0, result.output
    header, newest, older = result.output.splitlines()
    assert header.split() == [
        "run_id", "as_of", "status", "started_at", "min", "flagged", "new", "resolved", "open",
        "quarantined", "full_read", "note",
    ]  # fmt: skip
    open_items = str(sum(first["items"]["open"].values()))
    assert newest.startswith(rerun["run_id"][:8]) and older.startswith(first["run_id"][:8])
    assert newest.split()[2] == "succeeded" and newest.split()[6:10] == ["0", "0", "0", open_items]
    assert older.split()[7] == str(first["publish"]["created"])
    limited = runner.invoke(app, ["runs", "--store", settings.store_url, "--limit", "1"])
    assert len(limited.output.splitlines()) == 2


def test_runs_on_a_missing_store_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    store = tmp_path / "vascreen.db"
    result = runner.invoke(app, ["runs", "--store", f"sqlite:///{store}"])
    assert result.exit_code == ExitCode.STORE
    assert len(result.output.strip().splitlines()) == 1 and "no such file" in result.output
    assert not store.exists()
