"""Three tenants syncing, reviewing and applying at once on two ``aos worker`` processes, the
bounded version of ``benchmarks/load.py``: each tenant's concurrency limit holds, every tenant
gets going before another has finished, and the isolation checker finds nothing of one tenant
through any interface of another (rows as the app role, rows by id, vectors, Redis keys, the
notification log, the event stream, webhooks, the HTTP API and the console).

The test works in a migrated database and Redis namespace of its own: the workers' upkeep
rounds drain every tenant's embedding outbox, which in the session's database is the backlog of
every tenant created before (hundreds of rows; under load the settle timed out on it)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from autonomos.engines.redis import delete_prefix
from autonomos.runtime import Runtime
from autonomos.store import migrate

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from isolation import check  # noqa: E402
from load_probes import ApiServer, EventTap, HookReceiver  # noqa: E402
from load_workload import Fleet, Owner, run_round, settle  # noqa: E402

from tests.conftest import migrated_database, make_settings, subprocess_env  # noqa: E402

LIMITS = [1, 2, 1]


@pytest.fixture(scope="module")
def database_url(server_url) -> Iterator[str]:
    with migrated_database(server_url, "aos_load") as url:
        yield url


@pytest.fixture(scope="module")
def settings(database_url, redis_url, tmp_path_factory):
    return make_settings(database_url, redis_url, tmp_path_factory.mktemp("load-data"), f"aosload{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def rt(settings) -> Iterator[Runtime]:
    runtime = Runtime(settings)
    yield runtime
    delete_prefix(runtime.redis, f"{settings.redis_namespace}:")
    runtime.close()


def test_three_tenants_under_load_stay_apart_and_within_their_limits(rt, settings, tmp_path):
    env = subprocess_env(settings)
    owner = Owner(settings.database_url)
    fleet = Fleet(env, tmp_path / "logs")
    hooks = HookReceiver()
    api = ApiServer(env, tmp_path / "serve.log")
    taps = {}

    def listen(made) -> None:
        for t in made:
            taps[t.info.id] = EventTap(api.url, t.api_key)
            taps[t.info.id].start()

    try:
        summary, made = run_round(rt, owner, fleet, 2, limits=LIMITS, connection_count=2, per_connection=150,
                                  sample=50, hook_url=hooks.url, created=listen)
        settle(owner, made)
        texts = {tid: tap.stop() for tid, tap in taps.items()}
        violations, checked, details = check(rt, owner, made, api_url=api.url, taps=texts, hooks=hooks.bodies)
    finally:
        fleet.stop()
        for tap in taps.values():
            tap.halt.set()
        api.stop()
        hooks.stop()

    assert summary["errors"] == []
    assert summary["records"] == 3 * 2 * 150
    per_tenant = summary["tenants"].values()
    assert all(v["max_running_syncs"] <= v["limit"] for v in per_tenant)
    assert summary["limit_breaches"] == 0 and summary["starved"] == []
    assert all(v["first_progress_s"] >= 0 for v in per_tenant)
    assert violations == dict.fromkeys(violations, 0), details
    interfaces = ["rows", "direct_ids", "redis", "notifications", "sse", "webhooks", "api", "console"]
    # CI's second pass runs on a PostgreSQL without pgvector: no vector store, nothing to check
    if migrate.pgvector_available(settings.database_url):
        interfaces.append("vectors")
    for interface in interfaces:
        assert checked.get(interface, 0) > 0, f"the {interface} check looked at nothing"
