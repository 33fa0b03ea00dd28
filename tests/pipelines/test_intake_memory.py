"""A 2 GiB gzip bomb ends in one line (exit 3) with peak memory far under 1.5 GB.

`vascreen run` in a child process (its own peak RSS, from getrusage) on a source holding a
bomb of about 2 MiB: 32 gzip members of 64 MiB each, inflating to 2 GiB. Two shapes: one line
of 2 GiB (stopped at the default 64 MiB line limit), and 2 GiB of short lines (stopped at a
file limit lowered to 1 GiB). The check streams one chunk at a time, so memory stays at the
CLI's own imports.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.errors import ExitCode
from tests.hardening.tally import tally
from tests.pipelines.stage_inputs import patient, write_ndjson

PEAK_LIMIT_BYTES = 1_500_000_000
MEMBER = 64 << 20
MEMBERS = 32  # 2 GiB inflated

CHILD = """
import resource, sys
from pipelines.cli import app
try:
    app(sys.argv[1:])
finally:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"peak_rss_bytes={peak}", file=sys.stderr)
"""


def _bomb(path: Path, block: bytes) -> None:
    member = gzip.compress(block * (MEMBER // len(block)), compresslevel=9)
    with path.open("wb") as out:
        for _ in range(MEMBERS):
            out.write(member)


@pytest.mark.parametrize(
    ("block", "env", "says"),
    [
        (b"x", {}, "a line longer than the limit of 64 MiB"),
        (b"{}\n", {"VASCREEN_MAX_FILE_BYTES": str(1 << 30)}, "more than the limit of 1024 MiB"),
    ],
    ids=["one-2GiB-line", "2GiB-of-lines"],
)
def test_a_2gib_gzip_bomb_stops_in_one_line_under_1_5_gb(
    tmp_path: Path, block: bytes, env: dict[str, str], says: str
) -> None:
    tally("bad inputs tried")
    source = tmp_path / "src"
    source.mkdir()
    write_ndjson(source / "Patient.ndjson", [patient("pt-1")])
    _bomb(source / "Observation.ndjson.gz", block)
    assert (source / "Observation.ndjson.gz").stat().st_size < 4 << 20
    work = tmp_path / "work"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            "run",
            "--source",
            str(source),
            "--as-of",
            "2026-06-30",
            "--store",
            f"sqlite:///{work / 'store.db'}",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "VASCREEN_WORKDIR": str(work), "VASCREEN_NLP_CACHE": "false", **env},
        timeout=300,
        check=False,
    )
    assert result.returncode == ExitCode.SOURCE, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if not line.startswith("peak_rss")]
    assert "Traceback" not in result.stderr
    assert [line for line in lines if says in line] == [line for line in lines if line.strip()]
    assert len([line for line in lines if says in line]) == 1, result.stderr
    peak = int(result.stderr.rsplit("peak_rss_bytes=", 1)[1].split()[0])
    print(f"peak RSS {peak / 1e6:.0f} MB on a 2 GiB gzip bomb ({says})")
    assert peak < PEAK_LIMIT_BYTES
