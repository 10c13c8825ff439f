"""``aos drift`` and ``aos connection update --drift-policy`` as a person runs them."""

from __future__ import annotations

from typer.testing import CliRunner

from autonomos.cli.app import app
from tests.cli.test_cli import _env
from tests.services.test_drift import base_rows, synced_stream

runner = CliRunner()


def test_list_show_policy_hold_and_reject(rt, make_tenant, database_url, redis_url, namespace, tmp_path):
    tenant = make_tenant("cli")
    stream = synced_stream(rt, tenant.id, tmp_path / "accounts.csv")
    env = _env(database_url, redis_url, namespace, tmp_path)
    t = ["--tenant", tenant.slug]

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, [*args, *t], env=env)
        assert result.exit_code == code, result.output
        return result.output

    assert "updated connection crm-files" in run("connection", "update", "crm-files", "--drift-policy", "hold")
    assert run("drift", "policy", "crm-files").strip() == "hold"
    stream.sync([{k: v for k, v in r.items() if k != "Industry"} for r in base_rows()])
    listed = run("drift", "list", "--connection", "crm-files")
    assert "held" in listed and "field_removed" in listed and "breaking" in listed
    assert '"held_streams": [\n    "accounts"' in run("connection", "show", "crm-files")
    assert "held: stream accounts of connection crm-files" in run("sync", "status", "crm-files")
    event_id = stream.events()[0].id
    shown = run("drift", "show", str(event_id))
    assert '"kind": "field_removed"' in shown and '"rule": "mapped_field_removed"' in shown
    assert "rejected drift event" in run("drift", "reject", str(event_id))
    assert "held" not in run("drift", "list")
    assert "field_removed" in run("drift", "mute", "crm-files", "accounts", "field_removed")
    run("drift", "policy", "crm-files", "sometimes", code=1)
    assert "stream accounts of crm-files: ignore" in run("drift", "policy", "crm-files", "ignore", "--stream", "accounts")
    assert "stream accounts: ignore" in run("drift", "policy", "crm-files")
    run("drift", "policy", "crm-files", "--stream", "accounts", "--inherit")
    assert "stream accounts" not in run("drift", "policy", "crm-files")
