"""Combine the separate signals into one score per (source field, target field) pair.

Kept as a weighted blend plus a penalty for contradicting values: names carry most of
the evidence, meaning (embeddings of names and descriptions) fills gaps where wording
differs, and values mostly veto (a phone number never becomes an email address).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SignalWeights:
    """Blend weights (the first three sum to 1), a bonus for listed values, and the value-contradiction penalty."""

    name: float = 0.6
    meaning: float = 0.25
    value: float = 0.15
    listed_values: float = 0.1
    value_conflict_below: float = 0.2
    value_conflict_penalty: float = 0.6


def field_scores(
    name: np.ndarray, meaning: np.ndarray, value: np.ndarray, listed: np.ndarray, weights: SignalWeights
) -> np.ndarray:
    """Context-free score in [0, 1] for every pair; listed sample values only ever add."""
    blended = weights.name * name + weights.meaning * meaning + weights.value * value + weights.listed_values * listed
    penalised = np.where(value < weights.value_conflict_below, blended * weights.value_conflict_penalty, blended)
    return np.clip(penalised, 0.0, 1.0).astype(np.float32)


def contextual_scores(scores: np.ndarray, factors_by_field: np.ndarray) -> np.ndarray:
    """Apply the table-context multiplier (already expanded to source fields x target fields)."""
    return np.clip(scores * factors_by_field, 0.0, 1.0).astype(np.float32)
