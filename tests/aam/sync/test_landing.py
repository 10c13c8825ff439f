"""Landing invariants: unchanged records write nothing, changed ones add a version, a batch
and its cursor commit together, and records that cannot be keyed go to quarantine."""

from __future__ import annotations

import random
import uuid

import pytest
from sqlalchemy import func, select, text

from autonomos.aam.connectors.base import BadRecord, RecordMessage, StreamSpec
from autonomos.aam.sync.landing import Lander
from autonomos.services import connections
from autonomos.store.tables import Quarantine, RawRecord, StreamState
from tests.aam.sync.conftest import heads_and_their_rows

STREAM = StreamSpec("accounts", primary_key=("id",))


@pytest.fixture
def setup(rt, make_tenant):
    tenant = make_tenant("land")
    conn = connections.create_connection(rt, tenant.id, provider="files", name="f", config={}, actor="test")
    return tenant.id, uuid.UUID(conn.id)


def _records(n: int, changed: set[int] = frozenset()) -> list[RecordMessage]:
    return [RecordMessage("accounts", {"id": f"{i:05d}", "name": f"Account {i}" + (" v2" if i in changed else ""),
                                       "amount": i * 10}) for i in range(n)]


def _land(rt, tenant, conn, records, bad=(), state=None, stream=STREAM):
    with rt.db.tenant(tenant) as session:
        return Lander(tenant, conn, stream, None).land(session, records, bad, state)


def _versions(rt, tenant) -> int:
    with rt.db.tenant(tenant) as session:
        return session.scalar(select(func.count()).select_from(RawRecord))


def test_unchanged_records_write_nothing_and_changed_ones_add_a_version(rt, setup):
    tenant, conn = setup
    first = _land(rt, tenant, conn, _records(500))
    assert (first.read, first.inserted, first.unchanged) == (500, 500, 0)

    shuffled = _records(500)
    random.Random(7).shuffle(shuffled)
    shuffled = [RecordMessage(r.stream, dict(reversed(list(r.data.items())))) for r in shuffled]  # key order too
    again = _land(rt, tenant, conn, shuffled)
    assert (again.inserted, again.unchanged) == (0, 500)
    assert _versions(rt, tenant) == 500

    changed = {3, 77, 123, 499}
    third = _land(rt, tenant, conn, _records(500, changed))
    assert (third.inserted, third.unchanged) == (len(changed), 500 - len(changed))
    with rt.db.tenant(tenant) as session:
        rows = session.execute(select(RawRecord.record_key, RawRecord.version).where(RawRecord.version == 2)).all()
    assert sorted(k for k, _ in rows) == sorted(f"{i:05d}" for i in changed)


def test_deleted_flag_adds_a_version_and_duplicates_in_a_batch_keep_the_last(rt, setup):
    tenant, conn = setup
    _land(rt, tenant, conn, _records(3))
    result = _land(rt, tenant, conn, [
        RecordMessage("accounts", {"id": "00001", "name": "Account 1", "amount": 10}, deleted=True),
        RecordMessage("accounts", {"id": "00002", "name": "first", "amount": 1}),
        RecordMessage("accounts", {"id": "00002", "name": "last", "amount": 2}),
    ])
    assert (result.inserted, result.deleted) == (1, 1)
    with rt.db.tenant(tenant) as session:
        latest = dict(session.execute(select(RawRecord.record_key, RawRecord.payload["name"].astext)
                                      .where(RawRecord.version == 2)).all())
        deleted = session.scalar(select(RawRecord.is_deleted).where(RawRecord.record_key == "00001",
                                                                    RawRecord.version == 2))
    assert latest == {"00001": "Account 1", "00002": "last"} and deleted is True


def test_a_first_load_inserts_plainly_until_a_key_comes_back(rt, setup):
    tenant, conn = setup
    lander = Lander(tenant, conn, STREAM, None)
    with rt.db.tenant(tenant) as session:
        assert lander.check_first_load(session)
        first = lander.land(session, _records(10))
        assert first.inserted == 10 and lander.first_load
        # Keys 5-9 come back changed in a later batch: the plain insert is refused and undone,
        # and the batch lands through the arbitrated path (and so do later ones).
        again = [RecordMessage("accounts", {"id": f"{i:05d}", "name": f"again {i}", "amount": i}) for i in range(5, 15)]
        second = lander.land(session, again)
    assert (second.inserted, second.unchanged) == (10, 0) and not lander.first_load
    with rt.db.tenant(tenant) as session:
        versions = dict(session.execute(select(RawRecord.record_key, func.max(RawRecord.version))
                                        .group_by(RawRecord.record_key)).all())
        assert not Lander(tenant, conn, STREAM, None).check_first_load(session)
    assert versions == {f"{i:05d}": 2 if 5 <= i < 10 else 1 for i in range(15)}
    assert _versions(rt, tenant) == 20
    assert heads_and_their_rows(rt, tenant) == (15, 15)  # both paths name each head's row


def test_ids_follow_reservation_order_whatever_order_batches_are_written_in(rt, setup):
    tenant, conn = setup
    lander = Lander(tenant, conn, STREAM, None)
    first, second = lander.prepare(_records(5)), lander.prepare(_records(10)[5:])
    with rt.db.tenant(tenant) as session:
        first, second = lander.reserve_ids(session, first), lander.reserve_ids(session, second)
    for batch in (second, first):  # written (and committed) in the other order
        with rt.db.tenant(tenant) as session:
            lander.write(session, batch)
    with rt.db.tenant(tenant) as session:
        keys = session.scalars(select(RawRecord.record_key).order_by(RawRecord.id)).all()
    assert keys == [f"{i:05d}" for i in range(10)]
    assert heads_and_their_rows(rt, tenant) == (10, 10)


def test_unkeyable_and_unparsable_records_go_to_quarantine_and_the_rest_lands(rt, setup):
    tenant, conn = setup
    records = _records(5) + [RecordMessage("accounts", {"name": "no id"}),
                             RecordMessage("accounts", {"id": "", "name": "empty id"}),
                             RecordMessage("accounts", {"id": "nul", "name": "bad\x00byte"})]
    bad = [BadRecord("accounts", "invalid JSON: Expecting value", raw=b"{not json"),
           BadRecord("accounts", "field too large: notes", raw=b"x" * (200 * 1024))]
    result = _land(rt, tenant, conn, records, bad)
    assert result.inserted == 5 and result.quarantined == 5 and result.read == 10
    with rt.db.tenant(tenant) as session:
        items = session.execute(select(Quarantine.reason, func.length(Quarantine.raw)).order_by(Quarantine.id)).all()
    reasons = [r for r, _ in items]
    assert reasons[0] == "invalid JSON: Expecting value"
    assert reasons[1].startswith("field too large: notes (raw record cut to 65536 of 204800 bytes)")
    assert reasons[2:4] == ["missing key field(s): id"] * 2
    assert reasons[4] == "contains a NUL character, which PostgreSQL cannot store"


def test_batch_and_cursor_commit_together(rt, setup):
    tenant, conn = setup
    with pytest.raises(RuntimeError):
        with rt.db.tenant(tenant) as session:
            Lander(tenant, conn, STREAM, None).land(session, _records(10), state={"offset": 10})
            raise RuntimeError("crash before commit")
    with rt.db.tenant(tenant) as session:
        assert session.scalar(select(func.count()).select_from(RawRecord)) == 0
        assert session.scalar(select(func.count()).select_from(StreamState)) == 0
    _land(rt, tenant, conn, _records(10), state={"offset": 10})
    with rt.db.tenant(tenant) as session:
        assert session.scalar(select(StreamState.cursor)) == {"offset": 10}
        assert session.scalar(select(func.count()).select_from(RawRecord)) == 10
        assert session.execute(text("SELECT count(*) FROM landing_staging")).scalar_one() == 0


def test_content_key_for_streams_without_a_key(rt, setup):
    tenant, conn = setup
    stream = StreamSpec("events", content_key=True)
    rows = [RecordMessage("events", {"a": i}) for i in range(4)] + [RecordMessage("events", {"a": 1})]
    result = _land(rt, tenant, conn, rows, stream=stream)
    assert result.inserted == 4 and result.unchanged == 0
    assert _land(rt, tenant, conn, rows, stream=stream).inserted == 0


def test_deleting_a_connection_purges_its_landed_records(rt, setup):
    from autonomos.store.tables import RawRecordHead

    tenant, conn = setup
    _land(rt, tenant, conn, _records(20))
    connections.delete_connection(rt, tenant, str(conn), actor="test")
    with rt.db.tenant(tenant) as session:
        assert session.scalar(select(func.count()).select_from(RawRecord)) == 0
        assert session.scalar(select(func.count()).select_from(RawRecordHead)) == 0
