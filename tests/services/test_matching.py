"""The stateful proposer: memory of approved mappings helps the same tenant only, every run is
an agent run, and the reranker is off unless configured (then recorded call by call).

Real PostgreSQL + pgvector through the fixtures; the reranker's API is a stub HTTP server
(a vendor boundary).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from autonomos.config import Settings
from autonomos.dcl.matching.embedders import embedder_label, get_embedder
from autonomos.dcl.matching.evaluation import score
from autonomos.dcl.matching.reranker import Reranker, reranker_from_settings
from autonomos.dcl.matching.schema_files import load_json
from autonomos.dcl.vectors.outbox import enqueue_mapping_examples
from autonomos.services import connections, matching, ontology, vectors
from autonomos.store import migrate
from autonomos.store.tables import AgentRun, EmbeddingOutbox, Mapping, MappingVersion
from tests.conftest import tenant_files

CASES = Path(__file__).resolve().parents[1] / "dcl" / "matching" / "cases"


@pytest.fixture
def pgvector(rt, database_url):
    if not (migrate.pgvector_available(database_url) and migrate.state(database_url, migrate.VECTORS).at_head):
        pytest.skip("this PostgreSQL has no pgvector extension, so there is no vector store for memory")
    return rt


def _approve(rt, tenant_id, source: dict, gold: dict, version: int = 1) -> list:
    """A person's approved mappings of ``source``: one published mapping version per table, fed to memory."""
    conn = connections.create_connection(rt, tenant_id, provider="files", name=f"legacy-{version}",
                                         config={"path": str(tenant_files(rt, tenant_id) / "legacy.csv")}, actor="test")
    crm = ontology.ontology_version(rt, tenant_id)
    published = []
    with rt.db.tenant(tenant_id) as session:
        for table in source["tables"]:
            pairs = [p for p in gold["pairs"] if p["source_table"] == table["name"]]
            mapping = Mapping(tenant_id=tenant_id, connection_id=conn.id, stream=table["name"],
                              canonical_entity=pairs[0]["target_table"])
            session.add(mapping)
            session.flush()
            row = MappingVersion(tenant_id=tenant_id, mapping_id=mapping.id, version=version,
                                 ontology_version_id=crm.version_id, content_hash="approved-by-a-person",
                                 fields=[{"source_field": p["source_field"], "canonical_field": p["target_field"]}
                                         for p in pairs],
                                 published_at=dt.datetime.now(dt.UTC), published_by="person:reviewer")
            session.add(row)
            session.flush()
            enqueue_mapping_examples(session, tenant_id, row.id)
            published.append(row.id)
    report = vectors.drain_outbox(rt, tenant_id=tenant_id)
    assert report.failed == 0
    return published


def test_memory_of_approved_mappings_improves_a_renamed_source_for_that_tenant_only(pgvector, make_tenant):
    rt = pgvector
    source, gold = load_json(CASES / "legacy_crm.schema.json"), load_json(CASES / "legacy_crm.gold.json")
    renamed, renamed_gold = load_json(CASES / "legacy_crm_v2.schema.json"), load_json(CASES / "legacy_crm_v2.gold.json")
    tenant, other = make_tenant("mem"), make_tenant("mem")
    before = score(renamed_gold, matching.propose_mappings(rt, tenant.id, renamed).output)
    other_before = matching.propose_mappings(rt, other.id, renamed).output

    _approve(rt, tenant.id, source, gold)
    run = matching.propose_mappings(rt, tenant.id, renamed)
    after = score(renamed_gold, run.output)

    assert after["top1"] > before["top1"] or after["auto_coverage"] > before["auto_coverage"]
    assert after["auto_coverage"] >= before["auto_coverage"] and after["top1"] >= before["top1"]
    assert before["auto_precision"] == 1.0 and after["auto_precision"] == 1.0
    assert matching.propose_mappings(rt, other.id, renamed).output == other_before  # isolation
    with rt.db.tenant(tenant.id) as session:
        recorded = session.get(AgentRun, run.run_id)
    remembered = [f for f in recorded.evidence["fields"] if f["memory"]]
    assert remembered and all(m["example"].count(":") == 1 for f in remembered for m in f["memory"])
    assert any("memory" in c["signals"] for f in remembered for c in f["candidates"])


def test_a_newer_published_version_replaces_the_older_examples(pgvector, make_tenant):
    rt = pgvector
    source, gold = load_json(CASES / "legacy_crm.schema.json"), load_json(CASES / "legacy_crm.gold.json")
    tenant = make_tenant("mem")
    first = _approve(rt, tenant.id, source, gold)
    with rt.db.tenant(tenant.id) as session:
        old = session.get(MappingVersion, first[0])
        newer = MappingVersion(tenant_id=tenant.id, mapping_id=old.mapping_id, version=2,
                               ontology_version_id=old.ontology_version_id, content_hash="v2",
                               fields=old.fields[:2], published_at=dt.datetime.now(dt.UTC), published_by="person")
        session.add(newer)
        session.flush()
        added = enqueue_mapping_examples(session, tenant.id, newer.id)
        actions = session.execute(select(EmbeddingOutbox.action, EmbeddingOutbox.item_id)
                                  .where(EmbeddingOutbox.processed_at.is_(None))).all()
    assert added == len(old.fields) + 2
    assert {i for a, i in actions if a == "delete"} == {f"{old.id}:{f['source_field']}" for f in old.fields}
    vectors.drain_outbox(rt, tenant_id=tenant.id)
    hits = vectors.similar(rt, tenant.id, "CUST MASTER . CUST NO", k=50, kind="mapping_example")
    assert not any(h.item.ref_id.startswith(str(old.id)) for h in hits)
    assert {h.item.ref_id for h in hits if h.item.ref_id.startswith(str(newer.id))} == {
        f"{newer.id}:{f['source_field']}" for f in old.fields[:2]}


class _ChatStub(BaseHTTPRequestHandler):
    """Answers chat completions like an OpenAI-compatible API: always candidate 2."""

    requests: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        answer = {"id": "cmpl-1", "object": "chat.completion", "model": body["model"],
                  "choices": [{"index": 0, "finish_reason": "stop",
                               "message": {"role": "assistant", "content": '{"choice": 2, "reason": "stub says so"}'}}],
                  "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def chat_stub() -> Iterator[str]:
    _ChatStub.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ChatStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def test_the_reranker_is_off_by_default_and_runs_are_recorded(rt, make_tenant):
    assert reranker_from_settings(Settings.from_mapping({})) is None
    assert reranker_from_settings(rt.settings) is None
    tenant = make_tenant("run")
    source = load_json(CASES / "legacy_crm.schema.json")
    run = matching.propose_mappings(rt, tenant.id, source, memory=False)
    with rt.db.tenant(tenant.id) as session:
        recorded = session.get(AgentRun, run.run_id)
    assert recorded.kind == "matcher" and recorded.status == "succeeded" and recorded.model == embedder_label(get_embedder())
    assert recorded.inputs["fields"] == 46 and recorded.inputs["reranker"] is None
    assert recorded.inputs["target"] == "crm v1" and recorded.inputs["source_system"] == "legacy_crm"
    assert recorded.outputs == run.output and len(recorded.evidence["fields"]) == 46
    assert recorded.evidence["reranker"] == [] and recorded.cost_usd is None
    assert recorded.duration_ms is not None and recorded.finished_at >= recorded.started_at


def test_the_reranker_reorders_review_fields_and_its_calls_are_recorded(rt, make_tenant, chat_stub):
    tenant = make_tenant("rr")
    source = load_json(CASES / "legacy_crm.schema.json")
    stateless = matching.propose_mappings(rt, tenant.id, source, memory=False)
    reranker = Reranker(chat_stub, "stub-model", "sk-test", usd_per_1k_tokens=0.5)
    run = matching.propose_mappings(rt, tenant.id, source, memory=False, reranker=reranker)
    reranker.close()
    reviewed = [i for i, p in enumerate(stateless.proposals) if p.decision == "review" and len(p.candidates) > 1]
    assert reviewed and len(_ChatStub.requests) == len(reviewed)
    assert _ChatStub.requests[0]["path"] == "/v1/chat/completions"
    assert _ChatStub.requests[0]["auth"] == "Bearer sk-test" and _ChatStub.requests[0]["body"]["model"] == "stub-model"
    for index, proposal in enumerate(run.proposals):
        before = stateless.proposals[index]
        if index in reviewed:
            assert proposal.candidates[0] == before.candidates[1] and proposal.decision == "review"
        else:
            assert proposal == before
    with rt.db.tenant(tenant.id) as session:
        recorded = session.get(AgentRun, run.run_id)
    calls = recorded.evidence["reranker"]
    assert len(calls) == len(reviewed) and calls[0]["choice"] == 2 and calls[0]["reason"] == "stub says so"
    assert calls[0]["messages"][1]["content"].startswith("Source field: ")
    assert '"choice": 2' in calls[0]["answer"]
    assert recorded.tokens == {"prompt": 100 * len(reviewed), "completion": 20 * len(reviewed)}
    assert float(recorded.cost_usd) == pytest.approx(0.06 * len(reviewed))
    assert recorded.inputs["reranker"] == "stub-model"
    assert "sk-test" not in json.dumps([recorded.inputs, recorded.evidence])
