"""Secrets belong in a connection's credentials (encrypted), never in its config.

A config is stored in clear, shown by ``connection show``, cached in Redis and written to the
audit log, so a config that carries a secret is refused with a pointer to ``--credentials``.
A secret is a setting the connector's spec marks ``"secret": true``, a key named like one of
``SECRET_NAMES`` (exactly: ``token_url`` or ``token_path`` are not secrets), or a URL with a
password in its user part or its query (``password=``, ``sslpassword=``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SECRET_NAMES = frozenset({
    "password", "passwd", "pwd", "sslpassword", "secret", "client_secret", "api_key", "apikey", "token",
    "access_token", "refresh_token", "private_key", "secret_key", "security_token", "authorization",
})
URL_SECRET_PARAMS = frozenset({"password", "sslpassword", "pwd", "passwd"})


def marked_secrets(spec: dict[str, Any]) -> set[str]:
    """Names of every property the spec marks ``"secret": true``, at any depth."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                if isinstance(sub, dict) and sub.get("secret"):
                    found.add(name.lower())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return found


def secrets_in_config(config: Any, secret_names: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Where ``config`` carries a secret: dotted paths of the offending settings (empty when clean)."""
    names = SECRET_NAMES | {n.lower() for n in secret_names}
    return [path for path in _walk(config, "", names)]


def _walk(node: Any, path: str, names: frozenset[str] | set[str]) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if str(key).lower() in names and value not in (None, ""):
                yield here
            else:
                yield from _walk(value, here, names)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]", names)
    elif isinstance(node, str) and url_has_password(node):
        yield path


def url_has_password(text: str) -> bool:
    """A URL (``scheme://...``) with a password in its user part or its query string."""
    if "://" not in text:
        return False
    try:
        parts = urlsplit(text.strip())
        if parts.password:
            return True
    except ValueError:
        return False
    return any(k.lower() in URL_SECRET_PARAMS and v for k, v in parse_qsl(parts.query, keep_blank_values=True))
