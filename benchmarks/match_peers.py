"""Our matcher beside the `valentine` package's offline matchers, on both shared benchmark sets.

usage: python benchmarks/match_peers.py [--json] [--sets-dir DIR] [--sets SET,...] [--only NAME,...]

Each matcher sees the same schema files (FORMAT.md) and is scored by the same code as
`aos eval` (which agrees with the shared score.py), pooled over a set's gold files:

* ``autonomos``: `aos match`'s code path (`match_schemas`), as benchmarks/match_quality.py runs it.
* ``coma`` and ``coma_instances``: valentine 1.0.1's Coma on names only, and on names plus the
  schema files' samples as column values.
* ``similarity_flooding``: valentine 1.0.1's SimilarityFlooding.

Valentine matches one table against one table, so every source table is matched against every
target table and each source field's candidates are pooled by score, best first. Valentine has
no decision tier: its analogue here is ``auto`` when the first candidate scores at least
``PEER_AUTO`` (0.5) and ``review`` otherwise, so its auto precision and coverage read as "what a
plain threshold on its score would have applied". Cupid is not run: it downloads NLTK corpora at
run time. Coma needs NLTK's English stop words for its TF-IDF too, which cannot be downloaded
here either: it is given scikit-learn's English stop-word list instead (said in the output).
Seconds are wall time of the matching alone (files read, scoring excluded), on the same machine
in the same run. With --json the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

from match_quality import DEFAULT_SETS_DIR, KEYS

from autonomos.dcl.matching import match_schemas
from autonomos.dcl.matching.embedders import DEFAULT_EMBEDDER
from autonomos.dcl.matching.evaluation import pooled, score
from autonomos.dcl.matching.schema_files import load_json

PEER_AUTO = 0.5
TOP_K = 5
SETS = ("crm-dev", "mimic-omop")
Matcher = Callable[[dict, dict], dict]


def _frame(table: dict):
    """A table as a DataFrame: one column per field, its samples as values (padded with None)."""
    import pandas as pd

    columns = {f["name"]: [None if isinstance(s, (dict, list)) else s for s in (f.get("samples") or [])]
               for f in table["fields"]}
    rows = max([len(v) for v in columns.values()] + [1])
    return pd.DataFrame({name: (values + [None] * rows)[:rows] for name, values in columns.items()}, dtype=object)


def _stop_words_for_coma() -> str:
    """Coma's TF-IDF wants NLTK's English stop words, which only a download provides; use
    scikit-learn's list when NLTK's is missing, and say which list ran."""
    import valentine.algorithms.coma.similarity.tfidf as tfidf
    from nltk.corpus import stopwords

    try:
        stopwords.words("english")
        return "nltk"
    except LookupError:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        tfidf._english_stopwords = lambda: frozenset(ENGLISH_STOP_WORDS)
        return "scikit-learn (NLTK's list cannot be downloaded here)"


def valentine_matcher(make: Callable[[], Any]) -> Matcher:
    """A FORMAT.md matcher from a valentine matcher: every source table against every target table."""
    from valentine import valentine_match

    def run(source: dict, target: dict) -> dict:
        targets = [(t["name"], _frame(t)) for t in target["tables"]]
        mappings = []
        for table in source["tables"]:
            frame = _frame(table)
            found: dict[str, list[tuple[float, str, str]]] = {f["name"]: [] for f in table["fields"]}
            for target_name, target_frame in targets:
                results = valentine_match([frame, target_frame], make(), ["source", "target"])
                for pair, value in results.items():
                    if pair.source_table == "source" and pair.source_column in found:
                        found[pair.source_column].append((float(value), target_name, pair.target_column))
            for field, candidates in found.items():
                best = sorted(candidates, key=lambda c: (-c[0], c[1], c[2]))[:TOP_K]
                mappings.append({"source_table": table["name"], "source_field": field,
                                 "candidates": [{"target_table": t, "target_field": f, "score": round(s, 4)}
                                                for s, t, f in best],
                                 "decision": "auto" if best and best[0][0] >= PEER_AUTO else "review"})
        return {"mappings": mappings}

    return run


def ours(embedder: str) -> Matcher:
    return lambda source, target: match_schemas(source, target, top_k=TOP_K, embedder=embedder)


def run_set(directory: Path, matcher: Matcher) -> dict[str, Any]:
    """Every gold file of one set against its target, pooled by counts, plus matching seconds."""
    target = load_json(directory / "target.schema.json")
    results, seconds = [], 0.0
    for gold_path in sorted(directory.glob("*.gold.json")):
        source = load_json(gold_path.with_name(gold_path.name.replace(".gold.json", ".schema.json")))
        started = time.perf_counter()
        output = matcher(source, target)
        seconds += time.perf_counter() - started
        results.append(score(load_json(gold_path), output))
    result = pooled(results)
    result["auto_count"] = sum(r["auto_decisions"] for r in results)
    return {**{key: result[key] for key in KEYS}, "seconds": round(seconds, 2)}


def matchers(embedder: str) -> tuple[dict[str, Matcher], dict[str, str]]:
    """Every matcher that can run here, and notes on those that run differently or not at all."""
    found: dict[str, Matcher] = {"autonomos": ours(embedder)}
    notes = {"cupid": "not run: downloads NLTK corpora at run time, which this machine cannot"}
    try:
        from valentine.algorithms import Coma, SimilarityFlooding
    except ImportError as error:
        notes["valentine"] = f"not installed ({error}); pip install -e '.[bench]'"
        return found, notes
    notes["coma"] = f"stop words: {_stop_words_for_coma()}"
    found["coma"] = valentine_matcher(lambda: Coma(use_instances=False))
    found["coma_instances"] = valentine_matcher(lambda: Coma(use_instances=True))
    found["similarity_flooding"] = valentine_matcher(SimilarityFlooding)
    return found, notes


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--embedder", default=DEFAULT_EMBEDDER)
    parser.add_argument("--sets-dir", type=Path, default=DEFAULT_SETS_DIR)
    parser.add_argument("--only", default="", help="comma-separated matcher names to run (default: all)")
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated sets to run (default: both)")
    args = parser.parse_args(argv)
    out = sys.stderr if args.json else sys.stdout
    found, notes = matchers(args.embedder)
    chosen = [n for n in found if not args.only or n in args.only.split(",")]
    report: dict[str, Any] = {"sets": {}, "notes": notes, "peer_auto_threshold": PEER_AUTO}
    for name in args.sets.split(","):
        report["sets"][name] = {}
        for matcher in chosen:
            result = run_set(args.sets_dir / name, found[matcher])
            report["sets"][name][matcher] = result
            print(f"{name:>10} {matcher:>20}: " + ", ".join(f"{k} {v}" for k, v in result.items()), file=out, flush=True)
    for key, note in notes.items():
        print(f"note: {key}: {note}", file=out)
    if args.json:
        print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
