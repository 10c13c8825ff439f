"""Drift scenarios on the files connector: a synced stream, a change at the source, the next
sync; each change is detected with its class and severity, and an unchanged re-sync reports
nothing."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from autonomos.services import connections, drift
from autonomos.services.sync import start_sync
from autonomos.services.worker import run_worker

INDUSTRIES = ("Technology", "Retail", "Energy", "Healthcare")


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
        from autonomos.services.sync import get_run
        assert get_run(self.rt, self.tenant_id, run.id).status == "succeeded"

    def events(self) -> list[drift.EventInfo]:
        return drift.list_events(self.rt, self.tenant_id, connection=self.name)

    def kinds(self) -> set[tuple[str, str, str]]:
        return {(e.kind, e.field, e.severity) for e in self.events()}


@pytest.fixture
def stream(rt, make_tenant, tmp_path) -> Stream:
    tenant = make_tenant("drift")
    path = tmp_path / "accounts.csv"
    connections.create_connection(rt, tenant.id, provider="files", name="crm-files",
                                  config={"path": str(path), "format": "csv", "stream": "accounts",
                                          "primary_key": ["Id"]}, actor="test")
    s = Stream(rt, tenant.id, path, "crm-files")
    s.sync(base_rows())
    assert s.events() == []  # the first sync is the baseline
    return s


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
