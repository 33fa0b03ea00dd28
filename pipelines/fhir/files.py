"""Discover FHIR files in a source directory and re-read individual lines when needed.

A source directory holds Bulk Data NDJSON files (``<Type>.ndjson``, ``<Type>.NNN.ndjson``,
optionally ``.gz``) and/or ``.json`` files, each holding one FHIR Bundle or one resource.
Everything else (``log.ndjson``, ``LICENSE``, subdirectories such as ``_quarantine/``) is
ignored. The bulk of the reading is DuckDB's (see `pipelines.ingest.land`); this module only lists
files and re-reads the few lines DuckDB could not parse, to name them by file:line.
"""

from __future__ import annotations

import gzip
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

import orjson

from pipelines.errors import SourceError
from screens.model import QuarantineReason

# Resource type names are UpperCamelCase; "log.ndjson" and friends do not match.
_NDJSON_NAME = re.compile(r"^(?P<type>[A-Z][A-Za-z]+)(?:\.\d+)?\.ndjson(?:\.gz)?$")
_JSON_NAME = re.compile(r"^.+\.json(?:\.gz)?$")
MAX_LINE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class NdjsonFile:
    path: Path
    resource_type: str  # from the file name; lines are staged by their own resourceType


@dataclass(frozen=True, slots=True)
class SourceFiles:
    ndjson: tuple[NdjsonFile, ...]
    json: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class LineProblem:
    ordinal: int  # 1-based index among non-blank lines (DuckDB's row ordinality)
    line: int  # 1-based physical line number
    reason: QuarantineReason
    detail: str


def discover_source(source: Path) -> SourceFiles:
    """List the FHIR files directly inside `source`, sorted by name.

    Raises:
        SourceError: the directory is missing or unreadable, or holds no FHIR files.
    """
    if not source.is_dir():
        raise SourceError(f"source is not a readable directory: {source}")
    try:
        entries = sorted(p for p in source.iterdir() if p.is_file())
    except OSError as exc:
        raise SourceError(f"cannot list source directory {source}: {exc.strerror}") from None
    ndjson: list[NdjsonFile] = []
    json_files: list[Path] = []
    for path in entries:
        match = _NDJSON_NAME.match(path.name)
        if match:
            ndjson.append(NdjsonFile(path, match["type"]))
        elif _JSON_NAME.match(path.name):
            json_files.append(path)
    if not ndjson and not json_files:
        raise SourceError(f"no FHIR NDJSON or JSON files in {source}")
    return SourceFiles(tuple(ndjson), tuple(json_files))


UTF8_BOM = b"\xef\xbb\xbf"


def without_bom(files: SourceFiles, scratch: Path) -> SourceFiles:
    """The same files, those that begin with a UTF-8 byte-order mark copied into `scratch`
    without it (decompressed if gzipped): DuckDB reads the mark as part of the first record,
    which would then be quarantined. The copies hold PHI: the caller removes `scratch`."""

    def clean(path: Path) -> Path:
        with _open_bytes(path) as fh:
            if fh.read(len(UTF8_BOM)) != UTF8_BOM:
                return path
            scratch.mkdir(parents=True, exist_ok=True)
            target = scratch / path.name.removesuffix(".gz")
            with target.open("wb") as out:
                shutil.copyfileobj(fh, out, 1 << 20)
        return target

    return SourceFiles(
        tuple(NdjsonFile(clean(f.path), f.resource_type) for f in files.ndjson),
        tuple(clean(p) for p in files.json),
    )


def _open_bytes(path: Path) -> IO[bytes]:
    return cast(IO[bytes], gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb"))


def iter_nonblank_lines(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """Yield (ordinal, physical line number, raw line) for every non-blank line.

    DuckDB skips blank lines, so its row ordinality counts non-blank lines only.
    """
    ordinal = 0
    with _open_bytes(path) as fh:
        for line_no, raw in enumerate(fh, start=1):
            if raw.strip():
                ordinal += 1
                yield ordinal, line_no, raw


def classify_line(raw: bytes) -> tuple[QuarantineReason, str]:
    """Explain why a line is not a usable resource. The detail never carries line content."""
    if len(raw) > MAX_LINE_BYTES:
        return QuarantineReason.TOO_LARGE, f"line longer than {MAX_LINE_BYTES} bytes"
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # orjson messages give position and kind, e.g. "unexpected character: line 1 column 9".
        return QuarantineReason.INVALID_JSON, f"JSON parse error at char {exc.pos}"
    if not isinstance(value, dict):
        return QuarantineReason.NOT_A_RESOURCE, f"top-level JSON {type(value).__name__}"
    if not isinstance(value.get("resourceType"), str):
        return QuarantineReason.NOT_A_RESOURCE, "resourceType missing or not a string"
    return QuarantineReason.INVALID_RESOURCE, "resource shape not readable"


def locate_lines(path: Path, ordinals: Iterable[int]) -> list[LineProblem]:
    """Map DuckDB row ordinals of unreadable rows to physical lines, classifying each one."""
    wanted = set(ordinals)
    problems: list[LineProblem] = []
    if not wanted:
        return problems
    last = max(wanted)
    for ordinal, line_no, raw in iter_nonblank_lines(path):
        if ordinal in wanted:
            reason, detail = classify_line(raw)
            problems.append(LineProblem(ordinal, line_no, reason, detail))
        if ordinal >= last:
            break
    return problems


def read_lines_by_ordinal(path: Path, ordinals: Iterable[int]) -> dict[int, tuple[int, bytes]]:
    """Return {ordinal: (line number, raw line)} for the requested non-blank lines."""
    wanted = set(ordinals)
    found: dict[int, tuple[int, bytes]] = {}
    if not wanted:
        return found
    last = max(wanted)
    for ordinal, line_no, raw in iter_nonblank_lines(path):
        if ordinal in wanted:
            found[ordinal] = (line_no, raw)
        if ordinal >= last:
            break
    return found


def json_file_problem(path: Path) -> tuple[QuarantineReason, str]:
    """Explain why a whole ``.json`` file could not be read as one FHIR resource or Bundle."""
    try:
        with _open_bytes(path) as fh:
            raw = fh.read()
    except OSError as exc:
        return QuarantineReason.INVALID_JSON, f"unreadable file: {exc.strerror}"
    return classify_line(raw)
