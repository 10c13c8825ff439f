"""A source feeding malformed rows finishes with those rows in quarantine (with reasons),
the rest landed, and a summary that says what happened."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select
from typer.testing import CliRunner

from autonomos.cli.app import app
from autonomos.services import connections, quarantine
from autonomos.store.tables import Quarantine, RawRecord
from tests.conftest import TEST_SECRET_KEY, tenant_files

TEN_MB = 10 * 1024 * 1024


def _write_bad_csv(path) -> None:
    good = [f"{i},Account {i},{i * 100}" for i in range(1, 21)]
    lines = ["Id,Name,AnnualRevenue", *good[:5],
             "21,Too,Many,Columns,Here",             # wrong column count
             *good[5:10]]
    data = ("\n".join(lines) + "\n").encode()
    data += b"22,Caf\xe9 \xff latin-1,5\n"           # bad encoding (not UTF-8)
    data += (",Nameless,7\n").encode()                # missing key
    data += ("23,Huge," + "x" * TEN_MB + "\n").encode()  # a 10 MB field
    data += ("\n".join(good[10:]) + "\n").encode()
    path.write_bytes(data)


def _write_bad_ndjson(path) -> None:
    rows = [json.dumps({"id": f"c{i}", "email": f"p{i}@example.com"}) for i in range(10)]
    rows.insert(3, '{"id": "broken", "email": ')  # invalid JSON
    rows.insert(6, json.dumps({"email": "nokey@example.com"}))  # missing key
    path.write_text("\n".join(rows) + "\n")


def test_malformed_rows_are_quarantined_with_reasons_and_the_rest_lands(rt, make_tenant, tmp_path, database_url,
                                                                       redis_url, namespace):
    tenant = make_tenant("malformed")
    folder, tmp_path = tmp_path, tenant_files(rt, tenant)
    _write_bad_csv(tmp_path / "accounts.csv")
    _write_bad_ndjson(tmp_path / "contacts.ndjson")
    connections.create_connection(rt, tenant.id, provider="files", name="acc", actor="test",
                                  config={"path": str(tmp_path / "accounts.csv"), "stream": "accounts",
                                          "primary_key": ["Id"]})
    connections.create_connection(rt, tenant.id, provider="files", name="con", actor="test",
                                  config={"path": str(tmp_path / "contacts.ndjson"), "stream": "contacts",
                                          "primary_key": ["id"]})
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "AOS_REDIS_NAMESPACE": namespace,
           "AOS_DATA_DIR": str(folder), "AOS_FILES_ROOTS": str(rt.settings.data_dir / "sources"), "AOS_SECRET_KEY": TEST_SECRET_KEY, "COLUMNS": "200"}
    runner = CliRunner()
    outputs = {}
    for name in ("acc", "con"):
        started = runner.invoke(app, ["sync", name, "--tenant", tenant.slug], env=env)
        assert started.exit_code == 0, started.output
        worked = runner.invoke(app, ["worker", "--burst"], env=env)
        assert worked.exit_code == 0, worked.output
        outputs[name] = runner.invoke(app, ["sync", "status", name, "--tenant", tenant.slug], env=env).output

    with rt.db.tenant(tenant.id) as session:
        landed = dict(session.execute(select(RawRecord.stream, func.count()).group_by(RawRecord.stream)).all())
        reasons = session.execute(select(Quarantine.stream, Quarantine.reason)).all()
    assert landed == {"accounts": 20, "contacts": 10}
    by_stream: dict[str, list[str]] = {}
    for stream, reason in reasons:
        by_stream.setdefault(stream, []).append(reason.lower())
    assert len(by_stream["accounts"]) == 4 and len(by_stream["contacts"]) == 2
    joined = " | ".join(by_stream["accounts"])
    for expected in ("column", "encod", "missing key", "10485"):
        assert expected in joined, (expected, joined)
    assert any("json" in r for r in by_stream["contacts"])
    assert any("missing key" in r for r in by_stream["contacts"])
    assert "succeeded" in outputs["acc"] and "succeeded" in outputs["con"]

    runs = {r.counts["quarantined"]: r for r in __import__("autonomos.services.sync", fromlist=["x"])
            .list_runs(rt, tenant.id)}
    assert set(runs) == {4, 2}
    summary = quarantine.summary(rt, tenant.id, runs[4].id)
    assert sum(summary.values()) == 4
    assert uuid.UUID(str(runs[4].id))
