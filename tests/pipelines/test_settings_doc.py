"""docs/settings.md is generated from the settings classes and kept up to date."""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.settings import Settings
from pipelines.settings_doc import render_settings_doc
from review.settings import ReviewSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_committed_settings_doc_is_the_generated_one() -> None:
    assert DOC.read_text(encoding="utf-8") == render_settings_doc(), (
        "regenerate: uv run python -m pipelines.settings_doc > docs/settings.md"
    )


def test_every_setting_is_documented_with_a_description() -> None:
    text = render_settings_doc()
    for settings in (Settings, ReviewSettings):
        for name, field in settings.model_fields.items():
            assert field.description, f"{settings.__name__}.{name} has no docstring"
            assert f"`VASCREEN_{name.upper()}`" in text


def test_every_vascreen_variable_the_code_reads_is_documented() -> None:
    root = Path(__file__).resolve().parents[2]
    read = set()
    for package in ("pipelines", "review"):
        for path in (root / package).rglob("*.py"):
            read |= set(re.findall(r"VASCREEN_[A-Z_]*[A-Z]", path.read_text(encoding="utf-8")))
    # Test-only switches (a PostgreSQL for tests, how tests start the FHIR server).
    read -= {"VASCREEN_TEST_PG_URL", "VASCREEN_SEKMET_CMD"}
    documented = set(re.findall(r"`(VASCREEN_[A-Z_]+)`", render_settings_doc()))
    assert read <= documented, sorted(read - documented)


def test_the_run_nightly_guide_lists_every_exit_code_and_links_the_settings() -> None:
    from pipelines.errors import ExitCode

    guide = (DOC.parent / "run-nightly.md").read_text(encoding="utf-8")
    for code in ExitCode:
        if code > ExitCode.ERROR:
            assert f"\n| {int(code)} | " in guide, code
    assert "(settings.md)" in guide and "(notifications.md)" in guide
    for command in ("work-pool create vascreen-process --type process", "deploy --all"):
        assert command in guide
    assert "worker start --pool vascreen-process" in guide
