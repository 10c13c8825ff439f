"""The vector store backends as one parametrized list (pgvector always, Pinecone with a key).

Each backend comes as a Runtime whose settings select it, so the services under test build
the store the way production does. pgvector is skipped where the server has no `vector`
extension; Pinecone is skipped unless PINECONE_API_KEY is set.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest

from autonomos.dcl.vectors.store import vector_store
from autonomos.runtime import Runtime
from autonomos.store import migrate
from tests.conftest import make_settings

BACKENDS = ["pgvector", "pinecone"]


@pytest.fixture(params=BACKENDS)
def vrt(request, database_url, redis_url, namespace, tmp_path_factory) -> Iterator[Runtime]:
    """A Runtime whose vector store is the parametrized backend."""
    extra = {"VECTOR_STORE": request.param}
    if request.param == "pgvector":
        if not (migrate.pgvector_available(database_url) and migrate.state(database_url, migrate.VECTORS).at_head):
            pytest.skip("this PostgreSQL has no pgvector extension; the vectors tree applies only where it exists")
    else:
        key = os.environ.get("PINECONE_API_KEY")
        if not key:
            pytest.skip("the Pinecone contract tests run only when PINECONE_API_KEY is set")
        extra["PINECONE_API_KEY"] = key
    runtime = Runtime(make_settings(database_url, redis_url, tmp_path_factory.mktemp("v"), namespace, **extra))
    yield runtime
    runtime.close()


@pytest.fixture
def eventually(vrt) -> Callable:
    """Poll until ``check`` holds: Pinecone becomes consistent shortly after writes; pgvector at once."""

    def wait(check: Callable[[], object], timeout: float = 60.0):
        deadline = time.monotonic() + (timeout if vector_store(vrt).name == "pinecone" else 0)
        while True:
            result = check()
            if result or time.monotonic() >= deadline:
                return result
            time.sleep(1.0)

    return wait
