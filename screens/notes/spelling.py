"""Misspelled long clinical words read as the word meant: "claudicaiton", "clauducation",
"Parasthesias", "gangreen".

Notes are typed fast and spell-checkers do not know clinical words, so the long words the rules
depend on are often misspelled. A word of 7 letters or more that is not in the vocabulary is
compared with it by optimal-string-alignment distance (a transposition is one edit; `rapidfuzz`):
words of 10 letters or more may be 2 edits away, shorter ones 1 edit of the same length (a
substitution or transposition), so "smelling" never becomes "swelling" but "swleling" does; the
first letter and the last two must agree, so "thrombotic" stays itself.
Only the reading changes: offsets are mapped back, so spans and snippets show the note's own
spelling.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

VOCABULARY = (
    "claudication",
    "claudicating",
    "claudicates",
    "paresthesia",
    "paresthesias",
    "paraesthesia",
    "compartment",
    "compartments",
    "fasciotomy",
    "fasciotomies",
    "ischemic",
    "ischemia",
    "ischaemic",
    "gangrene",
    "gangrenous",
    "thrombosis",
    "thrombus",
    "thrombosed",
    "popliteal",
    "iliofemoral",
    "noncompressible",
    "incompressible",
    "atherosclerosis",
    "atherosclerotic",
    "revascularization",
    "revascularized",
    "amputation",
    "claudicant",
    "radiculopathy",
    "neurogenic",
    "swelling",
    "numbness",
    "tightness",
    "exertional",
    "ambulation",
    "ambulating",
    "dependent",
    "dependency",
    "elevation",
    "anticoagulation",
    "anticoagulated",
    "rivaroxaban",
    "apixaban",
    "warfarin",
    "enoxaparin",
    "compression",
    "stockings",
    "cellulitis",
    "lymphedema",
    "osteoarthritis",
    "arthritis",
    "fracture",
    "stenosis",
    "occlusion",
    "occluded",
    "nonhealing",
    "ulceration",
    "peripheral",
    "arterial",
    "vascular",
    "venous",
    "femoropopliteal",
    "angioplasty",
    "brachial",
    "transcutaneous",
    "tingling",
    "cramping",
)
_WORDS = frozenset(VOCABULARY)
_LONG_WORD = re.compile(r"[A-Za-z]{7,}")


@lru_cache(maxsize=50_000)
def _meant(word: str) -> str | None:
    """The vocabulary word `word` misspells, or None (a known word, or no close one)."""
    lower = word.lower()
    if lower in _WORDS:
        return None
    limit = 2 if len(lower) >= 10 else 1
    found = process.extractOne(lower, VOCABULARY, scorer=OSA.distance, score_cutoff=limit)
    if found is None:
        return None
    meant = str(found[0])
    if limit == 1 and len(meant) != len(lower):
        return None  # short words: substitutions and transpositions only
    if meant[:1] != lower[:1] or meant[-2:] != lower[-2:]:
        # Misspellings keep the first letter and the ending; a different ending is another
        # word of the family ("thrombotic", "gangrenosum"), not a typo.
        return None
    return meant if word[:1].islower() else meant.capitalize()


def corrected(text: str) -> tuple[str, Callable[[int], int]]:
    """`text` with misspelled clinical words replaced, and a map from an offset in the result
    back to the original (inside a replaced word, to that word's start or end)."""
    if not any(_meant(w) for w in set(_LONG_WORD.findall(text))):
        return text, _identity
    pieces: list[str] = []
    # (start in result, end in result, start in original, end in original) per replaced word
    edits: list[tuple[int, int, int, int]] = []
    cursor = 0
    shift = 0
    for m in _LONG_WORD.finditer(text):
        meant = _meant(m.group(0))
        if meant is None:
            continue
        pieces.append(text[cursor : m.start()])
        new_start = m.start() + shift
        pieces.append(meant)
        edits.append((new_start, new_start + len(meant), m.start(), m.end()))
        shift += len(meant) - (m.end() - m.start())
        cursor = m.end()
    if not edits:
        return text, _identity
    pieces.append(text[cursor:])
    starts = [e[0] for e in edits]

    def to_original(pos: int) -> int:
        i = bisect_right(starts, pos) - 1
        if i < 0:
            return pos
        new_start, new_end, old_start, old_end = edits[i]
        if pos <= new_start:
            return old_start
        if pos < new_end:
            return old_end if pos - new_start > (new_end - new_start) // 2 else old_start
        return old_end + (pos - new_end)

    return "".join(pieces), to_original


def _identity(pos: int) -> int:
    return pos
