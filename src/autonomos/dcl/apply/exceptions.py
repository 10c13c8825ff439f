"""Errors of the apply stage.

    AutonomosError
    └── StageError
        └── ApplyError          applying a mapping version failed; carries tenant, version, run ids
"""

from __future__ import annotations

from autonomos.errors import StageError


class ApplyError(StageError):
    """The apply stage's error: raised for a failed apply (``from_cause`` keeps the cause's
    transient flag) and for a write whose counts disagree, which is a bug worth stopping for."""
