"""Context in every log line, never data: a failing run's lines carry its ids, and neither the
console nor the JSON format prints a record's contents (no local variables in tracebacks)."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
import structlog

from autonomos import logs
from autonomos.aam.sync import runs
from autonomos.aam.sync.engine import execute_run
from autonomos.aam.sync.hooks import OpenedConnector, SyncStage
from autonomos.services import connections
from autonomos.services.sync_inputs import sync_engines

SECRET = "zq-distinctive-7731-value"


class _Recorder:
    def __init__(self) -> None:
        self.finished = []

    def run_succeeding(self, session, run) -> None:
        pass

    def batch_landed(self, batch) -> None:
        pass

    def run_finished(self, run) -> None:
        self.finished.append(run.status)


class _FailsAfterReading:
    """The files connector, whose source goes away after its last record."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def read(self, stream, state, mode):
        for message in self.inner.read(stream, state, mode):
            yield message
        raise RuntimeError("the source went away")


@pytest.fixture
def configured_logs():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield logs.configure
    root.handlers[:], level = saved
    root.setLevel(level)
    structlog.reset_defaults()


def _fail_a_run(rt, file_connection) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, list[str]]:
    tenant_id, info, path = file_connection
    path.write_text("Id,Name,Notes\n" + "".join(f"00{i},Account {i},{SECRET}\n" for i in range(40)))
    recorder = _Recorder()

    def open_connector(tenant, connection) -> OpenedConnector:
        inner = connections.open_connector(rt, tenant, str(connection))
        return OpenedConnector(_FailsAfterReading(inner), info.provider, info.name)

    with rt.db.tenant(tenant_id) as session:
        run, _ = runs.create_or_get_active(session, tenant_id, uuid.UUID(info.id), [], "incremental")
    status = execute_run(sync_engines(rt), SyncStage(open_connector, recorder), tenant_id, run.id, "log-test-worker")
    assert status == "failed" and recorder.finished == ["failed"]  # the hook hears about the failure
    return tenant_id, uuid.UUID(info.id), run.id, recorder.finished


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_a_failing_batch_prints_no_record_contents(rt, file_connection, configured_logs, capsys, fmt):
    configured_logs(fmt)
    _fail_a_run(rt, file_connection)
    err = capsys.readouterr().err
    assert "sync run failed" in err and "the source went away" in err  # the cause chain is there
    assert SECRET not in err


def test_a_json_line_of_a_failing_run_carries_its_ids(rt, file_connection, configured_logs, capsys):
    configured_logs("json")
    tenant_id, connection_id, run_id, _ = _fail_a_run(rt, file_connection)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    [failed] = [line for line in lines if line["event"] == "sync run failed"]
    assert (failed["tenant_id"], failed["connection_id"], failed["run_id"]) == (
        str(tenant_id), str(connection_id), str(run_id))
    assert failed["level"] == "error" and "RuntimeError: the source went away" in failed["exception"]
    with logs.bind_ids(run_id=run_id, stream="accounts", batch=3):  # bound ids and extra= both show
        logging.getLogger("autonomos.test").warning("landing slowed down", extra={"connection_id": "c-1"})
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (line["run_id"], line["stream"], line["batch"], line["connection_id"]) == (str(run_id), "accounts",
                                                                                      "3", "c-1")


def test_the_cli_renders_an_unexpected_crash_without_local_variables():
    from autonomos.cli.app import app

    assert app.pretty_exceptions_show_locals is False


def test_lines_go_to_the_stderr_of_the_moment_not_a_closed_one(monkeypatch) -> None:
    import io
    import sys

    logs.configure("json")
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    logs.get_logger("autonomos.test").info("before")
    first.close()  # what a test's capture does when the test ends
    monkeypatch.setattr(sys, "stderr", second)
    logs.get_logger("autonomos.test").info("after")
    assert json.loads(second.getvalue().strip())["event"] == "after"
