"""The command-line contract: names, flags, one-line errors and exit codes (no Prefect needed)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.errors import ExitCode
from tests.builders import bundle, observation, patient

runner = CliRunner()


def test_help_lists_every_contract_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "run", "synth", "evaluate", "explain", "serve", "users", "validate"):
        assert command in result.output


def test_explain_prints_each_screen_as_text() -> None:
    result = runner.invoke(app, ["explain", "clti"])
    assert result.exit_code == 0
    assert (
        "Possible chronic limb-threatening ischemia" in result.output
        and "`clti.rest_pain_note`" in result.output
    )


def test_unknown_screen_is_a_one_line_usage_error() -> None:
    result = runner.invoke(app, ["explain", "pda"])
    assert result.exit_code == ExitCode.USAGE
    assert result.output.strip().count("\n") == 0 and "unknown screen 'pda'" in result.output


# A site value-set directory with a malformed file, registered before any rule module loads,
# then the real entry point (`main`, the console script) in a fresh interpreter.
_BAD_RULE_CLI = """
import sys
from pathlib import Path
from screens.valuesets import set_extra_dirs
set_extra_dirs((Path(sys.argv[1]),))
sys.argv = ["vascreen", *sys.argv[2:]]
from pipelines.cli import main
main()
"""


@pytest.mark.parametrize("command", [["explain", "pad"], ["explain"]], ids=["one", "all"])
def test_a_bad_rule_file_exits_5_with_one_line(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "abi.csv").write_text(
        "system,code,display,source\nhttp://no-such-system.example,X1,ABI,site\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-c", _BAD_RULE_CLI, str(tmp_path), *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == ExitCode.INVALID_RULE == 5
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vascreen: abi.csv:2: unknown code system")


def test_there_is_one_invalid_rule_error() -> None:
    import pipelines.errors
    import screens.model

    assert pipelines.errors.InvalidRuleError is screens.model.InvalidRuleError
    assert issubclass(screens.model.InvalidRuleError, pipelines.errors.ScreeningError)
    assert pipelines.errors.InvalidRuleError.exit_code == ExitCode.INVALID_RULE


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["run", "--source", "/nonexistent/dir", "--as-of", "2026-06-30"], ExitCode.SOURCE),
        (["run", "--source", ".", "--as-of", "30/06/2026"], ExitCode.USAGE),
        (["run", "--source", ".", "--as-of", "2026-06-30", "--mode", "fast"], ExitCode.USAGE),
        (
            ["run", "--source", ".", "--as-of", "2026-06-30", "--screens", "pad,nope"],
            ExitCode.USAGE,
        ),
    ],
    ids=["missing_source", "bad_date", "bad_mode", "unknown_screen"],
)
def test_run_rejects_bad_arguments_before_starting_anything(
    args: list[str], code: ExitCode
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == code
    assert result.output.startswith("vascreen: ") and result.output.strip().count("\n") == 0


def test_validate_reports_invalid_resources_by_id_without_values(tmp_path: Path) -> None:
    good = bundle([patient("p1"), observation("p1", value=0.71)])
    bad = dict(good)
    bad["entry"] = [
        *good["entry"],
        {
            "resource": {
                "resourceType": "Observation",
                "id": "o-bad",
                "status": "final",
                "valueString": "SECRET-VALUE-123",
            }
        },
    ]
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bad))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == ExitCode.ERROR
    assert (
        "Observation/o-bad" in result.output and "3 resources checked, 1 invalid" in result.output
    )
    assert "SECRET-VALUE-123" not in result.output


def test_synth_writes_cohort_and_labels(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["synth", "--patients", "20", "--seed", "3", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0
    assert (tmp_path / "labels.csv").read_text().startswith("patient_id,screens")
    assert (tmp_path / "Patient.ndjson").read_text().count("\n") == 20
