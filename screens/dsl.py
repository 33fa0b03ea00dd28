"""The vocabulary rules are written in: criteria, logic trees, finders and lookbacks.

A rule module builds a `Screen` from `Criterion` objects; the engine evaluates it. Everything
here is validated when a rule module is imported, so a broken rule fails CI, not the 2 a.m. run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from screens.model import InvalidRuleError, Modifier, Priority
from screens.notes.concepts import Concept
from screens.valuesets import ValueSet

UCUM_UNITS = frozenset({"1", "mm[Hg]", "%", "mg/dL", "kg", "cm", "a"})
_CRITERION_ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Lookback:
    """How far back from `as_of` a criterion looks. `days=None` means the whole record."""

    days: int | None

    def describe(self) -> str:
        if self.days is None:
            return "at any time in the record"
        if self.days % 365 == 0:
            years = self.days // 365
            return "within the last year" if years == 1 else f"within the last {years} years"
        return f"within the last {self.days} days"


def days(n: int) -> Lookback:
    if n <= 0:
        raise InvalidRuleError(f"lookback must be positive, got {n}")
    return Lookback(n)


ANY_TIME = Lookback(None)


@dataclass(frozen=True, slots=True)
class Bounds:
    """A numeric window: `at_least`/`at_most` are inclusive, `above`/`below` strict."""

    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    below: float | None = None

    def is_set(self) -> bool:
        return any(v is not None for v in (self.at_least, self.above, self.at_most, self.below))

    def describe(self) -> str:
        parts = []
        if self.at_least is not None:
            parts.append(f"{self.at_least:g} or higher")
        if self.above is not None:
            parts.append(f"above {self.above:g}")
        if self.at_most is not None:
            parts.append(f"{self.at_most:g} or lower")
        if self.below is not None:
            parts.append(f"below {self.below:g}")
        return " and ".join(parts)


# ---- finders: what a criterion looks for in the staged tables -------------------------------


@dataclass(frozen=True, slots=True)
class Diagnosis:
    valueset: ValueSet
    min_distinct_dates: int = 1
    active_only: bool = False  # clinicalStatus active/recurrence/relapse (or none) and not abated
    laterality: frozenset[str] | None = None  # from bodySite, else the code's display
    table: str = "condition"

    def describe(self) -> str:
        times = "" if self.min_distinct_dates == 1 else f" on {self.min_distinct_dates}+ dates"
        active = "an active " if self.active_only else "a "
        side = f" on the {' or '.join(sorted(self.laterality))} side" if self.laterality else ""
        return f"{active}diagnosis in value set `{self.valueset.name}`{side}{times}"


@dataclass(frozen=True, slots=True)
class ProcedureFinder:
    valueset: ValueSet
    table: str = "procedure"

    def describe(self) -> str:
        return f"a procedure in value set `{self.valueset.name}`"


@dataclass(frozen=True, slots=True)
class MedicationFinder:
    valueset: ValueSet
    display: str | None = None  # regex on the coding display / text, for product-level codes
    table: str = "medication"

    def describe(self) -> str:
        text = f"a medication order in value set `{self.valueset.name}`"
        if self.display:
            text += f" or named like /{self.display}/"
        return text


@dataclass(frozen=True, slots=True)
class Lab:
    valueset: ValueSet
    bounds: Bounds
    unit: str
    text: str | None = None  # regex on value_str, for results such as "noncompressible"
    # regex the result's timing must match (fully): "rest", "post_exercise", "pre_exercise",
    # "post_exercise_1min", "post_exercise_5min", read from the code's display or text
    timing: str | None = None
    table: str = "observation"

    def describe(self) -> str:
        if self.text is not None:
            return f"a result in value set `{self.valueset.name}` reported as {self.text!r}"
        unit = "" if self.unit == "1" else f" {self.unit}"
        return f"a result in value set `{self.valueset.name}` of {self.bounds.describe()}{unit}"


@dataclass(frozen=True, slots=True)
class NoteMention:
    concept: Concept
    allow: frozenset[Modifier] = frozenset()
    bounds: Bounds = Bounds()
    qualifier: str | None = None  # regex the mention's qualifier must match (fully)
    laterality: frozenset[str] | None = None
    min_distinct_dates: int = 1
    require: frozenset[Modifier] = frozenset()  # at least one of these must be present
    table: str = "note_mention"

    def describe(self) -> str:
        text = f"a note mention of `{self.concept}`"
        if self.bounds.is_set():
            text += f" with a value of {self.bounds.describe()}"
        if self.qualifier:
            text += f" ({self.qualifier.replace('.*', '…')})"
        if self.laterality:
            text += f" on the {' or '.join(sorted(self.laterality))} side"
        if self.min_distinct_dates > 1:
            text += f" on {self.min_distinct_dates}+ dates"
        if self.require:
            text += f" marked {' or '.join(sorted(self.require))}"
        elif self.allow:
            text += f"; {', '.join(sorted(self.allow))} mentions also count"
        else:
            text += " (not negated, historical, family, hypothetical or uncertain)"
        return text


@dataclass(frozen=True, slots=True)
class ExerciseDrop:
    """In one note, a post-exercise index at least `min_drop` (a fraction) below the resting one."""

    concept: Concept
    min_drop: float
    table: str = "note_mention"

    def describe(self) -> str:
        return (
            f"a post-exercise `{self.concept}` at least {self.min_drop:.0%} below the resting "
            "value in the same report"
        )


@dataclass(frozen=True, slots=True)
class Age:
    bounds: Bounds
    table: str = "patient"

    def describe(self) -> str:
        return f"age at the screening date {self.bounds.describe()} years"


@dataclass(frozen=True, slots=True)
class Sex:
    gender: str
    table: str = "patient"

    def describe(self) -> str:
        return f"administrative gender {self.gender}"


Finder = (
    Diagnosis | ProcedureFinder | MedicationFinder | Lab | NoteMention | ExerciseDrop | Age | Sex
)


def diagnosis(
    valueset: ValueSet,
    *,
    min_distinct_dates: int = 1,
    active_only: bool = False,
    laterality: frozenset[str] | None = None,
) -> Diagnosis:
    return Diagnosis(valueset, min_distinct_dates, active_only, laterality)


def procedure(valueset: ValueSet) -> ProcedureFinder:
    return ProcedureFinder(valueset)


def medication(valueset: ValueSet, *, display: str | None = None) -> MedicationFinder:
    if display is not None:
        re.compile(display)
    return MedicationFinder(valueset, display)


def lab(
    valueset: ValueSet,
    *,
    unit: str,
    at_least: float | None = None,
    above: float | None = None,
    at_most: float | None = None,
    below: float | None = None,
    text: str | None = None,
    timing: str | None = None,
) -> Lab:
    if unit not in UCUM_UNITS:
        raise InvalidRuleError(f"lab unit {unit!r} is not a UCUM unit known to vascreen")
    bounds = Bounds(at_least, above, at_most, below)
    if not bounds.is_set() and text is None:
        raise InvalidRuleError("lab() needs a numeric bound or a text pattern")
    if timing is not None:
        re.compile(timing)
    return Lab(valueset, bounds, unit, text, timing)


def note_mention(
    concept: Concept,
    *,
    allow: frozenset[Modifier] = frozenset(),
    at_least: float | None = None,
    above: float | None = None,
    at_most: float | None = None,
    below: float | None = None,
    qualifier: str | None = None,
    laterality: frozenset[str] | None = None,
    min_distinct_dates: int = 1,
    require: frozenset[Modifier] = frozenset(),
) -> NoteMention:
    """Mentions of `concept`; modifiers outside `allow` disqualify, and `require` (a subset of
    `allow`) demands one of its modifiers, e.g. only historical mentions mean "already known"."""
    required = frozenset(Modifier(m) for m in require)
    allowed = frozenset(Modifier(m) for m in allow) | required
    return NoteMention(
        Concept(concept),
        allowed,
        Bounds(at_least, above, at_most, below),
        qualifier,
        laterality,
        min_distinct_dates,
        required,
    )


def exercise_drop(concept: Concept, *, min_drop: float) -> ExerciseDrop:
    return ExerciseDrop(Concept(concept), min_drop)


def age(*, at_least: float | None = None, at_most: float | None = None) -> Age:
    return Age(Bounds(at_least=at_least, at_most=at_most))


def sex(gender: str) -> Sex:
    return Sex(gender)


# ---- criteria and logic ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Criterion:
    """One fact a screen looks for.

    `until` makes the fact last until it is superseded: a hit no longer counts once the patient
    has a hit of any `until` criterion dated after it on the same side (or with no side on
    either), e.g. a low ABI until a newer normal ABI, a CLTI presentation until a
    revascularization.
    """

    id: str
    reads_as: str
    finds: Finder
    lookback: Lookback = ANY_TIME
    until: tuple[Criterion, ...] = ()
    # Not on a side where any of these has a hit, whatever its date: "a treated leg is excluded,
    # the untreated other leg still counts".
    except_sides: tuple[Criterion, ...] = ()

    def __post_init__(self) -> None:
        if not _CRITERION_ID.match(self.id):
            raise InvalidRuleError(f"criterion id {self.id!r} is not <screen>.<fact>")
        if not self.reads_as.strip():
            raise InvalidRuleError(f"criterion {self.id} has no reads_as sentence")
        if any(other.id == self.id for other in (*self.until, *self.except_sides)):
            raise InvalidRuleError(f"criterion {self.id} cannot be superseded by itself")


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # "all" | "any" | "none"
    terms: tuple[Criterion | Logic, ...]

    def criteria(self) -> Iterator[Criterion]:
        for term in self.terms:
            if isinstance(term, Criterion):
                yield term
            else:
                yield from term.criteria()


def _logic(op: str, terms: tuple[Criterion | Logic, ...]) -> Logic:
    if not terms:
        raise InvalidRuleError(f"{op}_of() needs at least one term")
    return Logic(op, terms)


def all_of(*terms: Criterion | Logic) -> Logic:
    return _logic("all", terms)


def any_of(*terms: Criterion | Logic) -> Logic:
    return _logic("any", terms)


def none_of(*terms: Criterion | Logic) -> Logic:
    return _logic("none", terms)


@dataclass(frozen=True, slots=True)
class Alert:
    """A safety alert attached to a flagged item when `when` holds for the patient.

    `concern` names the pitfall; alerts of different screens with the same concern are one
    warning to the coordinator (a stand-alone safety item is not raised beside it).
    """

    id: str
    reads_as: str
    when: Logic
    concern: str = ""


@dataclass(frozen=True, slots=True)
class Escalation:
    """Raise the item's priority when any of `criteria` has a hit dated within `within`."""

    priority: Priority
    criteria: tuple[Criterion, ...]
    within: Lookback


@dataclass(frozen=True, slots=True)
class Screen:
    id: str
    version: int
    title: str
    priority: Priority
    include: Logic
    exclude: Logic | None = None
    mimics: tuple[Criterion, ...] = ()
    alerts: tuple[Alert, ...] = ()
    escalations: tuple[Escalation, ...] = ()
    summary: str = ""
    # A stand-alone screen raises an item only for what no other item of the patient already
    # carries: its items are dropped where every alert concern is already raised elsewhere.
    stands_alone: bool = False
    criteria_index: dict[str, Criterion] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        seen: dict[str, Criterion] = {}
        for criterion in self.all_criteria():
            if not criterion.id.startswith(f"{self.id}."):
                raise InvalidRuleError(
                    f"criterion {criterion.id} does not belong to screen {self.id}"
                )
            other = seen.get(criterion.id)
            if other is not None and other != criterion:
                raise InvalidRuleError(f"criterion id {criterion.id} is used twice")
            seen[criterion.id] = criterion
        alert_ids = [a.id for a in self.alerts]
        if len(alert_ids) != len(set(alert_ids)):
            raise InvalidRuleError(f"screen {self.id} repeats an alert id")
        self.criteria_index.update(seen)

    def all_criteria(self) -> Iterator[Criterion]:
        pending = list(self._direct_criteria())
        while pending:
            criterion = pending.pop(0)
            yield criterion
            pending[:0] = (*criterion.until, *criterion.except_sides)

    def _direct_criteria(self) -> Iterator[Criterion]:
        yield from self.include.criteria()
        if self.exclude is not None:
            yield from self.exclude.criteria()
        yield from self.mimics
        for alert in self.alerts:
            yield from alert.when.criteria()
        for escalation in self.escalations:
            yield from escalation.criteria
