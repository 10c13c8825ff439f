"""A hostile Airbyte source: lines that are JSON but not messages, messages without their objects,
records holding what no record may keep. The read never crashes: every line becomes a record or
a bad record with its reason (the lander then judges the values, as tests/hostile shows for files;
a tenant's connection cannot name a local source, so this source is read by the connector itself)."""

from __future__ import annotations

import sys
import textwrap

from autonomos.aam.connectors import BadRecord, RecordMessage
from autonomos.aam.connectors.airbyte import AirbyteConnector

HOSTILE = r'''
import sys
def say(text): print(text, flush=True)
if sys.argv[1] == "discover":
    say('{"type": "CATALOG", "catalog": {"streams": [{"name": "items", "supported_sync_modes": ["full_refresh"], '
        '"source_defined_primary_key": [["id"]], "json_schema": {"type": "object", "properties": {"id": {"type": "string"}}}}]}}')
else:
    record = '{"type": "RECORD", "record": {"stream": "items", "emitted_at": 1, "data": %s}}'
    say(record % '{"id": "a", "x'"'"'); DROP TABLE t;--": "<script>"}')
    for line in ('42', 'null', '[1, 2]', '"text"', '[' * 10000 + ']' * 10000,
                 '{"type": "RECORD", "record": 5}', '{"type": "STATE", "state": null}',
                 record % '{"id": "nan", "x": NaN}', record % '{"id": "big", "x": 123456789012345678901234567890}',
                 record % '{"id": "nul", "x": "a\\u0000b"}', record % '{"id": "sur", "x": "\\ud800"}',
                 record % ('{"id": "deep", "x": ' + '[' * 5000 + ']' * 5000 + '}'),
                 record % '{"id": "dup", "x": 1, "x": 2}'):
        say(line)
    say(record % '{"id": "b"}')
'''


def _source(tmp_path):
    venv = tmp_path / "hostile-source-1.0"
    (venv / "bin").mkdir(parents=True)
    script = venv / "bin" / "source-hostile"
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(HOSTILE))
    script.chmod(0o755)
    (venv / ".aos-installed").write_text("hostile-source==1.0\n")
    return {"package": "hostile-source", "version": "1.0", "entrypoint": "source-hostile", "venv_root": str(tmp_path)}


def test_lines_that_are_json_but_not_messages_are_bad_records_not_a_crash(tmp_path):
    """(A RECORD nested too deeply for Python's parser is such a line too.)

    Defect: ``42``, ``null`` or a list on stdout raised AttributeError and ended the read; a line
    nested too deeply raised RecursionError; a RECORD without its object or a STATE without its
    state raised too."""
    connector = AirbyteConnector(_source(tmp_path))
    messages = list(connector.read(connector.discover()[0], None, "full"))
    records = [m.data["id"] for m in messages if isinstance(m, RecordMessage)]
    assert records == ["a", "nan", "big", "nul", "sur", "dup", "b"]  # the lander judges these values
    reasons = [m.reason for m in messages if isinstance(m, BadRecord)]
    line = "source printed a line that is not an Airbyte message"
    assert reasons == [line] * 5 + ["RECORD message without a record object", "STATE message without a state object", line]

