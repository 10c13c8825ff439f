"""What every command shares: the runtime, error display, and table output."""

from __future__ import annotations

import getpass
import json
import math
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from autonomos import logs
from autonomos.config import load_settings
from autonomos.errors import AutonomosError, InvalidInput
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
    except InvalidInput as exc:
        bad_input(str(exc))
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


def bad_input(message: str) -> NoReturn:
    """A person's mistake: one line naming it, exit code 2 (as for a bad option), no traceback."""
    err_console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(2)


MAX_JSON_DEPTH = 64
"""Nesting a JSON argument may have (records and transforms are far shallower)."""


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_json(value: str, what: str) -> Any:
    """JSON given inline or as ``@path/to/file.json``; strict: no NaN or Infinity, no number
    out of range, at most ``MAX_JSON_DEPTH`` levels. A mistake exits with one line naming it."""
    text = value
    if value.startswith("@"):
        try:
            text = Path(value[1:]).read_text()
        except OSError as exc:
            bad_input(f"{what}: cannot read {value[1:]}: {exc.strerror or exc}")
    try:
        parsed = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        bad_input(f"{what}: JSON nested too deeply (at most {MAX_JSON_DEPTH} levels)")
    except ValueError as exc:
        bad_input(f"{what}: not valid JSON: {str(exc).splitlines()[0]}")
    if _depth(parsed) > MAX_JSON_DEPTH:
        bad_input(f"{what}: JSON nested too deeply (at most {MAX_JSON_DEPTH} levels)")
    return parsed


def json_argument(value: str | None, what: str = "argument") -> dict | None:
    """A JSON object given inline or as ``@path/to/file.json`` (see ``parse_json``)."""
    if value is None:
        return None
    parsed = parse_json(value, what)
    if not isinstance(parsed, dict):
        bad_input(f"{what}: expected a JSON object, got {type(parsed).__name__}")
    return parsed


def uuid_argument(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        bad_input(f"{what}: {value!r} is not an id (a UUID such as 0b6f3c1e-...)")
