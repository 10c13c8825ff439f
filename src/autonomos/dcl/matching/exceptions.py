"""Matching errors.

    AutonomosError
    ├── MatchingError                a matcher input is malformed (terminal)
    │   ├── SchemaFormatError        a source schema file (also a ValueError)
    │   └── KnowledgeError           the vocabulary file is inconsistent (also a ValueError)
    ├── ConfigurationError
    │   └── EmbedderError            unknown embedder name, or its packaged model is not installed
    └── EngineError
        └── RerankerError            the reranker's API refused or answered nonsense (cause chained)
            └── RerankerUnavailable  it could not be reached, or kept answering 429/5xx (transient)
"""

from __future__ import annotations

from autonomos.errors import AutonomosError, ConfigurationError, EngineError


class MatchingError(AutonomosError):
    """Base of the matcher's own errors about its inputs."""


class SchemaFormatError(MatchingError, ValueError):
    """A source schema file is not the expected JSON shape."""


class KnowledgeError(MatchingError, ValueError):
    """The knowledge file is inconsistent (e.g. one phrase in two concept groups)."""


class EmbedderError(ConfigurationError):
    """Raised when an embedder is unknown or its packaged model files are missing; never downloads instead."""


class RerankerError(EngineError):
    """Raised by the LLM reranker for a failed call; the proposal it was reranking stays as it was."""


class RerankerUnavailable(RerankerError):
    """Raised when the reranker's API cannot be reached or stays overloaded after retries."""

    transient = True
