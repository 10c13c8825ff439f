"""The storage rules, checked mechanically: no SQLite anywhere, DuckDB only ephemeral,
the maintenance path reachable only from its allow-list, and a scope on every table."""

from __future__ import annotations

import ast
import os
import re
import tomllib
from pathlib import Path

import duckdb
import pytest

import autonomos.store.tables  # noqa: F401
from autonomos.engines.duckdb import ephemeral_duckdb
from autonomos.store.base import Base, scope_of, tenant_tables
from autonomos.store.maintenance import MAINTENANCE_USERS
from autonomos.store.vector_tables import VectorBase

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "autonomos"
FORBIDDEN = "sql" + "ite"  # spelled apart so this file does not match itself


def _python_files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*.py") if ".venv" not in p.parts]


def test_no_sqlite_in_project_code():
    offenders = [
        str(p.relative_to(ROOT))
        for p in _python_files(SRC, ROOT / "tests", ROOT / "benchmarks")
        if p != Path(__file__).resolve() and re.search(rf"\b{FORBIDDEN}3?\b", p.read_text(), re.IGNORECASE)
    ]
    assert offenders == []


def test_no_sqlite_in_direct_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + [d for group in project.get("optional-dependencies", {}).values() for d in group]
    assert [d for d in deps if FORBIDDEN in d.lower()] == []


def test_every_table_declares_a_scope_and_tenant_tables_lead_with_tenant_id():
    for metadata in (Base.metadata, VectorBase.metadata):
        for table in metadata.sorted_tables:
            scope_of(table)  # raises when a table has none
        for table in tenant_tables(metadata):
            assert not table.c.tenant_id.nullable, table.name
            leading = [list(i.columns)[0].name for i in table.indexes] + [
                list(c.columns)[0].name for c in table.constraints if hasattr(c, "columns") and len(c.columns)
                and type(c).__name__ in ("UniqueConstraint", "PrimaryKeyConstraint")
            ]
            assert "tenant_id" in leading, f"{table.name} has no tenant-first index"


def test_duckdb_is_in_memory_with_a_limit_and_a_temp_dir_that_is_removed():
    with ephemeral_duckdb("256MB") as conn:
        assert conn.execute("SELECT current_setting('memory_limit')").fetchone()[0] in ("244.1 MiB", "256.0 MB")
        temp_dir = Path(conn.execute("SELECT current_setting('temp_directory')").fetchone()[0])
        assert temp_dir.is_dir() and temp_dir.name.startswith("aos-duckdb-")
        assert conn.execute("PRAGMA database_list").fetchall()[0][2] is None  # no file behind it
        with pytest.raises(duckdb.Error):
            conn.execute("SELECT * FROM read_csv('/etc/passwd')")
        with pytest.raises(duckdb.Error):
            conn.execute("SET enable_external_access = true")
    assert not temp_dir.exists()


def test_duckdb_is_opened_only_by_the_engine_module():
    opened = [
        str(p.relative_to(ROOT)) for p in _python_files(SRC)
        if "duckdb.connect(" in p.read_text() and p != SRC / "engines" / "duckdb.py"
    ]
    assert opened == []


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_allow_listed_modules_reach_the_maintenance_path():
    users = set()
    for path in _python_files(SRC):
        module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
        if "autonomos.store.maintenance" in _imports(path) and module != "autonomos.store.maintenance":
            users.add(module)
    assert users <= MAINTENANCE_USERS
    assert not any(m.startswith(("autonomos.api", "autonomos.console")) for m in MAINTENANCE_USERS)


def test_configuration_is_read_only_in_config_module():
    readers = [
        str(p.relative_to(ROOT)) for p in _python_files(SRC)
        if re.search(r"os\.getenv|os\.environ\.get\(|os\.environ\[", p.read_text()) and p.name != "config.py"
    ]
    assert readers == []
