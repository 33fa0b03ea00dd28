"""Measured values: one mention per value with laterality, qualifier and UCUM unit."""

# ruff: noqa: E501  (one pattern or case per line reads better than regexes split mid-token)

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from screens.model import STG_NOTE_MENTION
from screens.notes import extract_mention_frame, extract_mentions

Row = tuple[str, str, float | None, str | None, str | None, str]

# fmt: off
CASES: list[tuple[str, str, list[Row]]] = [
    ('resting_abi_sides', 'Resting ABI: right 0.72, left 0.95.', [
        ('abi', '0.72', 0.72, 'right', 'rest', '1'),
        ('abi', '0.95', 0.95, 'left', 'rest', '1'),
    ]),
    ('abi_value_then_side', 'ABI 0.58 right, 0.91 left.', [
        ('abi', '0.58', 0.58, 'right', 'rest', '1'),
        ('abi', '0.91', 0.91, 'left', 'rest', '1'),
    ]),
    ('noncompressible_and_tbi', 'ABI 1.52 bilaterally (noncompressible); TBI 0.48 right, 0.55 left.', [
        ('abi', '1.52', 1.52, 'bilateral', 'noncompressible', '1'),
        ('tbi', '0.48', 0.48, 'right', 'rest', '1'),
        ('tbi', '0.55', 0.55, 'left', 'rest', '1'),
    ]),
    ('exercise_abi', 'Exercise treadmill test: ABI fell from 0.96 at rest to 0.61 at 1 minute.', [
        ('abi', '0.96', 0.96, None, 'rest', '1'),
        ('abi', '0.61', 0.61, None, 'post_exercise', '1'),
    ]),
    ('abi_greater_than', 'ABI >1.40 bilaterally.', [
        ('abi', '>1.40', None, 'bilateral', 'noncompressible', '1'),
    ]),
    ('incompressible_word', 'Tibial vessels incompressible, ABI not calculated.', [
        ('abi', 'incompressible', None, None, 'noncompressible', '1'),
    ]),
    ('calcified', 'ABI unreliable due to calcification.', [
        ('abi', 'calcification', None, None, 'noncompressible', '1'),
    ]),
    ('toe_pressure', 'Toe pressure 22 mmHg.', [
        ('toe_pressure', '22', 22.0, None, 'rest', 'mm[Hg]'),
    ]),
    ('tcpo2_and_ankle', 'TcPO2 at the left forefoot 18 mmHg; ankle pressure 44 mmHg.', [
        ('tcpo2', '18', 18.0, 'left', 'rest', 'mm[Hg]'),
        ('ankle_pressure', '44', 44.0, 'left', 'rest', 'mm[Hg]'),
    ]),
    ('compartment_series', 'Compartment pressures, left anterior: 18 mmHg pre-exercise, 42 at 1 minute, 26 at 5 minutes after treadmill.', [
        ('compartment_pressure', '18', 18.0, 'left', 'pre_exercise:anterior', 'mm[Hg]'),
        ('compartment_pressure', '42', 42.0, 'left', 'post_exercise_1min:anterior', 'mm[Hg]'),
        ('compartment_pressure', '26', 26.0, 'left', 'post_exercise_5min:anterior', 'mm[Hg]'),
    ]),
    ('compartment_one_minute', 'Deep posterior compartment pain with running; 1-minute post-exercise pressure 35 mmHg (deep posterior).', [
        ('compartment_pressure', '35', 35.0, None, 'post_exercise_1min:deep_posterior', 'mm[Hg]'),
    ]),
    ('tbi_and_toe_pressure', 'TBI 0.82, toe pressure 95 mmHg.', [
        ('tbi', '0.82', 0.82, None, 'rest', '1'),
        ('toe_pressure', '95', 95.0, None, 'rest', 'mm[Hg]'),
    ]),
    ('velocity_rejected', 'SFA PSV 1.2 m/s; ABI 0.90 left.', [
        ('abi', '0.90', 0.9, 'left', 'rest', '1'),
    ]),
    ('list_marker_rejected', 'ABI: 1) right 0.80 2) left 0.70.', [
        ('abi', '0.80', 0.8, 'right', 'rest', '1'),
        ('abi', '0.70', 0.7, 'left', 'rest', '1'),
    ]),
    ('plaque_size_rejected', 'Plaque 2 x 3 mm; ABI 0.85 left.', [
        ('abi', '0.85', 0.85, 'left', 'rest', '1'),
    ]),
    ('percent_rejected', 'ABI 0.88 right with 50% SFA stenosis.', [
        ('abi', '0.88', 0.88, 'right', 'rest', '1'),
    ]),
    ('on_the_side', 'Ankle-brachial index was 0.45 on the right and 0.88 on the left.', [
        ('abi', '0.45', 0.45, 'right', 'rest', '1'),
        ('abi', '0.88', 0.88, 'left', 'rest', '1'),
    ]),
    ('parenthesised_side', 'The ankle-brachial indices were 0.62 (right) and 0.71 (left).', [
        ('abi', '0.62', 0.62, 'right', 'rest', '1'),
        ('abi', '0.71', 0.71, 'left', 'rest', '1'),
    ]),
    ('respectively', 'ABIs were 0.50 and 0.60 on the right and left, respectively.', [
        ('abi', '0.50', 0.5, 'right', 'rest', '1'),
        ('abi', '0.60', 0.6, 'left', 'rest', '1'),
    ]),
    ('intramuscular_rest_and_one_minute', 'Intramuscular pressures of the anterior compartment were 35 mmHg at rest and 60 mmHg one minute after exercise.', [
        ('compartment_pressure', '35', 35.0, None, 'pre_exercise:anterior', 'mm[Hg]'),
        ('compartment_pressure', '60', 60.0, None, 'post_exercise_1min:anterior', 'mm[Hg]'),
    ]),
    ('transcutaneous_words', 'Transcutaneous oxygen pressure was 12 mmHg at the dorsum of the foot.', [
        ('tcpo2', '12', 12.0, None, 'rest', 'mm[Hg]'),
    ]),
    ('brain_injury_no_value', 'TBI 2015 after a fall, headaches since.', []),
]
# fmt: on


def _values(text: str) -> list[Row]:
    measured = {"abi", "tbi", "toe_pressure", "ankle_pressure", "tcpo2", "compartment_pressure"}
    return [
        (
            m.concept.value,
            text[m.span_start : m.span_end],
            m.value,
            m.laterality,
            m.qualifier,
            m.unit or "",
        )
        for m in extract_mentions(text)
        if m.concept.value in measured
    ]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_values_extracted_one_per_number(text: str, expected: list[Row]) -> None:
    assert _values(text) == expected


def test_measured_value_is_not_negated_by_an_earlier_clause() -> None:
    text = "Denies neurogenic symptoms; ABI 0.65."
    [m] = [m for m in extract_mentions(text) if m.concept.value == "abi"]
    assert (m.value, m.modifiers) == (0.65, frozenset())


@pytest.mark.parametrize(
    ("text", "span", "laterality", "qualifier"),
    [
        ("Left iliofemoral DVT.", "iliofemoral DVT", "left", "proximal"),
        ("Right popliteal DVT after knee arthroscopy, provoked.", "DVT", "right", "distal"),
        (
            "Chronic nonocclusive thrombus in the left CFV.",
            "Chronic nonocclusive thrombus in the left CFV",
            "left",
            "proximal:chronic",
        ),
        ("New left iliofemoral DVT confirmed.", "iliofemoral DVT", "left", "proximal:acute"),
    ],
    ids=["iliofemoral_left_proximal", "popliteal_right_distal", "cfv_chronic", "acute"],
)
def test_dvt_has_side_and_level(text: str, span: str, laterality: str, qualifier: str) -> None:
    [m] = [m for m in extract_mentions(text) if m.concept.value == "dvt"]
    assert (text[m.span_start : m.span_end], m.laterality, m.qualifier) == (
        span,
        laterality,
        qualifier,
    )


def test_leg_swelling_takes_the_side_of_its_clause() -> None:
    text = "He reports left leg swelling; right leg normal."
    [m] = [m for m in extract_mentions(text) if m.concept.value == "leg_swelling"]
    assert (text[m.span_start : m.span_end], m.laterality) == ("leg swelling", "left")


def test_mention_frame_matches_contract_and_is_ordered() -> None:
    notes = pl.DataFrame(
        {
            "patient_id": ["p2", "p1"],
            "source_ref": ["DocumentReference/b", "DocumentReference/a"],
            "note_on": [dt.date(2025, 1, 2), dt.date(2025, 1, 1)],
            "note_type": ["progress", "progress"],
            "text": ["Denies claudication.\nABI 0.58 right, 0.91 left.", "No complaints."],
        }
    )
    frame = extract_mention_frame(notes)
    assert frame.schema == pl.Schema(STG_NOTE_MENTION)
    assert frame.select("source_ref", "concept", "modifiers", "value", "snippet").rows() == [
        ("DocumentReference/b", "claudication", "negated", None, "Denies claudication."),
        ("DocumentReference/b", "abi", "", 0.58, "ABI 0.58 right, 0.91 left."),
        ("DocumentReference/b", "abi", "", 0.91, "ABI 0.58 right, 0.91 left."),
    ]


def test_sections_come_from_headers() -> None:
    text = "# Family History\nPAD in father.\n\n# Assessment and Plan\nClaudication at two blocks."
    got = {(m.concept.value, m.section, tuple(sorted(m.modifiers))) for m in extract_mentions(text)}
    assert got == {
        ("pad", "family_history", ("family",)),
        ("claudication", "assessment_and_plan", ()),
    }


def test_screens_notes_does_not_import_pipelines() -> None:
    import pathlib

    root = pathlib.Path(__file__).parents[3] / "screens" / "notes"
    for path in root.glob("*.py"):
        assert "pipelines" not in path.read_text(), path.name
