"""Render a screen as Markdown a clinician can review (`vascreen explain`); golden-tested."""

from __future__ import annotations

from screens import dsl
from screens.rules import SCREENS, select_screens


def _lookback(criterion: dsl.Criterion) -> str:
    if isinstance(criterion.finds, dsl.Age | dsl.Sex):
        return ""
    return f", {criterion.lookback.describe()}"


def _criterion_line(criterion: dsl.Criterion) -> str:
    return f"{criterion.reads_as}{_lookback(criterion)}. `{criterion.id}`"


def _until_lines(criterion: dsl.Criterion, depth: int) -> list[str]:
    """A superseded fact names what ends it, one level deeper."""
    pad = "   " * depth
    lines: list[str] = []
    for head, others in (
        ("Ends when, later and on the same side:", criterion.until),
        ("Not on a side with, at any time:", criterion.except_sides),
    ):
        if others:
            lines.append(f"{pad}- {head}")
        for other in others:
            lines.append(f"{pad}   - {_criterion_line(other)}")
            lines.extend(_until_lines(other, depth + 2))
    return lines


def _logic_lines(node: dsl.Criterion | dsl.Logic, depth: int) -> list[str]:
    pad = "   " * depth
    if isinstance(node, dsl.Criterion):
        return [f"{pad}- {_criterion_line(node)}", *_until_lines(node, depth + 1)]
    head = {"all": "ALL of", "any": "ANY of", "none": "NONE of"}[node.op]
    lines = [f"{pad}- {head}:"]
    for term in node.terms:
        lines.extend(_logic_lines(term, depth + 1))
    return lines


def _tree(node: dsl.Logic) -> list[str]:
    # The top node's operator becomes the heading sentence; its terms are the list.
    head = {"all": "ALL of", "any": "ANY of", "none": "NONE of"}[node.op]
    lines = [f"{head}:", ""]
    for term in node.terms:
        lines.extend(_logic_lines(term, 0))
    return lines


def render_screen(screen_id: str) -> str:
    screen = SCREENS[screen_id]
    lines = [f"# {screen.title} (`{screen.id}` v{screen.version}, priority {screen.priority})", ""]
    if screen.summary:
        lines += [screen.summary, ""]
    lines += ["## Flag when", "", *_tree(screen.include), ""]
    if screen.exclude is not None:
        lines += ["## Unless", "", *_tree(screen.exclude), ""]
    if screen.escalations:
        lines += ["## Priority", ""]
        for esc in screen.escalations:
            names = ", ".join(f"`{c.id}`" for c in esc.criteria)
            lines.append(
                f"- Raised to **{esc.priority}** when {names} has a hit {esc.within.describe()}."
            )
        lines.append("")
    if screen.mimics:
        lines += ["## Shown to the reviewer as alternative explanations", ""]
        for mimic in screen.mimics:
            lines += [f"- {_criterion_line(mimic)}", *_until_lines(mimic, 1)]
        lines.append("")
    if screen.alerts:
        lines += ["## Safety alerts", ""]
        for alert in screen.alerts:
            lines.append(f"- **{alert.id}**: {alert.reads_as}. Raised when:")
            lines.extend(_logic_lines(alert.when, 1))
        lines.append("")
    valuesets = sorted(
        {
            c.finds.valueset.name: len(c.finds.valueset)
            for c in screen.criteria_index.values()
            if hasattr(c.finds, "valueset")
        }.items()
    )
    lines += ["## Value sets", ""]
    lines += [
        f"- `{name}`: {size} codes or code prefixes (screens/valuesets/{name}.csv)"
        for name, size in valuesets
    ]
    lines.append("")
    lines += [
        "Note criteria count only mentions that are affirmed for the patient: negated, historical, "
        "family, hypothetical and uncertain mentions do not count unless a criterion says so.",
        "",
    ]
    return "\n".join(lines)


def render_screens(ids: list[str] | None = None) -> str:
    return "\n".join(render_screen(s.id) for s in select_screens(ids))
