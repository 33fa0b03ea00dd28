"""Plain-language labels for the pages: screen titles, criterion and alert sentences, values.

Coordinators read sentences, not ids: every id shown on a page comes with the text the rule
itself declares (`reads_as`), so the page and `vascreen explain` never disagree.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment

from screens import dsl
from screens.rules import SCREENS

ROLE_LABELS = {
    "include": "supports the flag",
    "exclude": "argues against",
    "mimic": "possible mimic",
    "alert": "safety alert",
}
# UCUM codes as people write them; "1" is a ratio (ABI, TBI) and reads best with no unit.
UNIT_LABELS = {"1": "", "mm[Hg]": "mmHg", "%": "%", "cm": "cm", "a": "years"}


# Findings are read by weight: objective measurements, then diagnoses and orders, then what
# notes say, then facts about the patient (age, sex).
MEASUREMENT, DIAGNOSIS, NOTE, PATIENT_FACT = range(4)
WEIGHT_LABELS = {
    MEASUREMENT: "Measurement",
    DIAGNOSIS: "Diagnosis or order",
    NOTE: "Note finding",
    PATIENT_FACT: "Patient fact",
}


def _weight_of(finder: dsl.Finder) -> int:
    if isinstance(finder, dsl.Lab | dsl.ExerciseDrop):
        return MEASUREMENT
    if isinstance(finder, dsl.NoteMention):
        return MEASUREMENT if finder.bounds.is_set() else NOTE  # a value read from a report
    if isinstance(finder, dsl.Age | dsl.Sex):
        return PATIENT_FACT
    return DIAGNOSIS


@cache
def _weights() -> dict[str, int]:
    return {c.id: _weight_of(c.finds) for s in SCREENS.values() for c in s.all_criteria()}


def criterion_weight(criterion_id: str) -> int:
    """Sort rank of a finding (unknown ids, e.g. retired ones, read as note findings)."""
    return _weights().get(criterion_id, NOTE)


def by_weight(criterion_ids: list[str]) -> list[str]:
    """Criterion ids ordered by weight, then id (stable for equal weights)."""
    return sorted(criterion_ids, key=lambda c: (criterion_weight(c), c))


@cache
def _criteria() -> dict[str, str]:
    out: dict[str, str] = {}
    for screen in SCREENS.values():
        out.update({c.id: c.reads_as for c in screen.all_criteria()})
        out.update({a.id: a.reads_as for a in screen.alerts})
    return out


def screen_title(screen_id: str) -> str:
    screen = SCREENS.get(screen_id)
    return screen.title if screen is not None else screen_id


def criterion_text(criterion_id: str) -> str:
    return _criteria().get(criterion_id, criterion_id)


def alert_sentence(alert_id: str) -> str:
    """What the alert is, in words (the rule's own sentence), ending with a full stop."""
    text = criterion_text(alert_id)
    return text if text.endswith(".") else text + "."


def alert_headline(alert_id: str) -> str:
    """The alert's first clause ("Compression therapy ordered for a patient with possible CLTI")."""
    return criterion_text(alert_id).split(":", 1)[0]


def format_value(value: float | None, unit: str | None) -> str:
    if value is None:
        return ""
    number = f"{value:.2f}".rstrip("0").rstrip(".")
    label = UNIT_LABELS.get(unit or "", unit or "")
    return f"{number} {label}".strip()


def register(env: Environment) -> None:
    env.filters.update(
        screen_title=screen_title,
        criterion_text=criterion_text,
        alert_headline=alert_headline,
        alert_sentence=alert_sentence,
        by_weight=by_weight,
        weight_label=lambda c: WEIGHT_LABELS[criterion_weight(c)],
        format_value=format_value,
        role_label=lambda role: ROLE_LABELS.get(role, role),
    )
