"""One exception tree: every exception class defined in the package derives from ``AutonomosError``."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from autonomos.errors import AutonomosError

SRC = Path(__file__).resolve().parents[2] / "src" / "autonomos"


def _modules() -> list[str]:
    """Every module of the package, namespace packages included; migrations' env and revision
    scripts (importing them runs Alembic) and ``__main__`` (it runs the CLI) are left out."""
    out = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        if parts[-1] == "__main__" or (parts[1] == "migrations" and (parts[-1] == "env" or "versions" in parts)):
            continue
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def test_every_exception_class_derives_from_the_root():
    outside = []
    for name in _modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (cls.__module__ == name and issubclass(cls, BaseException)
                    and not issubclass(cls, AutonomosError)):
                outside.append(f"{name}.{cls.__qualname__}")
    assert outside == []
