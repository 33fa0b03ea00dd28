"""The official R4 examples, mutated (seeded), through `vascreen run`.

Read from ../shared/data/hl7-r4-examples (never copied into the repo); the mutated corpus is
written to a temporary directory. With the quarantine threshold opened up the run completes,
and every file whose mutation staging must catch has a quarantine row with a known reason.
With a configured threshold (VASCREEN_MAX_QUARANTINE_RATIO) the same corpus fails loudly:
exit code 7 and one line naming the resource type and the share.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pipelines.errors import ExitCode
from screens.model import QuarantineReason
from tests.hardening.conftest import cli_env, tally, vascreen

SEED = 20261121
SHARE = 0.3  # of files mutated
MARKER = "CANARY-MUTANT-41b7"
AS_OF = "2026-06-30"
STAGED_DATE = {
    "Patient": "birthDate",
    "Observation": "effectiveDateTime",
    "Condition": "recordedDate",
    "Procedure": "performedDateTime",
    "MedicationRequest": "authoredOn",
    "DocumentReference": "date",
    "DiagnosticReport": "issued",
}
# Mutations staging must quarantine, whatever the resource type or validation sample.
MUST = {"truncate", "non_utf8", "not_object", "unknown_type", "nest", "bad_date", "strip_id"}
WRONG_VALUES: list[Any] = [12345, True, [MARKER], {"x": MARKER}, MARKER]


@dataclass
class Corpus:
    root: Path
    kinds: dict[str, str] = field(default_factory=dict)  # file name -> mutation

    @property
    def must(self) -> set[str]:
        return {name for name, kind in self.kinds.items() if kind in MUST}


def _mutate(name: str, raw: bytes, rng: random.Random) -> tuple[str, bytes]:
    doc = json.loads(raw)
    rtype = doc.get("resourceType", "")
    options = ["truncate", "non_utf8", "not_object", "unknown_type", "nest"]
    if rtype != "Bundle":
        options += ["wrong_type", "drop_field", "huge_string", "older_duplicate"]
        if rtype in STAGED_DATE:
            options += ["bad_date", "strip_id", "bad_date", "strip_id"]
    kind = rng.choice(options)
    if kind == "truncate":
        return kind, raw[: rng.randint(1, max(1, len(raw) - 2))]
    if kind == "non_utf8":
        at = raw.index(b'"resourceType"')
        return kind, raw[:at] + b'"x": "\xff\xfe' + MARKER.encode() + b'", ' + raw[at:]
    if kind == "not_object":
        return kind, json.dumps(rng.choice([[doc], MARKER, 7, None])).encode()
    if kind == "unknown_type":
        doc["resourceType"] = "Frobnicator"
    elif kind == "nest":
        inner = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": doc}]}
        doc = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": inner}]}
    elif kind == "bad_date":
        doc[STAGED_DATE[rtype]] = rng.choice(["2020-13-45", "31/12/2020", MARKER, "2021-02-30"])
    elif kind == "strip_id":
        doc.pop("id", None)
    elif kind == "wrong_type":
        keys = [k for k in doc if k != "resourceType"]
        doc[rng.choice(keys)] = rng.choice(WRONG_VALUES)
    elif kind == "drop_field":
        keys = [k for k in doc if k not in ("resourceType",)]
        doc.pop(rng.choice(keys))
    elif kind == "huge_string":
        doc.setdefault("text", {"status": "generated"})["div"] = (
            '<div xmlns="http://www.w3.org/1999/xhtml">' + (MARKER + " ") * 60_000 + "</div>"
        )
    elif kind == "older_duplicate":
        doc.setdefault("meta", {})["versionId"] = "0"
    return kind, json.dumps(doc).encode()


@pytest.fixture(scope="module")
def corpus(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    examples = shared_data / "hl7-r4-examples"
    out = Corpus(tmp_path_factory.mktemp("mutants") / "source")
    out.root.mkdir()
    rng = random.Random(SEED)
    for path in sorted(examples.glob("*.json")):
        raw = path.read_bytes()
        if rng.random() >= SHARE:
            (out.root / path.name).write_bytes(raw)
            continue
        kind, mutated = _mutate(path.name, raw, rng)
        if kind == "older_duplicate":
            (out.root / path.name).write_bytes(raw)
            name = path.name.replace(".json", "-older.json")
        else:
            name = path.name
        (out.root / name).write_bytes(mutated)
        out.kinds[name] = kind
    tally("bad inputs tried", len(out.kinds))
    assert len(out.must) > 50
    return out


def test_mutated_corpus_run_completes_with_a_quarantine_row_per_caught_mutation(
    corpus: Corpus, tmp_path: Path, prefect_api_url: str
) -> None:
    store = tmp_path / "var" / "vascreen.db"
    result = vascreen(
        [
            "run",
            "--source",
            str(corpus.root),
            "--as-of",
            AS_OF,
            "--store",
            f"sqlite:///{store}",
            "--export",
            str(tmp_path / "out"),
        ],
        cwd=tmp_path,
        env=cli_env(tmp_path / "work", prefect_api_url, VASCREEN_MAX_QUARANTINE_RATIO="1.0"),
    )
    assert result.code == 0, result.stderr[-3000:]
    assert MARKER not in result.stdout + result.stderr
    with sqlite3.connect(store) as con:
        rows = con.execute(
            "SELECT resource_type, source, reason, detail FROM quarantine"
        ).fetchall()
        (counts_json,) = con.execute("SELECT counts FROM run WHERE status = 'succeeded'").fetchone()
    reasons = {r.value for r in QuarantineReason}
    assert {reason for _, _, reason, _ in rows} <= reasons
    assert all(MARKER not in detail for *_, detail in rows)
    files = {source.split("#")[0].rsplit(":", 1)[0] for _, source, _, _ in rows}
    missing = sorted(corpus.must - files)
    assert not missing, (
        f"mutations without a quarantine row: {[(m, corpus.kinds[m]) for m in missing]}"
    )
    counts = json.loads(counts_json)["counts"]
    for rtype, c in counts.items():
        assert c["read"] == sum(v for k, v in c.items() if k != "read"), (rtype, c)
    assert sum(c["quarantined"] for c in counts.values()) == len(rows)


def test_mutated_corpus_past_the_threshold_fails_with_one_clear_line(
    corpus: Corpus, tmp_path: Path, prefect_api_url: str
) -> None:
    result = vascreen(
        [
            "run",
            "--source",
            str(corpus.root),
            "--as-of",
            AS_OF,
            "--store",
            f"sqlite:///{tmp_path / 'var' / 'vascreen.db'}",
        ],
        cwd=tmp_path,
        env=cli_env(tmp_path / "work", prefect_api_url, VASCREEN_MAX_QUARANTINE_RATIO="0.05"),
    )
    tally("faults injected")
    assert result.code == int(ExitCode.QUARANTINE_THRESHOLD), result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    reasons = [line for line in lines if line.startswith("vascreen: ")]
    assert len(reasons) == 1 and lines[-1] == reasons[0]
    assert "quarantined" in reasons[0] and "above the 5.0% threshold" in reasons[0]
    assert MARKER not in result.stdout + result.stderr
    assert not (tmp_path / "out").exists()
