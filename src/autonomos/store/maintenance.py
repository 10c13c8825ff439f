"""The maintenance path: the only way to read or write across tenants.

Background work that must scan every tenant (the sync reconciler, the embedding outbox,
backfills, tenant purge, key rotation) connects as the maintenance role, which has a
permissive policy of its own on each tenant table. Request handling never gets one of
these: the API and the tenant services take a ``Database`` (app role) only, and a
guardrail test fails if a request-facing module imports this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from autonomos.engines.postgres import to_sqlalchemy_url
from autonomos.store.database import make_engine, role_url
from autonomos.store.roles import roles_for_database


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
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
