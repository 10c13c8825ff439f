"""Turn ranked candidates into decision tiers that mean something.

`auto` is reserved for proposals that are almost never wrong: a high score, a clear
margin over the runner-up, a strong name match, values that fit, the candidate inside
the entity the table was assigned to, no other field of the same table claiming the
same target more strongly, and no person having rejected that target for a field like it.
`review` means a person should look; `reject` means nothing fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from autonomos.dcl.matching.probability import Calibration, auto_calibration
from autonomos.dcl.matching.typing import Candidate, DecisionTier, EntityAssignment


@dataclass(frozen=True)
class Thresholds:
    """Configurable gates for each tier."""

    auto_score: float = 0.7
    auto_lower_bound: float = 0.9
    """`auto` needs the calibrated probability's lower bound (probability.py) at least this high."""
    auto_margin: float = 0.1
    auto_name: float = 0.8
    auto_explained: float = 0.6
    auto_value: float = 0.45
    auto_entity_confidence: float = 0.5
    review_score: float = 0.5
    auto_entity_margin: float = 0.1
    """Unless the table's own name denotes its entity, that entity must lead every other by this share of its score."""
    auto_memory: float = 0.9
    auto_memory_support: float = 0.3
    auto_generic_meaning: float = 0.75
    """A name match resting on a bare generic word needs meaning at least this close as well."""
    auto_rejected: float = 0.7
    """A candidate whose target a person rejected for a field at least this similar is never `auto`."""
    calibration: Calibration | None = None
    """The `auto` calibration to use: the shipped one unless a tenant's decisions refined it."""


@dataclass(frozen=True)
class Ranked:
    """One source field's ranked candidates plus the context a decision needs."""

    source_table: str
    source_field: str
    candidates: tuple[Candidate, ...]
    assignment: EntityAssignment


def decide(ranked: Ranked, thresholds: Thresholds, lost_conflict: bool) -> tuple[DecisionTier, tuple[str, ...]]:
    """Decision tier for one field and the reasons that kept it from a higher tier."""
    if not ranked.candidates or ranked.candidates[0].score < thresholds.review_score:
        return "reject", ("no candidate reaches the review score",)
    best = ranked.candidates[0]
    runner_up = ranked.candidates[1].score if len(ranked.candidates) > 1 else 0.0
    blockers: list[str] = []
    if best.score < thresholds.auto_score:
        blockers.append("score below auto threshold")
    calibration = thresholds.calibration or auto_calibration()
    if thresholds.auto_lower_bound > 0 and calibration.lower_bound(best.score) < thresholds.auto_lower_bound:
        blockers.append("calibrated lower bound too low")
    if best.score - runner_up < thresholds.auto_margin:
        blockers.append("runner-up too close")
    recalled = _recalled(best, thresholds)
    if best.signals.get("name", 0.0) < thresholds.auto_name and not recalled:
        blockers.append("name match not strong enough")
    if best.signals.get("name_explained", 0.0) < thresholds.auto_explained and not recalled:
        blockers.append("a word of the source name has no counterpart")
    if best.signals.get("bare_generic", 0.0) > 0 and best.signals.get("meaning", 0.0) < thresholds.auto_generic_meaning:
        blockers.append("only a generic word agrees")
    if best.signals.get("rejected", 0.0) >= thresholds.auto_rejected:
        blockers.append("a person rejected this target for a field like it")
    if best.signals.get("value", 0.0) < thresholds.auto_value:
        blockers.append("values do not clearly fit")
    if best.target_table != ranked.assignment.entity:
        blockers.append("candidate outside the table's entity")
    if ranked.assignment.confidence < thresholds.auto_entity_confidence:
        blockers.append("table's entity uncertain")
    if not ranked.assignment.named and _entity_margin(ranked.assignment) < thresholds.auto_entity_margin:
        blockers.append("another entity fits the table almost as well")
    if lost_conflict:
        blockers.append("another field of the table claims this target more strongly")
    return ("review", tuple(blockers)) if blockers else ("auto", ())


def _entity_margin(assignment: EntityAssignment) -> float:
    """How far the table's entity leads the next one, as a share of its score (1 with no rival scored)."""
    own = assignment.scores.get(assignment.entity or "", 0.0)
    rivals = [score for table, score in assignment.scores.items() if table != assignment.entity]
    if not rivals:
        return 1.0
    return (own - max(rivals)) / own if own > 0 else 0.0


def _recalled(best: Candidate, thresholds: Thresholds) -> bool:
    """A very close approved example that name or meaning also supports stands in for a strong name match.

    Every other gate (score, margin, values, entity, conflicts) still applies, so memory alone
    never makes a decision automatic.
    """
    support = max(best.signals.get("name", 0.0), best.signals.get("meaning", 0.0))
    return best.signals.get("memory", 0.0) >= thresholds.auto_memory and support >= thresholds.auto_memory_support


def conflict_losers(rankings: Sequence[Ranked]) -> set[int]:
    """Indexes of fields whose top target is claimed more strongly by another field of the same table.

    Two fields of one table rarely map to the same target field, so only the strongest keeps
    the chance of an automatic decision; the others still keep their ranking.
    """
    strongest: dict[tuple[str, str, str], tuple[float, int]] = {}
    for index, ranked in enumerate(rankings):
        if not ranked.candidates:
            continue
        best = ranked.candidates[0]
        key = (ranked.source_table, best.target_table, best.target_field)
        current = strongest.get(key)
        if current is None or best.score > current[0]:
            strongest[key] = (best.score, index)
    winners = {index for _, index in strongest.values()}
    return {index for index, ranked in enumerate(rankings) if ranked.candidates and index not in winners}
