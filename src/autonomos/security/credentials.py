"""Encryption of connection credentials (Fernet, via ``cryptography``).

Any secret string can be a key: a Fernet key is derived from it with HKDF-SHA256, and a
short key id (a hash of the derived key, never the key) is stored beside each ciphertext
so rotation knows what is left to re-encrypt. Several keys may be configured at once:
the first encrypts, all decrypt; that overlap is what makes rotation gap-free.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from autonomos.errors import ConfigurationError, SecretsError

_HKDF_INFO = b"autonomos credentials v1"


def derive_fernet_key(secret: str) -> bytes:
    if not secret:
        raise ConfigurationError("AOS_SECRET_KEY is empty")
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


def key_id(secret: str) -> str:
    """A short, non-reversible name of a key, stored beside ciphertexts."""
    return hashlib.sha256(b"key-id:" + derive_fernet_key(secret)).hexdigest()[:12]


class CredentialCipher:
    """Encrypts with the first key, decrypts with any."""

    def __init__(self, secrets: list[str]) -> None:
        if not secrets:
            raise ConfigurationError("no credential key configured (AOS_SECRET_KEY)")
        self._fernet = MultiFernet([Fernet(derive_fernet_key(s)) for s in secrets])
        self.primary_key_id = key_id(secrets[0])
        self.known_key_ids = [key_id(s) for s in secrets]

    def encrypt(self, credentials: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(credentials, sort_keys=True).encode())

    def decrypt(self, token: bytes) -> dict[str, Any]:
        try:
            return json.loads(self._fernet.decrypt(bytes(token)))
        except InvalidToken as exc:
            raise SecretsError("credentials cannot be decrypted with the configured keys") from exc

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt under the primary key (fails, changing nothing, if no key can read it)."""
        try:
            return self._fernet.rotate(bytes(token))
        except InvalidToken as exc:
            raise SecretsError("credentials cannot be decrypted with the configured keys") from exc
