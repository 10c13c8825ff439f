"""Score the offline matcher on the shared dev set (and the held-out synthetic case).

usage: python benchmarks/match_dev.py [--json] [--dev-dir DIR] [--embedder NAME]

Prints top-1, recall@3, auto precision and auto coverage per source file and pooled,
how many unmapped fields land in review (people's load), and fields matched per second.
Scores use the shared score.py so numbers agree with the official scorer.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from autonomos.dcl.matching import MatcherConfig, propose, render
from autonomos.dcl.matching.schema_files import load_json

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DEV_DIR = Path("/work/shared/benchmarks/crm-dev")
HELD_OUT_DIR = ROOT / "tests" / "dcl" / "matching" / "cases"


def load_scorer(path: Path) -> ModuleType:
    """Import the shared score.py without copying its logic."""
    spec = importlib.util.spec_from_file_location("shared_score", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def unmapped_in_review(gold: dict[str, Any], output: dict[str, Any]) -> int:
    """Unmapped fields sent to a person: fewer is better (reject is right for them)."""
    unmapped = {(u["source_table"].lower(), u["source_field"].lower()) for u in gold.get("unmapped", [])}
    return sum(
        1
        for m in output["mappings"]
        if (m["source_table"].lower(), m["source_field"].lower()) in unmapped and m["decision"] == "review"
    )


def run_case(scorer: ModuleType, source: Path, target: Path, gold: Path, config: MatcherConfig) -> dict[str, Any]:
    """Match one source against its target and score it."""
    source_doc, target_doc, gold_doc = load_json(source), load_json(target), load_json(gold)
    started = time.perf_counter()
    output = render(propose(source_doc, target_doc, config=config))
    elapsed = time.perf_counter() - started
    result = scorer.score(gold_doc, output)
    auto_total = sum(1 for m in output["mappings"] if m["decision"] == "auto")
    result.update(
        unmapped_in_review=unmapped_in_review(gold_doc, output),
        auto_decisions=auto_total,
        auto_correct=round(result["auto_coverage"] * result["pairs"]),
        fields=len(output["mappings"]),
        seconds=round(elapsed, 3),
    )
    return result


def pooled(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Pool per-file counts (not averages of rates)."""
    pairs = sum(r["pairs"] for r in results)
    auto_correct = sum(r["auto_correct"] for r in results)
    auto_total = sum(r["auto_decisions"] for r in results)
    return {
        "pairs": pairs,
        "unmapped_fields": sum(r["unmapped_fields"] for r in results),
        "top1": round(sum(r["top1"] * r["pairs"] for r in results) / pairs, 4),
        "recall_at_3": round(sum(r["recall_at_3"] * r["pairs"] for r in results) / pairs, 4),
        "auto_precision": round(auto_correct / auto_total, 4) if auto_total else None,
        "auto_coverage": round(auto_correct / pairs, 4),
        "unmapped_in_review": sum(r["unmapped_in_review"] for r in results),
        "fields_per_second": round(sum(r["fields"] for r in results) / sum(r["seconds"] for r in results), 1),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--dev-dir", type=Path, default=DEFAULT_DEV_DIR)
    parser.add_argument("--embedder", default=MatcherConfig().embedder)
    args = parser.parse_args(argv)
    scorer = load_scorer(args.dev_dir.parent / "score.py")
    config = MatcherConfig(embedder=args.embedder)
    target = args.dev_dir / "target.schema.json"
    dev = {
        gold.name.removesuffix(".gold.json"): run_case(
            scorer, args.dev_dir / gold.name.replace(".gold.json", ".schema.json"), target, gold, config
        )
        for gold in sorted(args.dev_dir.glob("*.gold.json"))
    }
    held_out = run_case(
        scorer,
        HELD_OUT_DIR / "pipedrive_like.schema.json",
        HELD_OUT_DIR / "reworded_target.schema.json",
        HELD_OUT_DIR / "pipedrive_like.gold.json",
        config,
    )
    report = {"embedder": args.embedder, "dev": dev, "pooled": pooled(list(dev.values())), "held_out": held_out}
    if args.json:
        print(json.dumps(report))
        return 0
    for name, result in (*dev.items(), ("POOLED", report["pooled"]), ("held-out (synthetic)", held_out)):
        print(f"{name}:")
        for key in ("top1", "recall_at_3", "auto_precision", "auto_coverage", "unmapped_in_review", "fields_per_second"):
            if key in result:
                print(f"  {key}: {result[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
