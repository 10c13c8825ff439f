"""What every command shares: the runtime, error display, and table output."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.table import Table

from autonomos import logs
from autonomos.config import load_settings
from autonomos.errors import AutonomosError
from autonomos.services.runtime import Runtime

console = Console()
err_console = Console(stderr=True)


def actor() -> str:
    """Who is acting: the operator's login name, prefixed so audit rows say it came from the CLI."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli:unknown"


@contextmanager
def runtime() -> Iterator[Runtime]:
    """A Runtime for one command; product errors become a clear message and exit code 1."""
    settings = load_settings()
    logs.configure(settings.log_format)
    rt = Runtime(settings)
    try:
        yield rt
    except AutonomosError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        rt.close()


def table(title: str, columns: list[str], rows: list[list[object]]) -> Table:
    out = Table(title=title)
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*(str(v) for v in row))
    return out


STATUS_STYLE = {"ok": "[green]ok[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]fail[/red]"}


TENANT_OPTION_HELP = "Tenant slug or id."


def resolve_tenant(rt: Runtime, slug_or_id: str):
    """The tenant a command acts for (operators name it by slug)."""
    from autonomos.services.tenants import find_tenant

    return find_tenant(rt, slug_or_id).id


def json_argument(value: str | None) -> dict | None:
    """A JSON object given inline or as ``@path/to/file.json``."""
    import json
    from pathlib import Path

    if value is None:
        return None
    text = Path(value[1:]).read_text() if value.startswith("@") else value
    parsed = json.loads(text)
    if not isinstance(parsed, dict):
        raise typer.BadParameter("expected a JSON object")
    return parsed
