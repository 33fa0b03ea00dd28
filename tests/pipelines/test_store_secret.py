"""A store password never becomes a Prefect flow parameter; it may come from a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.errors import ExitCode, UsageError
from pipelines.settings import Settings, has_password


def test_password_detection() -> None:
    assert has_password("postgresql://vascreen:s3cret@db.example/vascreen")
    assert not has_password("postgresql://vascreen@db.example/vascreen")
    assert not has_password("sqlite:///var/vascreen.db")
    assert not has_password("not a url")


def test_the_store_url_can_come_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "store-url"
    secret.write_text("postgresql://vascreen:s3cret@db.example/vascreen\n")
    monkeypatch.delenv("VASCREEN_STORE_URL", raising=False)
    monkeypatch.setenv("VASCREEN_STORE_URL_FILE", str(secret))
    assert Settings().store_url == "postgresql://vascreen:s3cret@db.example/vascreen"
    # An explicit URL wins over the file.
    assert Settings(store_url="sqlite:///x.db").store_url == "sqlite:///x.db"


def test_the_flow_refuses_a_password_parameter_before_it_starts() -> None:
    from pipelines.flows.screen_cohort import screen_cohort

    with pytest.raises(UsageError, match="VASCREEN_STORE_URL_FILE") as refused:
        screen_cohort.fn(  # the flow's body, without a Prefect server
            source="/nonexistent", store_url="postgresql://u:s3cret@127.0.0.1:1/x"
        )
    assert refused.value.exit_code == ExitCode.USAGE
    assert "s3cret" not in str(refused.value)
