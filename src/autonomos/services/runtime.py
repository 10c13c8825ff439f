"""The running platform: settings turned into engines, built once per process.

Entry points build a ``Runtime``; services take it (and a tenant id) as arguments. It
starts embedded servers when no URLs are configured, and hands out the tenant-scoped
``Database``. The maintenance database is built only on request, by background and
operator services.
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
        return Database(self.database_url, role_password=self._role_password())

    @cached_property
    def redis(self) -> redis.Redis:
        return redis_engine.connect(self.redis_url)

    @cached_property
    def keys(self) -> redis_engine.Keys:
        return redis_engine.Keys(self.settings.redis_namespace)

    @cached_property
    def cipher(self) -> CredentialCipher:
        return CredentialCipher(resolve_secret_keys(self.settings))

    def maintenance(self):  # -> MaintenanceDatabase; imported lazily to keep the path explicit
        """The cross-tenant database. Only operator commands and background jobs call this."""
        if "_maintenance" not in self.__dict__:
            from autonomos.store.maintenance import MaintenanceDatabase

            self.__dict__["_maintenance"] = MaintenanceDatabase(self.database_url, role_password=self._role_password())
        return self.__dict__["_maintenance"]

    def reset_cipher(self) -> None:
        self.__dict__.pop("cipher", None)

    def _role_password(self) -> str | None:
        secret = self.settings.db_role_password
        return secret.get_secret_value() if secret else None

    def close(self) -> None:
        for name in ("db", "_maintenance"):
            if name in self.__dict__:
                self.__dict__.pop(name).dispose()
        if "redis" in self.__dict__:
            self.__dict__.pop("redis").close()
