"""Polarity that belongs to one list item, not to a ConText scope.

Templated notes mark each item of a list on its own: review-of-systems lines such as
"(-) claudication", "Leg swelling: (-)", "edema - neg", "(+) burning feet", and lab-style rows
"Night pain: no". A ConText cue scopes over the rest of its clause, so "(-) chest pain, (+) calf
pain with walking" would negate both items; here a mark governs only the item it touches (the
text from the previous list separator to the next). Questions ("?PAD", "PAD?", "Could this be
May-Thurner?") and diagnoses quoted from a referral or attributed to someone else ("referred
for 'PAD'", "the trainer called it shin splints") are not established facts: uncertain.
"""

# ruff: noqa: E501  (one pattern per line reads better than regexes split mid-token)

from __future__ import annotations

import re

from screens.model import Modifier

_I = re.IGNORECASE
# List items end at these (a colon is inside an item: "Night pain: (-)").
_SEPARATOR = re.compile(r"[,;|\u2022]|\s(?:and|or)\s(?=\(|[A-Za-z]+\s*(?:\(|:))|\s{3,}")
_NEG_MARK = r"(?:\(\s*[-\u2212\u2013]\s*\)|neg(?:ative)?|no|none|nil|absent|denie[sd]|not present)"
_POS_MARK = r"(?:\(\s*\+\s*\)|pos(?:itive)?|yes|present)"
# A mark before the item ("(-) claudication", "neg: edema") or after it ("edema: (-)", "edema - no").
_NEG_BEFORE = re.compile(rf"^\s*{_NEG_MARK}\s*[:\-]?\s*$", _I)
_NEG_AFTER = re.compile(rf"^\s*[:=\-]?\s*{_NEG_MARK}\s*\.?\s*$", _I)
_POS_BEFORE = re.compile(rf"^\s*{_POS_MARK}\s*[:\-]?\s*$", _I)
_POS_AFTER = re.compile(rf"^\s*[:=\-]?\s*{_POS_MARK}\s*\.?\s*$", _I)
# "(+)" or "(-)" directly touching the item, whatever else the item holds.
_PAREN_NEG_TOUCH = re.compile(r"\(\s*[-\u2212\u2013]\s*\)\s*$")
_PAREN_POS_TOUCH = re.compile(r"\(\s*\+\s*\)\s*$")
_PAREN_NEG_AFTER = re.compile(r"^\s*:?\s*\(\s*[-\u2212\u2013]\s*\)")
_PAREN_POS_AFTER = re.compile(r"^\s*:?\s*\(\s*\+\s*\)")

_QUESTION_BEFORE = re.compile(r"(?:^|[\s(:,;/])\?\s*$")
_QUESTION_AFTER = re.compile(r"\s*\?")  # used with match(text, pos): no "^"
_QUESTION_WORDS = re.compile(
    r"\b(?:query|question of|\?\s*of|could (?:this|it|these|that) be|differential (?:diagnosis )?includes?|ddx\b)",
    _I,
)
_ATTRIBUTED = re.compile(
    r"\b(?:called (?:it|this|them|these)|calls? (?:it|this)|labell?ed (?:it |this )?(?:as )?|was told (?:(?:it|this) (?:was|is)|(?:she|he|they) (?:had|has|have))"
    r"|told (?:her|him|them) (?:it|this) (?:was|is)|attributed (?:it|this|these|symptoms|the \w+)? ?to|thought (?:it|this) (?:was|to be)"
    r"|diagnosed (?:elsewhere|previously|by \w+) (?:with|as)|(?:per|according to) (?:the )?(?:patient|pt|family|mother|father|trainer|coach|referral|referring\b[^,.;]{0,30})"
    r"|(?:per|according to) (?:the |his |her )?(?:ortho\w*|podiatr\w*|cardiolog\w*|neuro\w*|rheum\w*|(?-i:PCP|ED|ER|PA|NP|ATC)|urgent care|outside\b[^,.;]{0,20}|prior\b[^,.;]{0,20}|dr\.? \w+)"
    r"|self[- ]diagnosed|presumed (?:to be )?|chalked up to|blamed (?:it |this )?on)",
    _I,
)
_REFERRAL = re.compile(
    r"\b(?:referr(?:al|ed|ing)|consult(?:ation)? (?:for|request)|reason for (?:visit|consult|referral))\b",
    _I,
)
_QUOTE = re.compile(r"[\"\u201c\u201d]")


def _item_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    lo = 0
    for m in _SEPARATOR.finditer(text, 0, start):
        lo = m.end()
    nxt = _SEPARATOR.search(text, end)
    return lo, len(text) if nxt is None else nxt.start()


def item_polarity(text: str, start: int, end: int) -> Modifier | bool | None:
    """The polarity a list mark gives the mention at [start, end) of a sentence.

    Returns Modifier.NEGATED for a negative mark, True for an explicit positive mark (which
    overrides a list-wide negation), None when the item carries no mark.
    """
    lo, hi = _item_bounds(text, start, end)
    before, after = text[lo:start], text[end:hi]
    if _PAREN_POS_TOUCH.search(before) or _PAREN_POS_AFTER.match(after):
        return True
    if _PAREN_NEG_TOUCH.search(before) or _PAREN_NEG_AFTER.match(after):
        return Modifier.NEGATED
    if _NEG_BEFORE.match(before) or _NEG_AFTER.match(after):
        return Modifier.NEGATED
    if _POS_BEFORE.match(before) or _POS_AFTER.match(after):
        return True
    return None


def is_questioned(text: str, start: int, end: int) -> bool:
    """'?PAD', 'PAD?', a sentence that is a question, or 'query/could this be ...' before it."""
    lo, hi = _item_bounds(text, start, end)
    if _QUESTION_BEFORE.search(text[max(lo, start - 3) : start]):
        return True
    if _QUESTION_AFTER.match(text, end, hi):
        return True
    if text.rstrip().endswith("?") and "?" not in text[:start]:
        return True
    clause_start = max(text.rfind(";", 0, start), text.rfind(".", 0, start)) + 1
    return _QUESTION_WORDS.search(text, clause_start, start) is not None


def is_attributed(text: str, start: int) -> bool:
    """A diagnosis someone else named: quoted in a referral, or attributed ('called it ...')."""
    clause_start = max(text.rfind(";", 0, start), text.rfind(".", 0, start)) + 1
    if _ATTRIBUTED.search(text, clause_start, start):
        return True
    inside_quotes = len(_QUOTE.findall(text, 0, start)) % 2 == 1
    return inside_quotes and _REFERRAL.search(text, 0, start) is not None
