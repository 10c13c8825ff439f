"""The bf16 MiniLM pass: close to the float32 vectors, chosen only where the CPU does bf16, torch loaded only then."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from autonomos.config import Settings
from autonomos.dcl.matching.embedders import BF16_FLAGS, cpu_flags, embedder_label, get_embedder, minilm_precision

TEXTS = [
    "customer email . The email address of the customer.",
    "close date . Date the deal was closed.",
    "amount . Total value of the opportunity in the account currency.",
    "owner id . User who owns the record.",
    "billing postal code . Postal or ZIP code of the billing address.",
    "status",
    "",
]


def test_bf16_vectors_are_close_to_float32_vectors() -> None:
    fp32, bf16 = get_embedder("minilm-fp32"), get_embedder("minilm-bf16")
    a, b = fp32.embed(TEXTS), bf16.embed(TEXTS)
    assert b.dtype == np.float32 and b.shape == a.shape
    cosines = (a[:-1] * b[:-1]).sum(axis=1)
    assert cosines.min() > 0.99
    assert not b[-1].any() or abs(np.linalg.norm(b[-1]) - 1.0) < 1e-5
    # the pairwise similarities the matcher ranks by keep their order
    assert np.argsort(a[:5] @ a[:5].T, axis=1)[:, -2].tolist() == np.argsort(b[:5] @ b[:5].T, axis=1)[:, -2].tolist()


def test_bf16_vectors_do_not_depend_on_threads_or_repeats() -> None:
    bf16 = get_embedder("minilm-bf16")
    texts = [f"field {i} . the {'long ' * (i % 9)}description of record {i}" for i in range(150)]
    assert np.array_equal(bf16.embed(texts), bf16.embed(texts))


def test_both_precisions_share_the_vector_space_but_not_the_label() -> None:
    fp32, bf16 = get_embedder("minilm-fp32"), get_embedder("minilm-bf16")
    assert fp32.model == bf16.model == "all-MiniLM-L6-v2"  # stored vectors stay findable
    assert embedder_label(fp32) == "all-MiniLM-L6-v2" and embedder_label(bf16) == "all-MiniLM-L6-v2-bf16"


@pytest.mark.parametrize(("setting", "native", "chosen"), [
    ("auto", True, "bf16"), ("auto", False, "fp32"), ("fp32", True, "fp32"), ("bf16", False, "bf16"),
])
def test_precision_follows_the_cpu_unless_the_setting_says_otherwise(setting: str, native: bool, chosen: str) -> None:
    assert minilm_precision(setting, lambda: native) == chosen


def test_fp32_setting_never_asks_the_cpu() -> None:
    def asked() -> bool:
        raise AssertionError("the CPU probe (a torch import) ran under fp32")

    assert minilm_precision("fp32", asked) == "fp32"


def test_cpu_flags_are_read_from_cpuinfo() -> None:
    amd = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx fma avx2 sha_ni\n\nprocessor\t: 1\n"
    intel = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
    assert cpu_flags(amd) == frozenset({"fpu", "sse2", "avx", "fma", "avx2", "sha_ni"})
    assert not cpu_flags(amd) & BF16_FLAGS and cpu_flags(intel) & BF16_FLAGS
    assert cpu_flags("Processor\t: ARMv8\n") is None  # no flags line: torch is asked


def test_the_setting_is_read_from_its_variable() -> None:
    assert Settings.from_mapping({}).embedder_precision == "auto"
    assert Settings.from_mapping({"AOS_EMBEDDER_PRECISION": "fp32"}).embedder_precision == "fp32"


def _run(code: str, **env: str) -> dict:
    import os

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={**os.environ, **env})
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_torch_loads_only_for_the_bf16_pass() -> None:
    code = ("import json, sys; import autonomos.cli.app, autonomos.dcl.matching; "
            "from autonomos.dcl.matching.embedders import embedder_label, get_embedder; "
            "before = 'torch' in sys.modules; label = embedder_label(get_embedder('minilm')); "
            "print(json.dumps({'before': before, 'after': 'torch' in sys.modules, 'label': label}))")
    forced = _run(code, AOS_EMBEDDER_PRECISION="fp32")
    assert forced == {"before": False, "after": False, "label": "all-MiniLM-L6-v2"}
    bf16 = _run(code, AOS_EMBEDDER_PRECISION="bf16")
    assert bf16 == {"before": False, "after": True, "label": "all-MiniLM-L6-v2-bf16"}
    auto = _run(code, AOS_EMBEDDER_PRECISION="auto")  # torch only where this CPU's pass is bf16
    assert auto["before"] is False and auto["after"] == (auto["label"] == "all-MiniLM-L6-v2-bf16")
