"""The maintenance path: the only way to read or write across tenants.

Background work that must scan every tenant (the sync reconciler, the embedding outbox,
backfills, tenant purge, key rotation) connects as the maintenance role, which has a
permissive policy of its own on each tenant table. Request handling never gets one of
these: the API and the tenant services take a ``Database`` (app role) only, and a
guardrail test fails if a module outside ``MAINTENANCE_USERS`` imports this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from autonomos.engines.boundary import engine_boundary
from autonomos.engines.postgres import to_sqlalchemy_url
from autonomos.store.database import make_engine, role_url
from autonomos.store.roles import roles_for_database


MAINTENANCE_USERS = frozenset({
    "autonomos.services.tenants",
    "autonomos.services.keys",
    "autonomos.services.doctor",  # flags connections of every tenant that keep a secret in their config
    "autonomos.services.platform_keys",
    "autonomos.services.vectors",
    "autonomos.services.webhook_delivery",  # the webhook outbox of every tenant
    "autonomos.dcl.vectors.outbox",
    "autonomos.dcl.apply.runs",
    "autonomos.services.apply",
    "autonomos.aam.sync.reconciler",
    "autonomos.aam.sync.scheduler",
    "autonomos.services.sync_inputs",  # hands the reconciler and the scheduler their maintenance database
})
"""The only modules allowed to import this one: operator commands and background jobs."""


class MaintenanceDatabase:
    """Sessions as the maintenance role; every use should be an operator or background job."""

    def __init__(self, owner_url: str | URL, *, role_password: str | None = None) -> None:
        owner = to_sqlalchemy_url(owner_url)
        self.roles = roles_for_database(owner.database or "")
        self.engine = make_engine(role_url(owner, self.roles.maintenance, role_password), pool_size=2)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One cross-tenant transaction; commits on success."""
        with engine_boundary("postgres"), self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def maintenance_database(rt) -> MaintenanceDatabase:
    """The runtime's maintenance database (built once per runtime, closed with it)."""
    if "maintenance_db" not in rt.__dict__:
        rt.__dict__["maintenance_db"] = MaintenanceDatabase(rt.database_url, role_password=rt.role_password())
    return rt.__dict__["maintenance_db"]
