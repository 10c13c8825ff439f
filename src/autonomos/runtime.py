"""The running platform: settings turned into engines, built once per process.

Entry points build a ``Runtime``; services take it (and a tenant id) as arguments. The stages
(``aam``, ``dcl``) never see it: they take plain inputs that the service layer builds from it
(``services/sync_inputs.py`` for the sync stage). It starts embedded servers when no URLs are configured, and hands out the tenant-scoped
``Database`` only. The cross-tenant maintenance database is reached through
``autonomos.store.maintenance.maintenance_database(rt)``, which only an allow-listed
set of operator and background modules may import (a guardrail test checks it).
"""

from __future__ import annotations

from functools import cached_property

import redis

from autonomos.config import Settings
from autonomos.engines import redis as redis_engine
from autonomos.engines.runtime import resolve_database_url, resolve_redis_url, resolve_secret_keys
from autonomos.security.credentials import CredentialCipher
from autonomos.store.database import Database


class Runtime:
    """Lazily-opened engines for one process. ``close()`` releases pools and clients."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def database_url(self) -> str:
        return resolve_database_url(self.settings)

    @cached_property
    def redis_url(self) -> str:
        return resolve_redis_url(self.settings)

    @cached_property
    def db(self) -> Database:
        return Database(self.database_url, role_password=self.role_password())

    @cached_property
    def redis(self) -> redis.Redis:
        return redis_engine.connect(self.redis_url)

    @cached_property
    def queue_redis(self) -> redis.Redis:
        """A client for the job queue: no socket timeout, since workers block waiting for jobs."""
        return redis.Redis.from_url(self.redis_url)

    @cached_property
    def keys(self) -> redis_engine.Keys:
        return redis_engine.Keys(self.settings.redis_namespace)

    @cached_property
    def cipher(self) -> CredentialCipher:
        return CredentialCipher(resolve_secret_keys(self.settings))

    def reset_cipher(self) -> None:
        self.__dict__.pop("cipher", None)

    def role_password(self) -> str | None:
        secret = self.settings.db_role_password
        return secret.get_secret_value() if secret else None

    def close(self) -> None:
        for name in ("db", "maintenance_db"):
            if name in self.__dict__:
                self.__dict__.pop(name).dispose()
        for name in ("redis", "queue_redis"):
            if name in self.__dict__:
                self.__dict__.pop(name).close()
