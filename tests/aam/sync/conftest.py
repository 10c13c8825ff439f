"""Helpers for sync tests: CRM-like CSV files and a worker to drain the queue."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from sqlalchemy import text

from autonomos.services.worker import run_worker
from autonomos.services import connections
from tests.conftest import tenant_files


def heads_and_their_rows(rt, tenant_id) -> tuple[int, int]:
    """(heads, heads whose named raw record is that key's latest version, with the head's
    version and deleted flag): equal when every head points at its row."""
    with rt.db.tenant(tenant_id) as session:
        return tuple(session.execute(text(
            """
            SELECT count(*), count(*) FILTER (WHERE r.record_key = h.record_key AND r.version = h.version
                                               AND r.is_deleted = h.is_deleted AND r.version = (
                SELECT max(version) FROM raw_records l
                WHERE l.connection_id = h.connection_id AND l.stream = h.stream AND l.record_key = h.record_key))
            FROM raw_record_heads h LEFT JOIN raw_records r ON r.id = h.raw_record_id
            """)).one())


def write_accounts(path: Path, n: int, *, changed: set[int] = frozenset(), seed: int | None = None) -> None:
    """Salesforce-flavoured accounts; ``seed`` shuffles row order, ``changed`` edits some rows."""
    rows = [{"Id": f"001{i:09d}", "Name": f"Account {i}" + (" (renamed)" if i in changed else ""),
             "AnnualRevenue": str(1000 * i), "BillingPostalCode": f"{i % 100000:05d}"} for i in range(n)]
    if seed is not None:
        random.Random(seed).shuffle(rows)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def file_connection(rt, make_tenant, tmp_path):
    """A tenant with a files connection over ``accounts.csv`` (not written yet)."""
    tenant = make_tenant("sync")
    path = tenant_files(rt, tenant) / "accounts.csv"
    info = connections.create_connection(
        rt, tenant.id, provider="files", name="crm-files",
        config={"path": str(path), "format": "csv", "stream": "accounts", "primary_key": ["Id"],
                "checkpoint_every": 500},
        actor="test",
    )
    return tenant.id, info, path


@pytest.fixture
def drain(rt):
    """Process everything on the queue in this process, then return."""

    def run() -> None:
        run_worker(rt, burst=True)

    return run
