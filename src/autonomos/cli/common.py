"""What every command shares: the runtime, error display, and table output."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from autonomos import logs
from autonomos.config import load_settings
from autonomos.errors import AutonomosError
from autonomos.runtime import Runtime

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
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    finally:
        rt.close()


def table(title: str, columns: list[str], rows: list[list[object]]) -> Table:
    """Cells are shown as written: text in brackets (a reason, a transform) is not Rich markup.
    A cell that should be styled is passed as ``rich.text.Text``."""
    out = Table(title=title)
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*(v if isinstance(v, Text) else escape(str(v)) for v in row))
    return out


STATUS_STYLE = {"ok": Text("ok", style="green"), "warn": Text("warn", style="yellow"),
                "fail": Text("fail", style="red")}


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
