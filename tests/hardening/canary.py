"""PHI canaries: a synthetic cohort with unique marker strings planted where PHI lives.

Markers sit in a Patient's name and birth date, in Observation values (valueString and a
unique numeric ABI), in note text inside sentences the NLP matches (so they reach evidence
snippets), and in resources that will be quarantined. `find_markers` scans text, bytes and
files (Parquet, DuckDB, gzip, zip/XLSX decoded) for any of them.

What may hold PHI, by design (access-controlled, like the source itself): the worklist store
(SQLite file or PostgreSQL), the raw mirror and stage DuckDB files (`mirror/`, `stage/`), the
NLP cache (`nlp-cache/`) and a FHIR landing directory (`landing/`). Everything else a run
leaves behind, and everything it prints, logs or exports, must be marker-free.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from devtools.synth import write_cohort
from tests import builders as b

NAME = "CANARY-NAME-7f3a"
GIVEN = "CANARY-GIVEN-3c88"
BIRTH = "1931-04-17"
VALUE = "CANARY-VALUE-c41d"
ABI = "0.3917"
NOTE = "CANARY-NOTE-b2e9"
NOTE2 = "CANARY-NOTE-e5a0"
BAD = "CANARY-BAD-90aa"
MARKERS = (NAME, GIVEN, BIRTH, VALUE, ABI, NOTE, NOTE2, BAD)
PATIENT = "canary-pt-1"
ACCESS_CONTROLLED = ("mirror", "stage", "nlp-cache", "landing")

REST_PAIN = (
    "EMERGENCY DEPARTMENT NOTE\nCC: right foot pain.\n"
    f"HPI: 72F, smoker, diabetic. {NOTE} rest pain right toes for 3 weeks, relieved by "
    "dangling the leg over the bed. Unable to sleep flat.\n"
    f"Exam: Dependent rubor, pallor on elevation ({NOTE2}). Right DP and PT not palpable.\n"
    "MDM: Presentation concerning for chronic limb-threatening ischemia; "
    "vascular surgery consulted."
)


# A FHIR server's answers for the canary's failing-server tests: what it can search, and an
# OperationOutcome whose free text repeats a patient's details.
SEARCH_CAPABILITY: dict[str, Any] = {
    "resourceType": "CapabilityStatement",
    "status": "active",
    "kind": "instance",
    "fhirVersion": "4.0.1",
    "format": ["json"],
    "rest": [
        {
            "mode": "server",
            "resource": [
                {"type": t, "interaction": [{"code": "search-type"}]}
                for t in ("Patient", "Observation")
            ],
        }
    ],
}
PHI_OUTCOME: dict[str, Any] = {
    "resourceType": "OperationOutcome",
    "issue": [
        {
            "severity": "error",
            "code": "exception",
            "diagnostics": f"patient {NAME} {GIVEN} born {BIRTH}: {NOTE}",
        },
        {"severity": "error", "code": "invalid", "details": {"text": VALUE}},
    ],
}
PHI_OUTCOME_MARKERS = 5  # name, given, birth, note; value


def canary_resources() -> dict[str, list[dict[str, Any]]]:
    pt = b.patient(PATIENT, birth_date=BIRTH, gender="female")
    pt["name"] = [{"family": NAME, "given": [GIVEN]}]
    abi = b.observation(PATIENT, value=float(ABI), on="2026-06-01", oid="canary-abi")
    comment = b.observation(
        PATIENT,
        code="8867-4",
        display="Comment",
        value_string=VALUE,
        on="2026-06-01",
        oid="canary-comment",
    )
    note = b.note(PATIENT, REST_PAIN, on="2026-06-10", nid="canary-note")
    return {"Patient": [pt], "Observation": [abi, comment], "DocumentReference": [note]}


def bad_lines() -> list[bytes]:
    """Quarantined for sure (structural problems caught on every row), each carrying BAD."""
    bad_date = b.observation(PATIENT, value=0.5, oid="canary-bad-date")
    bad_date["effectiveDateTime"] = BAD
    wrong_type = b.observation(PATIENT, value=0.5, oid="canary-bad-type")
    wrong_type["status"] = {"text": BAD}
    return [
        json.dumps(bad_date).encode(),
        json.dumps(wrong_type).encode(),
        ('{"resourceType":"Observation","id":"canary-trunc","valueString":"' + BAD).encode(),
        b'{"resourceType":"Observation","id":"canary-latin1","valueString":"'
        + BAD.encode()
        + b' \xe9\xff"}',
        json.dumps({"id": "canary-untyped", "valueString": BAD}).encode(),
    ]


def write_canary_cohort(out: Path, *, patients: int = 30, seed: int = 5) -> int:
    """Synthetic cohort plus the canaries; returns how many markers were planted."""
    write_cohort(patients, seed, out)
    planted = 0
    for rtype, resources in canary_resources().items():
        (out / f"{rtype}.900.ndjson").write_text("".join(json.dumps(r) + "\n" for r in resources))
    # '.000' sorts before the main file: inside the validated sample head.
    (out / "Observation.000.ndjson").write_bytes(b"\n".join(bad_lines()) + b"\n")
    planted += 2 + 1 + 2 + 2 + len(bad_lines())  # name, given, birth; value, ABI; 2 in note; bad
    for path in out.iterdir():
        if not path.name.endswith(("900.ndjson", "000.ndjson")):
            text = path.read_bytes()
            assert not any(m.encode() in text for m in MARKERS), f"synth data collides: {path}"
    return planted


# The ABI marker is a number, so it is matched as one: not inside a longer number (a timestamp
# such as 06:38:10.391712 holds "0.3917"), but also when written with trailing zeros.
_ABI_NUMBER = re.compile(rb"(?<![\d.])" + re.escape(ABI.encode()) + rb"(?!0*[1-9])")


def _find(raw: bytes, marker: str) -> int:
    """Where `marker` first occurs in `raw` (-1: nowhere)."""
    if marker == ABI:
        match = _ABI_NUMBER.search(raw)
        return -1 if match is None else match.start()
    return raw.find(marker.encode())


def _contains(raw: bytes, marker: str) -> bool:
    return _find(raw, marker) >= 0


def marker_context(data: str | bytes, marker: str, width: int = 40) -> bytes:
    """The bytes around the first `marker` in `data` (synthetic canary data: a failure message
    may show them)."""
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    at = _find(raw, marker)
    return b"" if at < 0 else raw[max(0, at - width) : at + len(marker) + width]


def find_markers(data: str | bytes) -> list[str]:
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    found = [m for m in MARKERS if _contains(raw, m)]
    # base64 of a note travels in the raw resource; catch its encoded form too.
    encoded = base64.b64encode(REST_PAIN.encode()).decode()[:40].encode()
    if encoded in raw:
        found.append("note-base64")
    return found


def file_markers(path: Path) -> list[str]:
    """Markers in one file, decoding the formats a run writes."""
    name = path.name
    if name.endswith(".parquet"):
        frame = pl.read_parquet(path)
        return find_markers(frame.cast(pl.String, strict=False).write_csv())
    if name.endswith((".duckdb", ".db")) and not name.endswith(".wal"):
        with duckdb.connect(str(path), read_only=True) as con:
            tables = [
                r[0]
                for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
            ]
            text = "".join(
                con.sql(f'SELECT * FROM "{t}"').pl().cast(pl.String, strict=False).write_csv()
                for t in tables
            )
        return find_markers(text)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[:2] == b"PK":
        with zipfile.ZipFile(path) as archive:
            raw = b"".join(archive.read(n) for n in archive.namelist())
    return find_markers(raw)


def scan_tree(root: Path, *, skip: tuple[Path, ...] = ()) -> dict[str, list[str]]:
    """{relative path: markers} for every file under `root` not inside a `skip` path."""
    leaks: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if any(path == s or s in path.parents for s in skip):
            continue
        found = file_markers(path)
        if found:
            leaks[str(path.relative_to(root))] = found
    return leaks


def allowed_paths(workdir: Path, store_file: Path | None) -> tuple[Path, ...]:
    """The store and the access-controlled work areas (see module docstring)."""
    paths = [workdir / part for part in ACCESS_CONTROLLED]
    if store_file is not None:
        paths += [
            store_file,
            Path(f"{store_file}-wal"),
            Path(f"{store_file}-shm"),
            Path(f"{store_file}-journal"),
        ]
    return tuple(paths)
