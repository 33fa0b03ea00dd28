"""A synthetic cohort screened and published night by night, for the browser tests.

Staging and note reading happen once per source directory (they are the slow part and do not
touch the store; the test oracle `tests.stage_oracle` does it); each nightly "run" then screens
and publishes into a store as `pipelines.night_publish` does. All data is synthetic
(`devtools.synth`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import orjson
import polars as pl

from devtools.synth import write_cohort
from devtools.synth.cohort import AS_OF_DEFAULT
from pipelines.settings import Settings
from pipelines.store import Store
from screens.engine import evaluate_screens
from screens.notes import extract_mention_frame
from screens.rules import rule_versions, select_screens
from tests.builders import observation
from tests.stage_oracle import StagedData, stage_source

N_PATIENTS = 2000  # a night at volume: several worklist pages
SEED = 7
AS_OF = AS_OF_DEFAULT
# The second night with new data: a week after the new ABI below, inside every lookback.
AS_OF_LATER = AS_OF + timedelta(days=14)
NEW_ABI_ON = AS_OF + timedelta(days=7)
SNOOZE_UNTIL = AS_OF + timedelta(days=30)


@dataclass(frozen=True, slots=True)
class StagedSource:
    source: Path
    staged: StagedData
    mentions: pl.DataFrame


@dataclass(frozen=True, slots=True)
class BrowserCohort:
    """The cohort on two nights, and the patients the browser test acts on (ids only)."""

    settings: Settings
    original: StagedSource
    with_new_abi: StagedSource
    reflag_patient: str  # pad item: dismissed, then a new low ABI arrives
    dismissed_patient: str  # pad item: dismissed, nothing new arrives
    snoozed_patient: str  # snoozed past the second night
    highlight_patient: str  # has a note sentence with a matched span
    highlight_text: str  # the matched words


def stage_once(source: Path, settings: Settings) -> StagedSource:
    staged = stage_source(source, workdir=settings.workdir / "stage")
    mentions = extract_mention_frame(staged.tables["note"])
    return StagedSource(source, staged, mentions)


def run_night(data: StagedSource, as_of: date, store_url: str) -> None:
    """Screen and publish one nightly run into `store_url` (the nightly steps, in order)."""
    screens = select_screens(None)
    tables = {**data.staged.tables, "note_mention": data.mentions}
    evaluation = evaluate_screens(screens, tables, as_of)
    # The store half of a night's publish, with the store closed afterwards (PostgreSQL
    # connections left to the garbage collector fail the run under filterwarnings=error).
    ids = [s.id for s in screens]
    store = Store.connect(store_url)
    try:
        run_id = store.start_run(
            as_of=as_of, source="files", screens=ids, rule_versions=rule_versions()
        )
        store.save_quarantine(run_id, data.staged.quarantine)
        counts = store.publish(
            run_id, as_of=as_of, screens=ids, items=evaluation.items, evidence=evaluation.evidence
        )
        store.save_patients(data.staged.tables["patient"])
        store.finish_run(
            run_id, status="succeeded", counts={**counts.as_dict(), "items": store.item_counts()}
        )
    finally:
        store.close()


def build_cohort(root: Path) -> BrowserCohort:
    settings = Settings(workdir=root / "work", store_url=f"sqlite:///{root / 'unused.db'}")
    source = root / "source"
    write_cohort(N_PATIENTS, SEED, source)
    original = stage_once(source, settings)
    evaluation = evaluate_screens(
        select_screens(None), {**original.staged.tables, "note_mention": original.mentions}, AS_OF
    )
    items = evaluation.items.sort("patient_id", "screen")
    pad = items.filter((pl.col("screen") == "pad") & (pl.col("alerts") == ""))["patient_id"]
    reflag, dismissed = pad[0], pad[1]
    others = items.filter(~pl.col("patient_id").is_in([reflag, dismissed]))
    snoozed = others.filter(pl.col("screen") != "pad")["patient_id"][0]
    highlight_patient, highlight_text = _highlighted_mention(evaluation.evidence)
    later = root / "source-later"
    shutil.copytree(source, later)
    new_abi = observation(reflag, value=0.62, on=NEW_ABI_ON.isoformat(), oid=f"{reflag}-abi-new")
    (later / "Observation.900.ndjson").write_bytes(orjson.dumps(new_abi) + b"\n")
    return BrowserCohort(
        settings=settings,
        original=original,
        with_new_abi=stage_once(later, settings),
        reflag_patient=reflag,
        dismissed_patient=dismissed,
        snoozed_patient=snoozed,
        highlight_patient=highlight_patient,
        highlight_text=highlight_text,
    )


def _highlighted_mention(evidence: pl.DataFrame) -> tuple[str, str]:
    """A patient with an include note sentence whose matched words can be cut out of it."""
    rows = evidence.filter(
        (pl.col("role") == "include")
        & pl.col("snippet").is_not_null()
        & pl.col("span_start").is_not_null()
        & pl.col("sentence_start").is_not_null()
    ).sort("patient_id", "criterion_id")
    for row in rows.iter_rows(named=True):
        start = row["span_start"] - row["sentence_start"]
        end = row["span_end"] - row["sentence_start"]
        if 0 <= start < end <= len(row["snippet"]):
            return row["patient_id"], row["snippet"][start:end]
    raise AssertionError("the synthetic cohort has no highlightable note mention")
