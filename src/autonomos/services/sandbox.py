"""The connector sandbox of a tenant, and the checks a connection's config passes at create.

``tenant_sandbox`` turns the deployment's settings (``AOS_FILES_ROOTS``,
``AOS_ALLOW_PRIVATE_SOURCES`` and the data dir's ``allowed-sources`` file,
``AOS_AIRBYTE_SOURCES``) and the platform's own server addresses into the ``Sandbox`` every
connector of that tenant is built with. ``validate_connection`` refuses, before anything is
stored, a bad name, a config carrying a secret, and a config pointing outside the sandbox.
"""

from __future__ import annotations

import functools
import re
import uuid
from typing import Any

from sqlalchemy import select

from autonomos.aam.connectors import sandbox as rules
from autonomos.aam.connectors.registry import build_connector, connector_class
from autonomos.aam.connectors.sandbox import Sandbox, SourceRefused, UnresolvedHost
from autonomos.aam.connectors.secrets import marked_secrets, secrets_in_config
from autonomos.errors import InvalidInput, NotFound
from autonomos.runtime import Runtime
from autonomos.store.tables import Tenant

NAME_MAX = 63
UUID_SHAPED = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


@functools.lru_cache(maxsize=8)
def _platform(database_url: str, redis_url: str) -> rules.Platform:
    return rules.platform_servers(database_url, redis_url)


def tenant_sandbox(rt: Runtime, tenant_id: uuid.UUID) -> Sandbox:
    with rt.db.tenant(tenant_id) as session:
        slug = session.scalar(select(Tenant.slug).where(Tenant.id == tenant_id))
    if slug is None:
        raise NotFound("no such tenant", tenant=tenant_id)
    settings = rt.settings
    roots = rules.files_roots(settings.files_roots, settings.data_dir)
    networks, hosts, sockets = rules.parse_allowances(
        rules.allowance_entries(settings.allow_private_sources, settings.data_dir))
    return Sandbox(
        tenant_slug=slug, data_dir=settings.data_dir,
        file_roots=tuple(rules.tenant_folder(root, slug) for root in roots),
        networks=networks, hosts=hosts, sockets=sockets,
        platform=_platform(rt.database_url, rt.redis_url),
        airbyte=rules.parse_airbyte_pins(settings.airbyte_sources),
    )


def validate_name(name: str) -> None:
    """A connection name: non-empty, at most 63 characters, printable, and not shaped like an id
    (the caller's input: InvalidInput, a 422 from the API)."""
    if not name or not name.strip():
        raise InvalidInput("a connection name may not be empty")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"a connection name has at most {NAME_MAX} characters", length=len(name))
    if not name.isprintable() or name != name.strip():
        raise InvalidInput("a connection name has no control characters or surrounding spaces", name=name)
    if UUID_SHAPED.fullmatch(name):
        raise InvalidInput("a connection name may not look like an id (connections are found by id or name)",
                                 name=name)


def config_secrets(provider: str, config: dict[str, Any]) -> list[str]:
    """Settings of ``config`` that are secrets (see ``aam.connectors.secrets``)."""
    return secrets_in_config(config, marked_secrets(connector_class(provider).spec()))


def refuse_secrets(provider: str, config: dict[str, Any]) -> None:
    found = config_secrets(provider, config)
    if found:
        raise InvalidInput("secrets belong in the credentials, never in the config: pass them with "
                                 "--credentials (they are stored encrypted)", settings=found)


def check_config(rt: Runtime, tenant_id: uuid.UUID, provider: str, config: dict[str, Any]) -> None:
    """Refuse a config that carries a secret or points outside the tenant's sandbox."""
    refuse_secrets(provider, config)
    sandbox = tenant_sandbox(rt, tenant_id)
    try:
        connector = build_connector(provider, config, None, None, sandbox)
    except SourceRefused:
        raise
    except Exception:  # noqa: BLE001 - an incomplete or malformed config opens nothing; checked again at open
        return
    try:
        connector.check_sandbox()
    except UnresolvedHost:
        pass  # may resolve later; checked again at every open
    finally:
        connector.close()
