"""Match quality on both shared sets and the speed of a 1,000 x 500 match, through `aos match`'s code path.

usage: python benchmarks/match_quality.py [--json] [--embedder NAME] [--sets-dir DIR]

Runs the CRM dev set (every source against its target, pooled by counts) and the MIMIC-III ->
OMOP set exactly as `aos match` does (`match_schemas`), scores them as the shared score.py does,
prints every score, then times one match of 1,000 generated source fields against a generated
500-field target (names, descriptions and samples from a seeded generator) after the one-time
model load, which is timed separately. With --json the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from autonomos.dcl.matching import match_schemas
from autonomos.dcl.matching.embedders import DEFAULT_EMBEDDER, embedder_label, get_embedder
from autonomos.dcl.matching.evaluation import pooled, score
from autonomos.dcl.matching.schema_files import load_json

DEFAULT_SETS_DIR = Path("/work/shared/benchmarks")
KEYS = ("top1", "recall_at_3", "auto_precision", "auto_coverage", "auto_count")


def run_set(directory: Path, embedder: str) -> dict[str, Any]:
    """Every `*.gold.json` of one set against the set's target.schema.json, pooled by counts."""
    target = load_json(directory / "target.schema.json")
    results = []
    for gold_path in sorted(directory.glob("*.gold.json")):
        source = load_json(gold_path.with_name(gold_path.name.replace(".gold.json", ".schema.json")))
        output = match_schemas(source, target, top_k=5, embedder=embedder)
        results.append(score(load_json(gold_path), output))
    result = pooled(results)
    result["auto_count"] = sum(r["auto_decisions"] for r in results)
    return result


WORDS = ("account customer order invoice item product price amount total tax discount status stage type "
         "created updated closed start end due date time owner user team region country city street postal "
         "phone email website name title description note comment reference number code key parent child "
         "quantity unit weight height length volume currency rate score rank level priority source channel "
         "campaign event visit session device browser language timezone balance payment method card bank").split()
TYPES = ("string", "integer", "number", "date", "datetime", "boolean")


def generated_schema(rng: random.Random, tables: int, fields_per_table: int, system: str) -> dict[str, Any]:
    """A schema of random but word-like fields with descriptions and samples (seeded, so repeatable)."""
    out = []
    for t in range(tables):
        fields = []
        for f in range(fields_per_table):
            words = rng.sample(WORDS, rng.randint(1, 3))
            kind = rng.choice(TYPES)
            samples: list[Any] = {
                "string": [" ".join(rng.sample(WORDS, 2)) for _ in range(3)],
                "integer": [rng.randint(1, 10_000) for _ in range(3)],
                "number": [round(rng.uniform(0, 1000), 2) for _ in range(3)],
                "date": [f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}" for _ in range(3)],
                "datetime": [f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T10:00:00Z" for _ in range(3)],
                "boolean": [True, False, True],
            }[kind]
            fields.append({
                "name": "_".join(words) + (f"_{f}" if rng.random() < 0.3 else ""),
                "type": kind,
                "description": "The " + " ".join(rng.sample(WORDS, rng.randint(4, 9))) + " of the record.",
                "samples": samples,
            })
        out.append({"name": f"{rng.choice(WORDS)}_{t}", "description": "Holds " + " ".join(rng.sample(WORDS, 5)),
                    "fields": fields})
    return {"system": system, "tables": out}


def speed(embedder: str) -> dict[str, float]:
    """Model load time, then seconds to match 1,000 generated source fields against a 500-field target."""
    started = time.perf_counter()
    get_embedder(embedder)
    load = time.perf_counter() - started
    rng = random.Random(1000)
    source = generated_schema(rng, 20, 50, "generated_source")
    target = generated_schema(rng, 20, 25, "generated_target")
    started = time.perf_counter()
    match_schemas(source, target, top_k=5, embedder=embedder)
    return {"model_load_seconds": round(load, 2), "seconds_1000_fields": round(time.perf_counter() - started, 2)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--embedder", default=DEFAULT_EMBEDDER)
    parser.add_argument("--sets-dir", type=Path, default=DEFAULT_SETS_DIR)
    parser.add_argument("--no-speed", action="store_true", help="skip the 1,000 x 500 timing")
    args = parser.parse_args(argv)
    timing = {} if args.no_speed else speed(args.embedder)
    report: dict[str, Any] = {"embedder": embedder_label(get_embedder(args.embedder))}
    for name in ("crm-dev", "mimic-omop"):
        result = run_set(args.sets_dir / name, args.embedder)
        report[name] = {key: result[key] for key in KEYS}
        print(f"{name}: " + ", ".join(f"{key} {result[key]}" for key in KEYS), file=sys.stderr if args.json else sys.stdout)
    report.update(timing)
    if timing:
        print(f"speed: model load {timing['model_load_seconds']} s, 1,000 x 500 fields {timing['seconds_1000_fields']} s",
              file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
