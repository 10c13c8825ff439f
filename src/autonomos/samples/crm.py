"""Deterministic CRM-shaped sample data for the demo: the same companies as three vendors name them.

* a Salesforce-like Account export (CSV: ``Id``, ``Website``, ``AnnualRevenue``, ISO dates);
* a HubSpot-like company export (NDJSON: ``companyId``, ``domain``, numbers as strings,
  epoch-millisecond dates);
* a billing database table (``billing.customers``: ``cust_no``, ``web_domain``,
  ``mrr_cents``, ``signup_ts``) in a PostgreSQL database of its own.

Sources overlap on web domain, so resolution has something to link, and disagree on a few
values (names, head counts), so precedence has something to decide. A few rows are bad on
purpose: one CSV row without an id (landing quarantine) and values that cannot be coerced
(apply quarantine).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import sqlalchemy as sa

COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Cyberdyne", "Soylent", "Hooli",
             "Vandelay", "Wonka", "Gekko", "Oscorp", "Massive", "Dunder", "Prestige", "Sterling", "Monarch", "Aperture"]
INDUSTRIES = ["Technology", "Retail", "Healthcare", "Finance", "Energy"]
CITIES = [("San Francisco", "US"), ("Austin", "US"), ("London", "GB"), ("Berlin", "DE"), ("Paris", "FR")]
EPOCH = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)


def _company(i: int) -> dict:
    name = COMPANIES[i % len(COMPANIES)]
    city, country = CITIES[i % len(CITIES)]
    return {"name": f"{name} {['Labs', 'Holdings', 'Group'][i % 3]}", "domain": f"{name.lower()}{i}.example.com",
            "industry": INDUSTRIES[i % len(INDUSTRIES)], "employees": 20 + (i * 37) % 900,
            "revenue": 100_000 + (i * 7919) % 9_000_000, "city": city, "country": country,
            "created": EPOCH + dt.timedelta(days=3 * i, hours=i % 24)}


def _write_if_changed(path: Path, text: str) -> Path:
    """Leave an identical file untouched: a new mtime would make the files connector read it again."""
    data = text.encode()
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    return path


def salesforce_accounts(path: Path, n: int = 30) -> Path:
    """Companies 0..n-1 as a Salesforce Account export; row 7 lacks its Id, row 11 has revenue 'n/a'."""
    columns = ["Id", "Name", "Website", "Industry", "Type", "NumberOfEmployees", "AnnualRevenue", "BillingCity",
               "BillingCountry", "CreatedDate"]
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow(columns)
    for i in range(n):
        c = _company(i)
        writer.writerow(["" if i == 7 else f"001A{i:011d}", c["name"], f"https://www.{c['domain']}/",
                         c["industry"], ["Customer", "Prospect", "Partner"][i % 3], str(c["employees"]),
                         "n/a" if i == 11 else f"{c['revenue']:.2f}", c["city"], c["country"],
                         c["created"].strftime("%Y-%m-%dT%H:%M:%SZ")])
    return _write_if_changed(path, handle.getvalue())


def hubspot_companies(path: Path, start: int = 15, n: int = 30) -> Path:
    """Companies start..start+n-1 as HubSpot exports them; one has employees 'lots'."""
    lines = []
    for i in range(start, start + n):
        c = _company(i)
        millis = int(c["created"].timestamp() * 1000)
        lines.append(json.dumps({
            "companyId": str(9_000_000 + i), "name": c["name"].upper() if i % 4 == 0 else c["name"],
            "domain": c["domain"], "industry": c["industry"].upper(),
            "numberofemployees": "lots" if i == 20 else str(c["employees"] + (5 if i % 2 else 0)),
            "annualrevenue": f"{c['revenue']:.2f}", "city": c["city"], "country": c["country"],
            "createdate": str(millis), "hs_lastmodifieddate": str(millis + 86_400_000 * 30),
            "hs_lead_status": ["NEW", "OPEN", "CONNECTED"][i % 3]}) + "\n")
    return _write_if_changed(path, "".join(lines))


BILLING_DDL = """
CREATE SCHEMA IF NOT EXISTS billing;
CREATE TABLE IF NOT EXISTS billing.customers (
    cust_no      integer PRIMARY KEY,
    company_name text NOT NULL,
    web_domain   text,
    seats        integer,
    mrr_cents    bigint,
    country_code text,
    signup_ts    timestamptz,
    updated_at   timestamptz NOT NULL
)"""


def billing_rows(start: int = 5, n: int = 25) -> list[dict]:
    rows = []
    for i in range(start, start + n):
        c = _company(i)
        rows.append({"cust_no": 1000 + i, "company_name": c["name"] + " Inc.", "web_domain": c["domain"],
                     "seats": 5 + i % 40, "mrr_cents": c["revenue"] * 100 // 12,
                     "country_code": c["country"], "signup_ts": c["created"] + dt.timedelta(days=10),
                     "updated_at": c["created"] + dt.timedelta(days=40)})
    return rows


def load_billing_table(url: sa.URL | str) -> int:
    """Create and fill ``billing.customers`` (idempotent: rows are upserted)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in BILLING_DDL.split(";"):
                conn.execute(sa.text(statement))
            rows = billing_rows()
            conn.execute(sa.text(
                "INSERT INTO billing.customers VALUES (:cust_no, :company_name, :web_domain, :seats, :mrr_cents, "
                ":country_code, :signup_ts, :updated_at) ON CONFLICT (cust_no) DO NOTHING"), rows)
        return len(rows)
    finally:
        engine.dispose()
