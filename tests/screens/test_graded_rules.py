# ruff: noqa: E501  (one case per line reads better than wrapped tuples)

"""Graded judgement: facts that last until superseded, treated legs, undated records, coded
timing and panels, clinical status, widened age windows and the stand-alone safety screen.

Positive, negative, boundary and trap cases per behaviour, on staged tables built here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from screens.engine import evaluate_screen, evaluate_screens
from screens.rules import CECS, CLTI, MAY_THURNER, PAD, SCREENS
from tests.screens.tables import abi, condition, mention, tables

AS_OF = date(2026, 6, 30)
PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
CPT = "http://www.ama-assn.org/go/cpt"
LOCAL = "urn:oid:2.16.840.1.113883.19.5.99.7"


def flagged(result: Any) -> set[str]:
    return set(result.items.get_column("patient_id").to_list())


def sided_abi(patient: str, value: float, on: date, side: str, n: int) -> dict[str, Any]:
    return {**abi(patient, value, on, n=n), "laterality": side}


def procedure(
    patient: str,
    system: str,
    code: str,
    display: str,
    on: date | None,
    n: int = 1,
    status: str = "completed",
) -> dict[str, Any]:
    return {
        "patient_id": patient,
        "source_ref": f"Procedure/{patient}-{n}",
        "status": status,
        "system": system,
        "code": code,
        "code_norm": code.replace(".", "").upper(),
        "display": display,
        "performed_on": on,
    }


def people(*rows: tuple[str, date, str]) -> list[dict[str, Any]]:
    return [{"patient_id": p, "birth_date": b, "gender": g} for p, b, g in rows]


# --- facts that last until superseded -------------------------------------------------------


def test_a_newer_normal_abi_on_the_same_side_supersedes_an_older_low_one() -> None:
    t = tables(
        observation=[
            sided_abi("ended", 0.78, date(2025, 3, 1), "right", 1),
            sided_abi("ended", 1.05, date(2026, 2, 1), "right", 2),
            sided_abi("other_side", 0.78, date(2025, 3, 1), "right", 1),
            sided_abi("other_side", 1.05, date(2026, 2, 1), "left", 2),
            sided_abi("older_normal", 1.10, date(2024, 9, 1), "right", 1),
            sided_abi("older_normal", 0.80, date(2025, 3, 1), "right", 2),
        ]
    )
    assert flagged(evaluate_screen(PAD, t, AS_OF)) == {"other_side", "older_normal"}


def test_a_post_exercise_coded_abi_is_not_a_resting_value() -> None:
    post = {
        **abi("p1", 0.62, date(2026, 4, 1)),
        "system": LOCAL,
        "code": "PEABI-R",
        "display": "Post-exercise ABI R (1 min)",
    }
    rest = {
        **abi("p2", 0.62, date(2026, 4, 1)),
        "system": LOCAL,
        "code": "ABI-R",
        "display": "R ABI",
    }
    result = evaluate_screen(PAD, tables(observation=[post, rest]), AS_OF)
    assert flagged(result) == {"p2"}
    assert result.evidence.filter(pl.col("patient_id") == "p2")["laterality"].to_list() == ["right"]


def test_rest_pain_ends_with_a_later_revascularization_not_an_earlier_one() -> None:
    bypass = "Bypass Right Femoral Artery to Popliteal Artery with Autologous Venous Tissue, Open Approach"
    t = tables(
        note_mention=[
            mention("treated", "rest_pain", date(2026, 2, 1)),
            mention("earlier", "rest_pain", date(2026, 5, 1)),
        ],
        procedure=[
            procedure("treated", PCS, "041K09L", bypass, date(2026, 2, 20)),
            procedure("earlier", PCS, "041K09L", bypass, date(2025, 1, 5)),
        ],
    )
    assert flagged(evaluate_screen(CLTI, t, AS_OF)) == {"earlier"}


def test_rest_pain_documented_as_resolved_later_is_over() -> None:
    t = tables(
        note_mention=[
            mention("p1", "rest_pain", date(2026, 3, 1)),
            mention("p1", "rest_pain", date(2026, 5, 1), modifiers="historical", n=2),
        ]
    )
    assert flagged(evaluate_screen(CLTI, t, AS_OF)) == set()


def test_gangrene_ends_on_the_amputated_side_only() -> None:
    t = tables(
        note_mention=[
            mention("same", "gangrene", date(2026, 3, 1), laterality="left"),
            mention(
                "same",
                "amputation",
                date(2026, 3, 20),
                laterality="left",
                modifiers="historical",
                n=2,
            ),
            mention("other", "gangrene", date(2026, 3, 1), laterality="left"),
            mention(
                "other",
                "amputation",
                date(2026, 3, 20),
                laterality="right",
                modifiers="historical",
                n=2,
            ),
        ]
    )
    assert flagged(evaluate_screen(CLTI, t, AS_OF)) == {"other"}


def test_a_resolved_clti_diagnosis_is_not_current() -> None:
    active = condition("active", "I70.222", date(2026, 4, 1))
    resolved = {**condition("resolved", "I70.222", date(2026, 4, 1)), "clinical_status": "resolved"}
    assert flagged(evaluate_screen(CLTI, tables(condition=[active, resolved]), AS_OF)) == {"active"}


# --- a treated leg --------------------------------------------------------------------------


def test_a_fasciotomy_excludes_its_own_leg_and_an_unsided_code_takes_its_twin_side() -> None:
    young = date(2003, 1, 1)
    fasciotomy = [
        procedure(
            "p1",
            CPT,
            "27600",
            "Decompression fasciotomy, leg; anterior and/or lateral",
            date(2025, 6, 10),
            1,
        ),
        procedure(
            "p1",
            PCS,
            "0JNN0ZZ",
            "Release Right Lower Leg Subcutaneous Tissue and Fascia, Open Approach",
            date(2025, 6, 10),
            2,
        ),
    ]
    t = tables(
        patient=people(("p1", young, "male"), ("p2", young, "male")),
        procedure=[
            *fasciotomy,
            *[{**r, "patient_id": "p2", "source_ref": r["source_ref"] + "b"} for r in fasciotomy],
        ],
        note_mention=[
            mention("p1", "exertional_leg_pain", date(2026, 4, 2), laterality="left"),
            mention("p2", "exertional_leg_pain", date(2026, 4, 2), laterality="right"),
        ],
    )
    assert flagged(evaluate_screen(CECS, t, AS_OF)) == {"p1"}


def test_a_fasciotomy_only_planned_is_not_treatment() -> None:
    t = tables(
        patient=people(("p1", date(2004, 5, 5), "male")),
        procedure=[
            procedure(
                "p1", CPT, "27600", "Decompression fasciotomy, leg", None, status="preparation"
            )
        ],
        note_mention=[
            mention("p1", "exertional_leg_pain", date(2026, 5, 6), laterality="bilateral")
        ],
    )
    assert flagged(evaluate_screen(CECS, t, AS_OF)) == {"p1"}


# --- undated records and panels -------------------------------------------------------------


def _with_encounter(
    t: dict[str, pl.DataFrame], condition_encounter: str | None, start: date
) -> dict[str, pl.DataFrame]:
    t = dict(t)
    t["condition"] = t["condition"].with_columns(
        encounter_id=pl.lit(condition_encounter, pl.String)
    )
    t["encounter"] = pl.DataFrame(
        {
            "patient_id": ["p1"],
            "source_ref": ["Encounter/e1"],
            "encounter_id": ["e1"],
            "status": ["finished"],
            "start_on": [start],
            "end_on": [start],
        },
    )
    return t


def test_a_condition_without_a_date_takes_its_encounter_date() -> None:
    t = tables(
        condition=[condition("p1", "I82.422", None)],
        patient=people(("p1", date(1985, 2, 2), "female")),
    )
    dated = _with_encounter(t, "e1", date(2026, 2, 14))
    assert flagged(evaluate_screen(MAY_THURNER, dated, AS_OF)) == {"p1"}
    old = _with_encounter(t, "e1", date(2019, 2, 14))
    assert flagged(evaluate_screen(MAY_THURNER, old, AS_OF)) == set()
    unlinked = _with_encounter(t, None, date(2026, 2, 14))
    assert flagged(evaluate_screen(MAY_THURNER, unlinked, AS_OF)) == set()


def test_panel_components_take_the_panel_concept_and_their_own_timing() -> None:
    panel = {"system": LOCAL, "code": "ICP-LA", "display": "Compartment pressure test, L anterior"}

    def component(name: str, value: float, n: int) -> dict[str, Any]:
        return {
            "patient_id": "p1",
            "source_ref": "Observation/p1-icp",
            "status": "final",
            "system": None,
            "code": None,
            "display": name,
            "effective_on": date(2026, 5, 6),
            "value_num": value,
            "unit": "mm[Hg]",
        }

    t = tables(
        patient=people(("p1", date(2004, 1, 1), "male")),
        observation=[
            component("Pre-exercise", 12, 1),
            component("1 min post-exercise", 36, 2),
            component("5 min post-exercise", 18, 3),
        ],
    )
    obs = t["observation"].with_columns(
        panel_system=pl.lit(panel["system"]),
        panel_code=pl.lit(panel["code"]),
        panel_display=pl.lit(panel["display"]),
    )
    result = evaluate_screen(CECS, {**t, "observation": obs}, AS_OF)
    assert flagged(result) == {"p1"}
    hits = result.evidence.filter(pl.col("role") == "include")
    assert hits["criterion_id"].to_list() == ["cecs.pressure_1min_post_exercise_coded"]
    assert hits["laterality"].to_list() == ["left"]


# --- widened age windows --------------------------------------------------------------------


def test_masters_athletes_count_only_with_a_normal_abi() -> None:
    t = tables(
        patient=people(
            ("with_abi", date(1979, 1, 1), "male"), ("no_abi", date(1979, 1, 1), "male")
        ),
        observation=[abi("with_abi", 1.12, date(2026, 2, 10))],
        note_mention=[
            mention("with_abi", "exertional_leg_pain", date(2026, 2, 24)),
            mention("no_abi", "exertional_leg_pain", date(2026, 2, 24)),
        ],
    )
    assert flagged(evaluate_screen(CECS, t, AS_OF)) == {"with_abi"}


def test_adolescents_with_persistent_left_leg_swelling_are_may_thurner_candidates() -> None:
    t = tables(
        patient=people(("teen", date(2010, 3, 3), "female"), ("child", date(2016, 3, 3), "female")),
        note_mention=[
            mention(p, "leg_swelling", d, laterality="left", n=i)
            for p in ("teen", "child")
            for i, d in enumerate((date(2026, 1, 5), date(2026, 4, 5)))
        ],
    )
    assert flagged(evaluate_screen(MAY_THURNER, t, AS_OF)) == {"teen"}


def test_a_bakers_cyst_explains_swelling_only_of_its_own_leg() -> None:
    rows = []
    for patient, cyst_side in (("same", "left"), ("other", "right")):
        rows += [
            mention(patient, "leg_swelling", date(2026, 1, 5), laterality="left", n=1),
            mention(patient, "leg_swelling", date(2026, 4, 5), laterality="left", n=2),
            mention(patient, "other_swelling_cause", date(2026, 4, 5), laterality=cyst_side, n=3),
        ]
    t = tables(
        note_mention=rows,
        patient=people(("same", date(1990, 1, 1), "female"), ("other", date(1990, 1, 1), "female")),
    )
    assert flagged(evaluate_screen(MAY_THURNER, t, AS_OF)) == {"other"}


# --- the stand-alone safety screen ----------------------------------------------------------


def _compression_rows(patient: str) -> list[dict[str, Any]]:
    return [
        mention(patient, "compression_stockings", date(2026, 6, 1), n=1),
        mention(patient, "abi", date(2026, 5, 20), value=0.44, qualifier="rest", n=2),
    ]


def test_compression_in_known_pad_with_a_very_low_abi_raises_a_safety_item() -> None:
    t = tables(
        note_mention=[*_compression_rows("known"), *_compression_rows("unknown")],
        condition=[condition("known", "I70.213", date(2019, 1, 1))],
    )
    result = evaluate_screens(list(SCREENS.values()), t, AS_OF)
    items = {(r["patient_id"], r["screen"]): r for r in result.items.iter_rows(named=True)}
    assert items[("known", "safety")]["priority"] == "soon"
    assert items[("known", "safety")]["alerts"] == "safety.compression_in_ischemic_limb"
    # Undiagnosed PAD: the pad item carries the same warning, so no second item.
    assert ("unknown", "safety") not in items
    assert "pad.compression_with_abi_below_050" in items[("unknown", "pad")]["alerts"]


def test_known_may_thurner_on_anticoagulation_alone_is_a_safety_item_until_stented() -> None:
    def rows(patient: str) -> list[dict[str, Any]]:
        return [
            mention(
                patient,
                "dvt",
                date(2021, 3, 1),
                laterality="left",
                qualifier="proximal",
                modifiers="historical",
                n=1,
            ),
            mention(patient, "anticoagulation", date(2026, 5, 1), n=2),
        ]

    stented = mention(
        "stented",
        "iliac_vein_stent",
        date(2026, 6, 1),
        laterality="left",
        modifiers="historical",
        n=3,
    )
    t = tables(note_mention=[*rows("open"), *rows("stented"), stented])
    result = evaluate_screens(list(SCREENS.values()), t, AS_OF)
    safety = result.items.filter(pl.col("screen") == "safety")
    assert safety["patient_id"].to_list() == ["open"]
    assert safety["alerts"].to_list() == ["safety.may_thurner_anticoagulation_only"]
