"""The connector sandbox's rules: addresses, DNS pinning, redirects, Unix sockets, Airbyte sources."""

from __future__ import annotations

import json
import sys
import textwrap
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest
import sqlalchemy as sa

from autonomos.aam.connectors import connector_class
from autonomos.aam.connectors.airbyte import AirbyteConnector
from autonomos.aam.connectors.sandbox import Platform, Sandbox, SourceRefused, parse_allowances
from autonomos.aam.connectors.secrets import secrets_in_config
from autonomos.aam.connectors.sql_guard import connect_target


def sandbox(tmp_path: Path, allow: str = "", **extra) -> Sandbox:
    networks, hosts, sockets = parse_allowances(allow.split(","))
    return Sandbox(tenant_slug="acme", data_dir=tmp_path / "data", file_roots=(tmp_path / "sources" / "acme",),
                   networks=networks, hosts=hosts, sockets=sockets, **extra)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                     "100.100.100.200", "0.0.0.0", "::1", "fd00:ec2::254", "::ffff:127.0.0.1"])
def test_non_global_addresses_are_refused_by_default(tmp_path, address):
    with pytest.raises(SourceRefused, match="loopback, private"):
        sandbox(tmp_path).check_address(address, 5432)


def test_allowances_open_what_they_name_and_never_the_platform(tmp_path):
    box = sandbox(tmp_path, "10.0.0.0/8,db.internal",
                  platform=Platform(addresses=frozenset({("10.0.0.5", 5432)}), local_ports=frozenset({6379})))
    box.check_address("8.8.8.8", 443)
    box.check_address("10.9.9.9", 5432)
    box.check_address("192.168.0.7", 3306, host="db.internal")
    with pytest.raises(SourceRefused, match="loopback, private"):
        box.check_address("192.168.0.7", 3306, host="other.internal")
    with pytest.raises(SourceRefused, match="platform's own"):
        box.check_address("10.0.0.5", 5432)
    wide = sandbox(tmp_path, "0.0.0.0/0", platform=Platform(local_ports=frozenset({6379})))
    with pytest.raises(SourceRefused, match="platform's own"):
        wide.check_address("127.0.0.1", 6379)


def test_sql_connects_to_the_checked_address_and_refuses_sockets_and_file_options(tmp_path, monkeypatch):
    box = sandbox(tmp_path, "127.0.0.0/8")
    answers = iter([[(2, 1, 6, "", ("127.0.0.1", 5432))], [(2, 1, 6, "", ("169.254.169.254", 5432))]])
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: next(answers))  # DNS that changes its answer
    url, args = connect_target(sa.make_url("postgresql+psycopg://u@db.example.com/d"), box)
    assert args == {"hostaddr": "127.0.0.1"} and url.host == "db.example.com"  # the name stays for TLS
    with pytest.raises(SourceRefused, match="loopback, private"):  # the second answer is checked too
        connect_target(sa.make_url("mysql+pymysql://u@db.example.com/d"), box)
    for bad, reason in (("postgresql+psycopg://u@/d", "needs a host"),
                        ("postgresql+psycopg://u@/d?host=/var/run/postgresql", "Unix sockets"),
                        ("postgresql+psycopg://u@h/d?sslkey=/etc/key", "URL options"),
                        ("postgresql+psycopg://u@h/d?service=platform", "URL options"),
                        ("mysql+pymysql://u@/d?unix_socket=/run/mysqld/mysqld.sock", "Unix sockets")):
        with pytest.raises(SourceRefused, match=reason):
            connect_target(sa.make_url(bad), box)


def test_a_socket_the_operator_allowed_is_usable_unless_it_is_the_platforms(tmp_path):
    own = tmp_path / "pg-socket"
    box = sandbox(tmp_path, f"unix:{tmp_path / 'src-socket'},unix:{own}", platform=Platform(sockets=(own,)))
    assert connect_target(sa.make_url(f"postgresql+psycopg://u@/d?host={tmp_path / 'src-socket'}"), box)[1] == {}
    with pytest.raises(SourceRefused, match="platform's own"):
        connect_target(sa.make_url(f"postgresql+psycopg://u@/d?host={own}"), box)


class _Redirector(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(302)
        self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_every_http_redirect_is_checked_again(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        connector = connector_class("rest")({"base_url": f"http://127.0.0.1:{server.server_address[1]}",
                                             "streams": {"items": {"path": "/items"}}})
        connector.sandbox = sandbox(tmp_path, "127.0.0.0/8")
        with pytest.raises(SourceRefused, match="loopback, private, link-local"):
            connector.client.request("GET", "/items")
        connector.close()
    finally:
        server.shutdown()


def test_files_follow_symlinks_and_stay_in_the_tenants_folder(tmp_path):
    box = sandbox(tmp_path)
    mine = tmp_path / "sources" / "acme"
    mine.mkdir(parents=True)
    (mine / "a.csv").write_text("id\n1\n")
    (mine / "escape.csv").symlink_to(tmp_path / "data")
    assert box.check_file(mine / "a.csv") == str((mine / "a.csv").resolve())
    for path in (mine / "escape.csv", tmp_path / "sources" / "other" / "a.csv", "/etc/passwd"):
        with pytest.raises(SourceRefused, match="outside the tenant's files folder"):
            box.check_file(path)
    box.check_pattern(str(mine / "**" / "*.csv"))
    for pattern in ("relative/*.csv", str(mine / ".." / "*"), str(tmp_path / "*" / "*.csv")):
        with pytest.raises(SourceRefused):
            box.check_pattern(pattern)


def test_secret_names_are_exact_and_urls_with_passwords_are_secrets():
    assert secrets_in_config({"auth": {"token_url": "https://x/t", "token_path": "a.b"}, "page_size": 5}) == []
    assert secrets_in_config({"auth": {"token": "t"}, "url": "postgresql://u:p@h/d",
                              "dsn": "postgresql://u@h/d?sslpassword=x"}) == ["auth.token", "url", "dsn"]


ENV_SOURCE = '''
import json, os, sys
print(json.dumps({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "SUCCEEDED",
      "message": json.dumps(sorted(os.environ))}}), flush=True)
'''


def test_an_airbyte_source_sees_no_platform_settings_and_must_be_allow_listed(tmp_path, monkeypatch):
    venv = tmp_path / "tiny-source-1.0"
    (venv / "bin").mkdir(parents=True)
    script = venv / "bin" / "source-tiny"
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(ENV_SOURCE))
    script.chmod(0o755)
    (venv / ".aos-installed").write_text("tiny-source==1.0\n")
    monkeypatch.setenv("AOS_SECRET_KEY", "platform-key")
    monkeypatch.setenv("DATABASE_URL", "postgresql://platform")
    library = AirbyteConnector({"package": "tiny-source", "version": "1.0", "entrypoint": "source-tiny",
                                "venv_root": str(tmp_path)})
    assert set(json.loads(library.check().message)) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_CTYPE", "PWD"}

    tenant = AirbyteConnector({"package": "tiny-source", "version": "1.0", "venv_root": str(tmp_path)})
    tenant.sandbox = sandbox(tmp_path, airbyte=frozenset({("tiny-source", "1.0")}))
    with pytest.raises(SourceRefused, match="may not choose"):
        tenant.check_sandbox()
    unlisted = AirbyteConnector({"package": "evil-source", "version": "1.0"})
    unlisted.sandbox = tenant.sandbox
    with pytest.raises(SourceRefused, match="allow-list"):
        unlisted.check_sandbox()
    for package, version in (("x; rm -rf /", "1.0"), ("ok", ">=1.0"), ("ok", "1.0 --index-url http://evil")):
        with pytest.raises(SourceRefused, match="exact version"):
            AirbyteConnector({"package": package, "version": version}).check_sandbox()


HUNGRY_SOURCE = '''
import sys, time
if sys.argv[1] == "check" and "sleep" in open(sys.argv[3]).read():
    time.sleep(600)
block = bytearray(400 * 1024 * 1024)
'''


def test_an_airbyte_source_is_stopped_past_its_memory_and_time_limits(tmp_path, monkeypatch):
    from autonomos.aam.connectors import airbyte

    venv = tmp_path / "hungry-source-1.0"
    (venv / "bin").mkdir(parents=True)
    script = venv / "bin" / "source-hungry"
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(HUNGRY_SOURCE))
    script.chmod(0o755)
    (venv / ".aos-installed").write_text("hungry-source==1.0\n")
    config = {"package": "hungry-source", "version": "1.0", "entrypoint": "source-hungry", "venv_root": str(tmp_path)}
    monkeypatch.setattr(airbyte, "MEMORY_LIMIT_BYTES", 200 * 1024 * 1024)
    result = AirbyteConnector(config).check()
    assert not result.ok and "exited with 1" in result.message and "MemoryError" in result.message
    monkeypatch.setattr(airbyte, "WALL_LIMIT_S", 1)
    result = AirbyteConnector({**config, "config": {"sleep": True}}).check()
    assert not result.ok and "exited with -9" in result.message


def test_pinned_transports_share_one_verifying_tls_context(tmp_path):
    """Each webhook delivery builds a pinned transport; building a TLS context loads the CA bundle
    (~30 ms of CPU), so they share one, and it still verifies certificates and host names."""
    import ssl

    from autonomos.aam.connectors.rest.pinned import PinnedTransport

    first, second = PinnedTransport(sandbox(tmp_path)), PinnedTransport(sandbox(tmp_path))
    contexts = {id(t.inner._pool._ssl_context) for t in (first, second)}
    [context] = {t.inner._pool._ssl_context for t in (first,)}
    assert len(contexts) == 1
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
