"""Helpers for sync tests: CRM-like CSV files and a worker to drain the queue."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from autonomos.aam.sync.worker import run_worker
from autonomos.services import connections


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
    path = tmp_path / "accounts.csv"
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
