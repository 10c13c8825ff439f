"""The stateful proposer: the matcher plus the tenant's memory, recorded as an agent run.

``propose_mappings`` matches a source schema against a target (default: the tenant's current
ontology). With memory on it embeds every source field with the shared text recipe, asks the
tenant's vector store for the nearest approved mapping examples and the nearest rejected
ones, and resolves each hit through Postgres (a hit whose row is gone says nothing); the
matcher turns them into the `memory` signal (a boost) and the `rejected` signal (a demotion). The optional LLM reranker (off unless configured) gives `review`-tier fields a second
opinion. Every run is one ``agent_runs`` row: inputs, the rendered proposals, per-field
evidence, timing, the embedder, and the reranker's prompts, answers, tokens and cost.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from autonomos.dcl.matching import MatcherConfig, propose, render
from autonomos.dcl.matching.embedders import Embedder, embedder_label, get_embedder
from autonomos.dcl.matching.memory import Recollection, memory_text
from autonomos.dcl.matching.reranker import RerankCall, Reranker, reranker_from_settings
from autonomos.dcl.matching.schema_files import source_fields, system_name
from autonomos.dcl.matching.typing import FieldProposal, SourceField
from autonomos.dcl.vectors import VectorStoreError, resolve, vector_store
from autonomos.services.ontology import ontology_version
from autonomos.services.tenant_calibration import tenant_calibration
from autonomos.runtime import Runtime
from autonomos.store.tables import AgentRun

log = structlog.get_logger(__name__)

MEMORY_NEIGHBOURS = 3
"""Approved examples (and, separately, rejected examples) looked up per source field."""


@dataclass(frozen=True)
class ProposalRun:
    """The proposals of one run and the agent run that recorded them."""

    run_id: uuid.UUID
    proposals: list[FieldProposal]
    output: dict[str, Any]
    recalled: dict[tuple[str, str], list[Recollection]] = field(default_factory=dict)
    """The examples memory found per (source table, source field), approved and rejected, best first."""
    memory: str = "on"
    """``on``, ``off``, or ``unavailable: <why>`` (the vector store could not answer)."""


def propose_mappings(
    rt: Runtime, tenant_id: uuid.UUID, source: dict[str, Any], target: dict[str, Any] | None = None, *,
    top_k: int = 5, memory: bool = True, config: MatcherConfig | None = None, embedder: Embedder | None = None,
    reranker: Reranker | None = None, context: dict[str, Any] | None = None,
) -> ProposalRun:
    """Propose mappings for ``source`` with the tenant's memory, and record the run.

    ``context`` (what the caller matched and why: connection, stream, snapshot...) is added
    to the run's inputs.
    """
    started, started_at = time.perf_counter(), dt.datetime.now(dt.UTC)
    config = config or MatcherConfig()
    if config.thresholds.calibration is None:
        # the tenant's own approvals and rejections refine when `auto` is safe
        config = replace(config, thresholds=replace(config.thresholds, calibration=tenant_calibration(rt, tenant_id)))
    embedder = embedder or get_embedder(config.embedder)
    target_name = (target.get("name") or target.get("system")) if target else None
    if target is None:
        version = ontology_version(rt, tenant_id)
        target, target_name = version.content, f"{version.name} v{version.version}"
    fields = source_fields(source)
    recollections, memory_note = _recall(rt, tenant_id, fields, embedder) if memory else (None, "off")
    proposals = propose(source, target, top_k=top_k, config=config, embedder=embedder, memory=recollections)
    configured = reranker_from_settings(rt.settings) if reranker is None else None
    reranker = reranker or configured
    calls: list[RerankCall] = []
    if reranker is not None:
        try:
            proposals, calls = _rerank(reranker, proposals, fields)
        finally:
            if configured is not None:
                configured.close()
    recalled: dict[tuple[str, str], list[Recollection]] = defaultdict(list)
    for r in recollections or ():
        recalled[(r.source_table, r.source_field)].append(r)
    output = render(proposals)
    run = AgentRun(
        tenant_id=tenant_id, kind="matcher", status="succeeded",
        model=embedder_label(embedder) + (f" + reranker {reranker.model}" if reranker else ""),
        inputs={"source_system": system_name(source), "source_tables": sorted({f.table for f in fields}),
                "target": target_name, "fields": len(fields), "top_k": top_k, "memory": memory_note,
                "embedder": embedder_label(embedder), "reranker": reranker.model if reranker else None, **(context or {})},
        outputs=output,
        evidence={"fields": [_evidence(p, recalled[(p.source_table, p.source_field)]) for p in proposals],
                  "reranker": [c.as_record() for c in calls]},
        tokens={"prompt": sum(c.prompt_tokens for c in calls), "completion": sum(c.completion_tokens for c in calls)},
        cost_usd=round(sum(c.cost_usd for c in calls), 6) if calls else None,
        duration_ms=round((time.perf_counter() - started) * 1000), started_at=started_at,
        finished_at=dt.datetime.now(dt.UTC),
    )
    with rt.db.tenant(tenant_id) as session:
        session.add(run)
        session.flush()
        run_id = run.id
    return ProposalRun(run_id, proposals, output, dict(recalled), memory_note)


def _recall(
    rt: Runtime, tenant_id: uuid.UUID, fields: Sequence[SourceField], embedder: Embedder
) -> tuple[list[Recollection] | None, str]:
    """The approved and rejected examples nearest each field, as Postgres says they are now.

    A store that cannot answer costs the run its memory, not its proposals; the run says so.
    """
    if not fields:
        return [], "on"
    store = vector_store(rt)
    vectors = embedder.embed([memory_text(f) for f in fields])
    try:
        hits = [[hit for kind in ("mapping_example", "rejected_example")
                 for hit in store.query(tenant_id, vector.tolist(), MEMORY_NEIGHBOURS, model=embedder.model, kind=kind)]
                for vector in vectors]
    except VectorStoreError as exc:
        log.warning("matching.memory_unavailable", tenant=str(tenant_id), error=str(exc))
        return None, f"unavailable: {exc}"
    with rt.db.tenant(tenant_id) as session:
        resolved = [resolve(session, tenant_id, field_hits) for field_hits in hits]
    return [
        Recollection(f.table, f.name, hit.item.details["canonical_entity"], hit.item.details["canonical_field"],
                     hit.score, hit.item.ref_id, rejected=hit.item.kind == "rejected_example",
                     example_system=hit.item.source_system, example_object=hit.item.object_type,
                     example_field=hit.item.field_name)
        for f, field_hits in zip(fields, resolved, strict=True) for hit in field_hits
    ], "on"


def _rerank(
    reranker: Reranker, proposals: list[FieldProposal], fields: Sequence[SourceField]
) -> tuple[list[FieldProposal], list[RerankCall]]:
    """Ask the reranker about every `review` field that has candidates to choose between."""
    by_name = {(f.table, f.name): f for f in fields}
    reranked, calls = [], []
    for proposal in proposals:
        if proposal.decision == "review" and len(proposal.candidates) > 1:
            proposal, call = reranker.rerank(proposal, by_name[(proposal.source_table, proposal.source_field)])
            calls.append(call)
        reranked.append(proposal)
    return reranked, calls


def _evidence(proposal: FieldProposal, recalled: Sequence[Recollection]) -> dict[str, Any]:
    """Why a field got its candidates and tier: every signal per candidate, reasons, examples recalled."""
    return {
        "source_table": proposal.source_table, "source_field": proposal.source_field,
        "decision": proposal.decision, "entity": proposal.entity, "reasons": list(proposal.reasons),
        "candidates": [{"target_table": c.target_table, "target_field": c.target_field, "score": c.score,
                        "signals": c.signals} for c in proposal.candidates],
        "memory": [{"example": r.example, "target_table": r.target_table, "target_field": r.target_field,
                    "similarity": round(r.similarity, 4), "rejected": r.rejected, "source_system": r.example_system,
                    "object": r.example_object, "field": r.example_field} for r in recalled],
    }
