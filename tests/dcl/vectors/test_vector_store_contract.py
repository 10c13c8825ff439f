"""The contract every vector backend keeps, run against each real backend."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from autonomos.dcl.vectors import VectorRecord, vector_store

DIMS = 64


def vec(*head: float, dims: int = DIMS) -> list[float]:
    return list(head) + [0.0] * (dims - len(head))


def rec(tenant, ref: str, vector, *, kind="canonical_field", model="test-64") -> VectorRecord:
    return VectorRecord(tenant.id, kind, ref, model, vector, "h-" + ref)


def test_upsert_then_query_gives_the_exact_top_k(vrt, make_tenant, eventually):
    store, t = vector_store(vrt), make_tenant("vec")
    store.upsert([rec(t, "a", vec(1, 0, 0)), rec(t, "b", vec(0.9, 0.1, 0)), rec(t, "c", vec(0.1, 1, 0)),
                  rec(t, "d", vec(0, 0, 1), kind="source_field")])
    hits = eventually(lambda: (h := store.query(t.id, vec(1, 0, 0), 3, model="test-64")) and len(h) == 3 and h)
    assert [h.ref_id for h in hits] == ["a", "b", "c"]
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert hits[1].score == pytest.approx(0.9 / np.hypot(0.9, 0.1), abs=1e-4)
    assert hits[2].score == pytest.approx(0.1 / np.hypot(0.1, 1), abs=1e-4)
    only_sources = store.query(t.id, vec(1, 0, 0), 3, model="test-64", kind="source_field")
    assert [(h.kind, h.ref_id) for h in only_sources] == [("source_field", "d")]
    store.upsert([rec(t, "c", vec(1, 0, 0))])  # same key: replaced, not duplicated
    assert eventually(lambda: store.query(t.id, vec(1, 0, 0), 1, model="test-64", kind="canonical_field")[0].score
                      > 0.99)
    assert eventually(lambda: store.count(t.id) == 4)


def test_a_tenant_never_gets_another_tenants_vectors(vrt, make_tenant, eventually):
    store, a, b = vector_store(vrt), make_tenant("vec-a"), make_tenant("vec-b")
    store.upsert([rec(a, "a-exact", vec(1, 0, 0)), rec(b, "b-far", vec(0, 1, 0))])
    eventually(lambda: store.count(a.id) == 1 and store.count(b.id) == 1)
    hits = store.query(b.id, vec(1, 0, 0), 5, model="test-64")
    assert [h.ref_id for h in hits] == ["b-far"]


def test_a_filtered_query_still_returns_k_among_2000_vectors(vrt, make_tenant, eventually):
    """Our tenant owns 1% of the vectors, and every other vector is nearer the query."""
    store, ours, crowd = vector_store(vrt), make_tenant("vec-few"), make_tenant("vec-crowd")
    rng = np.random.default_rng(7)
    query = rng.normal(size=DIMS)
    near = query + rng.normal(scale=0.3, size=(1980, DIMS))
    mine = rng.normal(size=(20, DIMS))
    store.upsert([rec(crowd, f"c{i}", v.tolist()) for i, v in enumerate(near)])
    store.upsert([rec(ours, f"m{i}", v.tolist()) for i, v in enumerate(mine)])
    eventually(lambda: store.count(crowd.id) == 1980 and store.count(ours.id) == 20)
    hits = store.query(ours.id, query.tolist(), 10, model="test-64")
    cosine = mine @ query / (np.linalg.norm(mine, axis=1) * np.linalg.norm(query))
    exact = {f"m{i}" for i in np.argsort(-cosine)[:10]}
    assert len(hits) == 10 and {h.ref_id for h in hits} <= {f"m{i}" for i in range(20)}
    assert len({h.ref_id for h in hits} & exact) >= 9
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_two_models_with_different_dimensions_sit_side_by_side(vrt, make_tenant, eventually):
    store, t = vector_store(vrt), make_tenant("vec")
    store.upsert([rec(t, "x", vec(1, 0), model="small"), rec(t, "y", vec(0, 1), model="small"),
                  rec(t, "x", vec(0, 1, dims=128), model="large"), rec(t, "y", vec(1, 0, dims=128), model="large")])
    eventually(lambda: store.count(t.id) == 4)
    assert [h.ref_id for h in store.query(t.id, vec(1, 0), 1, model="small")] == ["x"]
    assert [h.ref_id for h in store.query(t.id, vec(1, 0, dims=128), 1, model="large")] == ["y"]
    assert store.query(t.id, vec(1, 0), 5, model="large") == []  # a 64-d query never meets 128-d vectors


def test_delete_by_reference_by_kind_and_purge(vrt, make_tenant, eventually):
    store, t, other = vector_store(vrt), make_tenant("vec"), make_tenant("vec-keep")
    store.upsert([rec(t, "a", vec(1)), rec(t, "b", vec(1, 1)), rec(t, "s", vec(0, 1), kind="source_field"),
                  rec(t, "a", vec(1, 0, dims=128), model="large"), rec(other, "a", vec(1))])
    eventually(lambda: store.count(t.id) == 4)
    store.delete(t.id, refs=[("canonical_field", "a")])  # every model's vector of it
    assert eventually(lambda: store.count(t.id) == 2)
    store.delete(t.id, kind="source_field")
    assert eventually(lambda: [h.ref_id for h in store.query(t.id, vec(0, 1), 5, model="test-64")] == ["b"])
    store.purge_tenant(t.id)
    assert eventually(lambda: store.count(t.id) == 0)
    assert store.count(other.id) == 1


def test_queries_reject_nonsense_before_reaching_the_backend(vrt, make_tenant):
    from autonomos.dcl.vectors import VectorStoreError

    store = vector_store(vrt)
    if store.name != "pgvector":
        pytest.skip("input validation is pgvector's own; Pinecone validates server-side")
    with pytest.raises(VectorStoreError):
        store.query(uuid.uuid4(), [], 3, model="m")


def _sharing_a_partition(vrt, make_tenant, ours):
    """A new tenant whose vectors hash to the partition of ``ours`` (the two share its graphs)."""
    from sqlalchemy import text

    same = text("SELECT bool_or(satisfies_hash_partition('vector_items'::regclass, n, r, CAST(:a AS uuid)) "
                "AND satisfies_hash_partition('vector_items'::regclass, n, r, CAST(:b AS uuid))) "
                "FROM (SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'vector_items'::regclass) p, "
                "generate_series(0, p.n - 1) AS r")
    for _ in range(500):  # 1 in 16 shares it
        other = make_tenant("vec-crowd")
        with vrt.db.tenant(ours.id) as session:
            if session.scalar(same, {"a": ours.id, "b": other.id}):
                return other
    raise AssertionError("no tenant of 500 shared a partition")


def test_pgvector_iterative_scan_is_why_the_hnsw_path_returns_k(vrt, make_tenant):
    """On the HNSW path (what the planner takes once a tenant is big; forced here by disabling
    sorts), the tenant filter runs after the scan of the tenant's partition: without iterative
    scans a tenant owning 1% of its partition gets nothing back; with the store's setting it gets k."""
    from sqlalchemy import text

    from autonomos.dcl.vectors.pgvector_store import ITERATIVE_SCAN

    store, ours = vector_store(vrt), make_tenant("vec-few")
    if store.name != "pgvector":
        pytest.skip("pgvector's own index behaviour")
    crowd = _sharing_a_partition(vrt, make_tenant, ours)
    rng = np.random.default_rng(3)
    query = rng.normal(size=DIMS)
    store.upsert([rec(crowd, f"c{i}", (query + rng.normal(scale=0.3, size=DIMS)).tolist()) for i in range(1980)])
    store.upsert([rec(ours, f"m{i}", rng.normal(size=DIMS).tolist()) for i in range(20)])
    sql = text(f"SELECT ref_id FROM vector_items WHERE tenant_id = :t AND dimensions = {DIMS} AND model = 'test-64' "
               f"ORDER BY embedding::vector({DIMS}) <=> CAST(:q AS vector({DIMS})) LIMIT 10")
    params = {"t": ours.id, "q": str(query.tolist()).replace(" ", "")}
    found = {}
    for mode in ("off", ITERATIVE_SCAN):
        with vrt.db.tenant(ours.id) as session:
            session.execute(text("SELECT set_config('enable_sort', 'off', true), "
                                 "set_config('hnsw.iterative_scan', :m, true)"), {"m": mode})
            plan = "\n".join(r[0] for r in session.execute(text("EXPLAIN " + sql.text), params))
            assert f"_hnsw_{DIMS}" in plan  # the partition's HNSW index
            found[mode] = len(session.execute(sql, params).all())
    assert found["off"] < 10 and found[ITERATIVE_SCAN] == 10


def test_pgvector_search_in_one_round_trip_is_still_walled_by_rls(vrt, make_tenant):
    """The query's own ``tenant_id = :t`` is the first wall; with it removed, the tenant setting
    sent in the same round trip still hides every other tenant's vectors (RLS, the second)."""
    from sqlalchemy import text

    from autonomos.dcl.vectors.pgvector_store import search_sql

    store, a, b = vector_store(vrt), make_tenant("vec-a"), make_tenant("vec-b")
    if store.name != "pgvector":
        pytest.skip("pgvector's own query path")
    store.upsert([rec(a, "a-far", vec(0, 1, 0)), rec(b, "b-exact", vec(1, 0, 0))])
    unfiltered = search_sql(DIMS, by_kind=False).replace("tenant_id = :t AND ", "")
    assert ":t" not in unfiltered
    rows = vrt.db.tenant_read(a.id, text(unfiltered), {"q": str(vec(1, 0, 0)).replace(" ", ""), "m": "test-64", "k": 5},
                              settings={"hnsw.iterative_scan": "relaxed_order"})
    assert [ref for _, ref, _ in rows] == ["a-far"]
    assert vrt.db.tenant_read(b.id, text("SELECT DISTINCT tenant_id FROM vector_items"), {}) == [(b.id,)]


def test_pgvector_ef_search_grows_as_a_tenants_share_of_its_partition_shrinks(vrt, make_tenant):
    import psycopg

    from autonomos.dcl.vectors.pgvector_store import MAX_EF_SEARCH, PgVectorStore
    from autonomos.engines.postgres import libpq_dsn

    if vector_store(vrt).name != "pgvector":
        pytest.skip("pgvector's own search setting")
    ours = make_tenant("vec-few")
    crowd = _sharing_a_partition(vrt, make_tenant, ours)
    rng = np.random.default_rng(5)
    store = PgVectorStore(vrt.db)
    store.upsert([rec(crowd, f"c{i}", rng.normal(size=DIMS).tolist()) for i in range(1980)])
    store.upsert([rec(ours, f"m{i}", rng.normal(size=DIMS).tolist()) for i in range(20)])
    with psycopg.connect(libpq_dsn(vrt.database_url), autocommit=True) as conn:
        conn.execute("ANALYZE vector_items")  # the partition's row count the share is taken from
    few, many = store.ef_search_for(ours.id, "test-64", None, 10), store.ef_search_for(crowd.id, "test-64", None, 10)
    assert few == MAX_EF_SEARCH  # 1% of the graph: 100 / 0.01, capped
    assert store.ef_search <= many < few
    fixed = PgVectorStore(vrt.db, scale_by_share=False)
    assert fixed.ef_search_for(ours.id, "test-64", None, 10) == fixed.ef_search
