"""The Airbyte protocol adapter: the real airbyte-source-faker from PyPI in its own virtual
environment through the sync engine (first install ~40 s, cached in .aos-test-cache), and a
tiny protocol source for LOG, TRACE errors and lines that are not messages."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from autonomos.aam.connectors import BadRecord, RecordMessage, StateMessage
from autonomos.aam.connectors.airbyte import AirbyteConnector, AirbyteSourceFailed
from autonomos.services.worker import run_worker
from autonomos.services import connections, sync
from autonomos.runtime import Runtime
from autonomos.store.tables import RawRecord, StreamState
from tests.conftest import make_settings

CACHE = Path(__file__).resolve().parents[3] / ".aos-test-cache" / "airbyte"
FAKER = {"package": "airbyte-source-faker", "version": "7.2.1", "streams": ["users"],
         "config": {"count": 5, "seed": 1, "records_per_slice": 2, "parallelism": 1, "always_updated": False}}


def _sync(rt, tenant, name):
    started = sync.start_sync(rt, tenant, name, actor="test")
    run_worker(rt, burst=True)
    return sync.get_run(rt, tenant, started.run.id)


@pytest.fixture
def airbyte_rt(settings):
    """A runtime whose operator pinned the faker source; its data dir's ``airbyte/`` is the test cache."""
    pinned = make_settings(settings.database_url, settings.redis_url, CACHE.parent, settings.redis_namespace,
                           AOS_AIRBYTE_SOURCES="airbyte-source-faker==7.2.1")
    runtime = Runtime(pinned)
    yield runtime
    runtime.close()


def test_faker_source_syncs_and_resumes_incrementally_from_saved_state(airbyte_rt, make_tenant):
    rt = airbyte_rt
    tenant = make_tenant("airbyte").id
    info = connections.create_connection(rt, tenant, provider="airbyte", name="faker", config=FAKER, actor="test")
    first = _sync(rt, tenant, info.name)
    assert first.status == "succeeded", first.error
    assert (first.counts["read"], first.counts["inserted"]) == (5, 5)
    with rt.db.tenant(tenant) as session:
        state = session.scalar(select(StreamState.cursor).where(StreamState.stream == "users"))
        assert session.scalar(select(func.count()).select_from(RawRecord)) == 5
    assert state["airbyte"]["type"] == "STREAM" and state["airbyte"]["stream"]["stream_state"]["loop_offset"] == 5

    second = _sync(rt, tenant, info.name)  # the saved state goes back through --state: nothing new
    assert second.status == "succeeded", second.error
    assert second.counts["read"] == 0

    assert sync.reset_sync(rt, tenant, info.name, actor="test") == 1
    third = _sync(rt, tenant, info.name)  # without state the source starts over
    assert third.counts["read"] == 5


TINY = '''
import json, sys
args = dict(zip(sys.argv[2::2], sys.argv[3::2]))
config = json.load(open(args["--config"])) if "--config" in args else {}
def say(message): print(json.dumps(message), flush=True)
command = sys.argv[1]
if command == "discover":
    say({"type": "CATALOG", "catalog": {"streams": [{"name": "items", "supported_sync_modes": ["full_refresh", "incremental"],
         "source_defined_primary_key": [["id"]], "default_cursor_field": ["n"],
         "json_schema": {"type": "object", "properties": {"id": {"type": "string"}, "n": {"type": ["null", "integer"]},
                                                          "at": {"type": "string", "format": "date-time"}}}}]}})
elif command == "read":
    state = json.load(open(args["--state"]))[0]["global"]["shared_state"]["n"] if "--state" in args else 0
    say({"type": "LOG", "log": {"level": "WARN", "message": "tiny source reading"}})
    for n in range(state + 1, state + 3):
        say({"type": "RECORD", "record": {"stream": "items", "data": {"id": f"i{n}", "n": n}, "emitted_at": 1}})
    print("this is not a protocol message", flush=True)
    say({"type": "RECORD", "record": {"stream": "items", "data": [1, 2], "emitted_at": 1}})
    say({"type": "STATE", "state": {"type": "GLOBAL", "global": {"shared_state": {"n": state + 2}, "stream_states": []}}})
    if config.get("fail"):
        say({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": 1, "error": {
            "message": "Invalid API key", "failure_type": "config_error"}}})
'''


@pytest.fixture
def tiny_source(tmp_path):
    venv = tmp_path / "tiny-source-1.0"
    (venv / "bin").mkdir(parents=True)
    script = venv / "bin" / "source-tiny"
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(TINY))
    script.chmod(0o755)
    (venv / ".aos-installed").write_text("tiny-source==1.0\n")
    return {"package": "tiny-source", "version": "1.0", "entrypoint": "source-tiny", "venv_root": str(tmp_path)}


def test_protocol_messages_map_to_records_bad_records_and_global_state(tiny_source, caplog):
    connector = AirbyteConnector(tiny_source)
    stream = connector.discover()[0]
    assert ({f.name: f.type for f in stream.fields}, stream.primary_key) == (
        {"id": "string", "n": "integer", "at": "datetime"}, ("id",))
    with caplog.at_level("WARNING"):
        messages = list(connector.read(stream, None))
    assert [m.data["id"] for m in messages if isinstance(m, RecordMessage)] == ["i1", "i2"]
    bad = [m for m in messages if isinstance(m, BadRecord)]
    assert [b.reason for b in bad] == ["source printed a line that is not an Airbyte message",
                                       "RECORD data is not a JSON object"]
    state = messages[-1]
    assert isinstance(state, StateMessage) and state.state["airbyte"]["global"]["shared_state"] == {"n": 2}
    assert "tiny source reading" in caplog.text
    resumed = list(connector.read(stream, json.loads(json.dumps(state.state))))
    assert [m.data["id"] for m in resumed if isinstance(m, RecordMessage)] == ["i3", "i4"]


def test_trace_error_fails_the_read_with_the_sources_message(tiny_source):
    connector = AirbyteConnector({**tiny_source, "config": {"fail": True}})
    with pytest.raises(AirbyteSourceFailed, match="Invalid API key"):
        list(connector.read(connector.discover()[0], None))
