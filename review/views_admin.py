"""Admin pages: trends over the last 90 nights, yield and PPV per rule, users, runs, audit log."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from pipelines.store.trends import TREND_NIGHTS, Trends
from review.charts import bar_chart, line_chart
from review.pages import audit, render, store_of

AUDIT_ROWS = 500


def trend_charts(trends: Trends) -> list[tuple[str, Markup]]:
    """(caption, inline SVG) for each trend; empty when no run succeeded yet."""
    if not trends.nights:
        return []
    nights = [n.as_of for n in trends.nights]
    screens = sorted({s for n in trends.nights for s in n.flagged})
    flagged = {s: [n.flagged.get(s) for n in trends.nights] for s in screens}
    changes = {
        "new": [n.created for n in trends.nights],
        "re-flagged": [n.reflagged for n in trends.nights],
        "resolved": [n.resolved for n in trends.nights],
    }
    quality = {
        "quarantined resources": [n.quarantined for n in trends.nights],
        "unread notes": [n.notes_unread for n in trends.nights],
    }
    captions = (
        "Items flagged per screen",
        "New, re-flagged and resolved items per night",
        "Quarantined resources and unread notes per night",
        "PPV per screen: referred / (referred + dismissed), decisions up to each night",
    )
    charts = (
        line_chart("trend-flagged", captions[0], nights, flagged),
        bar_chart("trend-changes", captions[1], nights, changes),
        line_chart("trend-quality", captions[2], nights, quality),
        line_chart("trend-ppv", captions[3], nights, trends.ppv, percent=True),
    )
    return list(zip(captions, charts, strict=True))


def admin_page(request: Request) -> Response:
    store = store_of(request)
    audit(request, "view_admin")
    trends = store.trends()
    nightly: list[dict[str, Any]] = [
        {
            "as_of": n.as_of,
            "flagged": sum(n.flagged.values()),
            "created": n.created,
            "reflagged": n.reflagged,
            "resolved": n.resolved,
            "quarantined": n.quarantined,
            "notes_unread": n.notes_unread,
        }
        for n in reversed(trends.nights)
    ]
    return render(
        request,
        "admin.html",
        {
            "charts": trend_charts(trends),
            "nightly": nightly,
            "trend_nights": TREND_NIGHTS,
            "yield_rows": store.rule_yield().to_dicts(),
            "users": store.list_users(),
            "runs": store.runs()[:30],
        },
    )


def audit_page(request: Request) -> Response:
    store = store_of(request)
    audit(request, "view_audit")
    return render(request, "audit.html", {"entries": store.audit_entries(limit=AUDIT_ROWS)})
