"""Yield and PPV per rule for the nightly run summary: counts only, no patient data.

Dispositions come from coordinators' latest decisions (`Store.rule_yield`); a rule whose flags
are mostly dismissed shows a low PPV here and on the admin page.
"""

from __future__ import annotations

from pipelines.store import Store


def rule_yield_rows(store_url: str) -> list[dict[str, object]]:
    """Per screen x criterion: items, referred, dismissed, ..., ppv (None before decisions)."""
    store = Store.connect(store_url)
    try:
        return store.rule_yield().to_dicts()
    finally:
        store.close()


def rule_yield_markdown(rows: list[dict[str, object]]) -> str:
    """A markdown table for the run-summary artifact."""
    lines = [
        "| screen | criterion | items | referred | dismissed | under care | PPV |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        ppv = r["ppv"]
        shown = f"{ppv:.0%}" if isinstance(ppv, float) else "n/a"
        lines.append(
            f"| {r['screen']} | {r['criterion_id']} | {r['items']} | {r['referred']} | "
            f"{r['dismissed']} | {r['under_care']} | {shown} |"
        )
    return "\n".join(lines)
