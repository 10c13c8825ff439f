"""Fit the matcher's score calibration on the CRM dev set and write knowledge/calibration.json.

usage: python benchmarks/fit_calibration.py [--dev-dir DIR]

Every source field of the dev set contributes its first candidate's score and whether that
candidate is right (unmapped fields: never right). Only the dev set is used.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from autonomos.dcl.matching import Thresholds, match_schemas
from autonomos.dcl.matching.probability import fit_isotonic
from autonomos.dcl.matching.schema_files import load_json

OUT = Path(__file__).resolve().parents[1] / "src" / "autonomos" / "dcl" / "matching" / "knowledge" / "calibration.json"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev-dir", type=Path, default=Path("/work/shared/benchmarks/crm-dev"))
    args = parser.parse_args(argv)
    target = load_json(args.dev_dir / "target.schema.json")
    scores: list[float] = []
    correct: list[bool] = []
    eligible_scores: list[float] = []
    eligible_correct: list[bool] = []
    for gold_path in sorted(args.dev_dir.glob("*.gold.json")):
        gold = load_json(gold_path)
        truth = {(p["source_table"].lower(), p["source_field"].lower()): (p["target_table"].lower(), p["target_field"].lower())
                 for p in gold["pairs"]}
        # every gate but the calibrated one: what `auto` would be without it
        output = match_schemas(load_json(gold_path.with_name(gold_path.name.replace(".gold.json", ".schema.json"))), target,
                               thresholds=Thresholds(auto_lower_bound=0.0))
        for mapping in output["mappings"]:
            if not mapping["candidates"]:
                continue
            best = mapping["candidates"][0]
            key = (mapping["source_table"].lower(), mapping["source_field"].lower())
            right = truth.get(key) == (best["target_table"].lower(), best["target_field"].lower())
            scores.append(best["score"])
            correct.append(right)
            if mapping["decision"] == "auto":
                eligible_scores.append(best["score"])
                eligible_correct.append(right)
    calibration = fit_isotonic(scores, correct)
    eligible = fit_isotonic(eligible_scores, eligible_correct)
    OUT.write_text(json.dumps({
        "note": f"isotonic fit on {args.dev_dir.name} only ({len(scores)} first candidates, embedder {output['embedder']}); "
                "refit with benchmarks/fit_calibration.py when scoring changes",
        "edges": calibration.edges, "right": calibration.right, "total": calibration.total,
        "auto_note": f"the same fit over the {len(eligible_scores)} fields that pass every other auto gate; "
                     "its lower bound decides auto",
        "auto": {"edges": eligible.edges, "right": eligible.right, "total": eligible.total},
    }, indent=1) + "\n")
    print(f"{len(calibration.edges)} blocks from {len(scores)} fields -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
