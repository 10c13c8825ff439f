"""Sign-in, the session cookie, sign-out, revocation and CSRF: the console's doors."""

from __future__ import annotations

from sqlalchemy import select

from autonomos.services import apikeys, console_sessions
from autonomos.store.tables import AuditLog, ConsoleSession
from tests.console.conftest import csrf_of, new_client, sign_in


def test_console_sign_in_sets_a_tight_opaque_cookie(app, rt, tenant_a):
    client = new_client(app)
    assert client.get("/console/connections").headers["location"] == "/console/login"
    response = sign_in(client, tenant_a.keys["reader"])
    assert response.status_code == 303
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("aos_console="))
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    lowered = cookie.lower()
    assert "secure" in lowered and "httponly" in lowered and "samesite=strict" in lowered and "path=/console" in lowered
    assert tenant_a.keys["reader"] not in cookie and value not in tenant_a.keys["reader"]
    with rt.db.tenant(tenant_a.id) as session:
        stored = session.scalars(select(ConsoleSession.token_hash).where(ConsoleSession.tenant_id == tenant_a.id)).all()
    assert console_sessions.token_hash(value) in stored and value not in stored
    page = client.get("/console/connections")
    assert page.status_code == 200 and "crm" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_console_refuses_a_wrong_key_and_a_forged_sign_in(app, tenant_a):
    client = new_client(app)
    assert sign_in(client, tenant_a.keys["reader"] + "x").status_code == 401
    assert sign_in(client, "not a key").status_code == 401
    forged = client.post("/console/login", data={"key": tenant_a.keys["reader"], "login_token": "guess"})
    assert forged.status_code == 403
    assert "aos_console=" not in forged.headers.get("set-cookie", "")


def test_console_sign_out_ends_the_session_and_is_audited(app, rt, signed_in, tenant_a):
    client = signed_in(tenant_a.keys["reader"])
    token = client.cookies.get("aos_console")
    assert client.post("/console/logout", data={"csrf": csrf_of(client)}).status_code == 303
    assert console_sessions.find(rt, token) is None
    replay = new_client(app)
    replay.cookies.set("aos_console", token, domain="testserver.local", path="/console")
    assert replay.get("/console/connections").status_code == 303
    with rt.db.tenant(tenant_a.id) as session:
        actions = set(session.scalars(select(AuditLog.action).where(AuditLog.tenant_id == tenant_a.id)))
    assert {"console.login", "console.logout"} <= actions


def test_console_revoking_the_key_ends_its_sessions(app, rt, signed_in, tenant_a):
    info, key = apikeys.create_key(rt, tenant_a.id, "reviewer", name="to revoke", actor="test")
    client = signed_in(key)
    assert client.get("/console/review").status_code == 200
    apikeys.revoke_key(rt, tenant_a.id, str(info.id), actor="test")
    response = client.get("/console/review")
    assert response.status_code == 303 and response.headers["location"] == "/console/login"


def test_console_posts_need_the_session_form_token(app, signed_in, tenant_a):
    client = signed_in(tenant_a.keys["admin"])
    csrf = csrf_of(client)
    target = f"/console/connections/{tenant_a.connection_id}/start"
    assert client.post(target, data={}).status_code == 403
    assert client.post(target, data={"csrf": "0" * 64}).status_code == 403
    assert client.post(target, data={"csrf": csrf}, headers={"Origin": "https://evil.example"}).status_code == 403
    other = signed_in(tenant_a.keys["admin"])  # another session's token is not this one's
    assert other.post(target, data={"csrf": csrf}).status_code == 403


def test_console_platform_keys_cannot_sign_in(app, rt):
    from autonomos.services import platform_keys

    _, key = platform_keys.create_platform_key(rt, name="console test", actor="test")
    assert sign_in(new_client(app), key).status_code == 401


def test_console_old_ended_sessions_are_removed_at_the_next_sign_in(rt, tenant_a):
    import datetime as dt

    from sqlalchemy import update

    _, old = console_sessions.sign_in(rt, tenant_a.keys["reader"])
    console_sessions.sign_out(rt, old)
    with rt.db.tenant(tenant_a.id) as session:
        session.execute(update(ConsoleSession).where(ConsoleSession.id == old.id)
                        .values(ended_at=ConsoleSession.created_at - dt.timedelta(days=8)))
    _, fresh = console_sessions.sign_in(rt, tenant_a.keys["reader"])
    with rt.db.tenant(tenant_a.id) as session:
        ids = set(session.scalars(select(ConsoleSession.id).where(ConsoleSession.tenant_id == tenant_a.id)))
    assert old.id not in ids and fresh.id in ids
