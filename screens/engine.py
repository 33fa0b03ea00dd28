"""Evaluate screens over staged tables at an `as_of` date: evidence rows and worklist items.

The engine, not the rule, writes evidence: every criterion hit on a satisfied branch of a flagged
patient's include tree becomes one EVIDENCE row carrying the criterion id and the screen version.
Pure: the only inputs are the staged frames, the screens and `as_of`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from screens import dsl
from screens.coded import with_code_keys
from screens.finders import HIT, find_hits
from screens.model import (
    EVIDENCE,
    EVIDENCE_ORDER,
    PRIORITY_RANK,
    WORKLIST_ITEM,
    assert_schema,
    empty_frame,
)
from screens.supersede import drop_superseded, sides_from_same_day

LEAVING = {"patient_id": pl.String, "d": pl.Date}


@dataclass(frozen=True, slots=True)
class Evaluation:
    evidence: pl.DataFrame  # EVIDENCE
    items: pl.DataFrame  # WORKLIST_ITEM
    undated_skipped: dict[str, int] = field(default_factory=dict)  # criterion id -> rows skipped
    # (patient_id, d): the day each hit leaves a window it counts in (`screens.schedule`).
    leaving: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=LEAVING))


def _leaving(hits: pl.DataFrame, days: int) -> pl.DataFrame:
    """The day each dated hit leaves a window of `days` (as_of - days is the first day in)."""
    leaves = pl.col("observed_on") + timedelta(days=days + 1)
    return hits.select(pl.col("patient_id"), leaves.alias("d")).drop_nulls().cast(LEAVING)  # type: ignore[arg-type]


class _Context:
    """Hits per criterion and satisfied-patient sets per logic node, computed once each."""

    def __init__(self, tables: Mapping[str, pl.DataFrame], as_of: date, universe: set[str]) -> None:
        self.tables, self.as_of, self.universe = tables, as_of, universe
        self.hits: dict[str, pl.DataFrame] = {}
        self.patients: dict[str, set[str]] = {}
        self.undated: dict[str, int] = {}
        self.leaving: list[pl.DataFrame] = []

    def criterion_hits(self, criterion: dsl.Criterion) -> pl.DataFrame:
        if criterion.id not in self.hits:
            hits, undated = find_hits(criterion, self.tables, self.as_of)
            if criterion.until:
                later = pl.concat([self.criterion_hits(c) for c in criterion.until])
                hits = drop_superseded(hits, sides_from_same_day(later))
            if criterion.except_sides:
                treated = pl.concat([self.criterion_hits(c) for c in criterion.except_sides])
                hits = drop_superseded(hits, sides_from_same_day(treated), any_time=True)
            self.hits[criterion.id] = hits
            if criterion.lookback.days is not None:
                self.leaving.append(_leaving(hits, criterion.lookback.days))
            self.patients[criterion.id] = set(hits.get_column("patient_id").to_list())
            if undated:
                self.undated[criterion.id] = undated
        return self.hits[criterion.id]

    def satisfied(self, node: dsl.Criterion | dsl.Logic) -> set[str]:
        if isinstance(node, dsl.Criterion):
            self.criterion_hits(node)
            return self.patients[node.id]
        sets = [self.satisfied(term) for term in node.terms]
        if node.op == "all":
            return set.intersection(*sets)
        union = set.union(*sets)
        return union if node.op == "any" else self.universe - union

    def supporting(
        self, node: dsl.Criterion | dsl.Logic, patients: set[str]
    ) -> list[tuple[str, set[str]]]:
        """(criterion id, patients) on branches that hold for those patients; `none` adds none."""
        if not patients:
            return []
        if isinstance(node, dsl.Criterion):
            return [(node.id, patients & self.satisfied(node))]
        if node.op == "none":
            return []
        found: list[tuple[str, set[str]]] = []
        for term in node.terms:
            held = patients if node.op == "all" else patients & self.satisfied(term)
            found.extend(self.supporting(term, held))
        return found


def _evidence_rows(
    ctx: _Context, pairs: list[tuple[str, set[str]]], screen: dsl.Screen, role: str
) -> list[pl.DataFrame]:
    frames = []
    for criterion_id, patients in pairs:
        if not patients:
            continue
        hits = ctx.hits[criterion_id].filter(pl.col("patient_id").is_in(sorted(patients)))
        frames.append(
            hits.with_columns(
                screen_id=pl.lit(screen.id),
                screen_version=pl.lit(screen.version, pl.Int64),
                criterion_id=pl.lit(criterion_id),
                role=pl.lit(role),
                as_of=pl.lit(ctx.as_of, pl.Date),
            )
        )
    return frames


def _priorities(ctx: _Context, screen: dsl.Screen, flagged: set[str]) -> dict[str, str]:
    priority = dict.fromkeys(flagged, str(screen.priority))
    for escalation in screen.escalations:
        start = ctx.as_of - timedelta(days=escalation.within.days or 36500)
        for criterion in escalation.criteria:
            hits = ctx.criterion_hits(criterion)
            ctx.leaving.append(_leaving(hits, escalation.within.days or 36500))
            recent = hits.filter(pl.col("observed_on") >= start)
            for patient in set(recent.get_column("patient_id").to_list()) & flagged:
                if PRIORITY_RANK[escalation.priority] < PRIORITY_RANK[priority[patient]]:
                    priority[patient] = str(escalation.priority)
    return priority


def _items(
    screen: dsl.Screen,
    evidence: pl.DataFrame,
    priority: dict[str, str],
    alerts: dict[str, list[str]],
    as_of: date,
) -> pl.DataFrame:
    def joined(col: str) -> pl.Expr:
        return pl.col(col).unique().sort().str.join(" ")

    include = evidence.filter(pl.col("role") == "include")
    mimic = (
        evidence.filter(pl.col("role") == "mimic")
        .group_by("patient_id")
        .agg(mimics=joined("criterion_id"))
    )
    items = (
        include.group_by("patient_id")
        .agg(
            criteria=joined("criterion_id"),
            evidence=joined("source_ref"),
            last_evidence_on=pl.col("observed_on").max(),
        )
        .join(mimic, on="patient_id", how="left")
    )
    items = items.with_columns(
        screen=pl.lit(screen.id),
        screen_version=pl.lit(screen.version, pl.Int64),
        priority=pl.col("patient_id").replace_strict(priority, return_dtype=pl.String),
        first_flagged_on=pl.lit(as_of, pl.Date),
        mimics=pl.col("mimics").fill_null(""),
        alerts=pl.col("patient_id").replace_strict(
            {p: " ".join(sorted(a)) for p, a in alerts.items()}, default="", return_dtype=pl.String
        ),
        as_of=pl.lit(as_of, pl.Date),
    )
    return items.select(list(WORKLIST_ITEM)).sort("patient_id")


def evaluate_screen(
    screen: dsl.Screen, tables: Mapping[str, pl.DataFrame], as_of: date
) -> Evaluation:
    """Flag patients whose include tree holds and exclude tree does not, with their evidence."""
    tables = with_code_keys(tables)
    universe = set(tables["patient"].get_column("patient_id").to_list())
    ctx = _Context(tables, as_of, universe)
    for (
        criterion
    ) in screen.all_criteria():  # hits of every criterion, so undated counts are complete
        ctx.criterion_hits(criterion)
    universe.update(*(ctx.patients[c.id] for c in screen.all_criteria()))
    flagged = ctx.satisfied(screen.include)
    if screen.exclude is not None:
        flagged = flagged - ctx.satisfied(screen.exclude)
    frames = _evidence_rows(ctx, ctx.supporting(screen.include, flagged), screen, "include")
    frames += _evidence_rows(
        ctx, [(m.id, flagged & ctx.patients[m.id]) for m in screen.mimics], screen, "mimic"
    )
    alerts: dict[str, list[str]] = {}
    for alert in screen.alerts:
        raised = flagged & ctx.satisfied(alert.when)
        for patient in raised:
            alerts.setdefault(patient, []).append(alert.id)
        frames += _evidence_rows(ctx, ctx.supporting(alert.when, raised), screen, "alert")
    evidence = (pl.concat(frames) if frames else empty_frame(EVIDENCE)).select(list(EVIDENCE))
    evidence = evidence.unique().sort(EVIDENCE_ORDER, nulls_last=True)
    items = _items(screen, evidence, _priorities(ctx, screen, flagged), alerts, as_of)
    return Evaluation(
        assert_schema(evidence, EVIDENCE, "evidence"),
        assert_schema(items, WORKLIST_ITEM, "worklist_item"),
        dict(ctx.undated),
        pl.concat(ctx.leaving).unique() if ctx.leaving else pl.DataFrame(schema=LEAVING),
    )


def _concerns(screens: Sequence[dsl.Screen]) -> dict[str, str]:
    return {a.id: a.concern or a.id for screen in screens for a in screen.alerts}


def _without_repeated_alerts(
    result: Evaluation, others: list[Evaluation], concern_of: dict[str, str]
) -> Evaluation:
    """A stand-alone screen's items less those whose every alert concern another screen's
    item of the patient already carries (one warning, on the item already there)."""
    raised: dict[str, set[str]] = {}
    for other in others:
        for patient, alerts in other.items.select("patient_id", "alerts").iter_rows():
            raised.setdefault(patient, set()).update(concern_of[a] for a in alerts.split())
    repeated = [
        patient
        for patient, alerts in result.items.select("patient_id", "alerts").iter_rows()
        if {concern_of[a] for a in alerts.split()} <= raised.get(patient, set())
    ]
    if not repeated:
        return result
    keep = ~pl.col("patient_id").is_in(repeated)
    return Evaluation(
        result.evidence.filter(keep),
        result.items.filter(keep),
        result.undated_skipped,
        result.leaving,
    )


def evaluate_screens(
    screens: Sequence[dsl.Screen], tables: Mapping[str, pl.DataFrame], as_of: date
) -> Evaluation:
    keyed = with_code_keys(tables)  # once for every screen
    results = [evaluate_screen(screen, keyed, as_of) for screen in screens]
    concern_of = _concerns(screens)
    flagging = [r for r, s in zip(results, screens, strict=True) if not s.stands_alone]
    results = [
        _without_repeated_alerts(r, flagging, concern_of) if s.stands_alone else r
        for r, s in zip(results, screens, strict=True)
    ]
    undated: dict[str, int] = {}
    for result in results:
        undated.update(result.undated_skipped)
    evidence = pl.concat([r.evidence for r in results]) if results else empty_frame(EVIDENCE)
    items = pl.concat([r.items for r in results]) if results else empty_frame(WORKLIST_ITEM)
    leaving = pl.concat([r.leaving for r in results]) if results else pl.DataFrame(schema=LEAVING)
    return Evaluation(evidence, items.sort(["patient_id", "screen"]), undated, leaving)


__all__ = ["HIT", "Evaluation", "evaluate_screen", "evaluate_screens"]
