"""Shared fixtures: the shared dev benchmark (when present) and the held-out synthetic case."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from autonomos.dcl.matching.schema_files import load_json

DEV_DIR = Path("/work/shared/benchmarks/crm-dev")
SCORER_PATH = DEV_DIR.parent / "score.py"
CASES_DIR = Path(__file__).parent / "cases"


@pytest.fixture(scope="session")
def dev_dir() -> Path:
    """The shared crm-dev benchmark directory."""
    if not DEV_DIR.exists():
        pytest.skip(f"dev benchmark not found at {DEV_DIR}")
    return DEV_DIR


@pytest.fixture(scope="session")
def cases_dir() -> Path:
    """Hand-written held-out cases shipped with these tests."""
    return CASES_DIR


@pytest.fixture(scope="session")
def scorer() -> ModuleType:
    """The shared score.py, imported as-is so tests score exactly like the benchmark."""
    if not SCORER_PATH.exists():
        pytest.skip(f"shared scorer not found at {SCORER_PATH} (benchmarks not mounted)")
    spec = importlib.util.spec_from_file_location("shared_score", SCORER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def held_out() -> tuple[dict, dict, dict]:
    """Pipedrive-like source, a differently worded target, and their hand-written gold."""
    return (
        load_json(CASES_DIR / "pipedrive_like.schema.json"),
        load_json(CASES_DIR / "reworded_target.schema.json"),
        load_json(CASES_DIR / "pipedrive_like.gold.json"),
    )
