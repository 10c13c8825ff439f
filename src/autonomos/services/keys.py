"""Credential key rotation, with no moment at which a stored credential is unreadable.

Embedded mode (key file in the data dir):
1. a new key is generated and written *in front of* the old ones, so every process that
   reads the file can decrypt both old and new ciphertexts;
2. every credential (and webhook signing secret) is re-encrypted under the new key in one transaction (all or none);
3. the old keys are dropped from the file once no row uses them.
A process still holding the old key set reloads it when a decryption fails (see
``services.connections``), so it never sees an unreadable credential either.

Configured mode (AOS_SECRET_KEY): the operator deploys the new key as AOS_SECRET_KEY with
the old one in AOS_PREVIOUS_SECRET_KEYS, then runs ``aos keys rotate``, which re-encrypts
whatever is not under the primary key yet; afterwards the previous keys can be removed.
"""

from __future__ import annotations

import base64
import secrets
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select

from autonomos.engines.runtime import resolve_secret_keys, write_data_dir_keys
from autonomos.services import audit
from autonomos.runtime import Runtime
from autonomos.store.maintenance import maintenance_database
from autonomos.security.credentials import CredentialCipher, key_id
from autonomos.store.tables import Connection, Webhook


@dataclass(frozen=True)
class RotationReport:
    primary_key_id: str
    reencrypted: int
    tenants: int


def generate_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def rotate_keys(rt: Runtime, *, actor: str) -> RotationReport:
    embedded = rt.settings.secret_key is None
    keys = resolve_secret_keys(rt.settings)
    if embedded:
        keys = [generate_key(), *keys]
        write_data_dir_keys(rt.settings.data_dir, keys)
    cipher = CredentialCipher(keys)
    per_tenant: Counter = Counter()
    with maintenance_database(rt).session() as session:
        rows = session.scalars(
            select(Connection)
            .where(Connection.credentials_ciphertext.is_not(None))
            .where(Connection.credentials_key_id.is_distinct_from(cipher.primary_key_id))
            .with_for_update()
        ).all()
        for row in rows:
            old_key = row.credentials_key_id
            row.credentials_ciphertext = cipher.rotate(row.credentials_ciphertext)
            row.credentials_key_id = cipher.primary_key_id
            row.updated_at = func.now()
            per_tenant[row.tenant_id] += 1
            audit.record(session, row.tenant_id, actor=actor, action="connection.credentials.rotate",
                         target_type="connection", target_id=row.id, before={"key_id": old_key},
                         after={"key_id": cipher.primary_key_id})
        hooks = session.scalars(select(Webhook).where(Webhook.secret_key_id != cipher.primary_key_id)
                                .with_for_update()).all()
        for hook in hooks:  # webhook signing secrets are encrypted with the same keys
            hook.secret_ciphertext = cipher.rotate(hook.secret_ciphertext)
            hook.secret_key_id = cipher.primary_key_id
            per_tenant[hook.tenant_id] += 1
            audit.record(session, hook.tenant_id, actor=actor, action="webhook.secret.rotate",
                         target_type="webhook", target_id=hook.id, after={"key_id": cipher.primary_key_id})
    if embedded:
        write_data_dir_keys(rt.settings.data_dir, [keys[0]])
    rt.reset_cipher()
    return RotationReport(cipher.primary_key_id, sum(per_tenant.values()), len(per_tenant))


def key_usage(rt: Runtime) -> dict[str, int]:
    """How many credentials each key id encrypts (for ``aos doctor`` and operators)."""
    with maintenance_database(rt).session() as session:
        rows = session.execute(
            select(Connection.credentials_key_id, func.count())
            .where(Connection.credentials_ciphertext.is_not(None))
            .group_by(Connection.credentials_key_id)
        ).all()
    return {k or "?": n for k, n in rows}


__all__ = ["RotationReport", "generate_key", "key_id", "key_usage", "rotate_keys"]
