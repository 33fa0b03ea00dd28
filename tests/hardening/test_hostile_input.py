"""Hostile input through landing and staging: never a crash, one quarantine row per bad resource.

The property: for any mix of valid and hostile records (see `tests.hardening.hostile`) spread
over NDJSON files and a Bundle, `stage_source`
- raises nothing except `QuarantineThresholdError`, and raises it exactly when some resource
  type with at least MIN_READ_FOR_THRESHOLD reads has more than the allowed share quarantined;
- writes exactly one quarantine row, with a known `QuarantineReason`, for each bad record, at
  its file:line or Bundle entry;
- counts every record once: read == quarantined + staged + duplicates + entered_in_error +
  no_patient + ignored, per resource type, and these match what each record should get;
- never copies a value into a quarantine detail.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.errors import QuarantineThresholdError
from pipelines.ingest.quarantine import MIN_READ_FOR_THRESHOLD
from screens.model import QuarantineReason
from tests.hardening.conftest import tally
from tests.hardening.hostile import (
    BASES,
    KINDS,
    MARKER,
    Outcome,
    Record,
    nested_bundle,
    records_for,
)
from tests.stage_oracle import stage_source

EXAMPLES = int(os.environ.get("VASCREEN_HYPOTHESIS_EXAMPLES", "30"))
REASONS = {r.value for r in QuarantineReason}

record_specs = st.lists(
    st.tuples(st.sampled_from(KINDS), st.sampled_from(BASES), st.integers(0, 999), st.booleans()),
    min_size=1,
    max_size=22,
)


def _layout(
    specs: list[tuple[str, str, int, bool]], nested: int, root: Path
) -> tuple[dict[str, Outcome], Counter[tuple[str, str]], int]:
    """Write the records; return {location: outcome of bad records}, expected counts, total."""
    ndjson: dict[str, list[Record]] = {}
    entries: list[Record] = []
    for i, (kind, base, choice, in_bundle) in enumerate(specs):
        for rec in records_for(kind, base, f"r{i}", f"pt{choice % 5}", choice):
            if in_bundle and not rec.ndjson_only:
                entries.append(rec)
            else:
                ndjson.setdefault(rec.bucket if rec.own_file else base, []).append(rec)
    expected: Counter[tuple[str, str]] = Counter()
    bad: dict[str, Outcome] = {}
    for base, recs in ndjson.items():
        (root / f"{base}.ndjson").write_bytes(b"\n".join(r.payload for r in recs) + b"\n")
        for line, rec in enumerate(recs, start=1):
            expected[(rec.bucket, rec.outcome.value)] += 1
            if rec.outcome == Outcome.QUARANTINED:
                bad[f"{base}.ndjson:{line}"] = rec.outcome
    bundle_entries = [
        {"fullUrl": f"urn:uuid:e{i}", "resource": json.loads(r.payload)}
        for i, r in enumerate(entries)
    ]
    bundle_entries += [{"resource": nested_bundle(f"nb{k}")} for k in range(nested)]
    if bundle_entries:
        (root / "hostile-bundle.json").write_text(
            json.dumps({"resourceType": "Bundle", "type": "collection", "entry": bundle_entries})
        )
    for pos, rec in enumerate(entries, start=1):
        expected[(rec.bucket, rec.outcome.value)] += 1
        if rec.outcome == Outcome.QUARANTINED:
            bad[f"hostile-bundle.json#entry={pos}"] = rec.outcome
    for k in range(nested):
        expected[("Bundle", "quarantined")] += 1
        bad[f"hostile-bundle.json#entry={len(entries) + k + 1}"] = Outcome.QUARANTINED
    total = sum(expected.values())
    return bad, expected, total


def _breaches(expected: Counter[tuple[str, str]], ratio: float) -> list[str]:
    read: Counter[str] = Counter()
    for (bucket, _), n in expected.items():
        read[bucket] += n
    return [
        t
        for t, n in read.items()
        if n >= MIN_READ_FOR_THRESHOLD and expected[(t, "quarantined")] / n > ratio
    ]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
@given(
    specs=record_specs, nested=st.integers(0, 2), ratio=st.sampled_from([1.0, 0.5, 0.2, 0.05, 0.0])
)
def test_staging_quarantines_each_bad_record_once_and_counts_add_up(
    tmp_path_factory: pytest.TempPathFactory,
    specs: list[tuple[str, str, int, bool]],
    nested: int,
    ratio: float,
) -> None:
    root = tmp_path_factory.mktemp("hostile")
    source = root / "source"
    source.mkdir()
    bad, expected, total = _layout(specs, nested, source)
    tally("bad inputs tried", len(bad))
    breaches = _breaches(expected, ratio)
    try:
        staged = stage_source(source, workdir=root / "work", max_quarantine_ratio=ratio)
    except QuarantineThresholdError as err:
        assert breaches, f"threshold error without a breach: {err}"
        assert MARKER not in str(err) and "\n" not in str(err)
        staged = stage_source(source, workdir=root / "work2", max_quarantine_ratio=1.0)
    else:
        assert not breaches, f"no threshold error although {breaches} breach {ratio}"

    quarantine = staged.quarantine
    sources = quarantine["source"].to_list()
    assert sorted(sources) == sorted(bad), "each bad record gets exactly one quarantine row"
    assert set(quarantine["reason"].to_list()) <= REASONS
    assert quarantine["detail"].null_count() == 0
    for detail in quarantine["detail"].to_list():
        assert MARKER not in detail and "pt0" not in detail
    assert all(rid is None or MARKER not in rid for rid in quarantine["resource_id"].to_list())

    read_total = 0
    for rtype, c in staged.counts.items():
        outcomes = {k: v for k, v in c.items() if k != "read"}
        assert c["read"] == sum(outcomes.values()), (rtype, c)
        read_total += c["read"]
        for outcome, n in outcomes.items():
            assert n == expected[(rtype, outcome)], (rtype, outcome, c, dict(expected))
    assert read_total == total


def test_an_enormous_note_is_staged_as_unavailable_not_raised(tmp_path: Path) -> None:
    """A 3 MB note is over MAX_NOTE_BYTES: the resource stages, its text is counted unavailable."""
    from tests import builders as b

    source = tmp_path / "src"
    source.mkdir()
    big = b.note("p1", ("Rest pain in the left foot. " + MARKER + " ") * 80_000, nid="big")
    (source / "DocumentReference.ndjson").write_text(json.dumps(big) + "\n")
    (source / "Patient.ndjson").write_text(json.dumps(b.patient("p1")) + "\n")
    staged = stage_source(source, workdir=tmp_path / "work")
    tally("bad inputs tried")
    assert staged.counts["DocumentReference"]["staged"] == 1
    assert staged.notes_unavailable == 1 and staged.tables["note"].height == 0
    assert staged.quarantine.height == 0


def test_bad_resources_past_the_validation_sample_never_crash_staging(tmp_path: Path) -> None:
    """Beyond the sampled head, only structural checks run: still no crash, counts still add up."""
    from tests import builders as b

    source = tmp_path / "src"
    source.mkdir()
    lines = [json.dumps(b.observation("p1", value=0.8, oid=f"ok{i}")) for i in range(60)]
    hostile = [
        r.payload.decode("utf-8", errors="replace")
        for i, kind in enumerate(KINDS * 2)
        for r in records_for(kind, "Observation", f"late{i}", "p1", i)
    ]
    (source / "Observation.ndjson").write_text("\n".join(lines + hostile) + "\n")
    staged = stage_source(source, workdir=tmp_path / "work", max_quarantine_ratio=1.0)
    tally("bad inputs tried", len(hostile))
    for rtype, c in staged.counts.items():
        assert c["read"] == sum(v for k, v in c.items() if k != "read"), rtype
    assert sum(c["read"] for c in staged.counts.values()) == len(lines) + len(hostile)
    for detail in staged.quarantine["detail"].to_list():
        assert MARKER not in detail
