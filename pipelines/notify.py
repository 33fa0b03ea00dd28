"""Night notifications to an optional webhook (VASCREEN_NOTIFY_WEBHOOK_URL), counts only.

Every night POSTs one JSON object: a published night with its new urgent and safety-alert
items, open items and any unread-notes breach; or a failed night with its error class and
exit code (a quarantine breach is one). No patient id, name, value or message text: error
messages can name resources, so only the class goes out. A webhook that is down is logged and
never fails the night.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import Any

import httpx
import sqlalchemy as sa

from pipelines.errors import (
    ExitCode,
    QuarantineThresholdError,
    ScreeningError,
    UnreadNotesThresholdError,
)
from pipelines.settings import Settings

log = logging.getLogger("vascreen")
TIMEOUT_S = 10.0
SOURCE = "vascreen"


def new_item_counts(store_url: str, run_id: str, as_of: date) -> dict[str, int]:
    """Items this run flagged for the first time or again: urgent ones and ones with a
    safety alert (counts only)."""
    from pipelines.store import Store
    from pipelines.store.schema import worklist_item as item

    new = sa.and_(
        item.c.run_id == run_id,
        item.c.is_flagged,
        sa.or_(item.c.first_flagged_on == as_of, item.c.reflagged_on == as_of),
    )
    urgent = sa.func.sum(sa.case((item.c.priority == "urgent", 1), else_=0))
    safety = sa.func.sum(sa.case((sa.func.coalesce(item.c.alerts, "") != "", 1), else_=0))
    with Store.connect(store_url) as store, store.read() as conn:
        row = conn.execute(sa.select(sa.func.count(), urgent, safety).where(new)).one()
    return {"new": int(row[0]), "new_urgent": int(row[1] or 0), "new_safety": int(row[2] or 0)}


def unread_notes_breach(result: Mapping[str, Any], max_ratio: float) -> dict[str, Any] | None:
    """The unread-notes breach of a published night, or None: notes whose text could not be
    read, as a share of all notes, above `max_ratio` (VASCREEN_MAX_UNREAD_NOTE_SHARE). A night
    of 20 notes or more past it fails instead; a smaller one publishes and is reported here."""
    unread = int(result.get("notes_unavailable") or 0)
    total = unread + int(result.get("notes") or 0)
    if not total or unread / total <= max_ratio:
        return None
    return {
        "kind": "unread_notes",
        "unread": unread,
        "notes": total,
        "ratio": round(unread / total, 4),
        "threshold": max_ratio,
    }


def published_payload(
    result: Mapping[str, Any], new_items: Mapping[str, int], settings: Settings
) -> dict[str, Any]:
    items = result.get("items") or {}
    breach = unread_notes_breach(result, settings.max_unread_note_share)
    return {
        "source": SOURCE,
        "event": "night_published",
        "run_id": result["run_id"],
        "as_of": result["as_of"],
        **new_items,
        "open": sum(int(v) for v in (items.get("open") or {}).values()),
        "quarantined": int(result.get("quarantined") or 0),
        "breaches": [breach] if breach else [],
    }


def failed_payload(error: BaseException, as_of: date | None) -> dict[str, Any]:
    exit_code = error.exit_code if isinstance(error, ScreeningError) else ExitCode.ERROR
    if isinstance(error, UnreadNotesThresholdError):
        breaches = [{"kind": "unread_notes"}]
    elif isinstance(error, QuarantineThresholdError):
        breaches = [{"kind": "quarantine"}]
    else:
        breaches = []
    return {
        "source": SOURCE,
        "event": "night_failed",
        "as_of": as_of.isoformat() if as_of else None,
        "error": type(error).__name__,
        "exit_code": int(exit_code),
        "breaches": breaches,
    }


def send(settings: Settings, payload: Mapping[str, Any]) -> bool:
    """POST `payload` to the webhook when one is set; False when unset or it failed."""
    if settings.notify_webhook_url is None:
        return False
    url = settings.notify_webhook_url.get_secret_value()
    try:
        response = httpx.post(url, json=dict(payload), timeout=TIMEOUT_S)
        response.raise_for_status()
    except httpx.HTTPError as exc:  # the URL may carry a token: never logged
        log.warning("notification %s not delivered: %s", payload["event"], type(exc).__name__)
        return False
    return True


def notify_published(settings: Settings, result: Mapping[str, Any]) -> bool:
    if settings.notify_webhook_url is None:
        return False
    new_items = new_item_counts(
        settings.store_url, str(result["run_id"]), date.fromisoformat(str(result["as_of"]))
    )
    return send(settings, published_payload(result, new_items, settings))


def notify_failed(settings: Settings, error: BaseException, as_of: date | None) -> bool:
    return send(settings, failed_payload(error, as_of))
