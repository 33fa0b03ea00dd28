"""`vascreen bench` runs a full run, a realistic night and a delta night on a tiny cohort."""

from __future__ import annotations

import re
from pathlib import Path

from devtools.bench import format_bench, run_bench


def test_bench_on_a_tiny_cohort_prints_the_nights_against_the_full_run(tmp_path: Path) -> None:
    report = run_bench(250, 3, tmp_path, repeat=2)
    text = format_bench(report)
    realistic = re.search(r"^realistic nightly / full run: ([\d.]+)%$", text, re.M)
    delta = re.search(r"^delta nightly / full run: ([\d.]+)%$", text, re.M)
    assert realistic and delta, text
    assert 0 < float(delta[1]) < 100 and 0 < float(realistic[1]) < 100
    assert re.search(r"^peak RSS: \d+ MB", text, re.M)
    assert re.search(r"^bare scan: [\d.]+ s", text, re.M)
    assert report.write_floor_rows == report.resources  # the floor wrote every scanned row
    assert not (tmp_path / "n250-s3" / "work" / "floor_tmp").exists()
    parsed = {
        m["run"]: (int(m["parsed"]), int(m["seen"]))
        for m in re.finditer(
            r"^(?P<run>full|realistic|delta): land \((?P<parsed>\d+) of (?P<seen>\d+)", text, re.M
        )
    }
    assert parsed["full"][0] == parsed["full"][1] == report.resources
    changed = report.totals["changed patients"]
    assert changed > 0 and report.totals["delta records"] > 0
    # The realistic night reads the whole snapshot and parses only what changed; the delta
    # night is handed only the changed records.
    assert parsed["realistic"][1] == report.resources
    assert 0 < parsed["realistic"][0] < parsed["realistic"][1] / 10
    assert parsed["delta"][1] == report.totals["delta records"]
    # Each night evaluates the changed and due patients, not everyone.
    assert report.totals["full: evaluated"] == 250
    for night in ("realistic", "delta"):
        assert changed <= report.totals[f"{night}: evaluated"] < 250 / 2
    assert len(report.nights["realistic"]) == len(report.nights["delta"]) == 2
    assert (tmp_path / "n250-s3" / "work" / "delta" / "worklist.csv").exists()
    assert not (tmp_path / "n250-s3" / "after-full").exists()
