"""Trend charts: drawn offline, without pyplot or a GUI backend, and fit for the app's CSP."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from review.charts import bar_chart, csp_safe_svg, line_chart

NIGHTS = [date(2026, 6, 1) + timedelta(days=n) for n in range(5)]
OFFLINE = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network use")
socket.socket = refuse
socket.create_connection = refuse
from datetime import date
from review.charts import line_chart
svg = line_chart("t", "T", [date(2026, 1, 1), date(2026, 1, 2)], {"a": [1, 2]})
assert "<svg" in svg
print("pyplot" if "matplotlib.pyplot" in sys.modules else "no pyplot")
"""


def test_charts_render_offline_without_pyplot_from_a_cold_font_cache(tmp_path: Path) -> None:
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path), "MPLBACKEND": "TkAgg"}
    done = subprocess.run(
        [sys.executable, "-c", OFFLINE], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "no pyplot"


def test_the_same_figures_give_the_same_svg_with_ids_of_its_own() -> None:
    first = line_chart("one", "Flags", NIGHTS, {"pad": [1, 2, None, 4, 5]})
    assert first == line_chart("one", "Flags", NIGHTS, {"pad": [1, 2, None, 4, 5]})
    other = bar_chart("two", "New", NIGHTS, {"new": [1, 0, 2, 0, 1]})
    assert 'id="one-' in first and 'id="two-' in other
    for svg in (first, other):
        assert "style=" not in svg and "<style" not in svg and "<script" not in svg
        assert 'role="img"' in svg


def test_unreferenced_ids_are_dropped_and_references_follow_the_prefix() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<g id="figure_1"><path id="m1" style="fill: #fff; stroke: #000"/>'
        '<use xlink:href="#m1"/><g clip-path="url(#m1)"/></g></svg>'
    )
    out = csp_safe_svg(svg, "c", "Title")
    assert 'id="figure_1"' not in out and 'id="c-m1"' in out
    assert 'href="#c-m1"' in out and 'clip-path="url(#c-m1)"' in out
    assert 'fill="#fff"' in out and 'stroke="#000"' in out and "style" not in out
