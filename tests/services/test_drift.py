"""Drift scenarios on the files connector: a synced stream, a change at the source, the next
sync; each change is detected with its class and severity, and an unchanged re-sync reports
nothing."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from autonomos.services import connections, drift
from autonomos.services.sync import get_run, start_sync
from autonomos.services.worker import run_worker

INDUSTRIES = ("Technology", "Retail", "Energy", "Healthcare")
from tests.conftest import tenant_files


def base_rows(n: int = 40) -> list[dict[str, str]]:
    return [{"Id": f"001{i:09d}", "Name": f"Account {i}", "Industry": INDUSTRIES[i % 4],
             "AnnualRevenue": str(1000 + 37 * i), "CreatedDate": f"2024-{1 + i % 12:02d}-{13 + i % 15:02d}",
             "LastActivity": str(1_700_000_000 + 3600 * i)} for i in range(n)]


def write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


class Stream:
    """A files connection over one CSV, synced through the platform's worker."""

    def __init__(self, rt, tenant_id, path: Path, name: str) -> None:
        self.rt, self.tenant_id, self.path, self.name = rt, tenant_id, path, name

    def sync(self, rows: list[dict[str, str]]) -> None:
        write_rows(self.path, rows)
        run = start_sync(self.rt, self.tenant_id, self.name, actor="test").run
        run_worker(self.rt, burst=True)
        assert get_run(self.rt, self.tenant_id, run.id).status == "succeeded"

    def events(self) -> list[drift.EventInfo]:
        return drift.list_events(self.rt, self.tenant_id, connection=self.name)

    def kinds(self) -> set[tuple[str, str, str]]:
        return {(e.kind, e.field, e.severity) for e in self.events()}


def synced_stream(rt, tenant_id, path: Path) -> Stream:
    """A files connection over ``path`` (moved into the tenant's files folder) after its first sync
    (the baseline, which reports nothing)."""
    path = tenant_files(rt, tenant_id) / path.name
    connections.create_connection(rt, tenant_id, provider="files", name="crm-files",
                                  config={"path": str(path), "format": "csv", "stream": "accounts",
                                          "primary_key": ["Id"]}, actor="test")
    s = Stream(rt, tenant_id, path, "crm-files")
    s.sync(base_rows())
    assert s.events() == []
    return s


@pytest.fixture
def stream(rt, make_tenant, tmp_path) -> Stream:
    return synced_stream(rt, make_tenant("drift").id, tmp_path / "accounts.csv")


def _edit(rows, **changes):
    return [{**r, **{k: f(r, i) for k, f in changes.items()}} for i, r in enumerate(rows)]


def test_an_unchanged_resync_reports_nothing(stream):
    stream.sync(base_rows())
    stream.sync(list(reversed(base_rows())))
    assert stream.events() == []


def test_a_renamed_column_is_one_rename(stream):
    stream.sync([{("AccountName" if k == "Name" else k): v for k, v in r.items()} for r in base_rows()])
    events = stream.events()
    assert [(e.kind, e.field, e.severity) for e in events] == [("field_renamed", "Name", "breaking")]
    assert events[0].details["after"] == "AccountName" and events[0].confidence >= 0.9
    assert "Account 0" in events[0].details["samples"] or events[0].details["samples"]


def test_a_dropped_column_is_breaking(stream):
    stream.sync([{k: v for k, v in r.items() if k != "Industry"} for r in base_rows()])
    assert stream.kinds() == {("field_removed", "Industry", "breaking")}


def test_an_added_column_is_informational(stream):
    stream.sync([{**r, "Region": "EMEA"} for r in base_rows()])
    assert stream.kinds() == {("field_added", "Region", "informational")}


def test_a_changed_type_is_breaking(stream):
    stream.sync(_edit(base_rows(), AnnualRevenue=lambda r, i: r["AnnualRevenue"] if i % 3 else "unknown"))
    assert stream.kinds() == {("type_changed", "AnnualRevenue", "breaking")}
    event = stream.events()[0]
    assert (event.details["before"], event.details["after"]) == ("integer", "string")


def test_a_date_format_change_is_a_format_change_not_a_type_change(stream):
    stream.sync(_edit(base_rows(), CreatedDate=lambda r, i: "/".join(reversed(r["CreatedDate"].split("-")))))
    events = stream.events()
    assert [(e.kind, e.field, e.severity, e.rule) for e in events] == [
        ("format_changed", "CreatedDate", "breaking", "date_style")]
    assert (events[0].details["before"], events[0].details["after"]) == ("iso_date", "slash_day_first")


def test_epoch_seconds_to_millis(stream):
    stream.sync(_edit(base_rows(), LastActivity=lambda r, i: r["LastActivity"] + "000"))
    events = stream.events()
    assert [(e.kind, e.field, e.severity, e.rule) for e in events] == [
        ("format_changed", "LastActivity", "breaking", "epoch_unit")]


def test_a_new_picklist_value_is_degrading(stream):
    stream.sync(_edit(base_rows(), Industry=lambda r, i: "Mining" if i == 5 else r["Industry"]))
    events = stream.events()
    assert [(e.kind, e.field, e.severity) for e in events] == [("new_picklist_value", "Industry", "degrading")]
    assert events[0].details["after"] == ["Mining"]
    stream.sync(_edit(base_rows(), Industry=lambda r, i: "Mining" if i in (5, 6) else r["Industry"]))
    assert len(stream.events()) == 1  # a value already reported is not reported again


def test_money_times_100_is_a_unit_scale(stream):
    stream.sync(_edit(base_rows(), AnnualRevenue=lambda r, i: str(int(r["AnnualRevenue"]) * 100)))
    events = stream.events()
    assert [(e.kind, e.field, e.severity, e.rule) for e in events] == [
        ("unit_scale", "AnnualRevenue", "breaking", "median_x100")]


def test_a_rename_and_its_revert_are_two_snapshots_and_two_events(stream):
    renamed = [{("AccountName" if k == "Name" else k): v for k, v in r.items()} for r in base_rows()]
    stream.sync(renamed)
    stream.sync(base_rows())
    assert sorted((e.kind, e.field, e.details["after"]) for e in stream.events()) == [
        ("field_renamed", "AccountName", "Name"), ("field_renamed", "Name", "AccountName")]


MAPPING = [{"source_field": "Id", "canonical_field": "id"}, {"source_field": "Name", "canonical_field": "name"},
           {"source_field": "AnnualRevenue", "canonical_field": "annual_revenue"}]


def _canonical(stream: Stream) -> dict[str, dict]:
    from sqlalchemy import select

    from autonomos.store.tables import CanonicalRecord

    with stream.rt.db.tenant(stream.tenant_id) as session:
        rows = session.scalars(select(CanonicalRecord).where(CanonicalRecord.entity == "account"))
        return {r.record_key: r.data for r in rows if not r.is_deleted}


def _raw_versions(stream: Stream) -> int:
    from sqlalchemy import func, select

    from autonomos.store.tables import RawRecord

    with stream.rt.db.tenant(stream.tenant_id) as session:
        return session.scalar(select(func.count()).select_from(RawRecord))


def test_hold_stops_applying_a_breaking_change_and_applies_what_landed_once_released(rt, stream, redis_client):
    from autonomos.notifications.pubsub import subscribe
    from autonomos.services import mappings

    mappings.publish_fields(rt, stream.tenant_id, stream.name, "accounts", "account", MAPPING, actor="test")
    assert _canonical(stream)["001000000000"]["annual_revenue"] == 1000
    drift.set_policy(rt, stream.tenant_id, stream.name, "hold", actor="test")
    listener = subscribe(rt, stream.tenant_id)
    listener.get_message(timeout=1)  # the subscription confirmation

    scaled = _edit(base_rows(41), AnnualRevenue=lambda r, i: str(int(r["AnnualRevenue"]) * 100))
    versions = _raw_versions(stream)
    stream.sync(scaled)
    assert stream.kinds() == {("unit_scale", "AnnualRevenue", "breaking")}
    assert drift.held_streams(rt, stream.tenant_id, stream.events()[0].connection_id) == {"accounts"}
    assert _raw_versions(stream) == versions + 41  # every record landed raw
    canonical = _canonical(stream)
    assert canonical["001000000000"]["annual_revenue"] == 1000 and "001000000040" not in canonical  # nothing applied

    stream.sync(base_rows(42))  # the source is put right; the stream stays held until a person decides
    assert "001000000041" not in _canonical(stream) and len(stream.events()) == 1
    event = drift.resolve_event(rt, stream.tenant_id, str(stream.events()[0].id), "rejected", actor="test")
    assert event.status == "rejected"
    canonical = _canonical(stream)
    assert len(canonical) == 42
    assert all(canonical[r["Id"]]["annual_revenue"] == int(r["AnnualRevenue"]) for r in base_rows(42))

    seen = []
    while (message := listener.get_message(timeout=1)) is not None:
        if message["type"] == "message":
            import orjson

            seen.append(orjson.loads(message["data"])["type"])
    listener.close()
    assert {"drift.detected", "stream.held", "stream.released"} <= set(seen)


def test_value_drift_is_checked_on_mapped_fields_only(rt, stream):
    from autonomos.services import mappings

    mappings.publish_fields(rt, stream.tenant_id, stream.name, "accounts", "account", MAPPING, actor="test")
    stream.sync(_edit(base_rows(), Industry=lambda r, i: "Mining" if i == 5 else r["Industry"],
                      AnnualRevenue=lambda r, i: str(int(r["AnnualRevenue"]) * 100)))
    assert stream.kinds() == {("unit_scale", "AnnualRevenue", "breaking")}
    # propagate (the default) repairs a value change that still parses: no cents read as dollars
    assert stream.events()[0].status == "repaired"
    assert drift.held_streams(rt, stream.tenant_id, stream.events()[0].connection_id) == set()
    assert _canonical(stream)["001000000001"]["annual_revenue"] == 1037


def test_ignore_records_and_announces_but_never_holds(rt, stream):
    drift.set_policy(rt, stream.tenant_id, stream.name, "ignore", actor="test")
    stream.sync(_edit(base_rows(), AnnualRevenue=lambda r, i: str(int(r["AnnualRevenue"]) * 100)))
    assert stream.kinds() == {("unit_scale", "AnnualRevenue", "breaking")}
    assert drift.held_streams(rt, stream.tenant_id, stream.events()[0].connection_id) == set()


def test_propagate_records_and_applies(rt, stream):
    from autonomos.services import mappings

    mappings.publish_fields(rt, stream.tenant_id, stream.name, "accounts", "account", MAPPING, actor="test")
    stream.sync([{**r, "Region": "EMEA"} for r in base_rows(41)])
    assert stream.kinds() == {("field_added", "Region", "informational")}
    assert len(_canonical(stream)) == 41


def test_a_muted_kind_is_recorded_as_muted_and_does_not_hold(rt, stream):
    drift.set_policy(rt, stream.tenant_id, stream.name, "hold", actor="test")
    assert drift.mute(rt, stream.tenant_id, stream.name, "accounts", "field_removed", actor="test") == ["field_removed"]
    stream.sync([{k: v for k, v in r.items() if k != "Industry"} for r in base_rows()])
    assert [(e.kind, e.status) for e in stream.events()] == [("field_removed", "muted")]
    assert drift.held_streams(rt, stream.tenant_id, stream.events()[0].connection_id) == set()


def test_an_accepted_value_change_becomes_the_baseline(rt, stream):
    millis = _edit(base_rows(), LastActivity=lambda r, i: r["LastActivity"] + "000")
    stream.sync(millis)
    event = stream.events()[0]
    drift.resolve_event(rt, stream.tenant_id, str(event.id), "accepted", actor="test")
    stream.sync(_edit(millis, Name=lambda r, i: r["Name"] + " Ltd"))
    assert [e.kind for e in stream.events()] == ["format_changed"]


def test_policies_and_decisions_are_checked(rt, stream):
    from autonomos.aam.drift.exceptions import InvalidDriftRequest
    from autonomos.errors import Conflict

    with pytest.raises(InvalidDriftRequest):
        drift.set_policy(rt, stream.tenant_id, stream.name, "sometimes", actor="test")
    with pytest.raises(InvalidDriftRequest):
        drift.mute(rt, stream.tenant_id, stream.name, "accounts", "everything", actor="test")
    stream.sync([{**r, "Region": "EMEA"} for r in base_rows()])
    event = stream.events()[0]
    drift.resolve_event(rt, stream.tenant_id, str(event.id), "accepted", actor="test")
    with pytest.raises(Conflict):
        drift.resolve_event(rt, stream.tenant_id, str(event.id), "rejected", actor="test")


def test_a_new_fingerprint_recipe_starts_a_baseline_instead_of_reporting_drift(rt, stream, monkeypatch):
    from sqlalchemy import select

    from autonomos.aam.drift import fingerprint, history
    from autonomos.store.tables import SchemaSnapshot

    monkeypatch.setattr(fingerprint, "RECIPE", "drift-2")
    monkeypatch.setattr(history, "RECIPE", "drift-2")
    stream.sync([{**r, "Region": "EMEA"} for r in base_rows()])
    assert stream.events() == []
    with rt.db.tenant(stream.tenant_id) as session:
        recipes = list(session.scalars(select(SchemaSnapshot.recipe).order_by(SchemaSnapshot.observed_at)))
    assert recipes == ["drift-1", "drift-2"]


def test_the_field_list_recipe_keeps_its_own_history_and_may_return_to_a_schema(rt, stream):
    from autonomos.services.profiling import profile_stream

    renamed = [{("AccountName" if k == "Name" else k): v for k, v in r.items()} for r in base_rows()]
    first = profile_stream(rt, stream.tenant_id, stream.name, "accounts")
    stream.sync(renamed)
    second = profile_stream(rt, stream.tenant_id, stream.name, "accounts")
    stream.sync(base_rows())
    third = profile_stream(rt, stream.tenant_id, stream.name, "accounts")
    assert second.created and third.created and third.fingerprint == first.fingerprint != second.fingerprint
    assert third.id != first.id  # A -> B -> A is a history of three snapshots
    assert [e.kind for e in stream.events()] == ["field_renamed", "field_renamed"]
    assert profile_stream(rt, stream.tenant_id, stream.name, "accounts").created is False


def content_keyed_stream(rt, tenant) -> Stream:
    """A files connection over a CSV without a primary key (records keyed by content), synced once."""
    path = tenant_files(rt, tenant) / "accounts.csv"
    connections.create_connection(rt, tenant.id, provider="files", name="crm-files",
                                  config={"path": str(path), "format": "csv", "stream": "accounts"}, actor="test")
    s = Stream(rt, tenant.id, path, "crm-files")
    s.sync(base_rows())
    return s


def test_a_rename_on_a_stream_keyed_by_content_is_still_one_rename(rt, make_tenant, tmp_path):
    s = content_keyed_stream(rt, make_tenant("drift"))
    s.sync([{("IndustryName" if k == "Industry" else k): v for k, v in r.items()} for r in base_rows()])
    assert s.kinds() == {("field_renamed", "Industry", "breaking")}
