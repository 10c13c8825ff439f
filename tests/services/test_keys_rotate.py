"""Key rotation re-encrypts every credential, and no credential is unreadable at any point."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from autonomos.engines.runtime import SECRET_KEY_FILE
from autonomos.security.credentials import CredentialCipher
from autonomos.services import connections, keys, tenants
from autonomos.runtime import Runtime
from autonomos.store.tables import Connection
from tests.conftest import make_settings


def test_rotation_in_embedded_key_mode(isolated_database_url, redis_url, namespace, tmp_path):
    # Embedded mode: no AOS_SECRET_KEY, the key lives in the data dir.
    settings = make_settings(isolated_database_url, redis_url, tmp_path, namespace)
    settings = settings.model_copy(update={"secret_key": None})
    rt = Runtime(settings)
    stale = Runtime(settings)  # another process that loaded the old key before rotation
    try:
        tenant = tenants.create_tenant(rt, f"rot-{uuid.uuid4().hex[:6]}", actor="test")
        secrets = {f"c{i}": {"token": f"tok-{i}-{uuid.uuid4().hex}"} for i in range(3)}
        for name, creds in secrets.items():
            connections.create_connection(rt, tenant.id, provider="rest", name=name, config={},
                                          credentials=creds, actor="test")
        old_key = (tmp_path / SECRET_KEY_FILE).read_text().split()[0]
        old_id = rt.cipher.primary_key_id
        stale.cipher  # noqa: B018  (loads the old key now)
        with rt.db.tenant(tenant.id) as session:
            before = {r.name: bytes(r.credentials_ciphertext) for r in session.scalars(select(Connection))}

        report = keys.rotate_keys(rt, actor="test")

        assert report.reencrypted >= 3 and report.primary_key_id != old_id
        assert (tmp_path / SECRET_KEY_FILE).read_text().split() != [old_key]
        with rt.db.tenant(tenant.id) as session:
            after = {r.name: (bytes(r.credentials_ciphertext), r.credentials_key_id)
                     for r in session.scalars(select(Connection))}
        for name, creds in secrets.items():
            assert after[name][0] != before[name]
            assert after[name][1] == report.primary_key_id
            assert connections.connection_credentials(rt, tenant.id, name) == creds
            # the process that still held the old key reloads and reads the new ciphertext
            assert connections.connection_credentials(stale, tenant.id, name) == creds
        old_only = CredentialCipher([old_key])
        assert all(_fails(old_only, token) for token, _ in after.values())
    finally:
        rt.close()
        stale.close()


def test_rotation_with_configured_keys(isolated_database_url, redis_url, namespace, tmp_path):
    database_url = isolated_database_url
    old_key = keys.generate_key()
    rt = Runtime(make_settings(database_url, redis_url, tmp_path, namespace, AOS_SECRET_KEY=old_key))
    tenant = tenants.create_tenant(rt, f"rotcfg-{uuid.uuid4().hex[:6]}", actor="test")
    connections.create_connection(rt, tenant.id, provider="rest", name="api", config={},
                                  credentials={"api_key": "k-1"}, actor="test")
    rt.close()
    new_key = keys.generate_key()
    deployed = make_settings(database_url, redis_url, tmp_path, namespace,
                             AOS_SECRET_KEY=new_key, AOS_PREVIOUS_SECRET_KEYS=old_key)
    rotated_rt = Runtime(deployed)
    try:
        # before rotation the new deployment reads old ciphertexts through the previous key
        assert connections.connection_credentials(rotated_rt, tenant.id, "api") == {"api_key": "k-1"}
        report = keys.rotate_keys(rotated_rt, actor="test")
        assert report.reencrypted >= 1
        assert keys.key_usage(rotated_rt) == {report.primary_key_id: keys.key_usage(rotated_rt)[report.primary_key_id]}
        only_new = Runtime(make_settings(database_url, redis_url, tmp_path, namespace, AOS_SECRET_KEY=new_key))
        try:
            assert connections.connection_credentials(only_new, tenant.id, "api") == {"api_key": "k-1"}
        finally:
            only_new.close()
    finally:
        rotated_rt.close()


def _fails(cipher: CredentialCipher, token: bytes) -> bool:
    try:
        cipher.decrypt(token)
    except Exception:
        return True
    return False
