"""Patient.link resolution: which records merge, chains, and what is left as it is."""

from __future__ import annotations

import pytest

from pipelines.mirror.patient_links import (
    MergeProblem,
    PatientLink,
    links_of,
    patient_ref_id,
    resolve_merges,
)


def _link(pid: str, other: str, kind: str) -> PatientLink:
    return PatientLink(pid, other, kind)


def test_replaced_by_on_the_old_record_merges_it_into_the_survivor() -> None:
    merges = resolve_merges([_link("old", "new", "replaced-by")], {"old", "new"})
    assert dict(merges.survivor) == {"old": "new"}
    assert not merges.problems


def test_replaces_on_the_survivor_alone_also_merges() -> None:
    merges = resolve_merges([_link("new", "old", "replaces")], {"old", "new"})
    assert dict(merges.survivor) == {"old": "new"}


@pytest.mark.parametrize("kind", ["seealso", "refer", "unknown-type"], ids=str)
def test_seealso_and_refer_links_never_merge(kind: str) -> None:
    merges = resolve_merges([_link("a", "b", kind), _link("b", "a", kind)], {"a", "b"})
    assert not merges.survivor and not merges.problems


def test_replaced_by_is_authoritative_over_a_replaces_claim_by_another_record() -> None:
    links = [_link("old", "new", "replaced-by"), _link("other", "old", "replaces")]
    merges = resolve_merges(links, {"old", "new", "other"})
    assert dict(merges.survivor) == {"old": "new"}


def test_a_chain_is_followed_to_its_final_survivor() -> None:
    links = [_link("a", "b", "replaced-by"), _link("b", "c", "replaced-by")]
    merges = resolve_merges(links, {"a", "b", "c"})
    assert dict(merges.survivor) == {"a": "c", "b": "c"}


def test_a_cycle_is_left_as_is_with_its_reason_and_does_not_hang() -> None:
    links = [
        _link("a", "b", "replaced-by"),
        _link("b", "c", "replaced-by"),
        _link("c", "b", "replaced-by"),
        _link("x", "y", "replaced-by"),
    ]
    merges = resolve_merges(links, {"a", "b", "c", "x", "y"})
    assert dict(merges.survivor) == {"x": "y"}
    assert dict(merges.problems) == {
        "a": MergeProblem.CYCLE,
        "b": MergeProblem.CYCLE,
        "c": MergeProblem.CYCLE,
    }
    assert merges.problem_counts() == {"cycle": 3}


def test_a_link_to_a_patient_not_in_the_data_is_left_as_is_and_counted() -> None:
    merges = resolve_merges([_link("old", "gone", "replaced-by")], {"old"})
    assert not merges.survivor
    assert merges.problem_counts() == {"survivor_missing": 1}


def test_a_chain_stops_at_the_last_record_in_the_data() -> None:
    links = [_link("a", "b", "replaced-by"), _link("b", "gone", "replaced-by")]
    merges = resolve_merges(links, {"a", "b"})
    assert dict(merges.survivor) == {"a": "b"}
    assert merges.problem_counts() == {"survivor_missing": 1}


def test_two_survivors_for_one_record_are_a_conflict() -> None:
    links = [_link("old", "b", "replaced-by"), _link("old", "c", "replaced-by")]
    merges = resolve_merges(links, {"old", "b", "c"})
    assert not merges.survivor
    assert dict(merges.problems) == {"old": MergeProblem.CONFLICT}


def test_links_of_a_record_no_longer_in_the_data_are_ignored() -> None:
    merges = resolve_merges([_link("deleted", "new", "replaced-by")], {"new"})
    assert not merges.survivor and not merges.problems


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("Patient/b-1", "b-1"),
        ("https://ehr.example/fhir/Patient/b.2", "b.2"),
        ("Patient/b3/_history/4", "b3"),
        ("RelatedPerson/r1", None),
        ("", None),
        (None, None),
    ],
    ids=["relative", "absolute", "versioned", "related-person", "empty", "none"],
)
def test_patient_reference_ids(reference: object, expected: str | None) -> None:
    assert patient_ref_id(reference) == expected


def test_links_of_reads_a_patient_resource_and_skips_malformed_entries() -> None:
    resource = {
        "resourceType": "Patient",
        "id": "old",
        "active": False,
        "link": [
            {"other": {"reference": "Patient/new"}, "type": "replaced-by"},
            {"other": {"reference": "Patient/old"}, "type": "seealso"},  # itself
            {"other": {"display": "no reference"}, "type": "refer"},
            {"type": "replaced-by"},
            "not an object",
        ],
    }
    assert links_of(resource) == [PatientLink("old", "new", "replaced-by")]
