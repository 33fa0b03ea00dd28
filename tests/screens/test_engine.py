from datetime import date

import polars as pl
import pytest

from screens.engine import evaluate_screen, evaluate_screens
from screens.model import EVIDENCE, WORKLIST_ITEM
from screens.rules import CECS, CLTI, MAY_THURNER, PAD
from tests.screens.tables import abi, condition, mention, tables

AS_OF = date(2026, 6, 30)


def flagged(result) -> set[str]:
    return set(result.items.get_column("patient_id").to_list())


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.90, True), (0.89, True), (0.91, False), (1.10, False)],
    ids=["at_threshold", "below", "just_above", "normal"],
)
def test_low_abi_threshold_is_inclusive(value: float, expected: bool) -> None:
    result = evaluate_screen(PAD, tables(observation=[abi("p1", value, date(2026, 5, 1))]), AS_OF)
    assert ("p1" in flagged(result)) is expected


def test_evidence_row_names_criterion_version_and_source() -> None:
    result = evaluate_screen(PAD, tables(observation=[abi("p1", 0.72, date(2026, 5, 1))]), AS_OF)
    row = result.evidence.row(0, named=True)
    assert list(result.evidence.schema) == list(EVIDENCE)
    assert (row["criterion_id"], row["screen_version"], row["source_ref"], row["role"]) == (
        "pad.low_abi",
        PAD.version,
        "Observation/p1-abi-1",
        "include",
    )
    item = result.items.row(0, named=True)
    assert list(result.items.schema) == list(WORKLIST_ITEM)
    assert item["criteria"] == "pad.low_abi" and item["last_evidence_on"] == date(2026, 5, 1)


def test_entered_in_error_and_wrong_unit_results_do_not_flag() -> None:
    rows = [
        abi("p1", 0.5, date(2026, 5, 1), status="entered-in-error"),
        abi("p2", 0.5, date(2026, 5, 1), unit="unit_unrecognized"),
        abi("p3", 0.5, date(2026, 5, 1), unit="mm[Hg]"),
    ]
    assert flagged(evaluate_screen(PAD, tables(observation=rows), AS_OF)) == set()


def test_result_outside_lookback_or_after_as_of_does_not_flag() -> None:
    rows = [abi("p1", 0.6, date(2023, 1, 1)), abi("p2", 0.6, date(2026, 7, 1))]
    assert flagged(evaluate_screen(PAD, tables(observation=rows), AS_OF)) == set()


@pytest.mark.parametrize(
    "code", ["I70.213", "I70213", "E11.51", "I73.9"], ids=["dotted", "undotted", "diabetic", "pvd"]
)
def test_diagnosed_pad_anywhere_in_record_excludes(code: str) -> None:
    t = tables(
        observation=[abi("p1", 0.6, date(2026, 5, 1))],
        condition=[condition("p1", code, date(2001, 1, 1))],
    )
    assert flagged(evaluate_screen(PAD, t, AS_OF)) == set()


def test_icd9_history_code_without_dot_excludes() -> None:
    t = tables(
        observation=[abi("p1", 0.6, date(2026, 5, 1))],
        condition=[condition("p1", "44021", None, system="http://hl7.org/fhir/sid/icd-9-cm")],
    )
    assert flagged(evaluate_screen(PAD, t, AS_OF)) == set()


def test_refuted_diagnosis_does_not_exclude() -> None:
    t = tables(
        observation=[abi("p1", 0.6, date(2026, 5, 1))],
        condition=[condition("p1", "I73.9", date(2020, 1, 1), verification="refuted")],
    )
    assert flagged(evaluate_screen(PAD, t, AS_OF)) == {"p1"}


@pytest.mark.parametrize(
    ("modifiers", "expected"),
    [
        ("", True),
        ("negated", False),
        ("family", False),
        ("hypothetical", False),
        ("historical", False),
        ("uncertain", False),
    ],
    ids=["affirmed", "negated", "family", "hypothetical", "historical", "uncertain"],
)
def test_claudication_note_counts_only_when_affirmed(modifiers: str, expected: bool) -> None:
    t = tables(note_mention=[mention("p1", "claudication", date(2026, 5, 1), modifiers=modifiers)])
    assert ("p1" in flagged(evaluate_screen(PAD, t, AS_OF))) is expected


def test_neurogenic_mimic_removes_symptom_only_flag_but_not_measured_one() -> None:
    t = tables(
        note_mention=[
            mention("p1", "claudication", date(2026, 5, 1)),
            mention("p1", "neurogenic_claudication", date(2026, 5, 1), n=2),
            mention("p2", "claudication", date(2026, 5, 1)),
            mention("p2", "neurogenic_claudication", date(2026, 5, 1), n=2),
        ],
        observation=[abi("p2", 0.7, date(2026, 5, 1))],
    )
    result = evaluate_screen(PAD, t, AS_OF)
    assert flagged(result) == {"p2"}
    assert result.items.row(0, named=True)["mimics"] == "pad.neurogenic_claudication_note"


def test_historical_pad_in_notes_means_already_diagnosed() -> None:
    t = tables(
        observation=[abi("p1", 0.7, date(2026, 5, 1))],
        note_mention=[mention("p1", "pad", date(2026, 5, 1), modifiers="historical")],
    )
    assert flagged(evaluate_screen(PAD, t, AS_OF)) == set()


def test_exercise_drop_of_twenty_percent_flags() -> None:
    t = tables(
        note_mention=[
            mention("p1", "abi", date(2026, 5, 1), value=0.96, qualifier="rest"),
            mention("p1", "abi", date(2026, 5, 1), value=0.61, qualifier="post_exercise"),
            mention("p2", "abi", date(2026, 5, 1), value=1.00, qualifier="rest", n=1),
            mention("p2", "abi", date(2026, 5, 1), value=0.95, qualifier="post_exercise", n=1),
        ]
    )
    assert flagged(evaluate_screen(PAD, t, AS_OF)) == {"p1"}


def test_noncompressible_abi_needs_low_tbi() -> None:
    t = tables(
        note_mention=[
            mention("p1", "abi", date(2026, 5, 1), qualifier="noncompressible"),
            mention("p1", "tbi", date(2026, 5, 1), value=0.48),
            mention("p2", "abi", date(2026, 5, 1), qualifier="noncompressible"),
            mention("p2", "tbi", date(2026, 5, 1), value=0.85),
        ]
    )
    assert flagged(evaluate_screen(PAD, t, AS_OF)) == {"p1"}


@pytest.mark.parametrize(
    ("concept", "value", "expected"),
    [
        ("toe_pressure", 29.0, True),
        ("toe_pressure", 30.0, False),
        ("tcpo2", 18.0, True),
        ("ankle_pressure", 49.0, True),
        ("ankle_pressure", 50.0, False),
        ("abi", 0.39, True),
        ("abi", 0.40, False),
    ],
    ids=["toe_29", "toe_30", "tcpo2_18", "ankle_49", "ankle_50", "abi_039", "abi_040"],
)
def test_clti_hemodynamic_thresholds_are_strict(concept: str, value: float, expected: bool) -> None:
    t = tables(note_mention=[mention("p1", concept, date(2026, 5, 1), value=value)])
    assert ("p1" in flagged(evaluate_screen(CLTI, t, AS_OF))) is expected


def test_clti_flags_even_when_pad_is_diagnosed_and_is_urgent() -> None:
    t = tables(
        note_mention=[mention("p1", "rest_pain", date(2026, 6, 1))],
        condition=[condition("p1", "I70.213", date(2019, 1, 1))],
    )
    result = evaluate_screen(CLTI, t, AS_OF)
    assert result.items.row(0, named=True)["priority"] == "urgent"


def test_clti_ulcer_needs_arterial_evidence() -> None:
    t = tables(
        condition=[
            condition("p1", "L97.421", date(2026, 6, 1)),
            condition("p2", "L97.421", date(2026, 6, 1)),
        ],
        observation=[abi("p2", 0.7, date(2026, 6, 1))],
    )
    assert flagged(evaluate_screen(CLTI, t, AS_OF)) == {"p2"}


def test_compression_with_clti_raises_alert() -> None:
    t = tables(
        note_mention=[
            mention("p1", "rest_pain", date(2026, 6, 1)),
            mention("p1", "compression_stockings", date(2026, 6, 2), n=2),
        ]
    )
    result = evaluate_screen(CLTI, t, AS_OF)
    assert result.items.row(0, named=True)["alerts"] == "clti.compression_with_clti"
    assert "alert" in result.evidence.get_column("role").to_list()


def test_left_iliofemoral_dvt_flags_right_does_not_and_acute_is_soon() -> None:
    t = tables(
        condition=[
            condition("p1", "I82.422", date(2026, 6, 20)),
            condition("p2", "I82.421", date(2026, 6, 20)),
            condition("p3", "I82.512", date(2025, 6, 20)),
        ]
    )
    result = evaluate_screen(MAY_THURNER, t, AS_OF)
    assert flagged(result) == {"p1", "p3"}
    assert dict(result.items.select("patient_id", "priority").iter_rows()) == {
        "p1": "soon",
        "p3": "routine",
    }


def test_iliac_vein_stent_excludes_may_thurner() -> None:
    t = tables(
        condition=[condition("p1", "I82.422", date(2026, 6, 20))],
        procedure=[
            {
                "patient_id": "p1",
                "source_ref": "Procedure/s1",
                "status": "completed",
                "system": "http://www.cms.gov/Medicare/Coding/ICD10",
                "code": "067D3DZ",
                "code_norm": "067D3DZ",
                "display": "",
                "performed_on": date(2021, 1, 1),
            }
        ],
    )
    assert flagged(evaluate_screen(MAY_THURNER, t, AS_OF)) == set()


def test_young_left_swelling_needs_persistence_and_no_other_cause() -> None:
    young = date(1996, 1, 1)
    patients = [
        {"patient_id": p, "birth_date": young, "gender": "female"} for p in ("p1", "p2", "p3")
    ]
    t = tables(
        patient=patients,
        note_mention=[
            mention("p1", "leg_swelling", date(2026, 3, 1), laterality="left"),
            mention("p1", "leg_swelling", date(2026, 5, 1), laterality="left", n=2),
            mention("p2", "leg_swelling", date(2026, 5, 1), laterality="left"),
            mention("p3", "leg_swelling", date(2026, 3, 1), laterality="left"),
            mention("p3", "leg_swelling", date(2026, 5, 1), laterality="left", n=2),
            mention("p3", "cellulitis", date(2026, 5, 1), n=3),
        ],
    )
    assert flagged(evaluate_screen(MAY_THURNER, t, AS_OF)) == {"p1"}


@pytest.mark.parametrize(
    ("qualifier", "value", "expected"),
    [
        ("pre_exercise:anterior", 15.0, True),
        ("pre_exercise:anterior", 14.0, False),
        ("post_exercise_1min:deep posterior", 30.0, True),
        ("post_exercise_1min", 29.0, False),
        ("post_exercise_5min", 20.0, True),
        ("post_exercise_5min", 19.0, False),
    ],
    ids=["pre_15", "pre_14", "1min_30", "1min_29", "5min_20", "5min_19"],
)
def test_cecs_pedowitz_boundaries(qualifier: str, value: float, expected: bool) -> None:
    t = tables(
        note_mention=[
            mention(
                "p1", "compartment_pressure", date(2026, 5, 1), value=value, qualifier=qualifier
            )
        ]
    )
    assert ("p1" in flagged(evaluate_screen(CECS, t, AS_OF))) is expected


def test_cecs_needs_youth_and_no_pad_evidence() -> None:
    patients = [
        {"patient_id": "young", "birth_date": date(2004, 1, 1), "gender": "female"},
        {"patient_id": "old", "birth_date": date(1958, 1, 1), "gender": "male"},
        {"patient_id": "young_pad", "birth_date": date(2004, 1, 1), "gender": "male"},
    ]
    t = tables(
        patient=patients,
        note_mention=[
            mention("young", "exertional_leg_pain", date(2026, 5, 1)),
            mention("old", "exertional_leg_pain", date(2026, 5, 1)),
            mention("young_pad", "exertional_leg_pain", date(2026, 5, 1)),
            mention("young_pad", "abi", date(2026, 5, 1), value=0.6, n=2),
        ],
    )
    assert flagged(evaluate_screen(CECS, t, AS_OF)) == {"young"}


def test_undated_rows_are_skipped_by_windowed_criteria_and_counted() -> None:
    result = evaluate_screen(PAD, tables(observation=[abi("p1", 0.6, None)]), AS_OF)  # type: ignore[arg-type]
    assert flagged(result) == set()
    assert result.undated_skipped["pad.low_abi"] == 1


def test_evaluation_is_deterministic_across_screens() -> None:
    t = tables(observation=[abi(f"p{i}", 0.5 + i / 100, date(2026, 5, 1)) for i in range(30)])
    first = evaluate_screens([PAD, CLTI, MAY_THURNER, CECS], t, AS_OF)
    second = evaluate_screens([PAD, CLTI, MAY_THURNER, CECS], t, AS_OF)
    assert first.items.equals(second.items) and first.evidence.equals(second.evidence)
    assert first.items.filter(pl.col("screen") == "clti").height == 0


def test_current_cecs_mention_is_not_already_known_but_history_is() -> None:
    patients = [
        {"patient_id": p, "birth_date": date(2004, 1, 1), "gender": "female"}
        for p in ("now", "past")
    ]
    t = tables(
        patient=patients,
        note_mention=[
            mention("now", "exertional_leg_pain", date(2026, 5, 1)),
            mention("now", "cecs", date(2026, 5, 1), n=2),
            mention("past", "exertional_leg_pain", date(2026, 5, 1)),
            mention("past", "cecs", date(2026, 5, 1), modifiers="historical", n=2),
        ],
    )
    assert flagged(evaluate_screen(CECS, t, AS_OF)) == {"now"}


def test_known_compression_without_a_stent_still_flags_and_a_stent_excludes() -> None:
    # A documented May-Thurner left unstented is the seed's pitfall, not "already managed".
    t = tables(
        note_mention=[
            mention("now", "iliac_vein_compression", date(2026, 5, 1), laterality="left"),
            mention("past", "iliac_vein_compression", date(2026, 5, 1), laterality="left"),
            mention(
                "past", "iliac_vein_compression", date(2026, 5, 1), modifiers="historical", n=2
            ),
            mention("stented", "iliac_vein_compression", date(2026, 5, 1), laterality="left"),
            mention("stented", "iliac_vein_stent", date(2026, 5, 2), modifiers="historical", n=2),
        ]
    )
    assert flagged(evaluate_screen(MAY_THURNER, t, AS_OF)) == {"now", "past"}


def test_cecs_ruled_out_in_a_note_excludes() -> None:
    patients = [{"patient_id": "p1", "birth_date": date(2004, 1, 1), "gender": "female"}]
    t = tables(
        patient=patients,
        note_mention=[
            mention("p1", "exertional_leg_pain", date(2026, 3, 1)),
            mention("p1", "cecs", date(2026, 5, 1), modifiers="negated", n=2),
        ],
    )
    assert flagged(evaluate_screen(CECS, t, AS_OF)) == set()


@pytest.mark.parametrize(
    ("value", "alert"), [(0.49, True), (0.50, False)], ids=["below_050", "at_050"]
)
def test_compression_with_very_low_abi_raises_pad_alert(value: float, alert: bool) -> None:
    t = tables(
        observation=[abi("p1", value, date(2026, 5, 1))],
        note_mention=[mention("p1", "compression_stockings", date(2026, 6, 1))],
    )
    item = evaluate_screen(PAD, t, AS_OF).items.row(0, named=True)
    assert (item["alerts"] == "pad.compression_with_abi_below_050") is alert


@pytest.mark.parametrize(
    ("modifiers", "clti_flag", "pad_known"),
    [("", True, True), ("historical", False, True), ("negated", False, False)],
    ids=["current", "history", "negated"],
)
def test_named_clti_in_notes(modifiers: str, clti_flag: bool, pad_known: bool) -> None:
    t = tables(
        observation=[abi("p1", 0.7, date(2026, 5, 1))],
        note_mention=[mention("p1", "clti", date(2026, 6, 1), modifiers=modifiers)],
    )
    assert ("p1" in flagged(evaluate_screen(CLTI, t, AS_OF))) is clti_flag
    assert ("p1" in flagged(evaluate_screen(PAD, t, AS_OF))) is not pad_known


def _named(
    patient: str,
    display: str,
    *,
    system: str = "http://example.org/local-codes",
    code: str = "L1",
    n: int = 1,
) -> dict[str, object]:
    row = condition(patient, code, date(2026, 5, 1), system=system, n=n)
    return {**row, "display": display}


@pytest.mark.parametrize(
    ("display", "excluded"),
    [
        ("Peripheral arterial disease", True),
        ("Atherosclerosis of native arteries of left leg", True),
        ("Peripheral neuropathy", False),
        ("Posterior vitreous detachment (PVD)", False),
    ],
    ids=["pad_name", "atherosclerosis_name", "neuropathy", "pvd_eye"],
)
def test_uncoded_diagnosis_is_read_by_its_name(display: str, excluded: bool) -> None:
    t = tables(observation=[abi("p1", 0.7, date(2026, 5, 1))], condition=[_named("p1", display)])
    assert ("p1" not in flagged(evaluate_screen(PAD, t, AS_OF))) is excluded


def test_locally_coded_abi_named_in_display_and_sent_as_string_is_read() -> None:
    row = abi("p1", 0.0, date(2026, 5, 1))
    row.update(
        system="http://example.org/lab",
        code="VL-17",
        display="Ankle Brachial Index (left)",
        value_num=None,
        value_str="0.62",
        unit=None,
    )
    pressure = abi("p2", 0.0, date(2026, 5, 1))
    pressure.update(
        system="http://example.org/lab",
        code="VL-18",
        display="Toe pressure",
        value_num=None,
        value_str="22",
        unit=None,
    )
    t = tables(observation=[row, pressure])
    assert flagged(evaluate_screen(PAD, t, AS_OF)) == {"p1"}
    assert flagged(evaluate_screen(CLTI, t, AS_OF)) == set()  # a pressure needs its unit


@pytest.mark.parametrize(
    ("display", "expected"),
    [
        ("Acute deep vein thrombosis of left femoral vein", True),
        ("Acute deep vein thrombosis of right femoral vein", False),
        ("Left popliteal vein thrombosis", False),
    ],
    ids=["left_femoral", "right_femoral", "left_popliteal_single"],
)
def test_uncoded_dvt_is_read_by_side_and_vein(display: str, expected: bool) -> None:
    t = tables(condition=[_named("p1", display)])
    assert ("p1" in flagged(evaluate_screen(MAY_THURNER, t, AS_OF))) is expected


def test_uncoded_pressure_ulcer_is_not_tissue_loss_but_toe_gangrene_is() -> None:
    t = tables(
        condition=[
            _named("p1", "Pressure ulcer of left heel"),
            _named("p2", "Gangrene of right great toe"),
        ],
        observation=[abi("p1", 0.7, date(2026, 5, 1)), abi("p2", 0.7, date(2026, 5, 1))],
    )
    assert flagged(evaluate_screen(CLTI, t, AS_OF)) == {"p2"}


def test_evidence_rows_tied_on_their_source_come_out_in_one_order() -> None:
    # The left and right ABI of one Observation share patient, criterion and source: the order
    # of the rows must not depend on the order they were staged in.
    left = abi("p1", 0.62, date(2026, 5, 1)) | {"laterality": "left"}
    right = abi("p1", 0.71, date(2026, 5, 1)) | {"laterality": "right"}
    one = evaluate_screen(PAD, tables(observation=[left, right]), AS_OF).evidence
    other = evaluate_screen(PAD, tables(observation=[right, left]), AS_OF).evidence
    assert one.height == 2
    assert one.equals(other)
    assert one.get_column("laterality").to_list() == ["left", "right"]
