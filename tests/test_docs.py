"""The README keeps up with the code: every setting and every command is documented."""

from __future__ import annotations

from pathlib import Path

import typer.main

from autonomos.cli.app import app
from autonomos.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table():
    missing = [f.validation_alias for f in Settings.model_fields.values() if f"| `{f.validation_alias}` |" not in README]
    assert missing == []


def _command_paths() -> list[str]:
    group = typer.main.get_command(app)
    paths = []
    for name, command in group.commands.items():
        subcommands = getattr(command, "commands", None)
        if subcommands:
            paths.append(f"aos {name} " + "\\|".join(subcommands))
        else:
            paths.append(f"aos {name}")
    return paths


def test_every_command_is_in_the_commands_table():
    missing = [p for p in _command_paths() if f"`{p}`" not in README and f"`{p} " not in README]
    assert missing == []


def test_quick_start_has_exactly_two_commands():
    section = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in section.splitlines() if line.strip()]
    assert [c.split("#")[0].strip() for c in commands] == ["make demo", "make test"]
