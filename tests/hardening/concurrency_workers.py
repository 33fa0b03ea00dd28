"""Worker processes for the concurrency tests: a nightly publisher and coordinators.

Each runs in its own process (multiprocessing spawn) with its own store engine, the way the
review app and the nightly flow share a production store. Workers return what happened; they
never raise, so the parent can report every error a coordinator would have seen. All of them
start their work together (`start`, a barrier): a publisher that finished before the
coordinators' processes were up would test nothing.
"""

from __future__ import annotations

import time
import traceback
from datetime import date, timedelta
from threading import Barrier

from pipelines.store import Store
from pipelines.store.testing import Hit, run_nightly

ACTIONS = ("needs_info", "referred", "open", "under_care")
AS_OF = date(2026, 6, 30)
START_TIMEOUT_S = 120  # every worker process imported and connected


def hits_for(night: int, patients: int) -> list[Hit]:
    """A night's flags: most patients stay flagged, a few drop out and come back."""
    out = []
    for p in range(patients):
        if (p + night) % 7 == 0:
            continue
        out.append(
            Hit(
                f"cc-{p:04d}",
                "pad",
                "pad.low_abi",
                f"Observation/cc-{p}-{night % 3}",
                AS_OF - timedelta(days=p % 30),
            )
        )
    return out


def publisher(url: str, nights: int, patients: int, start: Barrier) -> dict[str, object]:
    store = Store.connect(url)
    errors: list[str] = []
    windows: list[tuple[float, float]] = []
    done = 0
    try:
        start.wait(START_TIMEOUT_S)
        for night in range(nights):
            try:
                started = time.time()
                run_nightly(
                    store, AS_OF + timedelta(days=night), hits_for(night, patients), ["pad"]
                )
                windows.append((started, time.time()))
                done += 1
            except Exception:
                errors.append(traceback.format_exc(limit=3))
    finally:
        store.close()
    return {"published": done, "errors": errors, "windows": windows}


def coordinator(
    url: str, name: str, item_ids: list[str], rounds: int, start: Barrier
) -> dict[str, object]:
    store = Store.connect(url)
    recorded: list[tuple[str, str]] = []
    times: list[float] = []
    errors: list[str] = []
    try:
        start.wait(START_TIMEOUT_S)
        for r in range(rounds):
            item_id = item_ids[r % len(item_ids)]
            action = ACTIONS[(r + len(name)) % len(ACTIONS)]
            started = time.monotonic()
            try:
                store.record_decision(item_id, username=name, action=action)
                recorded.append((item_id, action))
                times.append(time.time())
            except Exception:
                errors.append(traceback.format_exc(limit=3))
            if time.monotonic() - started > 20:
                errors.append(f"decision took {time.monotonic() - started:.0f}s")
    finally:
        store.close()
    return {"recorded": recorded, "errors": errors, "times": times}
