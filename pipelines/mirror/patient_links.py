"""Which Patient records are one person: Patient.link read as FHIR R4 defines it, no I/O.

FHIR R4 ``Patient.link.type`` (http://hl7.org/fhir/R4/codesystem-link-type.html):

- ``replaced-by``: this record is inactive; the linked Patient is the one to use. Authoritative
  here, on the old record.
- ``replaces``: the linked Patient is an old record this one replaced (the survivor's side).
  Counts when the old record says nothing itself.
- ``refer`` and ``seealso``: another record that may or may not be the same person. They never
  merge: screening two people as one would mix their evidence.

`resolve_merges` follows chains (A replaced by B, B by C: A is screened as C). What it cannot
resolve is left as it is (each record screened on its own) with a counted reason: a cycle,
a survivor that is not in the data, an old record pointing at two survivors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class LinkType(StrEnum):
    REPLACED_BY = "replaced-by"
    REPLACES = "replaces"
    REFER = "refer"
    SEEALSO = "seealso"


class MergeProblem(StrEnum):
    """Why a link that would merge was left as it is (the record is screened on its own)."""

    SURVIVOR_MISSING = "survivor_missing"  # replaced-by a Patient not in the data
    CYCLE = "cycle"  # the chain of replacements comes back on itself
    CONFLICT = "conflicting_links"  # replaced by two different survivors


@dataclass(frozen=True, slots=True)
class PatientLink:
    patient_id: str  # the Patient that carries the link
    other_id: str  # the linked Patient
    link_type: str  # a `LinkType` value, or whatever the source sent


@dataclass(frozen=True, slots=True)
class MergeMap:
    """Old patient id -> surviving id (final, chains followed), and the links left as is."""

    survivor: Mapping[str, str] = field(default_factory=dict)
    problems: Mapping[str, MergeProblem] = field(default_factory=dict)  # patient id -> reason

    def problem_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for reason in self.problems.values():
            counts[str(reason)] = counts.get(str(reason), 0) + 1
        return dict(sorted(counts.items()))


# The id of a Patient reference: relative ("Patient/B"), absolute ("https://x/fhir/Patient/B")
# or versioned ("Patient/B/_history/2"). A RelatedPerson (also allowed by R4) is no patient.
_PATIENT_REF = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]*)?$")


def patient_ref_id(reference: object) -> str | None:
    if not isinstance(reference, str):
        return None
    found = _PATIENT_REF.search(reference.strip())
    return found.group(1) if found else None


def links_of(resource: Mapping[str, Any]) -> list[PatientLink]:
    """The links of one Patient resource (parsed JSON); malformed entries are skipped."""
    pid = resource.get("id")
    links = resource.get("link")
    if not isinstance(pid, str) or not isinstance(links, list):
        return []
    out = []
    for link in links:
        if not isinstance(link, dict) or not isinstance(link.get("type"), str):
            continue
        other = link.get("other")
        other_id = patient_ref_id(other.get("reference")) if isinstance(other, dict) else None
        if other_id is not None and other_id != pid:
            out.append(PatientLink(pid, other_id, link["type"]))
    return out


def resolve_merges(links: Iterable[PatientLink], present: Set[str]) -> MergeMap:
    """Map each replaced Patient in `present` (the staged patients) to its final survivor.

    Links carried by patients not in `present` are ignored (that record is gone). An old record
    with a ``replaced-by`` link follows it and nothing else; one without follows the
    ``replaces`` links that survivors carry for it.
    """
    replaced_by: dict[str, set[str]] = {}
    replaces: dict[str, set[str]] = {}
    for link in links:
        if link.patient_id not in present:
            continue
        if link.link_type == LinkType.REPLACED_BY:
            replaced_by.setdefault(link.patient_id, set()).add(link.other_id)
        elif link.link_type == LinkType.REPLACES:
            replaces.setdefault(link.other_id, set()).add(link.patient_id)
    problems: dict[str, MergeProblem] = {}
    step: dict[str, str] = {}
    for old in sorted(set(replaced_by) | (set(replaces) & present)):
        targets = replaced_by.get(old) or replaces[old]
        if len(targets) > 1:
            problems[old] = MergeProblem.CONFLICT
        elif (target := next(iter(targets))) not in present:
            problems[old] = MergeProblem.SURVIVOR_MISSING
        else:
            step[old] = target
    survivor: dict[str, str] = {}
    for old in sorted(step):
        chain, node = [old], step[old]
        while node in step and node not in chain:
            chain.append(node)
            node = step[node]
        if node in chain:  # back on itself: nobody on this chain is merged
            for member in chain:
                problems.setdefault(member, MergeProblem.CYCLE)
        else:
            survivor[old] = node
    return MergeMap(
        {k: v for k, v in survivor.items() if k not in problems}, dict(sorted(problems.items()))
    )
