"""Evaluation scores agree with the shared scorer, and `aos eval` stores an eval run."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from autonomos.cli.app import app
from autonomos.dcl.matching import match_schemas
from autonomos.dcl.matching.embedders import embedder_label, get_embedder
from autonomos.dcl.matching.evaluation import load_gold, pooled, score
from autonomos.services.tenants import find_tenant
from autonomos.store.tables import EvalRun
from tests.conftest import TEST_SECRET_KEY


def test_scores_agree_with_the_shared_scorer(dev_dir, scorer):
    results = []
    for path in sorted(dev_dir.glob("*.gold.json")):
        case = load_gold(path)
        output = match_schemas(case.source, case.target)
        ours = score(case.gold, output)
        assert {k: ours[k] for k in scorer.score(case.gold, output)} == scorer.score(case.gold, output)
        results.append(ours)
    total = pooled(results)
    assert total["pairs"] == sum(r["pairs"] for r in results) and total["top1"] >= 0.9


def test_aos_eval_prints_scores_per_file_and_pooled_and_stores_an_eval_run(
    dev_dir, rt, database_url, redis_url, namespace, tmp_path
):
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "AOS_REDIS_NAMESPACE": namespace,
           "AOS_DATA_DIR": str(tmp_path), "AOS_SECRET_KEY": TEST_SECRET_KEY, "COLUMNS": "200"}
    golds = [str(p) for p in sorted(dev_dir.glob("*.gold.json"))]
    result = CliRunner().invoke(app, ["eval", *golds, "--json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report["files"]) == set(golds)
    pooled_scores = report["pooled"]
    assert pooled_scores["pairs"] == 229 and pooled_scores["unmapped_fields"] == 526
    assert pooled_scores["top1"] >= 0.9 and pooled_scores["auto_precision"] >= 0.98
    assert pooled_scores["auto_coverage"] >= 0.5 and "unmapped_in_review" in pooled_scores
    tenant = find_tenant(rt, "eval")
    with rt.db.tenant(tenant.id) as session:
        run = session.scalar(select(EvalRun).where(EvalRun.id == report["eval_run"]))
    assert run.matcher == "offline" and run.model == embedder_label(get_embedder()) and run.gold_files == golds
    assert run.scores["pooled"] == pooled_scores
    table = CliRunner().invoke(app, ["eval", golds[0], "--tenant", "eval"], env=env)
    assert table.exit_code == 0 and "POOLED" in table.output


def test_aos_eval_names_a_gold_file_that_lacks_its_schemas(tmp_path, database_url, redis_url, namespace):
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "AOS_REDIS_NAMESPACE": namespace,
           "AOS_DATA_DIR": str(tmp_path), "AOS_SECRET_KEY": TEST_SECRET_KEY}
    gold = tmp_path / "x.gold.json"
    gold.write_text(json.dumps({"pairs": []}))
    result = CliRunner().invoke(app, ["eval", str(gold)], env=env)
    assert result.exit_code == 2 and "'source' schema file name" in result.output
