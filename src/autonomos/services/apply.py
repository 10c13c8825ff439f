"""Applying published mapping versions: after a publish (backfill) and after every sync.

``apply_connection`` is the sync engine's hook: once a run has landed, every current
version of the connection's mappings is applied to what landed since its last apply, and
the touched entities are resolved again. A failure here is logged and recorded on the apply
run; it never turns a successful sync into a failed one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from sqlalchemy import select

from autonomos.dcl.apply import ApplyReport, apply_version
from autonomos.dcl.apply.resolution import resolve_entity
from autonomos.dcl.mappings.versions import current_version
from autonomos.services.runtime import Runtime
from autonomos.store.tables import Mapping, Tenant

logger = logging.getLogger(__name__)


def apply_and_resolve(rt: Runtime, tenant_id: uuid.UUID, version_id: uuid.UUID, *, trigger: str,
                      incremental: bool = False) -> ApplyReport:
    """Apply one version, then re-resolve its entity across sources."""
    report = apply_version(rt.db, tenant_id, version_id, trigger=trigger, incremental=incremental,
                           memory_limit=rt.settings.duckdb_memory_limit, writers=rt.settings.apply_writers)
    if report.counts.changed:
        resolve(rt, tenant_id, [report.entity])
    return report


def resolve(rt: Runtime, tenant_id: uuid.UUID, entities: Iterable[str]) -> dict[str, int]:
    """Recompute entity links of ``entities`` under the tenant's match keys; links per entity."""
    out: dict[str, int] = {}
    with rt.db.tenant(tenant_id) as session:
        settings = session.scalar(select(Tenant.settings).where(Tenant.id == tenant_id)) or {}
        for entity in sorted(set(entities)):
            out[entity] = resolve_entity(session, tenant_id, entity, settings.get("match_keys"))
    return out


def apply_connection(rt: Runtime, tenant_id: uuid.UUID, connection_id: uuid.UUID,
                     streams: Iterable[str] | None = None) -> list[ApplyReport]:
    """Apply the current version of each of the connection's mappings to newly landed records."""
    reports: list[ApplyReport] = []
    try:
        wanted = set(streams or [])
        with rt.db.tenant(tenant_id) as session:
            mappings = session.scalars(select(Mapping).where(Mapping.tenant_id == tenant_id,
                                                             Mapping.connection_id == connection_id)).all()
            current = [v for m in mappings if not wanted or m.stream in wanted
                       if (v := current_version(session, tenant_id, m.id)) is not None]
        for version in current:
            try:
                reports.append(apply_version(rt.db, tenant_id, version.id, trigger="sync", incremental=True,
                                             memory_limit=rt.settings.duckdb_memory_limit,
                                             writers=rt.settings.apply_writers))
            except Exception:  # recorded on its apply run; the other mappings still apply
                logger.exception("apply after sync failed", extra={"mapping_version_id": str(version.id)})
        touched = [r.entity for r in reports if r.counts.changed]
        if touched:
            resolve(rt, tenant_id, touched)
    except Exception:  # the sync itself succeeded; the next one (or a publish) catches up
        logger.exception("apply after sync failed", extra={"connection_id": str(connection_id)})
    return reports
