"""Sentence pools for planted findings (clinical-reference §6), varied per patient.

Each function takes the rng and the facts (side, pronoun, numbers) and returns one sentence, so
positives of one story never all read alike.
"""

from __future__ import annotations

import random

_SIDES = {"right": "right", "left": "left"}


def pronoun(sex: str) -> tuple[str, str]:
    """(subject, possessive) pronouns."""
    return ("she", "her") if sex == "female" else ("he", "his")


def claudication(rng: random.Random, side: str, sex: str) -> str:
    he, his = pronoun(sex)
    blocks = rng.choice(("one block", "two blocks", "three blocks", "about two blocks"))
    yards = rng.choice((100, 150, 200, 300))
    return rng.choice(
        (
            f"Reports cramping in the {side} calf after {blocks}; stops, stands for a few "
            "minutes, then can continue. No back pain.",
            f"Describes aching in the {side} calf when walking uphill or about {yards} yards on "
            "the flat, relieved within a few minutes of standing still.",
            f"Leg fatigue climbing stairs that goes away when {he} rests; worse on the {side}.",
            f"Notes {side} buttock and thigh pain after walking {blocks}, reproducible, "
            "resolving with 2-3 minutes of rest.",
            f"Intermittent claudication of the {side} calf at {blocks}, relieved by "
            "rest within 5 minutes.",
            f"Has to stop walking in the grocery store because of tightness in {his} {side} calf; "
            "it eases after standing still for a couple of minutes.",
            f"Burning pain in the {side} calf with walking, consistently at the same distance, "
            "gone after a brief rest. No back pain, no paresthesias.",
            f"Calf cramping at {blocks} on the {side}, relieved by standing still within 2-3 "
            "minutes; cycling does not bring it on.",
        )
    )


def arterial_exam(rng: random.Random, side: str) -> str:
    return rng.choice(
        (
            f"Feet cool bilaterally, DP and PT pulses not palpable on the {side}, hair loss over "
            "the shins.",
            f"Diminished {side} PT and DP pulses; femoral bruit heard on the {side}. No edema.",
            f"{side.capitalize()} foot cooler than the other, faint {side} DP by Doppler only, "
            "shiny hairless skin.",
        )
    )


def abi_sentence(rng: random.Random, right: float, left: float) -> str:
    return rng.choice(
        (
            f"Resting ABI: right {right:.2f}, left {left:.2f}.",
            f"ABI done in clinic today: R {right:.2f} / L {left:.2f}.",
            f"Ankle-brachial index {right:.2f} on the right and {left:.2f} on the left.",
            f"ABIs {right:.2f} (right) and {left:.2f} (left), measured at the PT and DP.",
        )
    )


def rest_pain(rng: random.Random, side: str, sex: str) -> str:
    he, his = pronoun(sex)
    him = "her" if sex == "female" else "him"
    return rng.choice(
        (
            f"Burning pain in the {side} forefoot at night that wakes {him}; "
            f"{he} now sleeps in the recliner with the foot down.",
            f"Rest pain {side} toes for 3 weeks, relieved by dangling the leg over the bed. "
            "Dependent rubor, pallor on elevation.",
            f"Constant aching in the {side} foot, worse lying flat in bed and eased by hanging the "
            "foot over the side of the bed.",
            f"Night pain in the {side} toes for a month; {he} has to sit up with {his} leg "
            "dependent to get relief.",
        )
    )


def left_dvt_finding(rng: random.Random) -> str:
    return rng.choice(
        (
            "Duplex shows occlusive thrombus in the left common femoral and external iliac veins.",
            "Venous duplex: acute occlusive DVT of the left common femoral vein extending into the "
            "external iliac vein; popliteal vein compressible.",
            "Left lower extremity duplex: noncompressible left femoral and common femoral veins "
            "with thrombus extending proximally toward the iliac vein.",
        )
    )


def cecs_story(rng: random.Random, age: int, sex: str, activity: str) -> str:
    he, his = pronoun(sex)
    minutes = rng.choice((10, 15, 20, 25))
    return rng.choice(
        (
            f"{age}-year-old {activity}: tightness and aching in both anterior shins starting at "
            f"mile {rng.choice((1, 2, 3))}, forcing {('her' if sex == 'female' else 'him')} to "
            f"stop; gone within {minutes} minutes of rest; numbness over the dorsum of the foot "
            "during runs.",
            f"Exertional calf and shin pain reproducible at the same running pace, coming on after "
            f"about {minutes} minutes and settling within half an hour of stopping.",
            f"Burning in both lateral lower legs after about {minutes} minutes of play, with "
            "tingling on the top of the foot; settles within half an hour of stopping.",
            f"Bilateral anterior leg tightness that starts predictably at the same point in every "
            f"run and resolves with rest; {he} is otherwise well and {his} pain is absent at rest.",
        )
    )
