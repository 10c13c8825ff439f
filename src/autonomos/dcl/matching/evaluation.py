"""Scoring the matcher against gold files, exactly as benchmarks FORMAT.md defines it.

The four scores (top-1, recall@3, auto precision, auto coverage) plus the load on people
(unmapped fields sent to review), per file and pooled over files by counts, not by averaging
rates. ``aos eval``, ``benchmarks/match_dev.py`` and the memory tests all score through here;
a test checks it agrees with the shared ``score.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autonomos.dcl.matching.schema_files import SchemaFormatError, load_json

SCORE_DIGITS = 4


def _key(table: str, field: str) -> tuple[str, str]:
    return table.strip().lower(), field.strip().lower()


def score(gold: dict[str, Any], output: dict[str, Any]) -> dict[str, Any]:
    """Scores of one matcher output against one gold document, with the counts behind them."""
    truth = {_key(p["source_table"], p["source_field"]): _key(p["target_table"], p["target_field"])
             for p in gold["pairs"]}
    unmapped = {_key(u["source_table"], u["source_field"]) for u in gold.get("unmapped", [])}
    got = {_key(m["source_table"], m["source_field"]):
           ([_key(c["target_table"], c["target_field"]) for c in m.get("candidates", [])], m.get("decision", "review"))
           for m in output.get("mappings", [])}
    top1 = at3 = auto_right = auto_all = missing = 0
    for source, target in truth.items():
        if source not in got:
            missing += 1
            continue
        candidates, decision = got[source]
        top1 += candidates[:1] == [target]
        auto_right += candidates[:1] == [target] and decision == "auto"
        at3 += target in candidates[:3]
        auto_all += decision == "auto"
    auto_all += sum(1 for source in unmapped if source in got and got[source][1] == "auto")
    in_review = sum(1 for source in unmapped if source in got and got[source][1] == "review")
    n = len(truth) or 1
    return {
        "pairs": len(truth), "unmapped_fields": len(unmapped), "missing_from_output": missing,
        "top1": round(top1 / n, SCORE_DIGITS), "recall_at_3": round(at3 / n, SCORE_DIGITS),
        "auto_precision": round(auto_right / auto_all, SCORE_DIGITS) if auto_all else None,
        "auto_coverage": round(auto_right / n, SCORE_DIGITS),
        "unmapped_in_review": in_review, "auto_decisions": auto_all, "auto_correct": auto_right,
        "top1_correct": top1, "recall_at_3_correct": at3, "fields": len(got),
    }


def pooled(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Scores over several files from their summed counts."""
    pairs = sum(r["pairs"] for r in results)
    auto_all = sum(r["auto_decisions"] for r in results)
    auto_right = sum(r["auto_correct"] for r in results)
    n = pairs or 1
    return {
        "pairs": pairs, "unmapped_fields": sum(r["unmapped_fields"] for r in results),
        "top1": round(sum(r["top1_correct"] for r in results) / n, SCORE_DIGITS),
        "recall_at_3": round(sum(r["recall_at_3_correct"] for r in results) / n, SCORE_DIGITS),
        "auto_precision": round(auto_right / auto_all, SCORE_DIGITS) if auto_all else None,
        "auto_coverage": round(auto_right / n, SCORE_DIGITS),
        "unmapped_in_review": sum(r["unmapped_in_review"] for r in results),
        "auto_decisions": auto_all, "auto_correct": auto_right, "fields": sum(r["fields"] for r in results),
    }


@dataclass(frozen=True)
class GoldCase:
    """A gold file with the source and target schemas it names (paths relative to its folder)."""

    path: Path
    gold: dict[str, Any]
    source: dict[str, Any]
    target: dict[str, Any]


def load_gold(path: Path | str) -> GoldCase:
    """Read a gold file and the two schema files it names."""
    path = Path(path)
    gold = load_json(path)
    for key in ("source", "target"):
        if not isinstance(gold.get(key), str):
            raise SchemaFormatError(f"{path}: gold file needs a '{key}' schema file name")
    if not isinstance(gold.get("pairs"), list):
        raise SchemaFormatError(f"{path}: gold file needs a 'pairs' list")
    return GoldCase(path, gold, load_json(path.parent / gold["source"]), load_json(path.parent / gold["target"]))
