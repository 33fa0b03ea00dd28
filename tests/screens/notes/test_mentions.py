"""One short synthetic sentence per behaviour: concept, exact span and modifiers."""

# ruff: noqa: E501  (one pattern or case per line reads better than regexes split mid-token)

from __future__ import annotations

import pytest

from screens.notes import Concept, extract_mentions

C = Concept
A: frozenset[str] = frozenset()  # affirmed


def _found(text: str) -> dict[tuple[str, str], frozenset[str]]:
    return {
        (m.concept.value, text[m.span_start : m.span_end]): frozenset(x.value for x in m.modifiers)
        for m in extract_mentions(text)
    }


# fmt: off
# (id, text, concept, exact span, modifiers)
FOUND = [
    ('pad_pos1_calf_cramp_blocks', 'Reports cramping in the right calf after about two blocks; stops, stands for a few minutes, then can continue.', C.CLAUDICATION, 'cramping in the right calf after about two blocks', A),
    ('pad_pos2_monophasic', 'Resting ABI: right 0.72, left 0.95. Monophasic right PT signal.', C.PULSE_DEFICIT, 'Monophasic right PT signal', A),
    ('pad_pos3_cool_feet', 'Feet cool bilaterally, DP and PT pulses not palpable on the left, hair loss over the shins.', C.ISCHEMIC_SIGNS, 'Feet cool', A),
    ('pad_pos3_pulses', 'Feet cool bilaterally, DP and PT pulses not palpable on the left, hair loss over the shins.', C.PULSE_DEFICIT, 'DP and PT pulses not palpable', A),
    ('pad_pos3_hair_loss', 'Feet cool bilaterally, DP and PT pulses not palpable on the left, hair loss over the shins.', C.ISCHEMIC_SIGNS, 'hair loss over the shins', A),
    ('pad_pos6_stairs', 'Leg fatigue climbing stairs that goes away when she rests; femoral bruit heard on the right.', C.CLAUDICATION, 'Leg fatigue climbing stairs', A),
    ('pad_pos7_sfa_stenosis', 'Arterial duplex: 70-99% stenosis of the left SFA with monophasic flow distally.', C.ARTERIAL_STENOSIS, '70-99% stenosis of the left SFA', A),
    ('claudicates', 'He claudicates at one block.', C.CLAUDICATION, 'claudicates', A),
    ('calf_pain_ambulation', 'Calf pain with ambulation at 1 block.', C.CLAUDICATION, 'Calf pain with ambulation', A),
    ('same_distance_standing_still', 'Calf pain comes on at the same distance every time and is relieved by standing still.', C.CLAUDICATION, 'Calf pain comes on at the same distance', A),
    ('claudication_after_semicolon', 'No rest pain, no tissue loss; claudication at 1 block only.', C.CLAUDICATION, 'claudication', A),
    ('pad_neg1_denies_claudication', 'Denies claudication, rest pain, or nonhealing wounds.', C.CLAUDICATION, 'claudication', frozenset({'negated'})),
    ('pad_neg1_denies_rest_pain', 'Denies claudication, rest pain, or nonhealing wounds.', C.REST_PAIN, 'rest pain', frozenset({'negated'})),
    ('pad_neg1_denies_wounds', 'Denies claudication, rest pain, or nonhealing wounds.', C.ARTERIAL_ULCER, 'nonhealing wounds', frozenset({'negated'})),
    ('pad_neg2_ros_list_walking', 'ROS negative for: chest pain, palpitations, leg pain with walking, leg swelling.', C.CLAUDICATION, 'leg pain with walking', frozenset({'negated'})),
    ('pad_neg2_ros_list_swelling', 'ROS negative for: chest pain, palpitations, leg pain with walking, leg swelling.', C.LEG_SWELLING, 'leg swelling', frozenset({'negated'})),
    ('pad_neg4_family_pad', 'Family history of PAD (father s/p bilateral BKA).', C.PAD, 'PAD', frozenset({'family'})),
    ('pad_neg5_neurogenic', 'Leg pain with walking is relieved only when he sits down or bends forward over the cart.', C.NEUROGENIC_CLAUDICATION, 'pain with walking is relieved only when he sits down', A),
    ('pad_neg6_jaw', 'Jaw claudication and headache, ESR 90; temporal artery biopsy planned.', C.JAW_CLAUDICATION, 'Jaw claudication', A),
    ('arm_claudication', 'Arm claudication with subclavian stenosis.', C.JAW_CLAUDICATION, 'Arm claudication', A),
    ('family_poor_circulation', 'Mother had a leg amputation from poor circulation.', C.PAD, 'poor circulation', frozenset({'family'})),
    ('known1_history_pad', 'History of PAD s/p left SFA stent 2019, on cilostazol.', C.PAD, 'PAD', frozenset({'historical'})),
    ('known1_sfa_stent', 'History of PAD s/p left SFA stent 2019, on cilostazol.', C.PAD, 'SFA stent', frozenset({'historical'})),
    ('known2_i70', 'Atherosclerosis of native arteries of extremities with intermittent claudication, bilateral legs.', C.PAD, 'Atherosclerosis of native arteries of extremities', A),
    ('known3_angiopathy', 'Type 2 DM with diabetic peripheral angiopathy (E11.51).', C.PAD, 'peripheral angiopathy', A),
    ('evaluate_for_is_uncertain', 'ABI ordered to evaluate for PAD.', C.PAD, 'PAD', frozenset({'uncertain'})),
    ('clti_pos1_night_forefoot', 'Burning pain in the left forefoot at night that wakes him; he now sleeps in the recliner with the foot down.', C.REST_PAIN, 'Burning pain in the left forefoot at night', A),
    ('clti_pos2_rest_pain_dangling', 'Rest pain right toes for 3 weeks, relieved by dangling the leg over the bed.', C.REST_PAIN, 'Rest pain right toes for 3 weeks, relieved by dangling', A),
    ('clti_pos2_rubor', 'Dependent rubor, pallor on elevation.', C.ISCHEMIC_SIGNS, 'Dependent rubor', A),
    ('clti_pos3_dry_gangrene', 'Dry gangrene of the left 2nd toe with a 1 cm black eschar; no pedal pulses.', C.GANGRENE, 'Dry gangrene', A),
    ('clti_pos3_no_pedal_pulses', 'Dry gangrene of the left 2nd toe with a 1 cm black eschar; no pedal pulses.', C.PULSE_DEFICIT, 'no pedal pulses', A),
    ('clti_pos4_nonhealing', 'Nonhealing ulcer on the lateral right malleolus for 6 weeks, punched-out base.', C.ARTERIAL_ULCER, 'Nonhealing ulcer', A),
    ('clti_pos6_tip_of_toe', 'ABI 0.32 left with monophasic DP/PT signals and a tip-of-toe ulcer.', C.ARTERIAL_ULCER, 'tip-of-toe ulcer', A),
    ('clti_pos7_arterial_ulcer', 'Wound care: arterial ulcer, left heel, fat layer exposed.', C.ARTERIAL_ULCER, 'arterial ulcer', A),
    ('ischemic_rest_pain', 'Ischemic rest pain of the right foot.', C.REST_PAIN, 'Ischemic rest pain', A),
    ('hanging_foot_off_bed', 'Foot pain at night relieved by hanging foot off the bed.', C.REST_PAIN, 'Foot pain at night relieved by hanging', A),
    ('non_healing_wound', 'Non-healing wound on the left heel.', C.ARTERIAL_ULCER, 'Non-healing wound', A),
    ('dry_gangrene_hallux', 'Dry gangrene of the hallux.', C.GANGRENE, 'Dry gangrene', A),
    ('clti_neg1_no_rest_pain', 'No rest pain, no tissue loss; claudication at 1 block only.', C.REST_PAIN, 'rest pain', frozenset({'negated'})),
    ('clti_neg2_venous_ulcer', 'Venous stasis ulcer over the medial malleolus with hemosiderin staining and edema.', C.NONARTERIAL_ULCER, 'Venous stasis ulcer', A),
    ('clti_neg3_pressure_injury', 'Sacral and heel pressure injuries, stage 2, in a bedbound patient.', C.NONARTERIAL_ULCER, 'pressure injuries', A),
    ('clti_neg5_call_if_rest_pain', 'Discussed warning signs: call if you develop pain at rest or a wound that does not heal.', C.REST_PAIN, 'pain at rest', frozenset({'hypothetical'})),
    ('clti_neg5_call_if_wound', 'Discussed warning signs: call if you develop pain at rest or a wound that does not heal.', C.ARTERIAL_ULCER, 'wound that does not heal', frozenset({'hypothetical'})),
    ('return_if_wounds', 'Return if wounds do not heal.', C.ARTERIAL_ULCER, 'wounds do not heal', frozenset({'hypothetical'})),
    ('clti_neg7_neuropathic', 'Neuropathic plantar ulcer under the 1st MTH.', C.NONARTERIAL_ULCER, 'Neuropathic plantar ulcer', A),
    ('nonhealing_venous_is_nonarterial', 'Nonhealing venous ulcer of the left calf.', C.NONARTERIAL_ULCER, 'Nonhealing venous ulcer', A),
    ('rest_pain_resolved', 'Rest pain resolved after bypass.', C.REST_PAIN, 'Rest pain', frozenset({'historical'})),
    ('mt_pos1_swollen_leg', '2-day history of a swollen, painful left leg from the thigh down.', C.LEG_SWELLING, 'swollen, painful left leg', A),
    ('mt_pos1_thrombus', 'Duplex shows occlusive thrombus in the left common femoral and external iliac veins.', C.DVT, 'occlusive thrombus in the left common femoral and external iliac veins', A),
    ('mt_pos2_second_dvt', 'Second left-leg DVT in 3 years despite anticoagulation; evaluate for iliac vein compression.', C.DVT, 'DVT', A),
    ('mt_pos2_evaluate_for', 'Second left-leg DVT in 3 years despite anticoagulation; evaluate for iliac vein compression.', C.ILIAC_VEIN_COMPRESSION, 'iliac vein compression', frozenset({'uncertain'})),
    ('mt_pos2_anticoagulation', 'Second left-leg DVT in 3 years despite anticoagulation.', C.ANTICOAGULATION, 'anticoagulation', A),
    ('mt_pos3_ct_compression', 'The right common iliac artery crosses and compresses the left common iliac vein.', C.ILIAC_VEIN_COMPRESSION, 'compresses the left common iliac vein', A),
    ('mt_pos4_bursting', 'A bursting ache after walking that eases when she lies with the leg up.', C.VENOUS_CLAUDICATION, 'bursting ache after walking', A),
    ('mt_pos5_iliofemoral', 'Postpartum day 10, new unilateral left lower-extremity edema, left iliofemoral DVT confirmed.', C.DVT, 'iliofemoral DVT', A),
    ('mt_pos5_edema', 'Postpartum day 10, new unilateral left lower-extremity edema, left iliofemoral DVT confirmed.', C.LEG_SWELLING, 'lower-extremity edema', A),
    ('mt_pos6_nivl', 'IVUS: 65% area reduction of the left CIV, consistent with non-thrombotic iliac vein lesion.', C.ILIAC_VEIN_COMPRESSION, 'non-thrombotic iliac vein lesion', A),
    ('may_thurner_word', 'Findings suggest May-Thurner anatomy.', C.ILIAC_VEIN_COMPRESSION, 'May-Thurner anatomy', A),
    ('compression_by_artery', 'Compression of the left common iliac vein by the right common iliac artery.', C.ILIAC_VEIN_COMPRESSION, 'Compression of the left common iliac vein', A),
    ('thrombus_cfv', 'Thrombus in the left common femoral vein.', C.DVT, 'Thrombus in the left common femoral vein', A),
    ('mt_neg1_duplex_negative', 'Duplex negative for DVT bilaterally; mild left ankle edema after a long flight.', C.DVT, 'DVT', frozenset({'negated'})),
    ('mt_neg3_chf', 'Bilateral pitting edema to the shins; CHF exacerbation, BNP 1,900.', C.HEART_FAILURE, 'CHF', A),
    ('mt_neg4_history_mt', 'History of May-Thurner, s/p left common iliac vein stent 2021.', C.ILIAC_VEIN_COMPRESSION, 'May-Thurner', frozenset({'historical'})),
    ('mt_neg4_stent', 'History of May-Thurner, s/p left common iliac vein stent 2021.', C.ILIAC_VEIN_STENT, 'left common iliac vein stent', frozenset({'historical'})),
    ('mt_neg5_rule_out_dvt', 'Rule out DVT: left calf pain.', C.DVT, 'DVT', frozenset({'uncertain'})),
    ('mt_neg7_cellulitis', 'Left leg swelling due to cellulitis, erythema and warmth, duplex negative.', C.CELLULITIS, 'cellulitis', A),
    ('brother_with_dvt', 'Brother with DVT.', C.DVT, 'DVT', frozenset({'family'})),
    ('prior_dvt_resolved', 'Prior DVT fully resolved, asymptomatic.', C.DVT, 'DVT', frozenset({'historical'})),
    ('cecs_pos1_runner', 'Runner with tightness and aching in both anterior shins starting at mile 2.', C.EXERTIONAL_LEG_PAIN, 'tightness and aching in both anterior shins starting at mile', A),
    ('cecs_pos2_ruck', 'Army recruit with bilateral lateral leg pain on ruck marches that resolves with rest.', C.EXERTIONAL_LEG_PAIN, 'lateral leg pain on ruck marches', A),
    ('cecs_pos5_soccer', 'Burning in both lateral lower legs after about 15 minutes of play.', C.EXERTIONAL_LEG_PAIN, 'Burning in both lateral lower legs after about 15 minutes of play', A),
    ('cecs_pos7_known', 'S/p bilateral fasciotomies for chronic exertional compartment syndrome.', C.CECS, 'chronic exertional compartment syndrome', frozenset({'historical'})),
    ('shin_tightness_running', 'Shin tightness while running that resolves with rest.', C.EXERTIONAL_LEG_PAIN, 'Shin tightness while running', A),
    ('exertional_compartment_syndrome', 'Suspect exertional compartment syndrome of both legs.', C.CECS, 'exertional compartment syndrome', frozenset({'uncertain'})),
    ('cecs_neg1_acute', 'Tibial plateau fracture with tense compartments and pain on passive stretch.', C.ACUTE_COMPARTMENT_SYNDROME, 'tense compartments', A),
    ('cecs_neg2_mtss', 'Medial shin tenderness along the posteromedial tibial border.', C.STRESS_FRACTURE, 'Medial shin tenderness', A),
    ('cecs_neg3_stress_fracture', 'Focal tibial tenderness; MRI shows stress fracture.', C.STRESS_FRACTURE, 'stress fracture', A),
    ('cecs_neg4_eamc', 'Calf cramps during the last miles of a marathon, relieved by stretching.', C.MUSCLE_CRAMP, 'Calf cramps during the last miles', A),
    ('cecs_neg5_pad', '68-year-old smoker with calf pain at 1 block, ABI 0.6.', C.CLAUDICATION, 'calf pain at 1 block', A),
    ('cecs_neg6_excluded', 'Compartment pressures normal pre-exercise and 14 mmHg at 1 minute post-exercise; CECS excluded.', C.CECS, 'CECS', frozenset({'negated'})),
    ('lss1_shopping_cart', 'Bilateral buttock and thigh pain with standing and walking; relieved by sitting or leaning forward on a shopping cart.', C.NEUROGENIC_CLAUDICATION, 'buttock and thigh pain with standing and walking', A),
    ('lss2_neurogenic', 'Neurogenic claudication, MRI severe central canal stenosis at L4-5.', C.NEUROGENIC_CLAUDICATION, 'Neurogenic claudication', A),
    ('lss2_canal_stenosis', 'Neurogenic claudication, MRI severe central canal stenosis at L4-5.', C.SPINAL_STENOSIS, 'central canal stenosis', A),
    ('lss3_standing', 'Pain begins after standing at the sink for 5 minutes; easier walking uphill than downhill.', C.NEUROGENIC_CLAUDICATION, 'Pain begins after standing', A),
    ('lss5_bicycle', 'Can bicycle for 30 minutes without symptoms but cannot walk 100 yards.', C.NEUROGENIC_CLAUDICATION, 'Can bicycle for 30 minutes without symptoms but cannot walk', A),
    ('pseudoclaudication', 'Pseudo-claudication from lumbar stenosis.', C.NEUROGENIC_CLAUDICATION, 'Pseudo-claudication', A),
    ('lss_neg4_ruled_out', 'Spinal stenosis ruled out.', C.SPINAL_STENOSIS, 'Spinal stenosis', frozenset({'negated'})),
    ('vc1_bursting', 'Bursting pain in the entire left leg after walking.', C.VENOUS_CLAUDICATION, 'Bursting pain in the entire left leg after walking', A),
    ('vc2_heavy_thigh', 'Tight, heavy left thigh with exercise since her iliofemoral DVT.', C.VENOUS_CLAUDICATION, 'heavy left thigh with exercise', A),
    ('vc3_venous_claudication', 'Venous claudication after prior iliofemoral DVT.', C.VENOUS_CLAUDICATION, 'Venous claudication', A),
    ('vc3_prior_dvt', 'Venous claudication after prior iliofemoral DVT.', C.DVT, 'iliofemoral DVT', frozenset({'historical'})),
    ('vc5_ceap', 'Exercise intolerance and left leg heaviness; CEAP C3.', C.VENOUS_CLAUDICATION, 'Exercise intolerance and left leg heaviness', A),
    ('vc_neg1_no_swelling', 'No leg swelling.', C.LEG_SWELLING, 'leg swelling', frozenset({'negated'})),
    ('rad1_electric', 'Sharp, electric pain shooting from the low back down the posterior left leg.', C.RADICULOPATHY, 'electric pain', A),
    ('rad2_slr', 'Positive straight-leg raise at 40 degrees on the right.', C.RADICULOPATHY, 'Positive straight-leg raise', A),
    ('rad4_position', 'Pain present at rest and changed by shifting position.', C.RADICULOPATHY, 'changed by shifting position', A),
    ('rad5_sciatica', 'Sciatica, left, after lifting.', C.RADICULOPATHY, 'Sciatica', A),
    ('rad_neg2_no_radicular', 'No radicular symptoms.', C.RADICULOPATHY, 'radicular symptoms', frozenset({'negated'})),
    ('rad_neg3_denies_shooting', 'Denies shooting pain or numbness.', C.RADICULOPATHY, 'shooting pain', frozenset({'negated'})),
    ('rad_neg4_emg_without', 'EMG without radiculopathy.', C.RADICULOPATHY, 'radiculopathy', frozenset({'negated'})),
    ('eamc1_hamstring', 'Sudden cramp in the right hamstring at mile 22, released with stretching.', C.MUSCLE_CRAMP, 'cramp in the right hamstring', A),
    ('eamc2_locks_up', 'Calf locks up during soccer in the heat.', C.MUSCLE_CRAMP, 'Calf locks up', A),
    ('eamc5_history', 'History of exercise-associated cramping; normal CK.', C.MUSCLE_CRAMP, 'exercise-associated cramping', frozenset({'historical'})),
    ('nlc_night_cramps', 'Night cramps only, not with exercise.', C.MUSCLE_CRAMP, 'Night cramps', A),
    ('nlc1_calf_cramp_stretch', 'Wakes at night with a painful calf cramp, relieved by standing and stretching the calf.', C.MUSCLE_CRAMP, 'calf cramp', A),
    ('nlc2_sleep_related', 'Sleep-related leg cramps (G47.62); considering magnesium.', C.MUSCLE_CRAMP, 'Sleep-related leg cramps', A),
    ('nlc_neg1_forefoot_is_rest_pain', 'Nighttime forefoot burning relieved by hanging the foot over the bed.', C.REST_PAIN, 'forefoot burning relieved by hanging', A),
    ('nlc_neg3_denies', 'Denies night cramps.', C.MUSCLE_CRAMP, 'night cramps', frozenset({'negated'})),
    ('nlc_neg5_resolved', 'Leg cramps resolved after stopping the statin.', C.MUSCLE_CRAMP, 'Leg cramps', frozenset({'historical'})),
    ('compression_stockings', 'Compression stockings ordered.', C.COMPRESSION_STOCKINGS, 'Compression stockings', A),
    # generalisations beyond section 6 (case-report wording)
    ("claudication_of_thigh", "She developed lifestyle-limiting claudication of the right thigh.", C.CLAUDICATION, "claudication", A),
    ("pain_in_calves_walking", "He complained of pain in his calves when walking, relieved by rest.", C.CLAUDICATION, "pain in his calves when walking", A),
    ("year_history_is_current", "The patient has a 2-year history of right calf pain with walking.", C.CLAUDICATION, "calf pain with walking", A),
    ("failed_to_heal", "A 3 cm ulcer on the dorsum of the left foot had failed to heal for 3 months.", C.ARTERIAL_ULCER, "ulcer on the dorsum of the left foot had failed to heal", A),
    ("toe_necrosis", "There was necrosis of the tips of the second and third toes.", C.GANGRENE, "necrosis of the tips of the second and third toes", A),
    ("occluded_popliteal", "Occluded right popliteal artery.", C.ARTERIAL_STENOSIS, "Occluded right popliteal artery", A),
    ("sfa_occlusion_cta", "CT angiography demonstrated occlusion of the left superficial femoral artery.", C.ARTERIAL_STENOSIS, "occlusion of the left superficial femoral artery", A),
    ("cli_is_clti", "Critical limb ischemia of the right leg.", C.CLTI, "Critical limb ischemia", A),
    ("fem_pop_bypass", "He underwent left femoral-popliteal bypass in 2015.", C.PAD, "femoral-popliteal bypass", frozenset({"historical"})),
    ("venous_stenting", "She was diagnosed with May-Thurner syndrome and underwent venous stenting.", C.ILIAC_VEIN_STENT, "venous stenting", frozenset({"historical"})),
    ("leg_was_swollen", "The left leg was swollen and tender.", C.LEG_SWELLING, "leg was swollen", A),
    ("swelling_of_lle", "Swelling of the left lower extremity.", C.LEG_SWELLING, "Swelling of the left lower extremity", A),
    ("duplex_negative_for_dvt", "Lower extremity venous duplex was negative for DVT.", C.DVT, "DVT", frozenset({"negated"})),
    ("no_evidence_of_dvt", "No evidence of deep vein thrombosis.", C.DVT, "deep vein thrombosis", frozenset({"negated"})),
    ("pedal_pulses_not_palpable", "Pedal pulses were not palpable bilaterally.", C.PULSE_DEFICIT, "Pedal pulses were not palpable", A),
    ("exam_label_then_no", "Extremities: no pedal edema, no ulcers, pulses 2+.", C.LEG_SWELLING, "pedal edema", frozenset({"negated"})),
    ("ros_cv_negative_list", "CV: Negative for chest pain, claudication, leg swelling.", C.CLAUDICATION, "claudication", frozenset({"negated"})),
    ("concern_for_dvt", "Concern for DVT in the left leg.", C.DVT, "DVT", frozenset({"uncertain"})),
    ("sp_fasciotomy_known", "S/p fasciotomy for CECS.", C.CECS, "fasciotomy", frozenset({"historical"})),
    ("h_o_dvt", "h/o DVT in 2010.", C.DVT, "DVT", frozenset({"historical"})),
    ("risk_of_gangrene", "Risk of gangrene discussed.", C.GANGRENE, "gangrene", frozenset({"hypothetical"})),
    ("but_terminates_negation", "Patient denies rest pain but reports claudication at 2 blocks.", C.CLAUDICATION, "claudication", A),
    ("mts_with_venous_context", "MTS with left CIV compression on venogram.", C.ILIAC_VEIN_COMPRESSION, "MTS", A),
    ("family_history_section", "# Family History\nPAD in father.", C.PAD, "PAD", frozenset({"family"})),
    ("running_leg_pain", "He reported bilateral anterior leg pain that started 10 minutes into running.", C.EXERTIONAL_LEG_PAIN, "anterior leg pain that started 10 minutes into running", A),
]

# (id, text, concept that must not be found)
ABSENT = [
    ('clti_neg4_fournier', "Fournier's gangrene s/p debridement.", C.GANGRENE),
    ('gas_gangrene', 'Gas gangrene of the thigh.', C.GANGRENE),
    ('gangrenous_appendicitis', 'Gangrenous appendicitis.', C.GANGRENE),
    ('pyoderma', 'Pyoderma gangrenosum of the shin.', C.GANGRENE),
    ('clti_neg6_low_back_rest', 'Low back pain at rest radiating to the buttock.', C.REST_PAIN),
    ('jaw_not_leg', 'Jaw claudication and headache.', C.CLAUDICATION),
    ('neurogenic_not_leg', 'Neurogenic claudication from spinal stenosis.', C.CLAUDICATION),
    ('pseudo_not_leg', 'Pseudoclaudication.', C.CLAUDICATION),
    ('venous_not_arterial', 'Venous claudication after walking.', C.CLAUDICATION),
    ('night_cramp_not_rest_pain', 'Nocturnal cramps since starting a diuretic.', C.REST_PAIN),
    ('stretch_cramp_not_rest_pain', 'Painful calf cramp at night relieved by stretching.', C.REST_PAIN),
    ('venous_ulcer_not_arterial', 'Venous stasis ulcer over the medial malleolus.', C.ARTERIAL_ULCER),
    ('mt_neg6_mts_brain', 'MTS noted on MRI brain, on levetiracetam.', C.ILIAC_VEIN_COMPRESSION),
    ('mts_metatarsal', 'Pain over the 1st MTS joint.', C.ILIAC_VEIN_COMPRESSION),
    ('tbi_brain_injury', 'History of TBI with headaches.', C.TBI),
    ('tbi_brain_injury_year', 'TBI 2015 after a fall.', C.TBI),
    ('pad_heating', 'Placed on a heating pad.', C.PAD),
    ('pad_dressing', 'PAD dressing changed.', C.PAD),
    ('pad_preadmission', 'Pre-admission testing (PAD) completed.', C.PAD),
    ('pvd_eye', 'PVD in the right eye with floaters.', C.PAD),
    ('sternal_wound', 'Non-healing sternal wound.', C.ARTERIAL_ULCER),
    ('rad_neg1_slr_negative', 'Straight-leg raise negative bilaterally.', C.RADICULOPATHY),
    ('cecs_pad_pattern', '68-year-old smoker with calf pain at 1 block, ABI 0.6.', C.EXERTIONAL_LEG_PAIN),
    ('eamc_vascular', 'Calf pain comes on at the same distance every time and is relieved by standing still.', C.MUSCLE_CRAMP),
]
# fmt: on


@pytest.mark.parametrize(
    ("text", "concept", "span", "modifiers"), [c[1:] for c in FOUND], ids=[c[0] for c in FOUND]
)
def test_concept_found_with_span_and_modifiers(
    text: str, concept: Concept, span: str, modifiers: frozenset[str]
) -> None:
    found = _found(text)
    assert (concept.value, span) in found, sorted(found)
    assert found[(concept.value, span)] == modifiers


@pytest.mark.parametrize(("text", "concept"), [c[1:] for c in ABSENT], ids=[c[0] for c in ABSENT])
def test_trap_does_not_yield_concept(text: str, concept: Concept) -> None:
    assert concept.value not in {c for c, _ in _found(text)}


def test_note_without_keywords_yields_nothing() -> None:
    assert extract_mentions("No complaints.\n\n# Allergies\nNo Known Allergies.") == []
