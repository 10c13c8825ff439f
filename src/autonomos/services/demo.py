"""``aos demo``: the whole path on generated sample data, idempotent.

Three CRM-shaped sources with each vendor's own naming (a Salesforce-like CSV export, a
HubSpot-like NDJSON export with epoch-millisecond dates and string numbers, and a billing
table on a second embedded PostgreSQL server of its own, ``<data dir>/demo-sources-postgres``,
read through the ``postgres`` connector as a login that can only read it) are
synced, matched, auto-accepted, reviewed (review-tier candidates approved unless their field
is taken, the rest rejected), published, applied and resolved; the report counts every
stage and shows decisions, quarantined records and unified accounts. Re-running it adds
nothing: landing, proposals, publishing and apply are all idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import URL, func, select

from autonomos.services.worker import run_worker
from autonomos.dcl.apply.resolution import UnifiedRecord
from autonomos.aam.connectors.sandbox import ALLOWANCE_FILE
from autonomos.engines.postgres import EmbeddedPostgres, ensure_database, to_sqlalchemy_url
from autonomos.errors import NotFound
from autonomos.samples import crm
from autonomos.services import connections, doctor, mappings, platform, records, review, sync, tenants
from autonomos.runtime import Runtime
from autonomos.store.tables import (
    CanonicalEvent,
    CanonicalRecord,
    ChangeLog,
    EntityLink,
    MappingProposal,
    MappingVersion,
    Quarantine,
    RawRecord,
)

DEMO_TENANT = "demo"
ACTOR = "demo"
SOURCE_DATABASE = "aos_demo_billing"
SOURCE_SERVER = platform.DEMO_SOURCE_SERVER
SOURCE_LOGIN = "aos_demo_reader"


@dataclass
class DemoReport:
    migration: platform.MigrationReport
    tenant: tenants.TenantInfo
    checks: list[doctor.Check]
    stages: dict[str, int] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    unified: list[UnifiedRecord] = field(default_factory=list)


def _sources(rt: Runtime) -> list[tuple[str, str, str, dict, dict | None]]:
    """(connection, provider, stream, config, credentials) of the three sample sources."""
    folder = rt.settings.data_dir / "sources" / DEMO_TENANT / "demo-samples"
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = crm.salesforce_accounts(folder / "sfdc_accounts.csv")
    ndjson_path = crm.hubspot_companies(folder / "hubspot_companies.ndjson")
    source = _billing_source(rt)
    return [
        ("salesforce", "files", "accounts", {"path": str(csv_path), "stream": "accounts", "primary_key": ["Id"]}, None),
        ("hubspot", "files", "companies", {"path": str(ndjson_path), "stream": "companies",
                                           "primary_key": ["companyId"]}, None),
        ("billing-db", "postgres", "customers",
         {"url": source.render_as_string(), "schema": "billing",
          "tables": {"customers": {"primary_key": ["cust_no"]}}}, None),
    ]


def _billing_source(rt: Runtime):
    """The billing table on the demo's own source server, and a read-only login for it.

    The server listens on a Unix socket only; the demo allows that socket for sources in
    ``<data dir>/allowed-sources`` (kept, so ``aos sync billing-db`` works after the demo).
    """
    import psycopg
    from psycopg import sql

    admin = to_sqlalchemy_url(EmbeddedPostgres(rt.settings.data_dir, SOURCE_SERVER, tuned=False).start())
    ensure_database(admin.set(database="postgres"), SOURCE_DATABASE)
    owner = admin.set(database=SOURCE_DATABASE)
    crm.load_billing_table(owner)
    with psycopg.connect(owner.set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (SOURCE_LOGIN,)).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER").format(sql.Identifier(SOURCE_LOGIN)))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA billing TO {}").format(sql.Identifier(SOURCE_LOGIN)))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA billing TO {}").format(sql.Identifier(SOURCE_LOGIN)))
    socket_dir = dict(owner.query).get("host")
    allowance = rt.settings.data_dir / ALLOWANCE_FILE
    lines = allowance.read_text().splitlines() if allowance.exists() else []
    if f"unix:{socket_dir}" not in lines:
        allowance.write_text("\n".join([*lines, f"unix:{socket_dir}"]) + "\n")
    return URL.create("postgresql", username=SOURCE_LOGIN, database=SOURCE_DATABASE, query={"host": socket_dir})


EDITS: dict[tuple[str, str], tuple[str | None, Any]] = {
    ("billing-db", "mrr_cents"): ("account.annual_revenue", {"op": "scale", "factor": 0.12}),  # cents/month -> /year
    ("billing-db", "signup_ts"): ("account.created_at", None),
    ("hubspot", "hs_lead_status"): (None, None),  # a lead status is not an account status
}
"""What the demo's reviewer knows better than the matcher: (connection, field) -> (target or None to reject, transform)."""


def _review(rt: Runtime, tenant_id, connection: str, stream: str) -> None:
    """What a reviewer does in the demo: accept auto, apply its edits, approve review-tier tops whose field is
    free, reject the rest."""
    review.accept_auto(rt, tenant_id, connection, stream, actor=ACTOR)
    for p in review.list_queue(rt, tenant_id, connection=connection, stream=stream):
        target, transform = EDITS.get((connection, p.source_field), ("", None))
        if target:
            review.review(rt, tenant_id, p.id, "edit", field=target, transform=transform, actor=ACTOR,
                          comment="demo reviewer: edited")
        elif target is None:
            review.review(rt, tenant_id, p.id, "reject", actor=ACTOR, comment="demo reviewer: not this")
    taken = {(p.evidence.get("entity"), p.candidates[0]["field"])
             for p in review.list_queue(rt, tenant_id, connection=connection, stream=stream, status="accepted")}
    for p in review.list_queue(rt, tenant_id, connection=connection, stream=stream):
        top = (p.candidates[0]["entity"], p.candidates[0]["field"]) if p.candidates else None
        if p.decision == "review" and top is not None and top not in taken:
            taken.add(top)
            review.review(rt, tenant_id, p.id, "approve", actor=ACTOR, comment="demo reviewer: top candidate")
        else:
            review.review(rt, tenant_id, p.id, "reject", actor=ACTOR, comment="demo reviewer: no good target")


def run_demo(rt: Runtime) -> DemoReport:
    migration = platform.migrate(rt)
    tenant = tenants.ensure_tenant(rt, DEMO_TENANT, "Demo Company", actor=ACTOR)
    report = DemoReport(migration, tenant, doctor.run_checks(rt))
    for name, provider, stream, config, credentials in _sources(rt):
        try:
            if connections.get_connection(rt, tenant.id, name).config != config:  # a demo from an older release
                connections.update_connection(rt, tenant.id, name, config=config, actor=ACTOR)
        except NotFound:
            connections.create_connection(rt, tenant.id, provider=provider, name=name, config=config,
                                          credentials=credentials, actor=ACTOR)
        sync.start_sync(rt, tenant.id, name, actor=ACTOR)
        run_worker(rt, burst=True)
        review.propose_stream(rt, tenant.id, name, stream, actor=ACTOR)
        _review(rt, tenant.id, name, stream)
        published = mappings.publish_reviewed(rt, tenant.id, name, stream, actor=ACTOR)
        report.decisions += _decisions(rt, tenant.id, name, stream, published)
    report.unified = records.unified_records(rt, tenant.id, "account", limit=3)
    _summarise(rt, tenant.id, report)
    return report


def _decisions(rt: Runtime, tenant_id, connection: str, stream: str, published) -> list[dict[str, Any]]:
    """Each proposal with the field a person chose (from the published version, so an edit shows
    what was chosen, not the matcher's top candidate) and the matcher's best candidate."""
    chosen: dict[str, list[str]] = {}
    for result in published:
        for f in result.version.fields:
            chosen.setdefault(f["source_field"], []).append(f"{result.version.entity}.{f['canonical_field']}")
    return [{"connection": connection, "stream": stream, "source_field": p.source_field, "tier": p.decision,
             "status": p.status, "chosen": ", ".join(chosen.get(p.source_field, [])) if p.status == "accepted" else "",
             "target": f"{p.candidates[0]['entity']}.{p.candidates[0]['field']}" if p.candidates else "",
             "score": p.top_score}
            for p in review.list_queue(rt, tenant_id, connection=connection, stream=stream, status=None)]


def _summarise(rt: Runtime, tenant_id, report: DemoReport) -> None:
    with rt.db.tenant(tenant_id) as session:
        def count(table, *where) -> int:
            return session.scalar(select(func.count()).select_from(table).where(*where)) or 0

        report.stages = {
            "raw record versions landed": count(RawRecord),
            "quarantined while landing": count(Quarantine, Quarantine.stage == "landing"),
            "proposals (current)": count(MappingProposal, MappingProposal.status != "superseded"),
            "accepted": count(MappingProposal, MappingProposal.status == "accepted"),
            "rejected": count(MappingProposal, MappingProposal.status == "rejected"),
            "mapping versions published": count(MappingVersion, MappingVersion.published_at.is_not(None)),
            "canonical events": count(CanonicalEvent),
            "canonical records": count(CanonicalRecord),
            "change-log rows": count(ChangeLog),
            "quarantined while applying": count(Quarantine, Quarantine.stage == "apply"),
            "entity links": count(EntityLink),
        }
        report.quarantined = [{"stage": q.stage, "stream": q.stream, "record_key": q.record_key, "reason": q.reason}
                              for q in session.scalars(select(Quarantine).order_by(Quarantine.id))]
