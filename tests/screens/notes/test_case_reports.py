"""Case-report register: synthetic sentences written the way published case reports describe
PAD, CLTI, May-Thurner and CECS, each positive pattern with a trap beside it.

Every row gives concept, exact span, modifiers, laterality and the qualifier (or value) to expect;
`ANY` skips a field. Traps list a concept that must not be found affirmed (or at all).
"""

# ruff: noqa: E501  (one case per line reads better than wrapped tuples)

from __future__ import annotations

import pytest

from screens.notes import Concept, extract_mentions
from screens.notes.mention import Mention

C = Concept
A: frozenset[str] = frozenset()  # affirmed
NEG = frozenset({"negated"})
HIST = frozenset({"historical"})
FAM = frozenset({"family"})
HYPO = frozenset({"hypothetical"})
UNC = frozenset({"uncertain"})
ANY = object()

# fmt: off
# (id, text, concept, exact span, modifiers, laterality, qualifier or value)
FOUND: list[tuple[str, str, Concept, str, frozenset[str], object, object]] = [
    # --- PAD: claudication, metric distances, classifications ---
    ("cr_calf_pain_100_m", "A 67-year-old man with a 40-pack-year smoking history presented with a 3-month history of left calf pain after walking 100 meters, relieved by rest.", C.CLAUDICATION, "calf pain after walking", A, "left", None),
    ("cr_cramping_50_m_resolved_after_rest", "He described cramping pain in both calves after walking approximately 50 meters, which resolved after a few minutes of rest.", C.CLAUDICATION, "cramping pain in both calves after walking", A, "bilateral", None),
    ("cr_walking_distance_limited", "Her walking distance was limited to 150 m by pain in the right buttock and thigh.", C.CLAUDICATION, "walking distance was limited to 150 m", A, "right", None),
    ("cr_claudication_distance", "He reported a claudication distance of 200 m.", C.CLAUDICATION, "claudication", A, None, None),
    ("cr_fontaine_iib", "He had intermittent claudication of the left leg (Fontaine IIb).", C.CLAUDICATION, "Fontaine IIb", A, "left", None),
    ("cr_rutherford_3", "Symptoms corresponded to Rutherford category 3.", C.CLAUDICATION, "Rutherford category 3", A, None, None),
    ("cr_stairs_rest_not_elevator", "Leg fatigue climbing stairs that goes away when she rests; she now takes the elevator at work.", C.CLAUDICATION, "Leg fatigue climbing stairs", A, None, None),
    ("cr_rest_relief_beats_dvt_history", "Calf pain with walking relieved by rest; remote history of DVT.", C.CLAUDICATION, "Calf pain with walking", A, None, None),
    ("cr_abi_indices_sides", "Ankle-brachial indices were 0.54 on the left and 0.98 on the right.", C.ABI, "0.54", A, "left", 0.54),
    ("cr_abi_left_right", "Left ABI 0.62, right ABI 0.88.", C.ABI, "0.88", A, "right", 0.88),
    ("cr_tbi_value", "The toe-brachial index was 0.25.", C.TBI, "0.25", A, None, 0.25),
    ("cr_sfa_occlusion", "Angiography revealed occlusion of the right superficial femoral artery with reconstitution of the popliteal artery.", C.ARTERIAL_STENOSIS, "occlusion of the right superficial femoral artery", A, "right", None),
    ("cr_eia_occlusion", "CT angiography showed a long-segment occlusion of the left external iliac artery.", C.ARTERIAL_STENOSIS, "long-segment occlusion of the left external iliac artery", A, "left", None),
    ("cr_lab_arterial_insufficiency", "Impression: Moderate arterial insufficiency of the right lower extremity.", C.ARTERIAL_STENOSIS, "arterial insufficiency", A, "right", None),
    ("cr_multilevel_disease", "Segmental pressures were consistent with multilevel arterial occlusive disease of the left leg.", C.ARTERIAL_STENOSIS, "multilevel arterial occlusive disease of the left leg", A, "left", None),
    ("cr_pad_history_bypass", "He had a history of peripheral arterial disease and had undergone femoropopliteal bypass.", C.PAD, "femoropopliteal bypass", HIST, None, "revascularization"),
    ("cr_history_arterial_insufficiency", "History of arterial insufficiency of the legs.", C.PAD, "arterial insufficiency", HIST, None, None),
    # --- CLTI ---
    ("cr_nocturnal_forefoot_hanging", "She reported nocturnal pain in the right forefoot, relieved by hanging the leg over the side of the bed.", C.REST_PAIN, "pain in the right forefoot, relieved by hanging", A, "right", None),
    ("cr_toes_at_night_dangling", "She complained of severe pain in the toes of her right foot at night, which was relieved by dangling her foot over the edge of the bed.", C.REST_PAIN, "pain in the toes of her right foot at night, which was relieved by dangling", A, "right", None),
    ("cr_rest_pain_weeks", "A 72-year-old woman presented with rest pain in the left foot for 4 weeks.", C.REST_PAIN, "rest pain", A, "left", None),
    ("cr_rutherford_4", "Ischemia was graded Rutherford 4.", C.REST_PAIN, "Rutherford 4", A, None, None),
    ("cr_fontaine_iii", "She was in Fontaine stage III.", C.REST_PAIN, "Fontaine stage III", A, None, None),
    ("cr_rutherford_5", "The patient was classified as Rutherford category 5.", C.ARTERIAL_ULCER, "Rutherford category 5", A, None, None),
    ("cr_fontaine_iv", "Fontaine stage IV disease of the right leg.", C.ARTERIAL_ULCER, "Fontaine stage IV", A, "right", None),
    ("cr_failed_to_heal_2_months", "He had an ulcer on the dorsum of the right foot that had failed to heal for 2 months.", C.ARTERIAL_ULCER, "ulcer on the dorsum of the right foot that had failed to heal", A, "right", None),
    ("cr_ischemic_ulcer_heel", "An ischemic ulcer was noted on the left heel.", C.ARTERIAL_ULCER, "ischemic ulcer", A, "left", None),
    ("cr_nonhealing_great_toe", "The patient had a non-healing ulcer of the left great toe.", C.ARTERIAL_ULCER, "non-healing ulcer of the left great toe", A, "left", None),
    ("cr_toe_ulcer_lateral_fifth", "She had a painful ulcer on the lateral aspect of the left fifth toe.", C.ARTERIAL_ULCER, "painful ulcer on the lateral aspect of the left fifth toe", A, "left", None),
    ("cr_mummified_toe", "The right great toe was black and mummified.", C.GANGRENE, "great toe was black and mummified", A, "right", None),
    ("cr_blackened_toe", "There was a blackened left second toe.", C.GANGRENE, "blackened left second toe", A, "left", None),
    ("cr_necrotic_toe", "Examination revealed a necrotic toe on the right foot.", C.GANGRENE, "necrotic toe", A, "right", None),
    ("cr_dry_gangrene_toes", "Dry gangrene of the right fourth and fifth toes was present.", C.GANGRENE, "Dry gangrene", A, "right", None),
    ("cr_cli_named", "He was admitted with critical limb ischemia of the left leg.", C.CLTI, "critical limb ischemia", A, "left", None),
    ("cr_clti_named", "She was diagnosed with chronic limb-threatening ischemia.", C.CLTI, "chronic limb-threatening ischemia", A, None, None),
    ("cr_toe_pressures_respectively", "Toe pressures were 20 and 25 mmHg on the right and left, respectively.", C.TOE_PRESSURE, "20", A, "right", 20.0),
    ("cr_abi_038", "The ABI was 0.38 on the right.", C.ABI, "0.38", A, "right", 0.38),
    ("cr_tcpo2", "Transcutaneous oxygen pressure was 12 mmHg at the dorsum of the left foot.", C.TCPO2, "12", A, ANY, 12.0),
    ("cr_ankle_pressure", "Right ankle pressure was 40 mmHg.", C.ANKLE_PRESSURE, "40", A, "right", 40.0),
    ("cr_pedal_pulses_absent", "Femoral, popliteal and pedal pulses were absent on the left.", C.PULSE_DEFICIT, "Femoral, popliteal and pedal pulses were absent", A, "left", None),
    ("cr_monophasic_waveforms", "Arterial Doppler showed monophasic waveforms in the left posterior tibial and dorsalis pedis arteries.", C.PULSE_DEFICIT, "monophasic waveforms", A, "left", None),
    # --- May-Thurner ---
    ("cr_ct_venography_compression", "CT venography demonstrated compression of the left common iliac vein between the right common iliac artery and the fifth lumbar vertebra.", C.ILIAC_VEIN_COMPRESSION, "compression of the left common iliac vein", A, "left", None),
    ("cr_ivus_stenosis_civ", "Intravascular ultrasound showed 80% stenosis of the left common iliac vein.", C.ILIAC_VEIN_COMPRESSION, "stenosis of the left common iliac vein", A, "left", None),
    ("cr_ivcs_named", "The patient was diagnosed with iliac vein compression syndrome.", C.ILIAC_VEIN_COMPRESSION, "iliac vein compression syndrome", A, None, None),
    ("cr_mts_current_diagnosis", "A diagnosis of May-Thurner syndrome was made.", C.ILIAC_VEIN_COMPRESSION, "May-Thurner syndrome", A, None, None),
    ("cr_mts_history", "She had a history of May-Thurner syndrome treated with stenting.", C.ILIAC_VEIN_COMPRESSION, "May-Thurner syndrome", HIST, None, None),
    ("cr_dvt_cfv_to_eiv", "Duplex ultrasound showed a left lower extremity DVT extending from the common femoral to the external iliac vein.", C.DVT, "DVT", A, "left", "proximal"),
    ("cr_acute_thrombus_fem_pop", "Duplex: acute thrombus in the left femoral and popliteal veins.", C.DVT, "acute thrombus in the left femoral and popliteal veins", A, "left", "proximal:acute"),
    ("cr_thrombosis_cfv_eiv", "Doppler ultrasonography revealed thrombosis of the left common femoral and external iliac veins.", C.DVT, "thrombosis of the left common femoral and external iliac veins", A, "left", "proximal"),
    ("cr_iliofemoral_dvt_words", "She had a left iliofemoral deep vein thrombosis.", C.DVT, "deep vein thrombosis", A, "left", "proximal"),
    ("cr_chronic_thrombus_cfv", "Chronic nonocclusive thrombus in the left common femoral vein.", C.DVT, "Chronic nonocclusive thrombus in the left common femoral vein", A, "left", "proximal:chronic"),
    ("cr_right_popliteal_distal", "Right popliteal vein thrombosis after knee arthroscopy.", C.DVT, "popliteal vein thrombosis", A, "right", "distal"),
    ("cr_swelling_and_pain_of_limb", "A 24-year-old woman presented with acute swelling and pain of the left lower limb.", C.LEG_SWELLING, "swelling and pain of the left lower limb", A, "left", None),
    ("cr_vein_stenting", "She underwent catheter-directed thrombolysis followed by stenting of the left common iliac vein.", C.ILIAC_VEIN_STENT, "stenting of the left common iliac vein", HIST, "left", None),
    ("cr_venous_claudication_elevation", "Bursting pain in the entire left leg after walking; relief takes 20 minutes and comes faster with the leg elevated.", C.VENOUS_CLAUDICATION, "Bursting pain in the entire left leg after walking", A, "left", None),
    ("cr_calf_pain_relieved_by_elevation", "Calf pain on walking, relieved by elevation of the legs.", C.VENOUS_CLAUDICATION, "Calf pain on walking", A, None, None),
    # --- CECS ---
    ("cr_runner_15_minutes", "A 19-year-old collegiate runner presented with bilateral anterolateral leg pain after 15 minutes of running.", C.EXERTIONAL_LEG_PAIN, "anterolateral leg pain after 15 minutes of running", A, "bilateral", None),
    ("cr_shins_tighten_km", "40M recreational runner: both anterior shins tighten at about 3 km, forcing him to stop, gone within 15 minutes of rest.", C.EXERTIONAL_LEG_PAIN, "anterior shins tighten at about 3 km", A, "bilateral", None),
    ("cr_dancer_rehearsals", "19F collegiate dancer with anteromedial leg tightness during long rehearsals, always after about 40 minutes of jumping, relieved by rest within 15 minutes.", C.EXERTIONAL_LEG_PAIN, "leg tightness during long rehearsals", A, None, None),
    ("cr_recruit_marching", "A 22-year-old military recruit presented with bilateral lower leg pain during marching, resolving with rest.", C.EXERTIONAL_LEG_PAIN, "lower leg pain during marching", A, "bilateral", None),
    ("cr_calves_after_running_miles", "He reported tightness in both calves after running 2 miles that resolved within 20 minutes of stopping.", C.EXERTIONAL_LEG_PAIN, "tightness in both calves after running", A, "bilateral", None),
    ("cr_running_then_site", "While running, he developed pressure in both anterior shins.", C.EXERTIONAL_LEG_PAIN, "While running, he developed pressure in both anterior shins", A, "bilateral", None),
    ("cr_soccer_exertional", "A 17-year-old soccer player presented with a 6-month history of exertional leg pain in both legs.", C.EXERTIONAL_LEG_PAIN, "exertional leg pain", A, "bilateral", None),
    ("cr_same_pace_not_fracture", "Exertional calf pain reproducible at the same running pace, normal resting and post-exercise ABI, MRI without stress fracture; referred for pressure testing.", C.EXERTIONAL_LEG_PAIN, "Exertional calf pain reproducible at the same running", A, None, None),
    ("cr_pain_in_cecs_context", "Exertional leg pain, pattern suggestive of chronic exertional compartment syndrome of the anterior compartments.", C.EXERTIONAL_LEG_PAIN, "Exertional leg pain", A, None, None),
    ("cr_suspected_cecs_wrapped", "Exertional leg pain, pattern suggestive of chronic exertional compartment\nsyndrome of the anterior compartments.", C.CECS, "chronic exertional compartment\nsyndrome", UNC, None, None),
    ("cr_cecs_treated", "He was diagnosed with chronic exertional compartment syndrome and underwent bilateral fasciotomy.", C.CECS, "bilateral fasciotomy", HIST, "bilateral", None),
    ("cr_icp_1_min", "Intracompartmental pressure of the anterior compartment was 45 mmHg 1 minute after exercise.", C.COMPARTMENT_PRESSURE, "45", A, None, "post_exercise_1min:anterior"),
    ("cr_icp_pre_in_compartment", "Compartment pressure measurements showed a pre-exercise pressure of 20 mmHg in the left anterior compartment.", C.COMPARTMENT_PRESSURE, "20", A, "left", "pre_exercise:anterior"),
    ("cr_icp_series_1min", "Compartment pressure testing, left lateral: pre-exercise 10 mmHg; 1 minute post-exercise 30 mmHg; 5 minutes post-exercise 19 mmHg.", C.COMPARTMENT_PRESSURE, "30", A, "left", "post_exercise_1min:lateral"),
    ("cr_icp_series_5min", "Compartment pressure testing, left lateral: pre-exercise 10 mmHg; 1 minute post-exercise 30 mmHg; 5 minutes post-exercise 19 mmHg.", C.COMPARTMENT_PRESSURE, "19", A, "left", "post_exercise_5min:lateral"),
    ("cr_icp_timing_before_keyword", "Deep posterior compartment pain with running; 1-minute post-exercise pressure 35 mmHg (deep posterior).", C.COMPARTMENT_PRESSURE, "35", A, None, "post_exercise_1min:deep_posterior"),
    ("cr_icp_wrapped_line", "Deep posterior compartment pain with running; 1-minute post-exercise pressure\n35 mmHg (deep posterior).", C.COMPARTMENT_PRESSURE, "35", A, None, "post_exercise_1min:deep_posterior"),
    ("cr_icp_rest_and_after", "Intracompartmental pressures were 22 mmHg at rest and 48 mmHg 1 minute after exercise.", C.COMPARTMENT_PRESSURE, "48", A, None, "post_exercise_1min"),
    # --- traps that still yield a (modified) mention ---
    ("trap_mother_dvt", "Her mother had a history of deep vein thrombosis.", C.DVT, "deep vein thrombosis", frozenset({"family", "historical"}), ANY, ANY),
    ("trap_no_evidence_dvt", "There was no evidence of deep vein thrombosis.", C.DVT, "deep vein thrombosis", NEG, ANY, ANY),
    ("trap_no_thrombus_veins", "No thrombus in the left common femoral or popliteal veins.", C.DVT, "thrombus in the left common femoral or popliteal veins", NEG, ANY, ANY),
    ("trap_denied_claudication", "The patient denied claudication or rest pain.", C.CLAUDICATION, "claudication", NEG, ANY, ANY),
    ("trap_no_history_pad", "He had no history of peripheral arterial disease.", C.PAD, "peripheral arterial disease", NEG, ANY, ANY),
    ("trap_return_if_wounds", "She was advised to return if she developed rest pain or non-healing wounds.", C.ARTERIAL_ULCER, "non-healing wounds", HYPO, ANY, ANY),
    ("trap_mts_ruled_out", "May-Thurner syndrome was ruled out on venography.", C.ILIAC_VEIN_COMPRESSION, "May-Thurner syndrome", NEG, ANY, ANY),
    ("trap_family_cecs", "Her sister underwent fasciotomy for chronic exertional compartment syndrome.", C.CECS, "chronic exertional compartment syndrome", frozenset({"family", "historical"}), ANY, ANY),
    ("trap_father_bypass", "His father underwent femoropopliteal bypass.", C.PAD, "femoropopliteal bypass", frozenset({"family", "historical"}), ANY, ANY),
    ("trap_rutherford_denied", "No rest pain or tissue loss; Rutherford category 2.", C.REST_PAIN, "rest pain", NEG, ANY, ANY),
    ("trap_stress_fracture_runner", "Focal tibial tenderness after running; MRI showed a tibial stress fracture.", C.STRESS_FRACTURE, "stress fracture", A, ANY, ANY),
    ("trap_neurogenic_relief", "Her pain was relieved by sitting or bending forward, and MRI showed lumbar spinal stenosis.", C.NEUROGENIC_CLAUDICATION, "pain was relieved by sitting", A, ANY, ANY),
    ("trap_acute_compartment", "Acute compartment syndrome after a tibial fracture required emergent fasciotomy.", C.ACUTE_COMPARTMENT_SYNDROME, "Acute compartment syndrome", A, ANY, ANY),
    ("trap_hypothetical_running_pain", "If the leg pain with running recurs, return for pressure testing.", C.EXERTIONAL_LEG_PAIN, "leg pain with running", HYPO, ANY, ANY),
]

# (id, text, concept that must not be found affirmed)
ABSENT: list[tuple[str, str, Concept]] = [
    ("trap_stairs_not_venous", "Leg fatigue climbing stairs that goes away when she rests; she now takes the elevator at work.", C.VENOUS_CLAUDICATION),
    ("trap_no_swelling_not_venous", "Leg fatigue with walking that goes away when she rests, no leg swelling, no varicosities.", C.VENOUS_CLAUDICATION),
    ("trap_elevated_ddimer_not_venous", "Calf pain with walking, relieved by rest; D-dimer was elevated.", C.VENOUS_CLAUDICATION),
    ("trap_lab_insufficiency_not_pad", "Impression: Moderate arterial insufficiency of the right lower extremity.", C.PAD),
    ("trap_same_pace_not_fracture", "Exertional calf pain reproducible at the same running pace, MRI without stress fracture.", C.STRESS_FRACTURE),
    ("trap_cecs_context_not_claudication", "Exertional leg pain, pattern suggestive of chronic exertional compartment syndrome.", C.CLAUDICATION),
    ("trap_runs_without_pain", "Patient runs 20 miles a week without leg pain.", C.EXERTIONAL_LEG_PAIN),
    ("trap_walks_without_pain", "He walks 2 miles daily without calf pain.", C.CLAUDICATION),
    ("trap_walking_mile_is_claudication", "Left calf pain after walking half a mile, relieved by standing still.", C.EXERTIONAL_LEG_PAIN),
    ("trap_former_runner_walking", "A 70-year-old former marathoner with right calf pain after walking 2 blocks, relieved by rest.", C.EXERTIONAL_LEG_PAIN),
    ("trap_unlimited_walking_distance", "Walking distance is unlimited.", C.CLAUDICATION),
    ("trap_walking_distance_normal", "Pain-free walking distance was normal.", C.CLAUDICATION),
    ("trap_cramps_stretching", "He had calf cramps at night relieved by stretching.", C.REST_PAIN),
    ("trap_fournier", "Fournier's gangrene was diagnosed.", C.GANGRENE),
    ("trap_sacral_wound", "A sacral wound that had failed to heal for 3 months.", C.ARTERIAL_ULCER),
    ("trap_venous_ulcer", "A venous stasis ulcer over the medial malleolus had failed to heal.", C.ARTERIAL_ULCER),
    ("trap_neuropathic_toe_ulcer", "A neuropathic ulcer on the plantar aspect of the left great toe.", C.ARTERIAL_ULCER),
    ("trap_no_toe_ulcer", "No ulcer on the toes; skin intact.", C.ARTERIAL_ULCER),
    ("trap_black_toenail", "Black toenail from running, no tissue loss.", C.GANGRENE),
    ("trap_mts_brain", "MTS on MRI brain, on levetiracetam.", C.ILIAC_VEIN_COMPRESSION),
    ("trap_iliac_artery_not_vein", "Stenosis of the right common iliac artery.", C.ILIAC_VEIN_COMPRESSION),
    ("trap_no_civ_stenosis", "IVUS showed no stenosis of the left common iliac vein.", C.ILIAC_VEIN_COMPRESSION),
    ("trap_mtss_warm_up", "Medial shin pain at the start of runs that improves as she warms up.", C.EXERTIONAL_LEG_PAIN),
    ("trap_pressure_not_compartment", "Blood pressure 128/76 after exercise testing for chest pain.", C.COMPARTMENT_PRESSURE),
    ("trap_fontaine_not_in_text_claudication", "Fontaine stage IV disease of the right leg.", C.CLAUDICATION),
    ("trap_family_cecs_affirmed", "Her sister underwent fasciotomy for chronic exertional compartment syndrome.", C.EXERTIONAL_LEG_PAIN),
]
# fmt: on


def _affirmed_or_any(mentions: list[Mention], text: str) -> dict[tuple[str, str], Mention]:
    return {(m.concept.value, text[m.span_start : m.span_end]): m for m in mentions}


@pytest.mark.parametrize(
    ("text", "concept", "span", "modifiers", "side", "detail"),
    [c[1:] for c in FOUND],
    ids=[c[0] for c in FOUND],
)
def test_case_report_sentence(
    text: str, concept: Concept, span: str, modifiers: frozenset[str], side: object, detail: object
) -> None:
    found = _affirmed_or_any(extract_mentions(text), text)
    assert (concept.value, span) in found, sorted(found)
    mention = found[(concept.value, span)]
    assert frozenset(x.value for x in mention.modifiers) == modifiers
    if side is not ANY:
        assert mention.laterality == side
    if detail is not ANY:
        assert (mention.value if isinstance(detail, float) else mention.qualifier) == detail


@pytest.mark.parametrize(("text", "concept"), [c[1:] for c in ABSENT], ids=[c[0] for c in ABSENT])
def test_case_report_trap(text: str, concept: Concept) -> None:
    affirmed = {m.concept for m in extract_mentions(text) if not m.modifiers}
    assert concept not in affirmed
