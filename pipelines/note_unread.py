"""Notes that gave no text, counted by reason: the run summary's line and the night's threshold.

`pipelines.ingest.notes` gives each shard's unread notes by `UnreadReason`; here they add up
over the shards, read as one summary line, and fail the night when their share of the notes passes
``VASCREEN_MAX_UNREAD_NOTE_SHARE`` (default 5%): a night that lost that many notes (Binary
reads refused, a format we do not read) would quietly drop or resolve items, so it publishes
nothing and exits like the quarantine threshold, with one line naming counts and reasons only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from pipelines.errors import UnreadNotesThresholdError
from pipelines.ingest.notes import UnreadReason

# Below this many notes a night's share says little (one unread note of three is 33%).
MIN_NOTES_FOR_THRESHOLD = 20


def unread_by_reason(parts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """The sum of per-shard counts, in `UnreadReason` order, reasons with none left out."""
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return {r.value: total[r.value] for r in UnreadReason if total[r.value]}


def describe(unread: Mapping[str, int]) -> str:
    """``binary_fetch_failed 3, empty 1``: the reasons and their counts, in the summary's order."""
    return ", ".join(f"{reason} {n}" for reason, n in unread_by_reason([unread]).items())


def unread_lines(unread: Mapping[str, int]) -> list[str]:
    """The run summary's line on unread notes (none when every note read)."""
    return [f"notes unread by reason: {describe(unread)}"] if any(unread.values()) else []


def check_unread_share(read: int, unread: Mapping[str, int], max_share: float) -> None:
    """Raise when more than `max_share` of the notes (`read` with text plus the unread) gave no
    text, once there are at least `MIN_NOTES_FOR_THRESHOLD` of them.

    Raises:
        UnreadNotesThresholdError: one line, counts and reasons only.
    """
    lost = sum(unread.values())
    total = read + lost
    if total >= MIN_NOTES_FOR_THRESHOLD and lost / total > max_share:
        raise UnreadNotesThresholdError(
            f"notes: {lost} of {total} unread ({lost / total:.1%}: {describe(unread)}), "
            f"above the {max_share:.1%} threshold (VASCREEN_MAX_UNREAD_NOTE_SHARE)"
        )
