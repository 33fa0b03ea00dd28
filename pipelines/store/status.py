"""Worklist item lifecycle: the status of an item as a pure function of its facts.

An item's status is recomputed whenever a run evaluates its screen or a reviewer records a
decision, always from the same inputs, so a rerun of the same `as_of` with the same data
gives the same status and a nightly run can never overwrite a decision (decisions are read,
never written, by publish).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from screens.model import ItemStatus


class DecisionAction(StrEnum):
    """What a reviewer can record on an item; each maps onto the ItemStatus of the same name."""

    REFERRED = "referred"
    DISMISSED = "dismissed"
    UNDER_CARE = "under_care"
    SNOOZED = "snoozed"
    NEEDS_INFO = "needs_info"
    REOPENED = "open"


# Statuses that put an item on the coordinators' to-do list (worklist.csv, default view).
OPEN_STATUSES: tuple[ItemStatus, ...] = (ItemStatus.NEW, ItemStatus.OPEN, ItemStatus.NEEDS_INFO)

_STICKY = {
    DecisionAction.REFERRED: ItemStatus.REFERRED,
    DecisionAction.UNDER_CARE: ItemStatus.UNDER_CARE,
    DecisionAction.NEEDS_INFO: ItemStatus.NEEDS_INFO,
}


@dataclass(frozen=True, slots=True)
class LatestDecision:
    action: DecisionAction
    item_as_of: date  # the as_of of the worklist the reviewer was looking at
    snooze_until: date | None = None


@dataclass(frozen=True, slots=True)
class ItemFacts:
    is_flagged: bool
    first_flagged_on: date
    as_of: date  # the as_of of the latest run that evaluated the item's screen
    newest_include_on: date | None  # latest observed_on of the item's current include evidence
    decision: LatestDecision | None


def derive_status(facts: ItemFacts) -> ItemStatus:
    """Status of an item.

    - no longer flagged by the latest run of its screen: resolved (the decision stays in the
      decision history);
    - dismissed: stays dismissed unless include evidence dated after the as_of the reviewer
      saw has appeared (re-flag: back to open);
    - snoozed: snoozed until the date, then open;
    - referred, already under vascular care, needs more information: kept;
    - otherwise new on the run that first flagged it, open afterwards.
    """
    if not facts.is_flagged:
        return ItemStatus.RESOLVED
    decision = facts.decision
    base = ItemStatus.NEW if facts.first_flagged_on == facts.as_of else ItemStatus.OPEN
    if decision is None or decision.action == DecisionAction.REOPENED:
        return base
    if decision.action == DecisionAction.DISMISSED:
        newer = (
            facts.newest_include_on is not None and facts.newest_include_on > decision.item_as_of
        )
        return ItemStatus.OPEN if newer else ItemStatus.DISMISSED
    if decision.action == DecisionAction.SNOOZED:
        if decision.snooze_until is not None and facts.as_of < decision.snooze_until:
            return ItemStatus.SNOOZED
        return ItemStatus.OPEN
    return _STICKY[decision.action]


def is_reflag(before: ItemStatus | None, after: ItemStatus, was_flagged: bool | None) -> bool:
    """True when this evaluation puts a resolved or dismissed item back on the worklist."""
    if before is None or after not in (ItemStatus.NEW, ItemStatus.OPEN):
        return False
    return before == ItemStatus.DISMISSED or (was_flagged is False)
