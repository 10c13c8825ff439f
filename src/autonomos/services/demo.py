"""``aos demo``: the end-to-end path on this machine, as far as it is built.

Today: start (or reuse) the engines, apply migrations, create the demo tenant, store a
connection with encrypted credentials, and report the state of every engine and what the
demo tenant holds. Later stages (sync, match, publish, apply) join as they land.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from autonomos.errors import NotFound
from autonomos.services import connections, doctor, platform, tenants
from autonomos.services.runtime import Runtime
from autonomos.store.base import tenant_tables

DEMO_TENANT = "demo"
ACTOR = "demo"


@dataclass(frozen=True)
class DemoReport:
    migration: platform.MigrationReport
    tenant: tenants.TenantInfo
    connection: connections.ConnectionInfo
    checks: list[doctor.Check]
    row_counts: dict[str, int]


def run_demo(rt: Runtime) -> DemoReport:
    migration = platform.migrate(rt)
    tenant = tenants.ensure_tenant(rt, DEMO_TENANT, "Demo Company", actor=ACTOR)
    try:
        conn = connections.get_connection(rt, tenant.id, "crm-export")
    except NotFound:
        conn = connections.create_connection(
            rt, tenant.id, provider="files", name="crm-export",
            config={"path": "samples/crm/*.csv", "format": "csv"},
            credentials={"note": "files need none; stored to show encryption"}, actor=ACTOR,
        )
    counts: dict[str, int] = {}
    with rt.db.tenant(tenant.id) as session:
        for table in tenant_tables():
            counts[table.name] = session.scalar(select(func.count()).select_from(table)) or 0
    return DemoReport(migration, tenant, conn, doctor.run_checks(rt), counts)
