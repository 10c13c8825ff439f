"""Profiles of landed records and schema-file samples (DuckDB, in memory) and schema snapshots."""

from autonomos.dcl.profiling.profiler import profile_records, profile_samples
from autonomos.dcl.profiling.snapshots import SnapshotInfo, fingerprint, snapshot_fields, store_snapshot
from autonomos.dcl.profiling.typing import PATTERNS, FieldProfile, PatternName, Profile

__all__ = [
    "PATTERNS",
    "FieldProfile",
    "PatternName",
    "Profile",
    "SnapshotInfo",
    "fingerprint",
    "profile_records",
    "profile_samples",
    "snapshot_fields",
    "store_snapshot",
]
