"""Turn settings into reachable engines: configured servers, or the embedded ones started on demand."""

from __future__ import annotations

import base64
import logging
import os
import secrets
from pathlib import Path

from autonomos.config import Settings
from autonomos.engines.postgres import EmbeddedPostgres
from autonomos.engines.redis import EmbeddedRedis

logger = logging.getLogger(__name__)

SECRET_KEY_FILE = "secret.key"


def resolve_database_url(settings: Settings) -> str:
    """The owner URL: DATABASE_URL, or the embedded server's (started if needed)."""
    if settings.database_url:
        return settings.database_url
    return EmbeddedPostgres(settings.data_dir).start()


def resolve_redis_url(settings: Settings) -> str:
    """REDIS_URL, or the embedded server's (started if needed)."""
    if settings.redis_url:
        return settings.redis_url
    return EmbeddedRedis(settings.data_dir).start()


def resolve_secret_keys(settings: Settings) -> list[str]:
    """The credential keys, primary first.

    With no AOS_SECRET_KEY, a key is generated once into the data dir (embedded mode); a
    warning says production must set its own, since whoever reads that file reads every
    stored credential.
    """
    previous = settings.previous_secret_keys.get_secret_value().split(",") if settings.previous_secret_keys else []
    previous = [k.strip() for k in previous if k.strip()]
    if settings.secret_key:
        return [settings.secret_key.get_secret_value(), *previous]
    return [*_data_dir_keys(settings.data_dir), *previous]


def _data_dir_keys(data_dir: Path) -> list[str]:
    path = Path(data_dir).expanduser() / SECRET_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        logger.warning(
            "generated a credential key in %s; production must set AOS_SECRET_KEY "
            "(anyone who can read that file can decrypt every stored credential)",
            path,
        )
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def write_data_dir_keys(data_dir: Path, keys: list[str]) -> None:
    """Replace the embedded key file (primary first), atomically; used by key rotation."""
    path = Path(data_dir).expanduser() / SECRET_KEY_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(keys) + "\n")
    os.replace(tmp, path)
