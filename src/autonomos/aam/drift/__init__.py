"""Schema drift: fingerprint each stream's schema after a landing, keep a snapshot history,
and classify what changed between the last two snapshots (structure and values).

The stage works from data it is given: the stream's discovered spec, the records landed in
the run, and the names of the fields a mapping reads. It never imports DCL; repairs and the
policy that holds applying live in the service layer that wires the post-landing hook.
"""

from autonomos.aam.drift.check import DriftReport, check_stream
from autonomos.aam.drift.classify import classify
from autonomos.aam.drift.fingerprint import RECIPE, StreamShape, shape_of
from autonomos.aam.drift.profile import profile_values

__all__ = ["RECIPE", "DriftReport", "StreamShape", "check_stream", "classify", "profile_values", "shape_of"]
