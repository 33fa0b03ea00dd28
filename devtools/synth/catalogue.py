"""The story catalogue: each planted story, its true labels, cohort share and patient profile.

Labels follow design.md's screen table; pipelines/synth/README.md explains each one.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from devtools.synth import stories_arterial as art
from devtools.synth import stories_venous as ven
from devtools.synth import traps_arterial as ta
from devtools.synth import traps_exertional as tx
from devtools.synth import traps_tissue as tt
from devtools.synth import traps_venous as tv
from devtools.synth.background import Profile
from devtools.synth.chart import Chart

SCREENS: tuple[str, ...] = ("cecs", "clti", "may_thurner", "pad")
BACKGROUND = "background"


@dataclass(frozen=True, slots=True)
class Story:
    id: str
    screens: tuple[str, ...]  # sorted screen ids the patient truly flags for at as_of
    share: float  # fraction of the cohort (for N >= 500)
    profile: Profile
    plant: Callable[[Chart], None] | None
    kind: str  # positive | trap | mimic | background


VASCULAR = Profile(age=(55, 88), risk="vascular")
ELDERLY = Profile(age=(65, 92), risk="vascular")
YOUNG = Profile(age=(16, 34), risk="young_active")
YOUNG_WOMAN = Profile(age=(19, 45), sex="female", risk="general", history_years=(3, 6))
ADULT = Profile(age=(25, 70))
_P, _T, _M = "positive", "trap", "mimic"

STORIES: tuple[Story, ...] = (
    Story("pad_abi_coded", ("pad",), 0.012, VASCULAR, art.plant_pad_abi_coded, _P),
    Story("pad_abi_components", ("pad",), 0.008, VASCULAR, art.plant_pad_abi_components, _P),
    Story("pad_note_abi", ("pad",), 0.012, VASCULAR, art.plant_pad_note_abi, _P),
    Story("pad_claudication_note", ("pad",), 0.014, VASCULAR, art.plant_pad_claudication_note, _P),
    Story(
        "pad_noncompressible_tbi", ("pad",), 0.007, VASCULAR, art.plant_pad_noncompressible_tbi, _P
    ),
    Story(
        "pad_borderline_exertional",
        ("pad",),
        0.007,
        VASCULAR,
        art.plant_pad_borderline_exertional,
        _P,
    ),
    Story("clti_rest_pain", ("clti", "pad"), 0.007, ELDERLY, art.plant_clti_rest_pain, _P),
    Story("clti_gangrene_code", ("clti", "pad"), 0.005, ELDERLY, art.plant_clti_gangrene_code, _P),
    Story(
        "clti_arterial_ulcer", ("clti", "pad"), 0.005, ELDERLY, art.plant_clti_arterial_ulcer, _P
    ),
    Story("clti_hemodynamic", ("clti", "pad"), 0.005, ELDERLY, art.plant_clti_hemodynamic, _P),
    Story("clti_known_pad", ("clti",), 0.008, ELDERLY, art.plant_clti_known_pad, _P),
    Story(
        "mt_left_iliofemoral_dvt",
        ("may_thurner",),
        0.006,
        YOUNG_WOMAN,
        ven.plant_mt_left_iliofemoral_dvt,
        _P,
    ),
    Story(
        "mt_recurrent_left_dvt",
        ("may_thurner",),
        0.005,
        Profile(age=(25, 60)),
        ven.plant_mt_recurrent_left_dvt,
        _P,
    ),
    Story(
        "mt_iliac_compression_imaging",
        ("may_thurner",),
        0.005,
        Profile(age=(20, 60)),
        ven.plant_mt_iliac_compression_imaging,
        _P,
    ),
    Story(
        "mt_persistent_swelling",
        ("may_thurner",),
        0.004,
        YOUNG_WOMAN,
        ven.plant_mt_persistent_swelling,
        _P,
    ),
    Story("cecs_runner", ("cecs",), 0.006, YOUNG, ven.plant_cecs_runner, _P),
    Story(
        "cecs_military",
        ("cecs",),
        0.004,
        Profile(age=(18, 30), risk="young_active"),
        ven.plant_cecs_military,
        _P,
    ),
    Story(
        "cecs_soccer",
        ("cecs",),
        0.004,
        Profile(age=(16, 19), risk="young_active"),
        ven.plant_cecs_soccer,
        _P,
    ),
    Story("cecs_pressures", ("cecs",), 0.006, YOUNG, ven.plant_cecs_pressures, _P),
    # traps and mimics: true label is "not flagged" for every screen
    Story("trap_negated_claudication", (), 0.008, VASCULAR, ta.plant_trap_negated_claudication, _T),
    Story("trap_templated_ros", (), 0.007, VASCULAR, ta.plant_trap_templated_ros, _T),
    Story("trap_family_pad", (), 0.004, ADULT, ta.plant_trap_family_pad, _T),
    Story("mimic_neurogenic", (), 0.008, VASCULAR, ta.plant_mimic_neurogenic, _M),
    Story("mimic_jaw_claudication", (), 0.003, ELDERLY, ta.plant_mimic_jaw_claudication, _M),
    Story("trap_diagnosed_pad", (), 0.010, VASCULAR, ta.plant_trap_diagnosed_pad, _T),
    Story(
        "trap_prior_revascularization",
        (),
        0.004,
        VASCULAR,
        ta.plant_trap_prior_revascularization,
        _T,
    ),
    Story("trap_normal_abi", (), 0.006, VASCULAR, ta.plant_trap_normal_abi, _T),
    Story("trap_entered_in_error_abi", (), 0.003, VASCULAR, ta.plant_trap_entered_in_error_abi, _T),
    Story(
        "trap_old_abi_outside_lookback",
        (),
        0.003,
        Profile(age=(58, 88), risk="vascular", history_years=(6, 8)),
        ta.plant_trap_old_abi_outside_lookback,
        _T,
    ),
    Story("trap_wrong_unit", (), 0.003, VASCULAR, ta.plant_trap_wrong_unit, _T),
    Story(
        "trap_hypothetical_rest_pain", (), 0.003, VASCULAR, tt.plant_trap_hypothetical_rest_pain, _T
    ),
    Story(
        "trap_fournier_gangrene",
        (),
        0.002,
        Profile(age=(45, 80), sex="male"),
        tt.plant_trap_fournier_gangrene,
        _T,
    ),
    Story("trap_venous_stasis_ulcer", (), 0.003, ELDERLY, tt.plant_trap_venous_stasis_ulcer, _T),
    Story(
        "trap_pressure_injury", (), 0.003, Profile(age=(75, 95)), tt.plant_trap_pressure_injury, _T
    ),
    Story("trap_neuropathic_ulcer", (), 0.003, VASCULAR, tt.plant_trap_neuropathic_ulcer, _T),
    Story(
        "trap_traumatic_brain_injury",
        (),
        0.002,
        Profile(age=(20, 60)),
        tt.plant_trap_traumatic_brain_injury,
        _T,
    ),
    Story("trap_right_dvt", (), 0.005, Profile(age=(25, 70)), tv.plant_trap_right_dvt, _T),
    Story("trap_bilateral_chf_edema", (), 0.004, ELDERLY, tv.plant_trap_bilateral_chf_edema, _T),
    Story("trap_mt_stented", (), 0.003, YOUNG_WOMAN, tv.plant_trap_mt_stented, _T),
    Story(
        "trap_cellulitis_left_leg",
        (),
        0.005,
        Profile(age=(30, 80)),
        tv.plant_trap_cellulitis_left_leg,
        _T,
    ),
    Story("trap_rule_out_dvt", (), 0.005, Profile(age=(20, 70)), tv.plant_trap_rule_out_dvt, _T),
    Story(
        "trap_mesial_temporal_sclerosis",
        (),
        0.002,
        YOUNG_WOMAN,
        tv.plant_trap_mesial_temporal_sclerosis,
        _T,
    ),
    Story("mimic_eamc", (), 0.004, YOUNG, tx.plant_mimic_eamc, _M),
    Story("mimic_mtss", (), 0.004, YOUNG, tx.plant_mimic_mtss, _M),
    Story(
        "trap_acute_compartment",
        (),
        0.002,
        Profile(age=(18, 35)),
        tx.plant_trap_acute_compartment,
        _T,
    ),
    Story("trap_cecs_treated", (), 0.002, YOUNG, tx.plant_trap_cecs_treated, _T),
    Story(
        "mimic_nocturnal_cramps",
        (),
        0.003,
        Profile(age=(55, 85)),
        tx.plant_mimic_nocturnal_cramps,
        _M,
    ),
    Story(
        "mimic_radiculopathy", (), 0.003, Profile(age=(30, 70)), tx.plant_mimic_radiculopathy, _M
    ),
)
BACKGROUND_STORY = Story(BACKGROUND, (), 0.0, Profile(), None, "background")
STORY_BY_ID: dict[str, Story] = {s.id: s for s in (*STORIES, BACKGROUND_STORY)}


def allocate_stories(n_patients: int, seed: int) -> list[Story]:
    """One story per patient index: planted counts from the shares, rest background, shuffled.

    When the cohort is large enough (4 patients per story), every story gets at least one
    patient, so small test cohorts still contain every screen and trap.
    """
    floor_one = n_patients >= 4 * len(STORIES)
    slots: list[Story] = []
    for story in STORIES:
        count = int(story.share * n_patients + 0.5)
        slots.extend([story] * max(count, 1 if floor_one else 0))
    slots = slots[:n_patients]
    slots.extend([BACKGROUND_STORY] * (n_patients - len(slots)))
    # Not cryptographic: a seeded generator is the point (byte-identical reruns).
    random.Random(f"vascreen-synth-allocate:{seed}").shuffle(slots)  # noqa: S311
    return slots
