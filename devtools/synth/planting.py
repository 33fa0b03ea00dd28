"""Helpers the stories share: a visit with vitals and a note, ABI and vascular-lab observations."""

from __future__ import annotations

from datetime import date
from typing import Any

from devtools.synth import codes as c
from devtools.synth.background import FOLLOW_UP, record_vitals
from devtools.synth.chart import Chart, Resource, Visit, concept, quantity
from devtools.synth.codes import Code
from devtools.synth.notes import NoteParts, compose_note


def clinic_note(
    chart: Chart,
    day: date,
    parts: NoteParts,
    *,
    kind: Code = FOLLOW_UP,
    doc_type: Code = c.PROGRESS_NOTE,
    cls: str = "AMB",
    reason: Code | None = None,
) -> Visit:
    """Write a visit with vitals and a full note built from `parts`."""
    visit = chart.visit(day, kind, cls=cls, reason=reason)
    vitals = record_vitals(chart, visit)
    chart.note(visit, doc_type, compose_note(chart, visit, parts, vitals))
    return visit


def lab_visit(chart: Chart, day: date) -> Visit:
    """A vascular-lab or imaging visit (no vitals, no note)."""
    return chart.visit(day, c.sct("371883000", "Outpatient procedure (procedure)"))


def abi_observations(
    chart: Chart,
    visit: Visit,
    right: float,
    left: float,
    *,
    form: str,
    status: str = "final",
    unit: str = "1",
) -> list[Resource]:
    """Coded ABI in one of the shapes health systems send.

    Args:
        form: "bodysite" (one Observation per leg, laterality in bodySite) or "components"
            (one Observation, a component per leg).
        unit: "1" or "{ratio}" (both UCUM for a unitless ratio).
    """
    code = concept(c.ABI, c.ABI_SCT) if chart.rng.random() < 0.3 else concept(c.ABI)
    if form == "components":
        comps: list[dict[str, Any]] = [
            {"code": concept(c.ABI_RIGHT), "valueQuantity": quantity(right, unit)},
            {"code": concept(c.ABI_LEFT), "valueQuantity": quantity(left, unit)},
        ]
        obs = chart.observation(visit, code, category="exam", status=status, components=comps)
        return [obs]
    return [
        chart.observation(
            visit,
            code,
            value=quantity(value, unit),
            category="exam",
            status=status,
            body_site=site,
        )
        for value, site in ((right, c.RIGHT_ANKLE), (left, c.LEFT_ANKLE))
    ]


def vascular_value(
    chart: Chart,
    visit: Visit,
    code: Code,
    value: float,
    unit: str,
    *,
    site: Code | None = None,
    ucum: bool = True,
) -> Resource:
    """A toe pressure, TcPO2, ankle pressure, TBI or compartment pressure observation."""
    return chart.observation(
        visit,
        code,
        value=quantity(value, unit, ucum=ucum),
        category="exam",
        body_site=site,
    )


def side_pair(
    chart: Chart, low: tuple[float, float], other: tuple[float, float]
) -> tuple[str, float, float]:
    """Pick the affected side and return (side, right, left) with the low value on that side."""
    rng = chart.rng
    side = rng.choice(("right", "left"))
    bad, good = round(rng.uniform(*low), 2), round(rng.uniform(*other), 2)
    return (side, bad, good) if side == "right" else (side, good, bad)


def simple_note(
    chart: Chart,
    cc: str,
    hpi: list[str],
    plan: list[str],
    *,
    day: date | None = None,
    exam: dict[str, str] | None = None,
    ros: str | None = None,
    title: str = "Progress note",
    kind: Code = FOLLOW_UP,
    doc_type: Code = c.PROGRESS_NOTE,
    cls: str = "AMB",
) -> Visit:
    """A planted note built from a few sentences, on a recent day unless `day` is given."""
    parts = NoteParts(title, cc, hpi, plan, ros=ros, exam=dict(exam or {}))
    return clinic_note(
        chart, day or chart.recent_day(), parts, kind=kind, doc_type=doc_type, cls=cls
    )
