"""Quarantine a person can work with: one item per bad source row however often it is read,
fixed records stay, pages newest first, summaries by reason."""

from __future__ import annotations

import os

from sqlalchemy import select
from typer.testing import CliRunner

from autonomos.cli.app import app
from autonomos.services import connections, quarantine, sync
from autonomos.store.tables import Quarantine, RawRecordHead
from tests.cli.test_cli import _env
from tests.dcl.apply.conftest import source  # noqa: F401 (fixture)

BAD_FILE = "id,name\n1,Ada\n2,Bob,extra\n3,Carol,Rome,more\n4,Dan\n"
from tests.conftest import tenant_files


def _sync(rt, tenant, drain, **options):
    run = sync.start_sync(rt, tenant.id, "src", actor="test", **options).run
    drain()
    return sync.get_run(rt, tenant.id, run.id)


def _source(rt, make_tenant, tmp_path, text=BAD_FILE):
    tenant = make_tenant("q")
    path = tenant_files(rt, tenant) / "people.csv"
    path.write_text(text)
    connections.create_connection(rt, tenant.id, provider="files", name="src", actor="test",
                                  config={"path": str(path), "stream": "people", "primary_key": ["id"]})
    return tenant, path


def test_the_same_bad_rows_read_by_three_syncs_are_one_open_item_each_with_a_count(rt, make_tenant, tmp_path, drain):
    tenant, path = _source(rt, make_tenant, tmp_path)
    runs = []
    for n in range(3):
        os.utime(path, ns=(n * 10**9, n * 10**9))  # changed mtime: the file is read again
        runs.append(_sync(rt, tenant, drain))
    assert [r.counts["quarantined"] for r in runs] == [2, 2, 2]
    page = quarantine.list_items(rt, tenant.id)
    assert page.total == 2 and [i.occurrences for i in page.items] == [3, 3]
    # the summary of a run groups by reason, not by CSV line
    assert quarantine.summary(rt, tenant.id, runs[-1].id) == {"CSV too many columns": 2}


def test_a_record_fixed_by_retry_survives_a_full_sync_while_its_source_row_is_still_malformed(
        rt, make_tenant, tmp_path, drain):
    tenant, _ = _source(rt, make_tenant, tmp_path)
    _sync(rt, tenant, drain)
    item = next(i for i in quarantine.list_items(rt, tenant.id).items if i.raw_preview.startswith("3,"))
    fixed = quarantine.retry_item(rt, tenant.id, item.id, payload={"id": "3", "name": "Carol"}, actor="test")
    assert fixed.status == "resolved" and fixed.record_key == "3"
    full = _sync(rt, tenant, drain, full=True)
    assert full.status == "succeeded" and full.counts["deleted"] == 0, full.counts
    with rt.db.tenant(tenant.id) as session:
        heads = dict(session.execute(select(RawRecordHead.record_key, RawRecordHead.is_deleted)).all())
        open_items = session.scalars(select(Quarantine.raw).where(Quarantine.status == "open")).all()
    assert heads == {"1": False, "3": False, "4": False}
    assert [bytes(r) for r in open_items] == [b"2,Bob,extra"]  # the fixed row opens nothing new


def test_apply_items_of_a_superseded_version_close_when_a_later_version_applies_the_record(source):
    source.land({"id": "c1", "OptOut": "maybe"}, {"id": "c2", "OptOut": "true"})
    first = source.publish("contact", [{"source_field": "id", "canonical_field": "id"},
                                       {"source_field": "OptOut", "canonical_field": "email_opt_out"}])
    assert first.applied.counts.quarantined == 1
    [item] = source.quarantined()
    assert item.status == "open"
    second = source.publish("contact", [{"source_field": "id", "canonical_field": "id"}])
    assert second.applied.counts.quarantined == 0
    [item] = source.quarantined()
    assert item.status == "resolved" and item.resolved_at is not None


def test_quarantine_list_pages_newest_first_and_says_how_many(rt, make_tenant, tmp_path, drain,
                                                            database_url, redis_url, namespace):
    rows = "".join(f"{i},x,extra{i}\n" for i in range(5))
    tenant, _ = _source(rt, make_tenant, tmp_path, "id,name\n" + rows)
    _sync(rt, tenant, drain)
    env = _env(database_url, redis_url, namespace, tmp_path)
    runner = CliRunner()
    first = runner.invoke(app, ["quarantine", "list", "--tenant", tenant.slug, "--limit", "2"], env=env)
    assert first.exit_code == 0, first.output
    assert "5 open item(s), 2 shown" in first.output
    cursor = first.output.rsplit("--cursor ", 1)[1].split()[0]
    ids = sorted((i.id for i in quarantine.list_items(rt, tenant.id).items), reverse=True)
    assert int(cursor) == ids[1]
    second = runner.invoke(app, ["quarantine", "list", "--tenant", tenant.slug, "--limit", "2", "--cursor", cursor],
                           env=env)
    assert "5 open item(s), 2 shown" in second.output and str(ids[2]) in second.output
    last = quarantine.list_items(rt, tenant.id, limit=2, cursor=ids[3])
    assert [i.id for i in last.items] == [ids[4]] and last.next_cursor is None
