"""Settings come from an explicit mapping in tests and from the environment in entry points."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from autonomos.config import Settings


def test_from_mapping_ignores_the_process_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://from-env/db")
    settings = Settings.from_mapping({"REDIS_URL": "redis://x:6379/0", "AOS_DATA_DIR": "/tmp/aos-x"})
    assert settings.database_url is None and settings.embedded_postgres
    assert settings.redis_url == "redis://x:6379/0" and not settings.embedded_redis
    assert settings.data_dir == Path("/tmp/aos-x")
    assert settings.vector_store == "pgvector"


def test_environment_is_read_by_entry_points(monkeypatch):
    monkeypatch.setenv("VECTOR_STORE", "pinecone")
    monkeypatch.setenv("AOS_SECRET_KEY", "zq-distinctive-key")
    settings = Settings()
    assert settings.vector_store == "pinecone"
    assert settings.secret_key.get_secret_value() == "zq-distinctive-key"
    assert "zq-distinctive-key" not in repr(settings)


def test_malformed_values_are_named():
    with pytest.raises(ValidationError, match="VECTOR_STORE"):
        Settings.from_mapping({"VECTOR_STORE": "faiss"})
