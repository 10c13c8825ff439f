"""all-MiniLM-L6-v2 with its linear layers in bfloat16 through torch, for CPUs that do bf16 natively.

On a CPU with AMX or AVX512-BF16, oneDNN multiplies bf16 matrices (accumulating in float32) five to
six times faster than a float32 GEMM, and the linear layers are almost all of the encoder's work.
LayerNorm, softmax, the residual stream, pooling and normalisation stay in float32. The tokens of
a shard's texts are packed into one matrix (no padding) for the token-wise layers, so each
projection is one large GEMM; only attention, which mixes tokens of one text, runs per run of texts
of the same length (no padding, no mask). Imported only when this embedder is built: torch never
loads for other commands.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from autonomos.dcl.matching.minilm import WORKERS, NumpyMiniLM


def native_bf16() -> bool:
    """True when the CPU multiplies bf16 in hardware (AMX tiles or AVX512-BF16); otherwise bf16
    would be emulated and slower than the float32 pass."""
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    try:
        return any(bool(getattr(torch.cpu, name)()) for name in checks if hasattr(torch.cpu, name))
    except (RuntimeError, AttributeError):  # a torch build without the capability probes
        return False


class Bf16MiniLM(NumpyMiniLM):
    """Same weights, tokenizer and pooling as NumpyMiniLM; the projections run in bf16."""

    precision = "bf16"  # same model and vector space as the float32 pass

    def __init__(self, folder: Path | None = None) -> None:
        super().__init__(folder)
        torch.set_num_threads(1)  # parallel by shards on our own threads (see embed); torch is ours alone here
        w = self._w
        self._t: dict[str, torch.Tensor] = {}
        for layer in range(self._layers):
            p = f"encoder.layer.{layer}."
            parts = [p + f"attention.self.{name}" for name in ("query", "key", "value")]
            # query, key and value in one GEMM; weights as torch wants them (out x in)
            self._linear(p + "qkv", np.concatenate([w[n + ".weight"] for n in parts], axis=1),
                         np.concatenate([w[n + ".bias"] for n in parts]))
            for name in ("attention.output.dense", "intermediate.dense", "output.dense"):
                self._linear(p + name, w[p + name + ".weight"], w[p + name + ".bias"])
            for name in ("attention.output.LayerNorm", "output.LayerNorm"):
                self._t[p + name + ".weight"] = torch.from_numpy(w[p + name + ".weight"])
                self._t[p + name + ".bias"] = torch.from_numpy(w[p + name + ".bias"])
        self._w = {key: value for key, value in w.items() if key.startswith("embeddings.")}  # the rest lives in _t

    def _linear(self, name: str, weight_in_out: np.ndarray, bias: np.ndarray) -> None:
        self._t[name + ".weight"] = torch.from_numpy(np.ascontiguousarray(weight_in_out.T)).to(torch.bfloat16)
        self._t[name + ".bias"] = torch.from_numpy(np.ascontiguousarray(bias)).to(torch.bfloat16)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one per text, float32 out. Texts sorted by length are dealt round-robin to
        one shard per core; each shard runs on its own thread with torch on one thread, so no
        thread waits at another's barrier when the machine is busy (measured under load: 40% less
        CPU than torch's two-thread GEMMs). A shard's vectors depend only on the shard."""
        size = self._w["embeddings.word_embeddings.weight"].shape[1]
        out = np.zeros((len(texts), size), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([text or "" for text in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        shards = [order[k::WORKERS] for k in range(min(WORKERS, len(order)))]

        def run(rows: list[int]) -> np.ndarray:
            tokens = [encodings[i].ids for i in rows]
            lengths = np.array([len(ids) for ids in tokens], dtype=np.int64)
            with torch.inference_mode():
                return self._forward_packed(np.concatenate([np.asarray(ids, dtype=np.int64) for ids in tokens]),
                                            np.concatenate([np.arange(n, dtype=np.int64) for n in lengths]), lengths)

        if len(shards) > 1:
            with ThreadPoolExecutor(len(shards), thread_name_prefix="minilm-bf16") as pool:
                pooled = list(pool.map(run, shards))
        else:
            pooled = [run(shards[0])]
        for rows, vectors in zip(shards, pooled):
            out[rows] = vectors
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms == 0.0, 1.0, norms)).astype(np.float32)

    def _forward_packed(self, ids: np.ndarray, positions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Encoder over all tokens packed row after row (texts in length order); mean per text."""
        w = self._w
        h = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][positions]
             + w["embeddings.token_type_embeddings.weight"][0][None])
        h = torch.from_numpy(self._norm(h, "embeddings.LayerNorm"))
        groups = _same_length_groups(lengths)
        for layer in range(self._layers):
            p = f"encoder.layer.{layer}."
            qkv = self._project(h, p + "qkv")
            context = torch.empty((len(h), h.shape[1]), dtype=qkv.dtype)
            for rows, width in groups:
                self._attend(qkv[rows], width, context[rows])
            h = self._add_norm(self._project(context, p + "attention.output.dense"), h, p + "attention.output.LayerNorm")
            middle = F.gelu(self._project(h, p + "intermediate.dense"))
            h = self._add_norm(self._project(middle, p + "output.dense"), h, p + "output.LayerNorm")
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        summed = np.add.reduceat(h.numpy(), starts, axis=0)
        return summed / np.maximum(lengths, 1)[:, None].astype(np.float32)

    def _project(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """bf16 GEMM (float32 accumulation inside oneDNN), bf16 out."""
        return F.linear(x.to(torch.bfloat16), self._t[name + ".weight"], self._t[name + ".bias"])

    def _add_norm(self, x: torch.Tensor, residual: torch.Tensor, name: str) -> torch.Tensor:
        """Residual sum and LayerNorm in float32."""
        summed = x.float()
        summed += residual
        return F.layer_norm(summed, summed.shape[-1:], self._t[name + ".weight"], self._t[name + ".bias"], self._eps)

    def _attend(self, qkv: torch.Tensor, width: int, out: torch.Tensor) -> None:
        """Attention over texts of one length (no padding, no mask), written to their packed rows.
        Scores, softmax and sums run in float32 inside the kernel; its inputs are the bf16 projections."""
        batch = qkv.shape[0] // width
        size = qkv.shape[-1] // 3
        heads = qkv.view(batch, width, 3, self._heads, size // self._heads).permute(2, 0, 3, 1, 4)
        context = F.scaled_dot_product_attention(heads[0], heads[1], heads[2])
        out.view(batch, width, self._heads, size // self._heads).copy_(context.transpose(1, 2))


def _same_length_groups(lengths: np.ndarray) -> list[tuple[slice, int]]:
    """Packed rows of each run of texts with the same token count (texts come sorted by length)."""
    out = []
    start = 0
    for width, count in zip(*np.unique(lengths, return_counts=True)):
        rows = int(width) * int(count)
        out.append((slice(start, start + rows), int(width)))
        start += rows
    return out
