"""Notes NLP: clinical note text -> concept mentions with ConText modifiers and measured values.

Pure: no I/O, no clock. `NLP_VERSION` changes whenever a rule changes; callers key caches on it
together with a hash of the note text.
"""

from screens.notes.concepts import Concept
from screens.notes.extract import extract_mentions
from screens.notes.frame import extract_mention_frame
from screens.notes.mention import Mention

NLP_VERSION = "2026.11.22-2"

__all__ = ["NLP_VERSION", "Concept", "Mention", "extract_mention_frame", "extract_mentions"]
