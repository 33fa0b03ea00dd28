"""Symptoms found by phrase attachment, not by fixed character gaps.

A symptom ("tightness", "ache", "burning"), the site it is felt in and what brings it on are
often far apart in one clause: "identical symptoms in the LEFT leg over 3 months - anterior
tightness and foot numbness at 3-4 mi", "feet hurt at night, she sleeps in her lift chair". The
target patterns join them across at most a few words; here each symptom word is attached to the
nearest site and the nearest trigger of its own clause (";" ends a clause; commas do not), on
either side, and the whole stretch becomes one mention: exertional leg pain (a leg site and an
exertion), or rest pain (a foot site and night, lying down or elevation). Routing
(`routing.py`) then decides what it is (claudication, the CECS pattern, a cramp, a mimic) and
ConText its modifiers, as for any other target. A negation between the symptom and its trigger
("walks 2 miles without calf pain") stops the attachment.
"""

# ruff: noqa: E501  (one pattern per line reads better than regexes split mid-token)

from __future__ import annotations

import re

from screens.notes.lexicon import (
    CECS_PAIN,
    CECS_SITE,
    CLAUD_SITE,
    FOOT_SITE,
    PAIN,
    SPORT_ACTIVITY,
    WALK,
)

_I = re.IGNORECASE
_SYMPTOM = re.compile(rf"\b{CECS_PAIN}\b|\bsymptoms?\b|\bcramping\b", _I)
_SITE = re.compile(rf"\b(?:{CLAUD_SITE}|{CECS_SITE})\b", _I)
_TRIGGER = re.compile(
    rf"\b(?:{WALK}|{SPORT_ACTIVITY}|activit(?:y|ies)|exertion|effort|(?:at|by|after|around|~)\s*(?:mile|km)\s*\d+"
    r"|(?:at|after|by|around|~)\s*~?\d+(?:\.\d+)?(?:\s*(?:-|to)\s*\d+(?:\.\d+)?)?\s*(?:mi|miles?|km|k)\b"
    r"|\d+\s*(?:min(?:ute)?s?|mins?)\s+(?:into|of)\s+(?:\w+\s+)?(?:practice|play|games?|runs?|running|exercise|activity|training|drills?|sessions?|workouts?)"
    r"|(?:starts?|begins?|comes? on|onset|kicks? in)\s+(?:~|about|after|at|around)?\s*~?\d+\s*min\w*\s+in(?:to)?\b)",
    _I,
)
_PAIN = re.compile(rf"\b{PAIN}\b|\bhurt\b", _I)
_FOOT = re.compile(rf"\b{FOOT_SITE}\b", _I)
_RECUMBENT = re.compile(
    r"\b(?:at night|nights?|nightly|nocturnal|overnight|at bedtime|in bed|lying (?:flat|down)|lies down|lie down"
    r"|when (?:she|he|they) (?:lies|lie|lays|lay) down|supine|recumbent|(?:when|with) (?:the )?(?:legs?|feet|foot) (?:are |is )?(?:up|elevated)"
    r"|wakes? (?:him|her|them|the patient|pt)(?: up)?|from sleep)\b",
    _I,
)
_NEGATION = re.compile(r"\b(?:without|no|not|denies|denied|never|free of)\b", _I)
_SYMPTOM_TO_SITE = 70
_ANCHOR_TO_TRIGGER = 90


def _clauses(text: str) -> list[tuple[int, int]]:
    bounds, start = [], 0
    for m in re.finditer(r";|\.\s", text):
        bounds.append((start, m.start()))
        start = m.end()
    bounds.append((start, len(text)))
    return [(a, b) for a, b in bounds if b > a]


def _nearest(matches: list[re.Match[str]], lo: int, hi: int, limit: int) -> re.Match[str] | None:
    """The match nearest to [lo, hi) within `limit` characters, not overlapping it."""
    best: tuple[int, re.Match[str]] | None = None
    for m in matches:
        if m.start() < hi and lo < m.end():
            continue
        distance = m.start() - hi if m.start() >= hi else lo - m.end()
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, m)
    return None if best is None else best[1]


def exertional_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each symptom + leg site + exertion trigger found in one clause."""
    return _attached(text, _SYMPTOM, _SITE, _TRIGGER)


def rest_pain_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each pain + foot site + night or lying-down trigger in one clause."""
    return _attached(text, _PAIN, _FOOT, _RECUMBENT)


def _attached(
    text: str,
    symptoms: re.Pattern[str],
    site_words: re.Pattern[str],
    trigger_words: re.Pattern[str],
) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for lo, hi in _clauses(text):
        sites = list(site_words.finditer(text, lo, hi))
        triggers = list(trigger_words.finditer(text, lo, hi))
        if not sites or not triggers:
            continue
        for symptom in symptoms.finditer(text, lo, hi):
            site = _nearest(sites, symptom.start(), symptom.end(), _SYMPTOM_TO_SITE)
            if site is None:
                continue
            anchor_lo, anchor_hi = (
                min(site.start(), symptom.start()),
                max(site.end(), symptom.end()),
            )
            trigger = _nearest(triggers, anchor_lo, anchor_hi, _ANCHOR_TO_TRIGGER)
            if trigger is None:
                continue
            start, end = min(anchor_lo, trigger.start()), max(anchor_hi, trigger.end())
            # "walks 2 miles without calf pain": the trigger is negated away from the symptom.
            gap = (
                text[trigger.end() : anchor_lo]
                if trigger.end() <= anchor_lo
                else text[anchor_hi : trigger.start()]
            )
            if _NEGATION.search(gap):
                continue
            spans.append((start, end))
    return _merged(spans)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
