"""A hostile REST API through the real sync engine: pages holding records no record may keep, a page
nested too deeply to parse, items that are not objects. The run succeeds, the good records land
exactly, every other one is quarantined with its reason."""

from __future__ import annotations

from sqlalchemy import select

from autonomos.services import sync
from autonomos.services.worker import run_worker
from autonomos.store.tables import Quarantine, RawRecord

PAGES = {
    1: '{"items": [{"id": "a", "x\'); DROP TABLE t;--": "<script>alert(1)</script>", "d": "0000-01-01"},'
       ' {"id": "nan", "x": NaN}, {"id": "inf", "x": -Infinity}, {"id": "big", "x": 123456789012345678901234567890},'
       ' {"id": "nul", "x": "a\\u0000b"}, {"id": "sur", "x": "\\udfff"}, {"id": "dup", "x": 1, "x": 2}, 7, null]}',
    2: '{"items": [{"id": "deep", "x": ' + "[" * 10_000 + "]" * 10_000 + "}]}",
    3: '{"items": [{"id": "b", "\\uff45mail": "b@example.com"}]}',
}


def test_a_hostile_api_lands_its_good_records_and_quarantines_the_rest(rt, vendor, connection):
    """Defect: a page nested deeper than Python's parser allows raised RecursionError and failed the run."""
    vendor.app = lambda request: (200, {}, PAGES.get(int(request.query.get("page", 1)), '{"items": []}'))
    config = {"base_url": vendor.base, "auth": {"type": "bearer"},
              "streams": {"things": {"path": "/things", "records_path": "items", "primary_key": ["id"],
                                     "pagination": {"style": "page", "page_size": 9}}}}
    tenant, info, _ = connection("rest", config, {"token": "t"})
    started = sync.start_sync(rt, tenant, info.name, actor="test")
    run_worker(rt, burst=True)
    run = sync.get_run(rt, tenant, started.run.id)
    assert run.status == "succeeded", run.error
    with rt.db.tenant(tenant) as session:
        landed = dict(session.execute(select(RawRecord.record_key, RawRecord.payload)).all())
        reasons = list(session.scalars(select(Quarantine.reason)))
    assert landed == {"a": {"id": "a", "x'); DROP TABLE t;--": "<script>alert(1)</script>", "d": "0000-01-01"},
                      "dup": {"id": "dup", "x": 2}, "b": {"id": "b", "\uff45mail": "b@example.com"}}
    assert len(reasons) == 8, reasons
    for words in ("non-finite number", "number out of range", "contains a NUL", "invalid Unicode",
                  "not a JSON object", "nested too deeply to read"):
        assert any(words in r for r in reasons), (words, reasons)
