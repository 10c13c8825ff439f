"""Database roles: who the application runs as.

The DDL that creates the roles and protects tenant tables lives with the migrations
(``autonomos.migrations.helpers``), frozen there, since a migration must do tomorrow what it
did the day it shipped.

Three roles touch a database:

* the **owner** (the ``DATABASE_URL`` user): runs migrations and owns the tables;
* the **app** role ``aos_<db>_app``: everything request handling does. Not the owner, not a
  superuser, no BYPASSRLS, so row-level security always applies to it;
* the **maintenance** role ``aos_<db>_maint``: background work that must scan all
  tenants (reconciler, outbox, backfill, tenant purge, key rotation). It is granted its own
  permissive policy on each tenant table instead of BYPASSRLS, so no superuser rights are
  needed to create it. Only ``autonomos.store.maintenance`` connects as it.

Role names embed the database name, so several databases on one server (tests do that)
never share or collide on roles.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Roles:
    app: str
    maintenance: str


def roles_for_database(database: str) -> Roles:
    """The two role names for ``database`` (at most 63 bytes, lower-case identifiers)."""
    stem = re.sub(r"[^a-z0-9_]", "_", database.lower())
    if len(stem) > 40:
        stem = stem[:30] + "_" + hashlib.sha256(database.encode()).hexdigest()[:8]
    return Roles(app=f"aos_{stem}_app", maintenance=f"aos_{stem}_maint")
