"""Score the offline matcher on the shared dev set (and the held-out synthetic case).

usage: python benchmarks/match_dev.py [--json] [--dev-dir DIR] [--embedder NAME]

Prints top-1, recall@3, auto precision and auto coverage per source file and pooled,
how many unmapped fields land in review (people's load), and fields matched per second.
Scores come from autonomos.dcl.matching.evaluation (what `aos eval` uses; a test checks it
agrees with the shared score.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from autonomos.dcl.matching import MatcherConfig, propose, render
from autonomos.dcl.matching.evaluation import pooled, score
from autonomos.dcl.matching.schema_files import load_json

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DEV_DIR = Path("/work/shared/benchmarks/crm-dev")
HELD_OUT_DIR = ROOT / "tests" / "dcl" / "matching" / "cases"


def run_case(source: Path, target: Path, gold: Path, config: MatcherConfig) -> dict[str, Any]:
    """Match one source against its target and score it."""
    source_doc, target_doc, gold_doc = load_json(source), load_json(target), load_json(gold)
    started = time.perf_counter()
    output = render(propose(source_doc, target_doc, config=config))
    elapsed = time.perf_counter() - started
    return {**score(gold_doc, output), "seconds": round(elapsed, 3)}


def pooled_with_speed(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Pooled scores (from counts) plus fields matched per second."""
    return {**pooled(results),
            "fields_per_second": round(sum(r["fields"] for r in results) / sum(r["seconds"] for r in results), 1)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--dev-dir", type=Path, default=DEFAULT_DEV_DIR)
    parser.add_argument("--embedder", default=MatcherConfig().embedder)
    args = parser.parse_args(argv)
    config = MatcherConfig(embedder=args.embedder)
    target = args.dev_dir / "target.schema.json"
    dev = {
        gold.name.removesuffix(".gold.json"): run_case(
            args.dev_dir / gold.name.replace(".gold.json", ".schema.json"), target, gold, config
        )
        for gold in sorted(args.dev_dir.glob("*.gold.json"))
    }
    held_out = run_case(
        HELD_OUT_DIR / "pipedrive_like.schema.json",
        HELD_OUT_DIR / "reworded_target.schema.json",
        HELD_OUT_DIR / "pipedrive_like.gold.json",
        config,
    )
    report = {"embedder": args.embedder, "dev": dev, "pooled": pooled_with_speed(list(dev.values())), "held_out": held_out}
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
