"""The embedded servers start from the wheels, outlive the command that started them, and stop."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import redis

from autonomos.engines.postgres import SERVER_SETTINGS, EmbeddedPostgres, configure_server, libpq_dsn, to_sqlalchemy_url
from autonomos.engines.redis import EmbeddedRedis


def _cli(data_dir, *args: str) -> subprocess.CompletedProcess:
    env = {"AOS_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin", "HOME": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "autonomos.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_services_start_outlive_the_command_and_stop(tmp_path, monkeypatch):
    started = _cli(tmp_path, "services", "start")
    assert started.returncode == 0, started.stderr
    try:
        pg_url = EmbeddedPostgres(tmp_path).running_url()
        assert pg_url is not None
        with psycopg.connect(libpq_dsn(pg_url)) as conn:
            version = conn.execute("SHOW server_version_num").fetchone()[0]
            assert int(version) >= 160000
            assert conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
            # The bulk settings are in force (those needing a restart included) and stay put.
            for name, value in SERVER_SETTINGS.items():
                assert conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0] == value
            assert configure_server(to_sqlalchemy_url(pg_url)) is False
        with psycopg.connect(libpq_dsn(pg_url), autocommit=True) as conn:
            # New settings that need a restart, while a client is connected: written, but no restart cuts it off.
            monkeypatch.setitem(SERVER_SETTINGS, "wal_buffers", "32MB")
            assert configure_server(to_sqlalchemy_url(pg_url)) is False
            assert conn.execute("SELECT 1").fetchone() == (1,)
            assert conn.execute("SELECT setting FROM pg_file_settings WHERE name = 'wal_buffers' "
                                "ORDER BY seqno DESC LIMIT 1").fetchone() == ("32MB",)
        rd = EmbeddedRedis(tmp_path)
        client = redis.Redis(unix_socket_path=str(rd.socket))
        assert client.ping()
        assert client.info("server")["redis_version"].startswith("6.2")
        status = _cli(tmp_path, "services", "status")
        assert status.stdout.count("yes") == 2, status.stdout
    finally:
        stopped = _cli(tmp_path, "services", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert EmbeddedPostgres(tmp_path).running_url() is None
    assert EmbeddedRedis(tmp_path).running_url() is None
