"""The drift scenario suite on the files connector: each scenario starts from a published
mapping with canonical records, changes the source, syncs, and checks the class and severity,
the repair (automatic when confident), the hold, and that every canonical value is what the
source means: no record lost, no value wrong."""

from __future__ import annotations

import datetime as dt
import uuid

import orjson
import pytest
from sqlalchemy import func, select

from autonomos.notifications.pubsub import subscribe
from autonomos.services import drift, mappings, review
from autonomos.store.tables import AgentRun, CanonicalEvent, CanonicalRecord, Quarantine
from tests.services.test_drift import Stream, _edit, base_rows, content_keyed_stream, synced_stream

MAPPING = [{"source_field": "Id", "canonical_field": "id"}, {"source_field": "Name", "canonical_field": "name"},
           {"source_field": "Industry", "canonical_field": "industry"},
           {"source_field": "AnnualRevenue", "canonical_field": "annual_revenue"},
           {"source_field": "CreatedDate", "canonical_field": "created_at"},
           {"source_field": "LastActivity", "canonical_field": "updated_at", "transform": [{"op": "epoch", "unit": "s"}]}]
SHOWN = ("id", "name", "industry", "annual_revenue", "created_at", "updated_at")


def expected(rows: list[dict[str, str]]) -> dict[str, dict]:
    """The canonical values the base rows mean, whatever form the source gives them in."""
    def when(epoch: str) -> str:
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {r["Id"]: {"id": r["Id"], "name": r["Name"], "industry": r["Industry"],
                      "annual_revenue": int(r["AnnualRevenue"]), "created_at": r["CreatedDate"] + "T00:00:00Z",
                      "updated_at": when(r["LastActivity"])} for r in rows}


def canonical(stream: Stream) -> dict[str, dict]:
    with stream.rt.db.tenant(stream.tenant_id) as session:
        rows = session.scalars(select(CanonicalRecord).where(CanonicalRecord.entity == "account"))
        return {r.data["id"]: {k: r.data.get(k) for k in SHOWN} for r in rows if not r.is_deleted}


def publish(stream: Stream) -> None:
    mappings.publish_fields(stream.rt, stream.tenant_id, stream.name, "accounts", "account", MAPPING, actor="test")


@pytest.fixture
def mapped(rt, make_tenant, tmp_path) -> Stream:
    stream = synced_stream(rt, make_tenant("repair").id, tmp_path / "accounts.csv")
    publish(stream)
    assert canonical(stream) == expected(base_rows())
    return stream


def current(stream: Stream) -> dict[str, dict]:
    version = mappings.get_version(stream.rt, stream.tenant_id, stream.name, "accounts", "account")
    return {f["canonical_field"]: f for f in version.fields}


def agent_runs(stream: Stream) -> list[AgentRun]:
    with stream.rt.db.tenant(stream.tenant_id) as session:
        return list(session.scalars(select(AgentRun).where(AgentRun.kind == "drift_repair")))


def renamed(rows, old: str, new: str):
    return [{(new if k == old else k): v for k, v in r.items()} for r in rows]


def only(stream: Stream) -> drift.EventInfo:
    events = stream.events()
    assert len(events) == 1, [(e.kind, e.field) for e in events]
    return events[0]


# One change per scenario: (change of the base rows, class, severity, repaired automatically?)
SCENARIOS = {
    "rename": (lambda rows: renamed(rows, "Name", "AccountName"), "field_renamed", "breaking", True),
    "date_format": (lambda rows: _edit(rows, CreatedDate=lambda r, i: "/".join(reversed(r["CreatedDate"].split("-")))),
                    "format_changed", "breaking", True),
    "epoch_millis": (lambda rows: _edit(rows, LastActivity=lambda r, i: r["LastActivity"] + "000"),
                     "format_changed", "breaking", True),
    "money_x100": (lambda rows: _edit(rows, AnnualRevenue=lambda r, i: str(int(r["AnnualRevenue"]) * 100)),
                   "unit_scale", "breaking", True),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_confident_repair_is_published_and_canonical_values_stay_right(rt, mapped, name):
    change, kind, severity, _ = SCENARIOS[name]
    listener = subscribe(rt, mapped.tenant_id)
    listener.get_message(timeout=1)
    mapped.sync(change(base_rows(42)))
    event = only(mapped)
    assert (event.kind, event.severity, event.status) == (kind, severity, "repaired")
    assert event.confidence >= drift.DEFAULT_AUTO_THRESHOLD
    assert drift.held_streams(rt, mapped.tenant_id, event.connection_id) == set()
    assert canonical(mapped) == expected(base_rows(42))  # nothing lost, nothing wrong, new records applied
    runs = agent_runs(mapped)
    assert len(runs) == 1 and runs[0].inputs["drift_event_id"] == str(event.id)
    seen = []
    while (message := listener.get_message(timeout=1)) is not None:
        seen.append(orjson.loads(message["data"])["type"])
    listener.close()
    assert {"drift.detected", "drift.repaired"} <= set(seen) and "stream.held" not in seen
    mapped.sync(change(base_rows(43)))  # the next run of the changed source is quiet and applied
    assert len(mapped.events()) == 1 and canonical(mapped) == expected(base_rows(43))


def test_a_rename_re_points_the_mapping(mapped):
    mapped.sync(renamed(base_rows(), "Name", "AccountName"))
    assert current(mapped)["name"]["source_field"] == "AccountName"
    assert only(mapped).details["after"] == "AccountName"


def test_a_format_change_gets_a_transform_tried_on_the_landed_values(mapped):
    mapped.sync(SCENARIOS["date_format"][0](base_rows()))
    assert current(mapped)["created_at"]["transform"] == [{"op": "parse_date", "format": "%d/%m/%Y"}]
    tried = agent_runs(mapped)[0].evidence["tried"]
    assert tried[0]["agrees"] == 1.0 and tried[0]["converts"] == 1.0


def test_under_hold_a_repair_waits_for_a_person_and_new_records_land_raw(rt, mapped):
    drift.set_policy(rt, mapped.tenant_id, mapped.name, "hold", actor="test")
    mapped.sync(renamed(base_rows(42), "Name", "AccountName"))
    event = only(mapped)
    assert event.status == "open" and event.kind == "field_renamed"
    assert drift.held_streams(rt, mapped.tenant_id, event.connection_id) == {"accounts"}
    assert canonical(mapped) == expected(base_rows())  # the two new records wait raw
    queued = review.list_queue(rt, mapped.tenant_id, connection=mapped.name)
    assert [(q.source_field, q.evidence["drift_event_id"]) for q in queued] == [("AccountName", str(event.id))]
    assert current(mapped)["name"]["source_field"] == "Name"
    decided = drift.resolve_event(rt, mapped.tenant_id, str(event.id), "accepted", actor="test")
    assert decided.status == "accepted"
    assert current(mapped)["name"]["source_field"] == "AccountName"
    assert canonical(mapped) == expected(base_rows(42))
    assert review.list_queue(rt, mapped.tenant_id, connection=mapped.name) == []


def test_a_stream_policy_overrides_its_connection(rt, mapped):
    drift.set_policy(rt, mapped.tenant_id, mapped.name, "hold", actor="test", stream="accounts")
    assert drift.stream_policies(rt, mapped.tenant_id, mapped.name) == {"accounts": "hold"}
    mapped.sync(SCENARIOS["money_x100"][0](base_rows(41)))
    event = only(mapped)
    assert event.status == "open" and event.repair["repairs"][0]["confidence"] == 1.0
    assert canonical(mapped) == expected(base_rows())
    drift.set_policy(rt, mapped.tenant_id, mapped.name, None, actor="test", stream="accounts")
    assert drift.held_streams(rt, mapped.tenant_id, event.connection_id) == {"accounts"}  # propagate: still breaking


def test_a_changed_type_without_a_sure_transform_is_held_and_queued(rt, mapped):
    rows = _edit(base_rows(41), AnnualRevenue=lambda r, i: r["AnnualRevenue"] if i % 3 else "unknown")
    mapped.sync(rows)
    event = only(mapped)
    assert (event.kind, event.severity, event.status) == ("type_changed", "breaking", "open")
    assert event.confidence < drift.DEFAULT_AUTO_THRESHOLD
    assert drift.held_streams(rt, mapped.tenant_id, event.connection_id) == {"accounts"}
    assert canonical(mapped) == expected(base_rows())
    assert [q.source_field for q in review.list_queue(rt, mapped.tenant_id, connection=mapped.name)] == [
        "AnnualRevenue"]
    drift.resolve_event(rt, mapped.tenant_id, str(event.id), "rejected", actor="test")
    # released: a value that no longer converts is quarantined with the reason, never written;
    # its record keeps the canonical values it had, and every other record is applied
    got = canonical(mapped)
    assert got == {**expected(base_rows(41)), **{k: v for k, v in expected(base_rows()).items()
                                                 if int(k[-2:]) % 3 == 0}}
    with rt.db.tenant(mapped.tenant_id) as session:
        reasons = list(session.scalars(select(Quarantine.reason).where(Quarantine.status == "open")))
    assert len(reasons) == 14
    assert all("annual_revenue: cannot convert AnnualRevenue value 'unknown'" in r for r in reasons)


def test_a_dropped_mapped_column_is_breaking_and_held(rt, mapped):
    mapped.sync([{k: v for k, v in r.items() if k != "Industry"} for r in base_rows(41)])
    event = only(mapped)
    assert (event.kind, event.severity, event.status) == ("field_removed", "breaking", "open")
    assert drift.held_streams(rt, mapped.tenant_id, event.connection_id) == {"accounts"}
    assert canonical(mapped) == expected(base_rows())  # no industry blanked


def test_an_added_column_is_matched_into_the_review_queue_and_the_stream_applies(rt, mapped):
    mapped.sync([{**r, "Website": f"https://account{i}.example.com"} for i, r in enumerate(base_rows(41))])
    event = only(mapped)
    assert (event.kind, event.severity) == ("field_added", "informational")
    queued = review.list_queue(rt, mapped.tenant_id, connection=mapped.name)
    assert [q.source_field for q in queued] == ["Website"] and queued[0].candidates
    assert canonical(mapped) == expected(base_rows(41))


def test_a_new_picklist_value_is_degrading_and_applied(rt, mapped):
    rows = _edit(base_rows(41), Industry=lambda r, i: "Mining" if i == 40 else r["Industry"])
    mapped.sync(rows)
    event = only(mapped)
    assert (event.kind, event.severity, event.status) == ("new_picklist_value", "degrading", "open")
    got = canonical(mapped)
    assert got["001000000040"]["industry"] == "Mining" and len(got) == 41


def test_a_rename_on_a_stream_keyed_by_content_moves_records_instead_of_recreating_them(rt, make_tenant):
    tenant = make_tenant("repair")
    s = content_keyed_stream(rt, tenant)
    publish(s)
    with rt.db.tenant(tenant.id) as session:
        ids = set(session.scalars(select(CanonicalRecord.id).where(CanonicalRecord.is_deleted.is_(False))))
        events_before = session.scalar(select(func.count()).select_from(CanonicalEvent))
    s.sync(renamed(base_rows(), "Name", "AccountName"))
    event = only(s)
    assert (event.kind, event.status) == ("field_renamed", "repaired") and event.repair["rekeyed"] == 40
    with rt.db.tenant(tenant.id) as session:
        rows = session.scalars(select(CanonicalRecord)).all()
        events_after = session.scalar(select(func.count()).select_from(CanonicalEvent))
    assert {r.id for r in rows if not r.is_deleted} == ids and not any(r.is_deleted for r in rows)
    assert events_after == events_before  # not one delete, not one create
    assert canonical(s) == expected(base_rows())


def test_below_the_tenant_threshold_a_repair_is_queued_not_published(rt, mapped):
    from autonomos.services import tenants

    tenants.update_settings(rt, str(mapped.tenant_id), {drift.AUTO_THRESHOLD_SETTING: 1.0}, actor="test")
    assert drift.auto_threshold(rt, mapped.tenant_id) == 1.0
    # one record's revenue really changed too: the x100 repair reproduces 39 of 40 earlier values
    mapped.sync(_edit(base_rows(), AnnualRevenue=lambda r, i: str(int(r["AnnualRevenue"]) * 100 + (7 if i == 0 else 0))))
    event = only(mapped)
    assert event.status == "open" and event.confidence == pytest.approx(39 / 40)
    assert current(mapped)["annual_revenue"].get("transform") is None
    assert canonical(mapped) == expected(base_rows())
    assert uuid.UUID(event.repair["repairs"][0]["agent_run_id"])


def test_under_ignore_values_that_no_longer_read_right_are_quarantined_not_written(rt, mapped):
    drift.set_policy(rt, mapped.tenant_id, mapped.name, "ignore", actor="test")
    mapped.sync(SCENARIOS["epoch_millis"][0](base_rows(41)))
    event = only(mapped)
    assert (event.kind, event.status, event.repair) == ("format_changed", "open", None)  # ignore: no repair
    assert drift.held_streams(rt, mapped.tenant_id, event.connection_id) == set()
    assert canonical(mapped) == expected(base_rows())  # no date in the year 55840
    with rt.db.tenant(mapped.tenant_id) as session:
        reasons = list(session.scalars(select(Quarantine.reason).where(Quarantine.status == "open")))
    assert len(reasons) == 41 and "updated_at: cannot read epoch s from the LastActivity value" in reasons[0]


def test_approving_a_queued_repair_publishes_it_through_its_drift_event(rt, mapped):
    drift.set_policy(rt, mapped.tenant_id, mapped.name, "hold", actor="test")
    mapped.sync(SCENARIOS["date_format"][0](base_rows(41)))
    queued = review.list_queue(rt, mapped.tenant_id, connection=mapped.name)
    assert [q.source_field for q in queued] == ["CreatedDate"]
    review.review(rt, mapped.tenant_id, queued[0].id, "approve", actor="test")
    assert only(mapped).status == "accepted"
    assert current(mapped)["created_at"]["transform"] == [{"op": "parse_date", "format": "%d/%m/%Y"}]
    assert canonical(mapped) == expected(base_rows(41))
