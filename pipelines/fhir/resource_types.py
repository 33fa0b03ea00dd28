"""The resource types a pull asks for, and the SMART scopes that read exactly those.

Oracle Health grants per-type system scopes only and refuses the wildcard ``system/*.read``; a
per-type scope list is also the least a site's security office has to approve.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

DEFAULT_TYPES: tuple[str, ...] = (
    "Patient",
    "Condition",
    "Observation",
    "Procedure",
    "MedicationRequest",
    "Encounter",
    "DocumentReference",
    "DiagnosticReport",
)
NOTE_TYPES = frozenset({"DocumentReference", "DiagnosticReport"})
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]{1,63}")


class ScopeVersion(StrEnum):
    """SMART App Launch scope syntax: v1 ``system/T.read``, v2 ``system/T.rs`` (read + search)."""

    V1 = "v1"
    V2 = "v2"


def parse_types(value: str) -> tuple[str, ...]:
    """Comma-separated resource types (empty: the defaults); Patient is always included.

    Raises:
        ValueError: a name that is not a FHIR resource type name (no value is echoed but the name).
    """
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        return DEFAULT_TYPES
    for name in names:
        if not _TYPE_NAME.fullmatch(name):
            raise ValueError(f"not a FHIR resource type name: {name[:40]!r}")
    ordered = ["Patient", *(n for n in names if n != "Patient")]
    return tuple(dict.fromkeys(ordered))


def smart_scopes(
    types: Sequence[str], version: ScopeVersion = ScopeVersion.V1, *, group: bool = False
) -> str:
    """Per-type system read scopes for ``types`` (plus Binary for notes, Group for a group)."""
    wanted = list(dict.fromkeys(types))
    if NOTE_TYPES.intersection(wanted):
        wanted.append("Binary")  # url-only note attachments are read from Binary
    if group:
        wanted.append("Group")  # search mode reads the Group's members
    suffix = "read" if version is ScopeVersion.V1 else "rs"
    return " ".join(f"system/{t}.{suffix}" for t in dict.fromkeys(wanted))
