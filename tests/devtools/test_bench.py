"""`vascreen bench` runs end to end on a tiny cohort and reports what known lines saved."""

from __future__ import annotations

import re
from pathlib import Path

from devtools.bench import format_bench, run_bench


def test_bench_on_a_tiny_cohort_prints_ratios_and_parses_only_changes(tmp_path: Path) -> None:
    report = run_bench(250, 3, tmp_path, repeat=2)
    text = format_bench(report)
    assert re.search(r"ingest\+staging / bare scan: full [\d.]+x, nightly with 1% changed", text)
    assert report.write_floor_s > 0
    assert report.write_floor_rows == report.resources  # the floor wrote every scanned row
    assert re.search(
        r"^a full run's floor \(its parse written once, nothing after\) / bare scan: "
        r"[\d.]+x$",
        text,
        re.M,
    )
    assert not (tmp_path / "n250-s3" / "work" / "floor_tmp").exists()
    parsed = {
        m["run"]: (int(m["parsed"]), int(m["seen"]))
        for m in re.finditer(
            r"^(?P<run>full|rerun|incremental): land \((?P<parsed>\d+) of (?P<seen>\d+)", text, re.M
        )
    }
    assert parsed["full"][0] == parsed["full"][1] == report.resources
    # A rerun parses only records that never stage (entered-in-error, duplicates): none known.
    assert parsed["rerun"][0] < parsed["rerun"][1] / 100
    assert report.totals["changed patients"] > 0
    assert parsed["rerun"][0] < parsed["incremental"][0] < parsed["incremental"][1] / 10
    assert (tmp_path / "n250-s3" / "work" / "incremental" / "worklist.csv").exists()
    # Each nightly run starts from the rerun's state: it parses the same changed records.
    assert len(report.nightly) == 2
    assert report.nightly[0][1] == report.nightly[1][1] == parsed["incremental"][0]
    assert 0 < report.nightly[0][2] and 0 < report.nightly[1][2]  # each run's own bare scan
    assert report.nightly_scan_s in (report.nightly[0][2], report.nightly[1][2])
    runs = r"[\d.]+x \([\d.]+ / [\d.]+ s\)"
    assert re.search(rf"^nightly runs from the same state, in order: {runs}, {runs}", text, re.M)
    assert re.search(
        r"^bare scan of the nightly files, just before it \(best of 3\) +[\d.]+$", text, re.M
    )
    assert not (tmp_path / "n250-s3" / "work" / "before-nightly").exists()
