"""The layer order, checked mechanically: imports only point down.

Every top-level module and package of ``autonomos`` has a level; a module may import only
from strictly lower levels (or from inside its own unit). Units on the same level are
siblings that never import each other (``aam`` and ``dcl``). A unit missing from ``LEVELS``
fails the test, so nothing new escapes the order.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "autonomos"

LEVELS: dict[str, int] = {
    "__init__": 0,
    "errors": 0,
    "config": 1,
    "read_ahead": 1,
    "ordered_writers": 1,
    "samples": 1,
    "security": 2,
    "logs": 3,
    "engines": 3,
    "store": 4,
    "migrations": 5,
    "notifications": 6,
    "aam": 7,
    "dcl": 7,
    "runtime": 8,
    "services": 9,
    "cli": 10,
    "console": 10,
    "api": 11,
}
"""errors, config <- security <- engines <- store <- aam | dcl <- runtime <- services <- cli/console <- api
(the API application mounts the console; the console calls the service layer, never the API).
The stages sit below ``runtime``: they take plain inputs (a database, a queue, settings, hooks)
that the service layer builds from the process's ``Runtime``, never the ``Runtime`` itself."""


def unit_of(module: str) -> str:
    """``autonomos.aam.sync.engine`` -> ``aam``; ``autonomos`` itself -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path, src: Path) -> str:
    parts = path.relative_to(src.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in ``source``, function-level ones included."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(package[: len(package) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
                found += [(node.lineno, target)] if node.module else [(node.lineno, f"{base}.{a.name}")
                                                                      for a in node.names]
            elif node.module:
                found.append((node.lineno, node.module))
    return found


def units_of(src: Path) -> set[str]:
    """Top-level modules and packages (namespace packages too: a directory holding Python files)."""
    return {p.name.removesuffix(".py") for p in src.iterdir()
            if (p.is_dir() and not p.name.startswith(("_", ".")) and any(p.rglob("*.py"))) or p.suffix == ".py"}


def violations(src: Path) -> list[str]:
    """Every import in ``src`` that points up or sideways, and every unit without a level."""
    out: list[str] = []
    for unit in sorted(units_of(src)):
        if unit not in LEVELS:
            out.append(f"autonomos.{unit} has no level in LEVELS")
    for path in sorted(src.rglob("*.py")):
        module = module_name(path, src)
        own = unit_of(module)
        for line, target in imported_modules(path.read_text(), module, path.name == "__init__.py"):
            if target != "autonomos" and not target.startswith("autonomos."):
                continue
            other = unit_of(target)
            if other == own or other not in LEVELS or own not in LEVELS:
                continue  # a unit without a level is reported above
            if LEVELS[other] >= LEVELS[own]:
                out.append(f"{path.relative_to(src.parent)}:{line} {module} (level {LEVELS[own]}) imports "
                           f"{target} (level {LEVELS[other]})")
    return out


def test_imports_only_point_down():
    assert violations(SRC) == []


def test_the_checker_catches_a_violating_import(tmp_path):
    """A copy of the package with one upward import (and one sideways, one unlisted unit) fails."""
    src = tmp_path / "autonomos"
    (src / "aam" / "sync").mkdir(parents=True)
    (src / "dcl").mkdir()
    (src / "services").mkdir()
    (src / "gadgets").mkdir()
    for package in ("", "aam", "aam/sync", "dcl", "services", "gadgets"):
        (src / package / "__init__.py").write_text("")
    (src / "errors.py").write_text("")
    (src / "runtime.py").write_text("")
    (src / "services" / "apply.py").write_text("from autonomos.aam.sync import engine\n")  # down: allowed
    (src / "aam" / "sync" / "engine.py").write_text(
        "from autonomos.errors import AutonomosError\n"
        "def run():\n    from autonomos.services.apply import apply_connection\n"  # up, hidden in a function
    )
    (src / "dcl" / "apply.py").write_text("from ..aam.sync import engine\n")  # sideways, relative
    (src / "aam" / "jobs.py").write_text("from autonomos.runtime import Runtime\n")  # a stage taking the Runtime
    found = violations(src)
    assert any("autonomos.aam.sync.engine (level 7) imports autonomos.services.apply" in v for v in found)
    assert any("autonomos.dcl.apply (level 7) imports autonomos.aam.sync" in v for v in found)
    assert any("autonomos.aam.jobs (level 7) imports autonomos.runtime" in v for v in found)
    assert "autonomos.gadgets has no level in LEVELS" in found
    assert len(found) == 4


def test_every_unit_of_the_package_has_a_level():
    units = units_of(SRC)
    assert {"engines", "store", "runtime", "aam", "dcl", "services", "cli"} <= units
    assert units <= set(LEVELS), units - set(LEVELS)


def test_migration_versions_import_no_live_code():
    """A revision must do tomorrow what it did when it shipped: it imports only ``autonomos.migrations``."""
    offenders = []
    for path in sorted((SRC / "migrations").rglob("versions/*.py")):
        module = module_name(path, SRC)
        for line, target in imported_modules(path.read_text(), module, False):
            if target.startswith("autonomos.") and not target.startswith("autonomos.migrations"):
                offenders.append(f"{path.relative_to(SRC.parent)}:{line} imports {target}")
    assert offenders == []


def test_frozen_role_naming_agrees_with_the_live_one():
    from autonomos.migrations import helpers
    from autonomos.store.base import TENANT_SETTING
    from autonomos.store.roles import roles_for_database

    assert helpers.TENANT_SETTING == TENANT_SETTING
    for database in ("autonomos", "Test-DB 1", "x" * 80):
        frozen, live = helpers.roles_for_database(database), roles_for_database(database)
        assert (frozen.app, frozen.maintenance) == (live.app, live.maintenance)
