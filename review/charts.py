"""Trend charts for the admin page, drawn server-side as inline SVG with matplotlib.

The app's CSP allows no scripts and no inline styles, so matplotlib's SVG is rewritten before it
is inlined: style attributes become presentation attributes (which CSP does not govern), the
<style> and <metadata> elements go, and element ids are dropped or, where referenced, prefixed
per chart (several charts share a page and ids must stay unique). The figure is built on the
SVG canvas directly (no pyplot, no GUI backend); matplotlib's own fonts ship with it and text
is left as text, so nothing is fetched. Inputs are counts and ratios per night: no PHI.
"""

from __future__ import annotations

import io
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from markupsafe import Markup
from matplotlib import rc_context
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.dates import AutoDateLocator, DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG)
ET.register_namespace("xlink", XLINK)
# Colour-blind-safe palette (Okabe-Ito), fixed per series order.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")
SIZE_IN = (6.4, 2.4)
_REF = re.compile(r"url\(#([^)]+)\)")
_SAVING = threading.Lock()


def line_chart(
    chart_id: str,
    title: str,
    nights: Sequence[date],
    series: Mapping[str, Sequence[float | None]],
    *,
    percent: bool = False,
) -> Markup:
    """Lines over the nights, one per series (None: no point that night)."""
    figure, axes = _figure()
    for n, (label, values) in enumerate(series.items()):
        points = [(d, v) for d, v in zip(nights, values, strict=True) if v is not None]
        if points:
            xs, ys = zip(*points, strict=True)
            axes.plot(xs, ys, marker="o", markersize=3, label=label, color=PALETTE[n % 7])
    # matplotlib.dates has no annotations: mypy --strict sees untyped calls.
    axes.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=6))  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_formatter(DateFormatter("%b %d"))  # type: ignore[no-untyped-call]
    if percent:
        axes.set_ylim(0, 1.05)
        axes.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    else:
        _counts_axis(axes)
    return _finish(figure, axes, chart_id, title, legend=bool(series))


def bar_chart(
    chart_id: str, title: str, nights: Sequence[date], series: Mapping[str, Sequence[float]]
) -> Markup:
    """Side-by-side bars per night, one colour per series."""
    figure, axes = _figure()
    width = 0.8 / max(1, len(series))
    for n, (label, values) in enumerate(series.items()):
        offsets = [d.toordinal() + (n - (len(series) - 1) / 2) * width for d in nights]
        axes.bar(offsets, values, width=width, label=label, color=PALETTE[n % 7])
    ticks = list(nights)[:: max(1, len(nights) // 6)]
    axes.set_xticks([d.toordinal() for d in ticks], [d.strftime("%b %d") for d in ticks])
    _counts_axis(axes)
    return _finish(figure, axes, chart_id, title, legend=bool(series))


def _counts_axis(axes: Any) -> None:
    """Whole numbers from zero up (a night of zeros is a flat line on the floor)."""
    axes.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    top = max((max(line.get_ydata(), default=0) for line in axes.get_lines()), default=0)
    bars = [p.get_height() for p in axes.patches]
    axes.set_ylim(0, max(1, top, *bars) * 1.1)


def _figure() -> tuple[Figure, Any]:
    figure = Figure(figsize=SIZE_IN, dpi=72, layout="constrained")
    FigureCanvasSVG(figure)
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", color="#d8dde6", linewidth=0.6)
    axes.tick_params(labelsize=9)
    return figure, axes


def _finish(figure: Figure, axes: Any, chart_id: str, title: str, *, legend: bool) -> Markup:
    if legend:
        handles = len(axes.get_legend_handles_labels()[0])
        axes.legend(
            fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1), ncols=handles or 1
        )
    out = io.StringIO()
    # rcParams are global: one chart at a time (the app renders in a thread pool). Text stays
    # <text> (no glyph paths); the salt makes the ids per chart; no date: same data, same SVG.
    with _SAVING, rc_context({"svg.fonttype": "none", "svg.hashsalt": chart_id}):
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    return Markup(csp_safe_svg(out.getvalue(), chart_id, title))  # noqa: S704 - rewritten SVG


def csp_safe_svg(svg: str, prefix: str, title: str) -> str:
    """Matplotlib's SVG made fit to inline under a no-inline-style CSP (see module docstring)."""
    root = ET.fromstring(svg)  # noqa: S314 - our own matplotlib output, not input
    for parent in root.iter():
        for child in list(parent):
            if child.tag in (f"{{{SVG}}}metadata", f"{{{SVG}}}style"):
                parent.remove(child)
    referenced = {
        value[1:] for el in root.iter() for value in (el.get(f"{{{XLINK}}}href", ""),) if value
    }
    referenced |= {m for el in root.iter() for v in el.attrib.values() for m in _REF.findall(v)}
    for el in root.iter():
        _inline_style(el)
        if "id" in el.attrib:
            if el.get("id") in referenced:
                el.set("id", f"{prefix}-{el.get('id')}")
            else:
                del el.attrib["id"]
        href = el.get(f"{{{XLINK}}}href")
        if href and href.startswith("#"):
            el.set(f"{{{XLINK}}}href", f"#{prefix}-{href[1:]}")
        for name, value in list(el.attrib.items()):
            if "url(#" in value:
                el.set(name, _REF.sub(lambda m: f"url(#{prefix}-{m.group(1)})", value))
    root.set("role", "img")
    root.set("aria-label", title)
    root.set("class", "chart")
    root.set("stroke-linejoin", "round")
    for name in ("width", "height"):  # the stylesheet sizes the chart; the viewBox keeps shape
        root.attrib.pop(name, None)
    return ET.tostring(root, encoding="unicode")


def _inline_style(el: ET.Element) -> None:
    style = el.attrib.pop("style", None)
    if not style:
        return
    for declaration in style.split(";"):
        name, _, value = declaration.partition(":")
        name, value = name.strip(), value.strip()
        if name == "font-family":
            value = "system-ui, sans-serif"
        if name and value:
            el.set(name, value)
