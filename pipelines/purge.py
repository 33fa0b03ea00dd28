"""`vascreen purge`: remove PHI the worklist no longer needs, past a retention period.

What goes, for items closed longer than the retention period (resolved, dismissed or already
under vascular care), and for evidence no longer current on any item:

- evidence snippets (the note sentences) in the store; references, codes, dates and values stay,
  so the audit trail of why an item was flagged survives without the note text;
- mirrors of earlier layouts (`mirror-<store>-<old fingerprint>.duckdb`) left in the work
  directory when the staging changed, untouched since the cutoff;
- NLP cache parts untouched since the cutoff, and caches of earlier NLP versions (a note still
  current is simply read again).

Every purge is audited in the store (counts only). Nothing here touches an open item.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from pipelines.store.schema import evidence, worklist_item

if TYPE_CHECKING:
    from pipelines.store import Store

CLOSED = ("resolved", "dismissed", "under_care")


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """PHI-free counts of one purge."""

    cutoff: date
    snippets: int  # evidence rows whose snippet was removed
    mirrors: int  # old-layout mirror files removed
    cache_parts: int  # NLP cache files removed

    def as_dict(self) -> dict[str, object]:
        return {
            "cutoff": self.cutoff.isoformat(),
            "snippets": self.snippets,
            "mirrors": self.mirrors,
            "cache_parts": self.cache_parts,
        }


def purge(
    store: Store,
    *,
    workdir: Path,
    current_mirror: Path,
    nlp_version: str,
    older_than_days: int,
    today: date,
    username: str | None = None,
) -> PurgeReport:
    """Purge what is older than `older_than_days` before `today`; audit it; count it."""
    cutoff = today - timedelta(days=older_than_days)
    snippets = _purge_snippets(store, cutoff)
    stamp = datetime.combine(cutoff, time(), tzinfo=UTC).timestamp()
    mirrors = _purge_old_mirrors(current_mirror, stamp)
    cache_parts = _purge_cache(workdir / "nlp-cache", nlp_version, stamp)
    report = PurgeReport(cutoff, snippets, mirrors, cache_parts)
    store.audit(
        username,
        "purge",
        detail={"older_than_days": older_than_days, **report.as_dict()},
        client="cli",
    )
    return report


def _purge_snippets(store: Store, cutoff: date) -> int:
    closed_at = sa.func.coalesce(
        worklist_item.c.resolved_on, sa.cast(worklist_item.c.last_decided_at, sa.Date)
    )
    closed_items = sa.select(worklist_item.c.item_id).where(
        worklist_item.c.status.in_(CLOSED), closed_at < cutoff
    )
    with store.write() as conn:
        result = conn.execute(
            evidence.update()
            .where(
                evidence.c.snippet.is_not(None),
                sa.or_(
                    evidence.c.item_id.in_(closed_items),
                    sa.and_(~evidence.c.is_current, evidence.c.last_seen_on < cutoff),
                ),
            )
            .values(snippet=None)
        )
        return int(result.rowcount or 0)


def _purge_old_mirrors(current: Path, stamp: float) -> int:
    """Mirror files of this store under another fingerprint, not written since the cutoff."""
    store_key = current.name.split("-")[1] if current.name.count("-") >= 2 else None
    if store_key is None or not current.parent.is_dir():
        return 0
    removed = 0
    for path in current.parent.glob(f"mirror-{store_key}-*.duckdb"):
        if path != current and path.stat().st_mtime < stamp:
            for companion in (path, path.with_name(path.name + ".wal")):
                companion.unlink(missing_ok=True)
            removed += 1
    return removed


def _purge_cache(cache_dir: Path, nlp_version: str, stamp: float) -> int:
    if not cache_dir.is_dir():
        return 0
    removed = 0
    for version_dir in cache_dir.iterdir():
        if not version_dir.is_dir():
            continue
        if version_dir.name != nlp_version:
            removed += sum(1 for _ in version_dir.glob("*.parquet"))
            shutil.rmtree(version_dir)
            continue
        seen = {p.name.removeprefix("seen-") for p in version_dir.glob("seen-*.parquet")}
        for name in seen:
            parts = [version_dir / f"seen-{name}", version_dir / f"mentions-{name}"]
            if all(p.stat().st_mtime < stamp for p in parts if p.exists()):
                # seen first: a reader never finds a hash without its mentions
                for part in parts:
                    if part.exists():
                        part.unlink()
                        removed += 1
    return removed
