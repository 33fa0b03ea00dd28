"""Plain-language labels for the pages: screen titles, criterion and alert sentences, values.

Coordinators read sentences, not ids: every id shown on a page comes with the text the rule
itself declares (`reads_as`), so the page and `vascreen explain` never disagree.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment

from screens.rules import SCREENS

ROLE_LABELS = {
    "include": "supports the flag",
    "exclude": "argues against",
    "mimic": "possible mimic",
    "alert": "safety alert",
}
# UCUM codes as people write them; "1" is a ratio (ABI, TBI) and reads best with no unit.
UNIT_LABELS = {"1": "", "mm[Hg]": "mmHg", "%": "%", "cm": "cm", "a": "years"}


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
        format_value=format_value,
        role_label=lambda role: ROLE_LABELS.get(role, role),
    )
