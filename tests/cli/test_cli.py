"""The ``aos`` commands people use, run as a person would (CliRunner, environment only)."""

from __future__ import annotations

import uuid

from typer.testing import CliRunner

from autonomos.cli.app import app
from tests.conftest import TEST_SECRET_KEY

runner = CliRunner()


def _env(database_url, redis_url, namespace, tmp_path, **extra):
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "AOS_REDIS_NAMESPACE": namespace,
            "AOS_DATA_DIR": str(tmp_path), "AOS_SECRET_KEY": TEST_SECRET_KEY, "COLUMNS": "200", **extra}


def test_tenant_create_list_delete(database_url, redis_url, namespace, tmp_path):
    env = _env(database_url, redis_url, namespace, tmp_path)
    slug = f"cli-{uuid.uuid4().hex[:6]}"
    created = runner.invoke(app, ["tenant", "create", slug, "--name", "Cli Co"], env=env)
    assert created.exit_code == 0, created.output
    assert f"created tenant {slug}" in created.output
    listed = runner.invoke(app, ["tenant", "list"], env=env)
    assert slug in listed.output
    again = runner.invoke(app, ["tenant", "create", slug], env=env)
    assert again.exit_code == 1 and "exists" in again.output
    deleted = runner.invoke(app, ["tenant", "delete", slug, "--yes"], env=env)
    assert deleted.exit_code == 0, deleted.output
    assert slug not in runner.invoke(app, ["tenant", "list"], env=env).output


def test_migrate_is_idempotent_and_doctor_reports_every_engine(database_url, redis_url, namespace, tmp_path):
    from autonomos.store import migrate

    env = _env(database_url, redis_url, namespace, tmp_path)
    migrated = runner.invoke(app, ["migrate"], env=env)
    assert migrated.exit_code == 0, migrated.output
    doctor = runner.invoke(app, ["doctor"], env=env)
    for check in ("postgres", "migrations", "roles", "redis", "duckdb", "vectors", "secret key"):
        assert check in doctor.output
    if migrate.pgvector_available(database_url):
        assert doctor.exit_code == 0, doctor.output
    else:
        # the machine's PostgreSQL 15 has no pgvector: doctor must fail and say how to fix it
        assert doctor.exit_code == 1
        assert "pgvector" in doctor.output and "VECTOR_STORE=pinecone" in doctor.output


def test_doctor_gives_a_fix_for_an_unreachable_redis(database_url, namespace, tmp_path):
    env = _env(database_url, "redis://127.0.0.1:1/0", namespace, tmp_path)
    doctor = runner.invoke(app, ["doctor"], env=env)
    assert doctor.exit_code == 1
    assert "REDIS_URL" in doctor.output


def test_doctor_with_pinecone_selected_but_no_key(database_url, redis_url, namespace, tmp_path):
    env = _env(database_url, redis_url, namespace, tmp_path, VECTOR_STORE="pinecone")
    doctor = runner.invoke(app, ["doctor"], env=env)
    assert doctor.exit_code == 1
    assert "PINECONE_API_KEY" in doctor.output


def test_table_cells_show_brackets_as_written_and_styled_cells_keep_their_style():
    from rich.console import Console
    from rich.text import Text

    from autonomos.cli.common import STATUS_STYLE, table

    console = Console(record=True, width=120, color_system="truecolor")
    console.print(table("t", ["reason", "status"], [["line 3: [split 0] of [bold]x[/bold]", STATUS_STYLE["fail"]]]))
    assert "line 3: [split 0] of [bold]x[/bold]" in console.export_text()
    assert isinstance(STATUS_STYLE["ok"], Text) and STATUS_STYLE["fail"].style == "red"
