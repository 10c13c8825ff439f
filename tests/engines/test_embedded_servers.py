"""The embedded servers start from the wheels, outlive the command that started them, and stop."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import redis

from autonomos.engines.postgres import EmbeddedPostgres, libpq_dsn
from autonomos.engines.redis import EmbeddedRedis


def _cli(data_dir, *args: str) -> subprocess.CompletedProcess:
    env = {"AOS_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin", "HOME": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "autonomos.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_services_start_outlive_the_command_and_stop(tmp_path):
    started = _cli(tmp_path, "services", "start")
    assert started.returncode == 0, started.stderr
    try:
        pg_url = EmbeddedPostgres(tmp_path).running_url()
        assert pg_url is not None
        with psycopg.connect(libpq_dsn(pg_url)) as conn:
            version = conn.execute("SHOW server_version_num").fetchone()[0]
            assert int(version) >= 160000
            assert conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
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
