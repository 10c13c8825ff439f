"""The drift check of one stream after a run landed records.

The first check of a stream (or of a new fingerprint recipe) stores a baseline and reports
nothing. Afterwards a changed fingerprint is a new snapshot and its structural and value
findings; an unchanged one is checked for value drift against the baseline, which then
absorbs what the run showed (except drifted values), and a drift already open is not
reported twice. A run that landed nothing new (a re-sync of unchanged data)
has nothing to check.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from autonomos.aam.connectors.base import StreamSpec
from autonomos.aam.drift import history
from autonomos.aam.drift.classify import classify
from autonomos.aam.drift.fingerprint import shape_of
from autonomos.aam.drift.profile import profile_values
from autonomos.store.tables import DriftEvent

KEEP_BASELINE = ("format_changed", "unit_scale", "null_share_jump")
"""Value drift that leaves the baseline as it was until accepted (the next run is compared
with the values before the change, not with the changed ones)."""


@dataclass
class DriftReport:
    stream: str
    snapshot_id: uuid.UUID | None = None
    fingerprint: str | None = None
    new_snapshot: bool = False
    baseline: bool = False
    events: list[DriftEvent] = field(default_factory=list)

    @property
    def breaking(self) -> bool:
        return any(e.severity == "breaking" for e in self.events)


def check_stream(session: Session, tenant_id: uuid.UUID, connection_id: uuid.UUID, stream: str, run_id: uuid.UUID,
                 spec: StreamSpec | None, *, mapped: frozenset[str] | None = None) -> DriftReport:
    """Fingerprint the stream from ``spec`` and the run's records, and record what changed."""
    report = DriftReport(stream)
    records = history.run_records(session, tenant_id, connection_id, stream, run_id)
    if not records:
        return report
    profile = profile_values(records)
    previous = history.latest_snapshot(session, tenant_id, connection_id, stream)
    if previous is None:
        snapshot = history.add_snapshot(session, tenant_id, connection_id, stream, shape_of(spec, profile), profile)
        report.snapshot_id, report.fingerprint, report.new_snapshot, report.baseline = (
            snapshot.id, snapshot.fingerprint, True, True)
        return report
    before_shape, before_profile = history.snapshot_shape(previous), previous.profile or {}
    shape = shape_of(spec, profile, before_shape, before_profile.get("records", 0))
    if shape.fingerprint() == previous.fingerprint:
        findings = classify(before_shape, shape, before_profile, profile, mapped=mapped)
        drifted = {f.field for f in findings if f.kind in KEEP_BASELINE}
        previous.profile = history.merge_profiles(before_profile, profile, keep=drifted)
        reported = history.open_findings(session, tenant_id, connection_id, stream)
        findings = [f for f in findings if (f.field, f.kind, f.rule) not in reported]
        target, source = previous, previous
    else:
        pairs = history.version_pairs(session, tenant_id, connection_id, stream, run_id)
        findings = classify(before_shape, shape, before_profile, profile, mapped=mapped, pairs=pairs)
        target = history.add_snapshot(session, tenant_id, connection_id, stream, shape, profile)
        source = previous
        report.new_snapshot = True
    report.snapshot_id, report.fingerprint = target.id, target.fingerprint
    report.events = history.write_events(session, tenant_id, connection_id, stream, source.id, target.id, run_id,
                                         findings, profile)
    return report
