"""Source files too big to land stop the night with one line (exit 3), before memory grows.

Through the one run path (`pipelines.night.run_night`) and the CLI, with limits set small
so the files stay small: a gzip bomb, an over-long line, a `.gz` that is not gzip.
"""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.errors import ExitCode, ScreeningError
from pipelines.ingest.intake_limits import check_file
from pipelines.night import run_night
from pipelines.settings import Settings
from tests.hardening.conftest import tally
from tests.pipelines.engine_spy import mirror_settings
from tests.pipelines.stage_inputs import observation, patient, write_ndjson

AS_OF = date(2026, 6, 30)
PATIENTS = [f"pt-{k:02d}" for k in range(5)]


def _source(root: Path) -> Path:
    root.mkdir(parents=True)
    write_ndjson(root / "Patient.ndjson", [patient(p) for p in PATIENTS])
    return root


def _settings(tmp_path: Path, **limits: int) -> Settings:
    return mirror_settings(tmp_path / "work").model_copy(update=limits)


def _refused(source: Path, settings: Settings) -> str:
    tally("bad inputs tried")
    with pytest.raises(ScreeningError) as caught:
        run_night(str(source), settings=settings, as_of=AS_OF)
    assert caught.value.exit_code == ExitCode.SOURCE, str(caught.value)
    message = str(caught.value)
    assert "\n" not in message
    assert not (settings.workdir / "mirror").exists() or not any(
        (settings.workdir / "mirror").iterdir()
    ), "nothing was merged"
    return message


def test_a_gzip_bomb_stops_the_night(tmp_path: Path) -> None:
    source = _source(tmp_path / "src")
    bomb = source / "Observation.ndjson.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as out:
        for _ in range(64):
            out.write(b" " * (1 << 20))  # 64 MiB of blanks: a few dozen KiB compressed
    assert bomb.stat().st_size < 1 << 20
    message = _refused(source, _settings(tmp_path, max_file_bytes=8 << 20))
    assert message == (
        "Observation.ndjson.gz: decompresses to more than the limit of 8 MiB "
        "(VASCREEN_MAX_FILE_BYTES)"
    )


def test_a_plain_file_over_the_size_limit_stops_the_night(tmp_path: Path) -> None:
    source = _source(tmp_path / "src")
    write_ndjson(
        source / "Observation.ndjson",
        [observation(f"o-{k}", patient_id=PATIENTS[0], value=1.0) for k in range(50)],
    )
    message = _refused(source, _settings(tmp_path, max_file_bytes=4000))
    assert message.startswith("Observation.ndjson: larger than the limit of 4000 bytes")


def test_a_line_over_the_limit_stops_the_night(tmp_path: Path) -> None:
    source = _source(tmp_path / "src")
    record = b'{"resourceType": "Observation", "id": "long", "note": "' + b"x" * 5000 + b'"}'
    (source / "Observation.ndjson").write_bytes(b'{"resourceType": "Observation"}\n' + record)
    message = _refused(source, _settings(tmp_path, max_line_bytes=4096))
    assert message == (
        "Observation.ndjson: a line longer than the limit of 4096 bytes (VASCREEN_MAX_LINE_BYTES)"
    )


def test_a_gz_that_is_not_gzip_stops_the_night(tmp_path: Path) -> None:
    source = _source(tmp_path / "src")
    (source / "Observation.ndjson.gz").write_bytes(b'{"resourceType": "Observation"}\n')
    message = _refused(source, _settings(tmp_path))
    assert message == "Observation.ndjson.gz: not a readable gzip file (corrupt or truncated)"


def test_a_truncated_gz_stops_the_night(tmp_path: Path) -> None:
    source = _source(tmp_path / "src")
    whole = gzip.compress(b'{"resourceType": "Observation", "id": "a"}\n' * 1000)
    (source / "Observation.ndjson.gz").write_bytes(whole[: len(whole) // 2])
    message = _refused(source, _settings(tmp_path))
    assert "not a readable gzip file" in message


@pytest.mark.parametrize(
    ("lines", "limit", "fits"),
    [
        ([10, 10], 10, True),
        ([10, 11], 10, False),
        ([3] * 50 + [25], 24, False),  # across many chunks of the limit's size
        ([3] * 50 + [24], 24, True),
    ],
)
def test_line_lengths_are_counted_across_chunks(
    tmp_path: Path, lines: list[int], limit: int, fits: bool
) -> None:
    path = tmp_path / "Patient.ndjson"
    path.write_bytes(b"\n".join(b"x" * n for n in lines) + b"\n")
    if fits:
        check_file(path, max_file_bytes=1 << 20, max_line_bytes=limit)
    else:
        with pytest.raises(ScreeningError, match="a line longer than the limit"):
            check_file(path, max_file_bytes=1 << 20, max_line_bytes=limit)


def test_the_cli_says_one_line_and_exits_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _source(tmp_path / "src")
    (source / "Observation.ndjson.gz").write_bytes(b"not gzip at all")
    settings = mirror_settings(tmp_path / "work")
    monkeypatch.setenv("VASCREEN_WORKDIR", str(settings.workdir))
    monkeypatch.setenv("VASCREEN_NLP_CACHE", "false")
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--source",
            str(source),
            "--as-of",
            AS_OF.isoformat(),
            "--store",
            settings.store_url,
        ],
    )
    assert result.exit_code == ExitCode.SOURCE, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if "not a readable gzip file" in line]
    assert len(lines) == 1, result.output
