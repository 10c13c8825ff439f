"""Evaluation runs: the offline matcher scored against gold files, stored as ``eval_runs`` rows.

The matcher runs stateless (no memory, no reranker), so an eval run measures the product's
general matching and two runs on the same files and code agree.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autonomos.dcl.matching import MatcherConfig, propose, render
from autonomos.dcl.matching.embedders import embedder_label, get_embedder
from autonomos.dcl.matching.evaluation import load_gold, pooled, score
from autonomos.services import audit
from autonomos.runtime import Runtime
from autonomos.store.tables import EvalRun

MATCHER = "offline"
"""What an eval run measured: the stateless matcher (``aos match``)."""


@dataclass(frozen=True)
class EvalReport:
    run_id: uuid.UUID
    files: dict[str, dict[str, Any]]
    pooled: dict[str, Any]


def evaluate(
    rt: Runtime, tenant_id: uuid.UUID, gold_paths: Sequence[Path | str], *, actor: str,
    config: MatcherConfig | None = None,
) -> EvalReport:
    """Match and score every gold file, pool the counts, and store one eval run for the tenant."""
    config = config or MatcherConfig()
    files: dict[str, dict[str, Any]] = {}
    for path in gold_paths:
        case = load_gold(path)
        started = time.perf_counter()
        output = render(propose(case.source, case.target, config=config))
        result = score(case.gold, output)
        result["seconds"] = round(time.perf_counter() - started, 3)
        files[str(case.path)] = result
    summary = pooled(list(files.values()))
    with rt.db.tenant(tenant_id) as session:
        run = EvalRun(tenant_id=tenant_id, matcher=MATCHER, model=embedder_label(get_embedder(config.embedder)),
                      gold_files=list(files), scores={"files": files, "pooled": summary})
        session.add(run)
        session.flush()
        audit.record(session, tenant_id, actor=actor, action="eval.run", target_type="eval_run", target_id=run.id,
                     after={"files": len(files), "pooled": summary})
        run_id = run.id
    return EvalReport(run_id, files, summary)
