"""Errors say whether they are transient, stage errors inherit it from their cause, and an error
with its cause chain can be stored as data."""

from __future__ import annotations

import uuid

from autonomos.aam.sync.exceptions import ConnectorFailed, SyncError
from autonomos.dcl.apply.exceptions import ApplyError
from autonomos.dcl.matching.exceptions import KnowledgeError, SchemaFormatError
from autonomos.errors import AutonomosError, EngineUnavailable, StageError, error_record, is_transient


def _raised(make):
    try:
        make()
    except BaseException as exc:  # noqa: BLE001 - the point is to capture what was raised
        return exc
    raise AssertionError("nothing was raised")


def test_stage_errors_inherit_transient_from_their_cause():
    run = uuid.uuid4()
    outage = EngineUnavailable("postgres is unavailable", engine="postgres")
    assert ConnectorFailed.from_cause("read failed", outage, run=run).transient is True
    assert ConnectorFailed.from_cause("read failed", ValueError("bad"), run=run).transient is False
    assert SyncError.from_cause("x", ConnectionResetError()).transient is True
    assert ApplyError.from_cause("x", KeyError("k")).transient is False
    assert ConnectorFailed.transient is False  # the class default is untouched
    assert issubclass(ConnectorFailed, StageError) and issubclass(ApplyError, StageError)


def test_the_former_outsiders_are_in_the_tree_and_still_value_errors():
    for cls in (SchemaFormatError, KnowledgeError):
        assert issubclass(cls, AutonomosError) and issubclass(cls, ValueError)


def test_error_record_carries_kind_message_transient_ids_and_the_cause_chain():
    run = uuid.uuid4()

    def fail():
        try:
            try:
                raise ConnectionRefusedError("connection refused")
            except ConnectionRefusedError as low:
                raise EngineUnavailable("postgres is unavailable", engine="postgres") from low
        except EngineUnavailable as outage:
            raise ConnectorFailed.from_cause("files connector failed", outage, run=run, stream="contacts") from outage

    record = error_record(_raised(fail))
    assert record == {
        "kind": "ConnectorFailed", "message": "files connector failed", "transient": True,
        "context": {"run": str(run), "stream": "contacts"},
        "cause": {"kind": "EngineUnavailable", "message": "postgres is unavailable", "transient": True,
                  "context": {"engine": "postgres"},
                  "cause": {"kind": "ConnectionRefusedError", "message": "connection refused", "transient": True}},
    }
    assert is_transient(ValueError()) is False


def test_error_record_of_an_implicit_context_and_of_a_cycle_ends():
    def implicit():
        try:
            raise KeyError("k")
        except KeyError:
            raise ApplyError("apply failed")  # noqa: B904 - the implicit context is what is tested

    record = error_record(_raised(implicit))
    assert record["cause"]["kind"] == "KeyError" and record["transient"] is False
    looped = ApplyError("a")
    looped.__cause__ = looped
    assert error_record(looped) == {"kind": "ApplyError", "message": "a", "transient": False}
