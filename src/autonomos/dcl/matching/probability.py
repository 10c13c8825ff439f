"""Scores -> estimated probability that the first candidate is right (isotonic, shipped fitted).

The table in knowledge/calibration.json was fitted by `benchmarks/fit_calibration.py` on the CRM
dev set only (never on any other benchmark's gold): pool-adjacent-violators over the first
candidates' scores, each block keeping how many fields it pooled. A second table is fitted over the
fields that pass every other `auto` gate; `auto` needs the lower bound of its block's rate (Wilson,
z = 1.64), so a block seen on few fields cannot look certain. A tenant's own approved and rejected
decisions refine the shipped table (`Calibration.refined`): each decision is one more observation in
the block of its score, so a tenant whose people reject high-scoring candidates sees fewer `auto`s.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

Z = 1.64


@dataclass(frozen=True)
class Calibration:
    """Isotonic blocks: upper score edge, right count, field count (ascending edges)."""

    edges: tuple[float, ...]
    right: tuple[int, ...]
    total: tuple[int, ...]

    def _block(self, score: float) -> int:
        for index, edge in enumerate(self.edges):
            if score <= edge:
                return index
        return len(self.edges) - 1

    def estimate(self, score: float) -> float:
        """Estimated probability of being right for a first candidate with this score."""
        block = self._block(score)
        return round(self.right[block] / self.total[block], 3) if self.total[block] else 0.0

    def lower_bound(self, score: float) -> float:
        """Wilson lower bound of that probability given how many fields the block pooled."""
        block = self._block(score)
        return round(wilson_lower(self.right[block], self.total[block]), 3)


    def refined(self, decisions: Sequence[tuple[float, bool]]) -> Calibration:
        """This table with a tenant's decisions (first candidate's score, approved?) added to their blocks.

        The shipped counts act as the prior; adjacent blocks whose rates fall out of order are pooled
        again, so the refined table stays monotone in the score.
        """
        if not decisions:
            return self
        right, total = list(self.right), list(self.total)
        for score, approved in decisions:
            block = self._block(score)
            right[block] += int(approved)
            total[block] += 1
        blocks: list[list[float]] = []
        for edge, r, t in zip(self.edges, right, total):
            blocks.append([edge, r, t])
            while len(blocks) > 1 and _rate(blocks[-2]) >= _rate(blocks[-1]):
                edge_, r_, t_ = blocks.pop()
                blocks[-1] = [edge_, blocks[-1][1] + r_, blocks[-1][2] + t_]
        return Calibration(tuple(b[0] for b in blocks), tuple(int(b[1]) for b in blocks), tuple(int(b[2]) for b in blocks))


def _rate(block: Sequence[float]) -> float:
    return block[1] / block[2] if block[2] else 0.0


def wilson_lower(right: int, total: int, z: float = Z) -> float:
    if total == 0:
        return 0.0
    rate = right / total
    centre = rate + z * z / (2 * total)
    spread = z * math.sqrt(rate * (1 - rate) / total + z * z / (4 * total * total))
    return max(0.0, (centre - spread) / (1 + z * z / total))


def fit_isotonic(scores: Sequence[float], correct: Sequence[bool]) -> Calibration:
    """Pool adjacent violators over (score, correct) pairs sorted by score; monotone by construction."""
    pairs = sorted(zip(scores, correct))
    blocks: list[list[float]] = []  # [upper edge, right, total]
    for score, ok in pairs:
        blocks.append([score, float(ok), 1.0])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            edge, right, total = blocks.pop()
            blocks[-1] = [edge, blocks[-1][1] + right, blocks[-1][2] + total]
    return Calibration(tuple(round(b[0], 4) for b in blocks), tuple(int(b[1]) for b in blocks), tuple(int(b[2]) for b in blocks))


@lru_cache(maxsize=1)
def _shipped() -> dict:
    text = resources.files("autonomos.dcl.matching").joinpath("knowledge").joinpath("calibration.json").read_text("utf-8")
    return json.loads(text)


def shipped_calibration() -> Calibration:
    """Probability that a first candidate is right, over every field (printed with each candidate)."""
    data = _shipped()
    return Calibration(tuple(data["edges"]), tuple(data["right"]), tuple(data["total"]))


def auto_calibration() -> Calibration:
    """The same over fields that pass every other `auto` gate: its lower bound is the last gate."""
    data = _shipped()["auto"]
    return Calibration(tuple(data["edges"]), tuple(data["right"]), tuple(data["total"]))
