"""``aos demo``: the whole path on generated sample data, idempotent.

Three CRM-shaped sources with each vendor's own naming (a Salesforce-like CSV export, a
HubSpot-like NDJSON export with epoch-millisecond dates and string numbers, and a billing
table in a PostgreSQL database of its own, read through the ``postgres`` connector) are
synced, matched, auto-accepted, reviewed (review-tier candidates approved unless their field
is taken, the rest rejected), published, applied and resolved; the report counts every
stage and shows decisions, quarantined records and unified accounts. Re-running it adds
nothing: landing, proposals, publishing and apply are all idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from autonomos.aam.sync.worker import run_worker
from autonomos.dcl.apply.resolution import UnifiedRecord
from autonomos.engines.postgres import ensure_database, to_sqlalchemy_url
from autonomos.errors import NotFound
from autonomos.samples import crm
from autonomos.services import connections, doctor, mappings, platform, records, review, sync, tenants
from autonomos.services.runtime import Runtime
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
    folder = rt.settings.data_dir / "demo-samples"
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = crm.salesforce_accounts(folder / "sfdc_accounts.csv")
    ndjson_path = crm.hubspot_companies(folder / "hubspot_companies.ndjson")
    owner = to_sqlalchemy_url(rt.database_url)
    ensure_database(owner.set(database="postgres"), SOURCE_DATABASE)
    source = owner.set(database=SOURCE_DATABASE)
    crm.load_billing_table(source)
    password = source.password
    return [
        ("salesforce", "files", "accounts", {"path": str(csv_path), "stream": "accounts", "primary_key": ["Id"]}, None),
        ("hubspot", "files", "companies", {"path": str(ndjson_path), "stream": "companies",
                                           "primary_key": ["companyId"]}, None),
        ("billing-db", "postgres", "customers",
         {"url": source.set(drivername="postgresql", password=None).render_as_string(), "schema": "billing",
          "tables": {"customers": {"primary_key": ["cust_no"]}}},
         {"password": password} if password else None),
    ]


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
            connections.get_connection(rt, tenant.id, name)
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
