"""The synthetic cohort: deterministic, valid FHIR R4, and carrying every story it promises."""

from __future__ import annotations

import base64
import csv
import importlib
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import orjson
import pytest

from devtools.synth import CohortSummary, write_cohort
from devtools.synth.catalogue import SCREENS, STORIES, STORY_BY_ID, allocate_stories
from devtools.synth.chart import RESOURCE_TYPES

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CohortSummary]:
    out = tmp_path_factory.mktemp("cohort300")
    started = time.perf_counter()
    summary = write_cohort(300, 11, out, as_of=AS_OF)
    elapsed = time.perf_counter() - started
    total = sum(summary.resources.values())
    print(f"\nsynth: 300 patients, {total} resources in {elapsed:.2f}s ({total / elapsed:,.0f}/s)")
    return out, summary


def read_labels(out: Path) -> list[dict[str, str]]:
    with (out / "labels.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_type(out: Path, rtype: str) -> list[dict]:
    return [orjson.loads(line) for line in (out / f"{rtype}.ndjson").read_bytes().splitlines()]


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    write_cohort(40, 5, first)
    write_cohort(40, 5, second)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_different_seed_gives_a_different_cohort(tmp_path: Path) -> None:
    write_cohort(20, 1, tmp_path / "a")
    write_cohort(20, 2, tmp_path / "b")
    a = (tmp_path / "a" / "Observation.ndjson").read_bytes()
    assert a != (tmp_path / "b" / "Observation.ndjson").read_bytes()


def test_every_screen_and_story_is_present_at_300(cohort: tuple[Path, CohortSummary]) -> None:
    out, summary = cohort
    labels = read_labels(out)
    assert [r["patient_id"] for r in labels] == [f"p{i:06d}" for i in range(1, 301)]
    stories = Counter(r["story"] for r in labels)
    assert {s.id for s in STORIES} <= set(stories)
    assert stories["background"] > 150
    for screen in SCREENS:
        assert summary.positives[screen] > 0, screen
    kinds = Counter(STORY_BY_ID[s].kind for s in stories.elements())
    assert kinds["trap"] > 0 and kinds["mimic"] > 0


def test_labels_match_the_story_catalogue(cohort: tuple[Path, CohortSummary]) -> None:
    out, summary = cohort
    counted = Counter()
    for row in read_labels(out):
        story = STORY_BY_ID[row["story"]]
        assert row["screens"] == " ".join(story.screens)
        assert row["screens"].split() == sorted(row["screens"].split())
        counted.update(row["screens"].split())
        if story.kind in ("trap", "mimic", "background"):
            assert row["screens"] == ""
    assert dict(counted) == {k: v for k, v in summary.positives.items() if v}


def test_mix_matches_the_target_shares_for_large_cohorts() -> None:
    stories = allocate_stories(2000, 3)
    per_screen = Counter(screen for s in stories for screen in s.screens)
    kinds = Counter(s.kind for s in stories)
    assert 0.07 <= per_screen["pad"] / 2000 <= 0.09  # 6% pad-only + undiagnosed CLTI
    assert 0.025 <= per_screen["clti"] / 2000 <= 0.035
    assert 0.015 <= per_screen["may_thurner"] / 2000 <= 0.025
    assert 0.015 <= per_screen["cecs"] / 2000 <= 0.025
    assert 0.10 <= (kinds["trap"] + kinds["mimic"]) / 2000 <= 0.14


@pytest.mark.parametrize("rtype", RESOURCE_TYPES)
def test_a_sample_of_every_type_is_valid_r4b(
    cohort: tuple[Path, CohortSummary], rtype: str
) -> None:
    out, _ = cohort
    model = getattr(importlib.import_module(f"fhir.resources.R4B.{rtype.lower()}"), rtype)
    resources = read_type(out, rtype)
    assert resources
    for resource in resources[:: max(1, len(resources) // 60)]:
        model.model_validate(resource)


def test_ids_are_unique_and_references_resolve(cohort: tuple[Path, CohortSummary]) -> None:
    out, _ = cohort
    patients = {r["id"] for r in read_type(out, "Patient")}
    encounters = {r["id"] for r in read_type(out, "Encounter")}
    for rtype in RESOURCE_TYPES:
        resources = read_type(out, rtype)
        ids = [r["id"] for r in resources]
        assert len(ids) == len(set(ids)), rtype
        for r in resources:
            if rtype != "Patient":
                assert r["subject"]["reference"].removeprefix("Patient/") in patients
            enc = r.get("encounter", {}).get("reference")
            if enc:
                assert enc.removeprefix("Encounter/") in encounters


def test_density_is_realistic(cohort: tuple[Path, CohortSummary]) -> None:
    _, summary = cohort
    per_patient = sum(summary.resources.values()) / summary.n_patients
    assert 100 <= per_patient <= 220
    assert summary.resources["Observation"] > sum(summary.resources.values()) / 2
    assert summary.resources["DocumentReference"] >= 2 * summary.n_patients


def test_notes_are_plain_text_of_realistic_length(cohort: tuple[Path, CohortSummary]) -> None:
    out, _ = cohort
    docs = read_type(out, "DocumentReference")
    lengths = []
    for doc in docs[::25]:
        attachment = doc["content"][0]["attachment"]
        assert attachment["contentType"] == "text/plain; charset=utf-8"
        text = base64.b64decode(attachment["data"]).decode("utf-8")
        assert "ASSESSMENT AND PLAN" in text
        lengths.append(len(text))
    assert 900 <= sum(lengths) / len(lengths) <= 3000


def test_planted_traps_carry_their_defining_resource(cohort: tuple[Path, CohortSummary]) -> None:
    out, _ = cohort
    by_story: dict[str, set[str]] = {}
    for row in read_labels(out):
        by_story.setdefault(row["story"], set()).add(f"Patient/{row['patient_id']}")
    observations = read_type(out, "Observation")
    abi = [o for o in observations if o["code"]["coding"][0]["code"] == "77194-9"]
    eie = [o for o in abi if o["status"] == "entered-in-error"]
    assert eie and all(
        o["subject"]["reference"] in by_story["trap_entered_in_error_abi"] for o in eie
    )
    old = [o for o in abi if o["subject"]["reference"] in by_story["trap_old_abi_outside_lookback"]]
    cutoff = (AS_OF - timedelta(days=3 * 365)).isoformat()
    assert old and all(o["effectiveDateTime"][:10] < cutoff for o in old)
    procedures = read_type(out, "Procedure")
    assert any(p["code"]["coding"][0]["code"] == "067D3DZ" for p in procedures) or any(
        "iliac vein stent" in base64.b64decode(d["content"][0]["attachment"]["data"]).decode()
        for d in read_type(out, "DocumentReference")
        if d["subject"]["reference"] in by_story["trap_mt_stented"]
    )


def test_progress_bar_goes_to_stderr_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_cohort(5, 1, tmp_path, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "synth" in captured.err
