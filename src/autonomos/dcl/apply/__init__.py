"""Apply: published mapping versions over landed records -> canonical events, records, change log."""

from autonomos.dcl.apply.apply import ApplyReport, apply_version, create_apply_run, execute_apply, start_apply
from autonomos.dcl.apply.batch import event_id, record_id

__all__ = ["ApplyReport", "apply_version", "create_apply_run", "event_id", "execute_apply", "record_id", "start_apply"]
