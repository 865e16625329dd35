"""The packed xnor-popcount product and the fused binary layer on the CPU, compiled with numba.

Why numba: it is LLVM behind a Python decorator, with wheels for every platform torch runs on
(x86-64, ARM), so the kernel is compiled on the user's machine *for that machine's CPU* (AVX-512
VPOPCNTDQ, AVX2, NEON or plain x86-64) with no build step, and ``cache=True`` keeps the compiled
code between processes (numba writes it to ``__pycache__`` beside the source, or to its per-user
cache directory when that is read-only; ``NUMBA_CACHE_DIR`` overrides both). torch has no popcount
operator (:mod:`bnnrepro.kernels.reference` has to count bits with shifts and masks); a C++
extension would need a compiler on the user's machine.

Layout: 64 values per ``uint64`` word, bit ``k % 64`` of word ``k // 64`` set for a -1 value.
On a little-endian machine this is exactly the int32 layout of :func:`~bnnrepro.kernels.pack_bits`
viewed two words at a time (with one zero int32 word appended to odd rows), so the two layouts
convert without moving bits (:func:`words64`).

Code paths: one source, compiled by LLVM for the host; :func:`cpu_path` names the popcount
instruction the host gets (``avx512-vpopcntq``, ``avx2-vpshufb``, ``neon-cnt``, ``scalar-popcnt``
or ``generic-swar``) from the CPU features LLVM reports, and the benchmark records it. To compile
for the x86-64 baseline instead (the path of CPUs without AVX2 or POPCNT: a shift-and-mask count),
set ``NUMBA_CPU_NAME=generic`` before the first use (the tests do, in a subprocess).

Threads: the products use ``torch.get_num_threads()`` threads (numba's ``prange`` over blocks of 64
weight rows), capped at numba's pool size; products of fewer than :data:`PARALLEL_MIN_OPS`
binary operations run on one thread (starting the pool costs more than they take).
"""

from __future__ import annotations

import functools
import platform
import sys
from types import ModuleType
from typing import Any

import numpy as np
import torch

#: Values per word of the CPU layout.
WORD_BITS = 64
#: Smallest product (2 * M * N * K binary operations) worth waking the thread pool for.
PARALLEL_MIN_OPS = 1 << 23


@functools.cache
def _jit() -> ModuleType:
    from bnnrepro.kernels import _cpu_jit

    return _cpu_jit


@functools.cache
def _pool_size() -> int:
    return int(_numba_option("NUMBA_NUM_THREADS"))


def _numba_option(name: str) -> Any:
    """A value of :mod:`numba.core.config` (set from the environment when numba loads, so not
    declared in the module for a type checker)."""
    from numba.core import config

    return getattr(config, name)


@functools.cache
def cpu_features() -> tuple[str, ...]:
    """The CPU features LLVM compiles for (numba's host target), the popcount-relevant ones."""
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features()
    wanted = ("avx512vpopcntdq", "avx512bw", "avx512f", "avx2", "ssse3", "popcnt", "neon", "sve")
    return tuple(name for name in wanted if features.get(name, False))


def cpu_name() -> str:
    """The CPU model LLVM targets (``NUMBA_CPU_NAME`` when set, else the host's)."""
    configured = _numba_option("CPU_NAME")
    if configured:
        return str(configured)
    import llvmlite.binding as llvm

    return llvm.get_host_cpu_name()


def cpu_path() -> str:
    """The popcount path LLVM takes on this CPU (see the module docstring)."""
    if _numba_option("CPU_NAME") == "generic":
        return "generic-swar"
    features = set(cpu_features())
    machine = platform.machine().lower()
    if "avx512vpopcntdq" in features:
        return "avx512-vpopcntq"
    if "avx2" in features:
        return "avx2-vpshufb"
    if "neon" in features or machine in ("arm64", "aarch64"):
        return "neon-cnt"
    if "popcnt" in features:
        return "scalar-popcnt"
    return "generic-swar"


def threads() -> int:
    """Threads the parallel kernels use: torch's setting, capped at numba's pool."""
    return max(1, min(torch.get_num_threads(), _pool_size()))


def _parallel(ops: int) -> bool:
    count = threads()
    if count < 2 or ops < PARALLEL_MIN_OPS:
        return False
    import numba

    numba.set_num_threads(count)
    return True


def words64(k: int) -> int:
    """Words of the CPU layout for ``k`` values: ``ceil(k / 64)``."""
    return -(-k // WORD_BITS)


def words64_from_int32(bits: torch.Tensor) -> np.ndarray:
    """The CPU layout (``uint64 [R, ceil(W / 2)]``) of int32 packed bits ``[R, W]`` (from
    :func:`~bnnrepro.kernels.pack_bits`): the same bits, two int32 words per uint64 word."""
    if bits.dtype != torch.int32 or bits.dim() != 2:
        raise TypeError(f"expected int32 packed bits [rows, words], not {bits.dtype} {tuple(bits.shape)}")
    if sys.byteorder != "little":  # pragma: no cover - every platform torch ships wheels for is little-endian
        raise RuntimeError("the CPU kernels assume a little-endian machine")
    bits = bits.cpu()
    if bits.shape[1] % 2:
        bits = torch.nn.functional.pad(bits, (0, 1))
    return np.ascontiguousarray(bits.numpy()).view(np.uint64)


def pack_rows(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """Pack real rows ``[M, K]`` by sign into the CPU layout ``uint64 [M, ceil(K / 64)]``
    (``x < 0`` is -1; 0, -0.0 and NaN are +1, as :func:`~bnnrepro.kernels.sign_pm1`)."""
    array = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if array.ndim != 2:
        raise ValueError(f"pack_rows takes a matrix [rows, K], not shape {array.shape}")
    if array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float32)
    array = np.ascontiguousarray(array)
    m, k = array.shape
    out = np.empty((m, words64(k)), dtype=np.uint64)
    jit = _jit()
    (jit.pack_parallel if _parallel(m * k * 8) else jit.pack_serial)(array, out)
    return out


class CpuPackedWeight:
    """A +-1 weight ``[N, K]`` in the CPU layout (``uint64 [N, ceil(K / 64)]``), packed once."""

    def __init__(self, weight: torch.Tensor | None = None, *, bits: np.ndarray | None = None, k: int | None = None):
        if bits is not None:
            if k is None or bits.dtype != np.uint64 or bits.ndim != 2 or bits.shape[1] != words64(k):
                raise ValueError("CpuPackedWeight(bits=..., k=...) takes uint64 [N, ceil(k / 64)] bits and k")
            self.bits, self.k = np.ascontiguousarray(bits), int(k)
        else:
            if weight is None or weight.dim() != 2:
                raise ValueError("a dense weight has shape [out, in]")
            self.k = int(weight.shape[1])
            self.bits = pack_rows(weight.float())
        self.out_features = self.bits.shape[0]


def _check(a: np.ndarray, b: np.ndarray, k: int) -> None:
    if a.dtype != np.uint64 or b.dtype != np.uint64 or a.ndim != 2 or b.ndim != 2:
        raise TypeError("the CPU kernels take uint64 matrices [rows, words]")
    if a.shape[1] != b.shape[1] or a.shape[1] != words64(k):
        raise ValueError(
            f"operands of {a.shape[1]} and {b.shape[1]} words cannot hold K = {k} values ({words64(k)} words each)"
        )


def products64(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """int32 ``[M, N]``: ``k - 2 * popcount(a[m] xor b[n])``, i.e. ``A @ B.T`` of the +-1 matrices."""
    _check(a, b, k)
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    out = np.empty((a.shape[0], b.shape[0]), dtype=np.int32)
    if a.shape[0] and b.shape[0]:
        jit = _jit()
        (jit.products_parallel if _parallel(2 * a.shape[0] * b.shape[0] * k) else jit.products_serial)(a, b, k, out)
    return out


def naive_products64(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """The same product by a plain one-thread loop (the benchmark's yardstick)."""
    _check(a, b, k)
    out = np.empty((a.shape[0], b.shape[0]), dtype=np.int32)
    _jit().naive_products(np.ascontiguousarray(a), np.ascontiguousarray(b), k, out)
    return out


def sign_layer64(a: np.ndarray, weight: CpuPackedWeight, thresholds: np.ndarray, invert: np.ndarray) -> np.ndarray:
    """The fused binary layer: packed inputs in, packed signs out (``uint64 [M, ceil(N / 64)]``).

    Unit ``n`` of row ``m`` outputs -1 (bit 1) iff ``(c >= thresholds[n]) != invert[n]`` with
    ``c = popcount(a[m] xor w[n])`` the number of mismatches (the dot product is ``K - 2c``); the
    padding bits of the last word are 0.
    """
    _check(a, weight.bits, weight.k)
    n = weight.out_features
    if thresholds.shape != (n,) or invert.shape != (n,):
        raise ValueError(f"thresholds and invert need one entry per unit ({n})")
    a = np.ascontiguousarray(a)
    out = np.empty((a.shape[0], words64(n)), dtype=np.uint64)
    jit = _jit()
    kernel = jit.signs_parallel if _parallel(2 * a.shape[0] * n * weight.k) else jit.signs_serial
    kernel(a, weight.bits, np.ascontiguousarray(thresholds, np.int64), np.ascontiguousarray(invert, np.bool_), out)
    return out


def xnor_gemm_cpu(a: torch.Tensor, b: torch.Tensor, k: int) -> torch.Tensor:
    """The dispatch signature: int32 packed ``a [M, W]``, ``b [N, W]`` (:func:`~bnnrepro.kernels.pack_bits`
    layout) -> int32 ``[M, N]`` = ``k - 2 * popcount(a[m] xor b[n])``."""
    from bnnrepro.kernels.reference import _check_packed

    _check_packed(a, b, k)
    # Padding bits are 0 in both operands: counting every word of the int32 layout is exact, and
    # for K = 32 * W the 64-bit layout holds the same bits.
    words = a.shape[1]
    out = products64(words64_from_int32(a), words64_from_int32(b), 64 * words64(32 * words))
    return torch.from_numpy(out) - (64 * words64(32 * words) - k)


def linear_products(x: torch.Tensor, weight: CpuPackedWeight) -> torch.Tensor:
    """int32 ``x @ W.T`` for real ``x [M, K]`` taken by sign and a prepared +-1 weight: the
    activations are packed here (inside any timing around it), in the same compiled call as the
    product (a Python round trip between the two costs more than a 1 x 1024 x 1024 product)."""
    if x.dim() != 2 or x.shape[1] != weight.k:
        raise ValueError(f"linear_products: inputs [M, {weight.k}] expected, not {tuple(x.shape)}")
    if x.dtype not in (torch.float32, torch.float64) or x.device.type != "cpu":
        x = x.to(device="cpu", dtype=torch.float32)
    array = x.detach().contiguous().numpy()
    if array.shape[0] == 0 or weight.out_features == 0:
        return torch.zeros(array.shape[0], weight.out_features, dtype=torch.int32)
    jit = _jit()
    parallel = _parallel(2 * array.shape[0] * weight.out_features * weight.k)
    return torch.from_numpy((jit.linear_parallel if parallel else jit.linear_serial)(array, weight.bits, weight.k))


__all__ = [
    "PARALLEL_MIN_OPS",
    "WORD_BITS",
    "CpuPackedWeight",
    "cpu_features",
    "cpu_name",
    "cpu_path",
    "linear_products",
    "naive_products64",
    "pack_rows",
    "products64",
    "sign_layer64",
    "threads",
    "words64",
    "words64_from_int32",
    "xnor_gemm_cpu",
]
