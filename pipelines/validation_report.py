"""`vascreen validate FILE`: full R4 validation of one file, for people preparing data.

Unlike the nightly landing (cheap checks on every resource, full validation on a sample), this
validates every resource. Output names resource type, id, location and the failing field paths.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from pipelines.errors import SourceError
from pipelines.fhir.validate import validate_resource


def _resources(path: Path) -> Iterator[tuple[str, dict[str, Any] | None]]:
    opener = gzip.open if path.suffix == ".gz" else open
    name = path.name.removesuffix(".gz")
    with opener(path, "rb") as handle:
        if name.endswith(".ndjson"):
            for line_no, line in enumerate(handle, start=1):
                if line.strip():
                    yield from _parsed(line, f"{path.name}:{line_no}")
            return
        yield from _parsed(handle.read(), f"{path.name}")


def _parsed(raw: bytes, where: str) -> Iterator[tuple[str, dict[str, Any] | None]]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        yield where, None
        return
    if isinstance(value, dict) and value.get("resourceType") == "Bundle":
        for index, entry in enumerate(value.get("entry") or []):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            yield f"{where}#entry[{index}]", resource if isinstance(resource, dict) else None
        return
    yield where, value if isinstance(value, dict) else None


def validate_file(path: Path) -> tuple[int, list[tuple[str, str, str, str]]]:
    """(resources checked, [(type, id, where, detail)]). Raises SourceError for a missing file."""
    if not path.is_file():
        raise SourceError(f"{path} is not a file")
    checked, problems = 0, []
    for where, resource in _resources(path):
        checked += 1
        if resource is None:
            problems.append(("?", "?", where, "(root):not_a_json_object"))
            continue
        detail = validate_resource(resource)
        if detail is not None:
            rid = resource.get("id")
            problems.append(
                (
                    str(resource.get("resourceType", "?")),
                    rid if isinstance(rid, str) else "?",
                    where,
                    detail,
                )
            )
    return checked, problems
