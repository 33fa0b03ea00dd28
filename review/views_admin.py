"""Admin pages: yield and PPV per rule, users, runs, the audit log."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from review.pages import audit, render, store_of

AUDIT_ROWS = 500


def admin_page(request: Request) -> Response:
    store = store_of(request)
    audit(request, "view_admin")
    return render(
        request,
        "admin.html",
        {
            "yield_rows": store.rule_yield().to_dicts(),
            "users": store.list_users(),
            "runs": store.runs()[:30],
        },
    )


def audit_page(request: Request) -> Response:
    store = store_of(request)
    audit(request, "view_audit")
    return render(request, "audit.html", {"entries": store.audit_entries(limit=AUDIT_ROWS)})
