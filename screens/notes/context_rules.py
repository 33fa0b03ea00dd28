"""ConText modifier rules: medspaCy's English defaults plus the vascular-screening overrides.

Overrides (clinical-reference section 5):
- "evaluate for" / "test for" are POSSIBLE, not NEGATED: "ABI ordered to evaluate for PAD" is suspicion.
- "resolved" / "healed" mean HISTORICAL (a past episode), and only when not describing relief
  ("pain resolved with rest" is still a current symptom).
- "s/p", "status post", "prior", "h/o" are HISTORICAL: historical PAD means already diagnosed.
- A ";" ends every scope so "no rest pain; claudication at 1 block" keeps the claudication.
- "2-day history of" is recent, not past history.
"""

# ruff: noqa: E501  (one pattern or case per line reads better than regexes split mid-token)

from __future__ import annotations

from pathlib import Path

import medspacy  # type: ignore[import-untyped]
from medspacy.context import ConTextRule  # type: ignore[import-untyped]

# "was negative" is re-added below so that it does not swallow "was negative for DVT".
# ": no" is re-added so that it only fires at clause end ("Edema: no"), not in "Extremities: no
# pedal edema", where it would displace the forward "no".
_DROPPED = {
    "evaluate for",
    "test for",
    "resolved",
    "now resolved",
    "ruled out",
    "was negative",
    ": no",
    ": none",
}

_EXTRA: list[tuple[str, str, str, str | None]] = [
    # (literal, category, direction, regex pattern or None for the literal)
    (
        "evaluate for",
        "POSSIBLE_EXISTENCE",
        "FORWARD",
        r"\b(?:evaluat\w+|assess(?:ed|ing)?|test(?:ed|ing)?|screen(?:ed|ing)?|work[- ]?up|look(?:ing)?|check(?:ed|ing)?) for\b",
    ),
    (
        "suspected",
        "POSSIBLE_EXISTENCE",
        "BIDIRECTIONAL",
        r"\b(?:suspected|suspect|suspicion (?:of|for)|concern (?:for|of)|concerning for|questionable|presumed|probable|likely|cannot exclude|can't exclude|versus|vs\.?)\b",
    ),
    ("to rule out", "POSSIBLE_EXISTENCE", "FORWARD", r"\b(?:rule out|r/o|to exclude|rule-out)\b"),
    (
        "resolved",
        "HISTORICAL",
        "BIDIRECTIONAL",
        r"\b(?:(?:fully |completely |now )?resolved|healed|remote)\b(?!\s+(?:with|by|within|upon|when|on|while)\b)"
        r"(?!\s+(?:after|in|over) (?:a (?:few|couple of) |several |about |approximately |\d+(?:-\d+)? )?(?:seconds?|minutes?|mins?|rest|resting|stopping(?! (?:the|his|her|a|an|all)\b)|standing still|sitting down)\b)",
    ),
    (
        "status post",
        "HISTORICAL",
        "FORWARD",
        r"(?<![\w/])(?:s/p|status post|h/o|hx of|prior(?! to)|previous(?:ly)?|former)(?![\w/])",
    ),
    (
        "ruled out",
        "NEGATED_EXISTENCE",
        "BACKWARD",
        r"\b(?:ruled out|excluded|(?:was|were|is|are) negative(?! for)|not seen|denied)\b",
    ),
    (
        "denies",
        "NEGATED_EXISTENCE",
        "FORWARD",
        r"\b(?:denie[sd]|negative for|neg for|without|free of|never had)\b",
    ),
    (
        "family",
        "FAMILY",
        "FORWARD",
        r"\b(?:family history|fhx|fh|(?:his|her|pt's|patient's) (?:mother|father|brother|sister|son|daughter|sibling|parent)s?)\b",
    ),
    (
        "call if",
        "HYPOTHETICAL",
        "FORWARD",
        r"\b(?:call (?:if|for|with)|return (?:if|for|with)|seek care|warning signs|should (?:you|she|he|they) develop|in case of|watch for|monitor for|risks? of|prevent(?:ion of)?)\b",
    ),
    (
        ": no",
        "NEGATED_EXISTENCE",
        "BACKWARD",
        r":\s*(?:no|none|negative|neg|absent)\b(?=\s*(?:[,;.]|$))",
    ),
    ("semicolon", "TERMINATE", "TERMINATE", r";"),
    # "underwent bilateral fasciotomy": a procedure already done means the disease is known.
    # Only for procedure-bearing concepts; measured values after "underwent ABI testing" stay current.
    (
        "underwent",
        "HISTORICAL",
        "FORWARD",
        r"\b(?:underwent|had undergone|has undergone|was treated with|were treated with|treated with|was managed with)\b",
    ),
    # Plans are not things done: "stent scheduled", "plan for fasciotomy", "recommend venous
    # stenting". Only for procedure-bearing concepts (a therapy "planned" is still ordered).
    (
        "scheduled",
        "HYPOTHETICAL",
        "BIDIRECTIONAL",
        r"\b(?:(?:is |was |has been |to be |being )?(?:scheduled|planned|booked|pending|proposed|offered|deferred)"
        r"|will (?:undergo|have|schedule|proceed|plan|need|get|be (?:scheduled|referred))|plan(?:s|ning|ned)? (?:for|to|on)"
        r"|recommend(?:s|ed|ing)?|consider(?:s|ed|ing)?|candidate for|referr?(?:ed|al) (?:for|to) (?:consideration of )?"
        r"|await(?:s|ing)?|to proceed with|would benefit from|may need|might need|possible)\b"
        r"|(?<!and )(?<!& )(?<!/)\bplan\s*:",
    ),
    # Consent and risk lists name what could happen: "risks include bleeding, DVT and amputation".
    (
        "risks include",
        "HYPOTHETICAL",
        "FORWARD",
        r"\b(?:risks?(?:,| and) benefits|risks? (?:include|including|such as|discussed|reviewed|explained)|(?:potential |possible )?complications (?:include|including|such as|discussed|reviewed)"
        r"|consent(?:ed)? (?:for|obtained|signed)|informed consent|counsel(?:l)?ed (?:on|about|regarding)|educated (?:on|about|regarding))\b",
    ),
    # A value or finding retracted from the chart is not the patient's ("entered on the wrong
    # chart", "filed in error"): unlike a negated symptom, this also voids a measured number.
    (
        "retracted",
        "RETRACTED",
        "BIDIRECTIONAL",
        r"\b(?:entered (?:on|in|into) (?:the )?wrong (?:chart|patient|record)|wrong (?:chart|patient)|(?:entered|filed|documented|charted|recorded) in error"
        r"|retracted|erroneous(?:ly)?|spurious|artifactual|invalid(?:ated)?|not (?:the patient's|this patient's))\b",
    ),
    # "History is typical for CECS" judges the story; it does not date the disease.
    (
        "history is typical",
        "PSEUDO",
        "PSEUDO",
        r"\b(?:history|story|presentation|picture) (?:is |was )?(?:most )?(?:typical|classic|characteristic|consistent|compatible)\b"
        r"|^\s*(?:clinical )?history\s*:",
    ),
    # A spouse or partner is not family history ("keeps up with his wife on walks"), and
    # "no longer able to" limits an activity rather than negating the symptom that limits it.
    (
        "spouse",
        "PSEUDO",
        "PSEUDO",
        r"\b(?:(?:his|her|their|the patient's|pt's|my) )?(?:wife|husband|spouse|partner|girlfriend|boyfriend|fianc[ée]e?)\b",
    ),
    (
        "no longer",
        "PSEUDO",
        "PSEUDO",
        r"\b(?:no longer|can no longer|can't keep up|cannot keep up|not able to keep up|unable to keep up)\b",
    ),
    (
        "recent history",
        "PSEUDO",
        "PSEUDO",
        r"\b(?:\d+|one|two|three|several|a few)[- ](?:hour|day|week|month|year)s?[- ](?:history|hx)(?: of)?\b|\bhistory of present illness\b",
    ),
    (
        "terminators",
        "TERMINATE",
        "TERMINATE",
        r"\b(?:but|however|though|although|except|currently|presents?|presented|presenting|today|with new|yet"
        r"|was admitted|complain(?:s|ed) of|was referred|came to)\b",
    ),
]


_PROCEDURE_BEARING = {"cecs", "pad", "iliac_vein_stent"}
_ALLOWED_TYPES: dict[str, set[str]] = {
    "underwent": _PROCEDURE_BEARING,
    "scheduled": _PROCEDURE_BEARING,
}


def _default_rules() -> list[ConTextRule]:
    path = Path(medspacy.__file__).resolve().parents[1] / "resources" / "en" / "context_rules.json"
    return [r for r in ConTextRule.from_json(str(path)) if r.literal.lower() not in _DROPPED]


def build_context_rules() -> list[ConTextRule]:
    """All ConText rules for the notes pipeline, defaults first."""
    rules = _default_rules()
    for literal, category, direction, pattern in _EXTRA:
        allowed = _ALLOWED_TYPES.get(literal)
        rules.append(
            ConTextRule(
                literal, category, pattern=pattern, direction=direction, allowed_types=allowed
            )
        )
    return rules
