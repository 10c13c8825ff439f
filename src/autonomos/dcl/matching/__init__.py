"""Stateless offline field matcher: propose mappings from a source schema to a canonical target.

`match_schemas` returns the benchmark JSON shape; `propose` returns FieldProposal objects
that keep the per-signal evidence behind every candidate.
"""

from autonomos.dcl.matching.calibration import Thresholds
from autonomos.dcl.matching.embedders import DEFAULT_EMBEDDER, Embedder, HashedNgramEmbedder, get_embedder
from autonomos.dcl.matching.matcher import MatcherConfig, match_schemas, propose, render
from autonomos.dcl.matching.memory import MemoryWeights, Recollection
from autonomos.dcl.matching.schema_files import SchemaFormatError, load_json
from autonomos.dcl.matching.scoring import SignalWeights
from autonomos.dcl.matching.typing import Candidate, DecisionTier, FieldProposal, SourceField, TargetField

__all__ = [
    "DEFAULT_EMBEDDER",
    "Candidate",
    "DecisionTier",
    "Embedder",
    "FieldProposal",
    "HashedNgramEmbedder",
    "MatcherConfig",
    "MemoryWeights",
    "Recollection",
    "SchemaFormatError",
    "SignalWeights",
    "SourceField",
    "TargetField",
    "Thresholds",
    "get_embedder",
    "load_json",
    "match_schemas",
    "propose",
    "render",
]
