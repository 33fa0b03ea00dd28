"""The Mention value object: one concept found in one note, with its span and context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from screens.model import Modifier
from screens.notes.concepts import Concept


@dataclass(frozen=True, slots=True)
class Mention:
    """One concept mention. Offsets are character offsets into the original note text."""

    concept: Concept
    span_start: int
    span_end: int
    sentence_start: int
    sentence_end: int
    modifiers: frozenset[Modifier]
    laterality: str | None
    value: float | None
    unit: str | None
    qualifier: str | None
    section: str | None
    # The date the note states for this finding ("ABI 0.58 (2019)"), when it gives one; None
    # means the note's own date.
    stated_on: date | None = None
