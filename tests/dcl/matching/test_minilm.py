"""The numpy MiniLM pass: the in-place GELU is the exact-erf GELU, and threads never change a vector."""

from __future__ import annotations

import math

import numpy as np

from autonomos.dcl.matching import minilm
from autonomos.dcl.matching.embedders import get_embedder


def test_gelu_is_the_erf_gelu() -> None:
    x = np.linspace(-6.0, 6.0, 3000, dtype=np.float32).reshape(300, 10)
    expected = np.array([0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))) for v in x.ravel().astype(np.float64)])
    assert np.abs(minilm._gelu(x).ravel() - expected).max() < 2e-6


def test_batches_on_threads_give_the_same_bits_as_one_thread(monkeypatch) -> None:
    embedder = get_embedder("minilm")
    texts = [f"field {i} . the {'long ' * (i % 9)}description of record {i}" for i in range(150)]
    monkeypatch.setattr(minilm, "WORKERS", 1)
    alone = embedder.embed(texts)
    monkeypatch.setattr(minilm, "WORKERS", 2)
    assert np.array_equal(embedder.embed(texts), alone)
