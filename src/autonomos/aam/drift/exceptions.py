"""Drift's errors (all terminal: the same request fails the same way again)."""

from __future__ import annotations

from autonomos.errors import AutonomosError


class DriftError(AutonomosError):
    """Base of schema drift's errors."""


class InvalidDriftRequest(DriftError):
    """A policy, decision or mute that does not exist."""
