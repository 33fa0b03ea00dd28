"""README screenshots of the worklist, patient and trends pages, from a synthetic store only.

    uv run python -m devtools.screenshots [--out docs/img] [--patients 600] [--workdir DIR]

Generates a synthetic cohort (`devtools.synth`, synthetic names and MRNs), runs ten weekly
nights (`pipelines.night.run_night`) into a throwaway SQLite store, records decisions after each
so the pages show a realistic morning and the trends have a history, serves the app on a
loopback port and saves `worklist.png`, `patient.png` and `trends.png` with headless Chromium.
Needs the dev dependencies (`playwright`) and Debian's `chromium`.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from devtools.synth import write_cohort
from devtools.synth.cohort import AS_OF_DEFAULT
from pipelines.night import run_night
from pipelines.settings import Settings
from pipelines.store import Store
from pipelines.store.status import DecisionAction
from review.auth import add_user
from review.browser import launch_chromium, serve_in_thread
from review.settings import ReviewSettings

if TYPE_CHECKING:  # playwright is a dev dependency, imported when capturing
    from playwright.sync_api import ViewportSize

USERNAME = "coordinator"
ADMIN = "admin"
PASSWORD = "screenshot-only-passphrase"  # noqa: S105 - throwaway synthetic store
SEED = 7
NIGHTS = 10
VIEWPORT: ViewportSize = {"width": 1360, "height": 1100}
EHR_TEMPLATE = "https://ehr.example.org/chart?mrn={mrn}"


def seed_store(root: Path, patients: int) -> tuple[str, str]:
    """A store with weekly synthetic nights and decisions; returns (store URL, patient id)."""
    store_url = f"sqlite:///{root / 'vascreen.db'}"
    settings = Settings(workdir=root / "work", store_url=store_url)
    write_cohort(patients, SEED, root / "source")
    store = Store.connect(store_url)
    try:
        add_user(store, USERNAME, "coordinator", PASSWORD)
        add_user(store, ADMIN, "admin", PASSWORD)
        for night in range(NIGHTS - 1, -1, -1):
            as_of = AS_OF_DEFAULT - timedelta(days=7 * night)
            run_night(str(root / "source"), settings=settings, as_of=as_of)
            if night:
                _record_examples(store, store.worklist().sort("patient_id", "screen"), night)
        items = store.worklist().sort("patient_id", "screen")
        return store_url, _showcase_patient(store, items)
    finally:
        store.close()


def _record_examples(store: Store, items: pl.DataFrame, night: int) -> None:
    """Decide a few routine items, as a coordinator's earlier mornings would have."""
    routine = items.filter(pl.col("priority") == "routine")["item_id"].to_list()
    examples = [
        (DecisionAction.REFERRED, {}),
        (DecisionAction.DISMISSED, {"reason": "mimic", "comment": "spinal stenosis on MRI"}),
        (DecisionAction.REFERRED, {}),
        (DecisionAction.NEEDS_INFO, {"comment": "ask for the latest duplex report"}),
    ]
    chosen = routine[-(2 + night % 3) :]
    for item_id, (action, extra) in zip(chosen, examples, strict=False):
        store.record_decision(
            item_id,
            username=USERNAME,
            action=action,
            reason=extra.get("reason"),
            comment=extra.get("comment"),
        )


def _showcase_patient(store: Store, items: pl.DataFrame) -> str:
    """The urgent patient with the most to show: several items, highlighted note evidence."""
    best, best_score = "", -1
    for patient in items.filter(pl.col("priority") == "urgent")["patient_id"].unique().sort():
        rows = store.patient_items(patient)
        notes = sum(
            store.item_evidence(r["item_id"])["snippet"].drop_nulls().len() > 0 for r in rows
        )
        score = 2 * len(rows) + notes
        if score > best_score:
            best, best_score = patient, score
    return best


def capture(base_url: str, patient_id: str, out: Path) -> list[Path]:
    """Sign in and save the worklist and patient pages as PNGs in `out`."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    saved = [out / "worklist.png", out / "patient.png", out / "trends.png"]
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(base_url + "/login")
            page.fill("input[name=username]", USERNAME)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(base_url + "/")
            page.screenshot(path=str(saved[0]), full_page=False)
            page.goto(f"{base_url}/patients/{patient_id}")
            page.screenshot(path=str(saved[1]), full_page=False)
            admin = browser.new_page(viewport=VIEWPORT)
            admin.goto(base_url + "/login?next=/admin")
            admin.fill("input[name=username]", ADMIN)
            admin.fill("input[name=password]", PASSWORD)
            admin.click("button[type=submit]")
            admin.wait_for_url(base_url + "/admin")
            admin.screenshot(path=str(saved[2]), full_page=False)
        finally:
            browser.close()
    return saved


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--patients", type=int, default=600)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the store here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vascreen-shots-") as tmp:
        root = args.workdir or Path(tmp)
        store_url, patient_id = seed_store(root, args.patients)
        site = ReviewSettings(ehr_url_template=EHR_TEMPLATE)
        with serve_in_thread(store_url, settings=site) as base_url:
            saved = capture(base_url, patient_id, args.out)
    print("saved " + ", ".join(str(p) for p in saved))  # noqa: T201


if __name__ == "__main__":
    main()
