"""Backend selection and the exact binary products used by the layers at inference.

Backends
--------
``"float"``
    float matmul / conv of the +-1 values (exact: sums of +-1 are integers below 2**24 in float32).
``"torch"``
    the packed xnor-popcount product in plain torch (:mod:`bnnrepro.kernels.reference`); any device.
``"numba"``
    the CPU kernel compiled by numba (:mod:`bnnrepro.kernels.cpu`): 64-bit words, LLVM's popcount
    for the host CPU, register and cache blocking, ``prange`` threads; CPU tensors only.
``"triton"``
    the Triton kernels (:mod:`bnnrepro.kernels.xnor_gemm`): on CUDA tensors, or on CPU tensors when
    ``TRITON_INTERPRET=1`` was set before their first use (the interpreter: for tests only).
``"auto"`` (default)
    On CUDA: ``"triton"`` when Triton imports, else ``"float"``. On CPU: ``"numba"`` for dense
    products (faster than fp32 at every shape of the kernel benchmark, batch 1 to 512, K = N 1024
    to 8192: the table is in the README and in ``results/kernels``), ``"float"`` for convolutions
    (their packed path goes through im2col and was not measured against oneDNN's convolution).

The packed torch path (~30-40 G binary op/s on 2 cores) was slower than fp32 except at batch <= 8 on
4096 x 4096 layers; the numba kernel runs at hundreds of G binary op/s per core.

The setting is, in order: the innermost :func:`use_backend` block, else :func:`set_backend`, else the
environment variable ``BNNREPRO_XNOR_BACKEND``, else ``"auto"``.

On the ``"triton"`` backend, :func:`choose_triton_impl` picks, per product shape, the popcount
kernel (small batch, memory-bound: 1-bit weights) or the int8 ``tl.dot`` kernel (large batch,
compute-bound: int8 tensor cores out-run ``POPC``). The threshold :data:`XNOR_MAX_BATCH` comes
from the H100 throughput tables, not from a measurement (no GPU was available); rerun the
benchmark on the target GPU and adjust it.

Layers
------
Binary layers (:mod:`bnnrepro.nn.layers`) use a small public interface in eval mode: they prepare
their +-1 weights once (:class:`PackedLinearWeight`, :class:`~bnnrepro.kernels.conv.PackedConvWeight`,
cached by the layer itself), ask :func:`inference_backend` which path to take, and call
:func:`packed_linear` / :func:`packed_conv2d`. Every backend returns ``product + bias`` where
``product`` is the exact integer product of the +-1 input and weights and the bias is added
once, in the input dtype: so all backends give bit-identical outputs (``F.linear(x, w, b)``
itself may round differently, because oneDNN adds the bias before the last K-block is
accumulated). The packed backends run only when autograd is not recording; otherwise the float
path keeps the graph (same values).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from bnnrepro.errors import ConfigError
from bnnrepro.kernels.conv import (
    PackedConvWeight,
    PackedGemm,
    Pair,
    PairLike,
    _pair,
    conv_output_size,
    int8_im2col,
    xnor_conv2d_packed,
)
from bnnrepro.kernels.packing import pack_bits, sign_pm1, unpack_bits
from bnnrepro.kernels.reference import xnor_gemm_torch

if TYPE_CHECKING:  # imported where used: numba loads on first use of the CPU kernels
    from bnnrepro.kernels.cpu import CpuPackedWeight

BACKENDS = ("auto", "torch", "numba", "triton", "float")
ENV_VAR = "BNNREPRO_XNOR_BACKEND"
#: The Triton popcount kernel is chosen for products with at most this many rows (batch x pixels);
#: above it, the int8 ``tl.dot`` kernel. From throughput tables (H100), not measured.
XNOR_MAX_BATCH = 64
TRITON_IMPLS = ("xnor", "int8")

_setting: str | None = None
_scoped: contextvars.ContextVar[str | None] = contextvars.ContextVar("bnnrepro_xnor_backend", default=None)


def _validate(name: str, source: str) -> str:
    if not isinstance(name, str) or name.lower() not in BACKENDS:
        raise ConfigError(f"unknown xnor backend {name!r} (from {source}); choose one of {BACKENDS}")
    return name.lower()


def set_backend(name: str | None) -> None:
    """Set the process-wide backend (one of :data:`BACKENDS`); ``None`` falls back to the env var."""
    global _setting
    _setting = None if name is None else _validate(name, "set_backend")


def get_backend() -> str:
    """The backend name now in force (before resolving ``"auto"``); see the module docstring."""
    scoped = _scoped.get()
    if scoped is not None:
        return scoped
    if _setting is not None:
        return _setting
    env = os.environ.get(ENV_VAR)
    if env:
        return _validate(env, f"the environment variable {ENV_VAR}")
    return "auto"


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[str]:
    """``with use_backend("torch"): ...`` runs the block with that backend (nestable, per thread/task)."""
    token = _scoped.set(_validate(name, "use_backend"))
    try:
        yield name
    finally:
        _scoped.reset(token)


def triton_module() -> ModuleType | None:
    """The lazily imported :mod:`bnnrepro.kernels.xnor_gemm`, or None if Triton cannot be imported."""
    try:
        from bnnrepro.kernels import xnor_gemm
    except ImportError:
        return None
    return xnor_gemm


def _triton_kernels() -> ModuleType:
    """:func:`triton_module` for a backend already resolved to ``"triton"``."""
    module = triton_module()
    if module is None:
        raise ConfigError("backend 'triton' needs Triton, which cannot be imported here; use 'torch' or 'float'")
    return module


def triton_usable(device: torch.device | str) -> bool:
    """True if the Triton kernels can run on tensors of ``device`` in this process: CUDA with
    Triton installed, or any device when the kernels were decorated for the interpreter."""
    mod = triton_module()
    if mod is None:
        return False
    return mod.INTERPRET or (torch.device(device).type == "cuda" and torch.cuda.is_available())


def resolve_backend(
    device: torch.device | str, backend: str | None = None, *, shape: tuple[int, int, int] | None = None
) -> str:
    """The concrete backend (``"torch"``, ``"triton"`` or ``"float"``) for tensors on ``device``.

    ``backend`` overrides the current setting. ``shape = (rows, n, k)`` marks a dense product:
    ``"auto"`` picks the numba kernel for it on CPU (module docstring); without it (convolutions)
    ``"auto"`` is ``"float"`` on CPU. Raises
    :class:`~bnnrepro.errors.ConfigError` when ``"triton"`` is asked for where it cannot run,
    saying what to do instead.
    """
    name = get_backend() if backend is None else _validate(backend, "the backend argument")
    device = torch.device(device)
    if name == "auto":
        if device.type == "cuda":
            return "triton" if triton_usable(device) else "float"
        return "numba" if shape is not None and cpu_prefers_packed(*shape) else "float"
    if name == "numba" and device.type != "cpu":
        raise ConfigError(f"xnor backend 'numba' runs on CPU tensors, not {device.type}; use 'triton' or 'float'")
    if name == "triton" and not triton_usable(device):
        if device.type == "cuda":
            why = "Triton cannot be imported" if triton_module() is None else "CUDA is not available"
            raise ConfigError(f"xnor backend 'triton' cannot run: {why}; use 'torch' or 'float'")
        raise ConfigError(
            f"xnor backend 'triton' needs CUDA tensors, or the Triton interpreter for {device} tensors "
            "(set TRITON_INTERPRET=1 before the first use of the triton backend; it is slow and meant for "
            "tests); on CPU use 'float' (fastest) or 'torch'"
        )
    return name


def cpu_prefers_packed(rows: int, n: int, k: int) -> bool:
    """True if, on CPU, the packed numba product beats fp32 for a ``[rows, k] x [k, n]`` product:
    at every shape measured (module docstring), so for every non-empty product."""
    return rows > 0 and n > 0 and k > 0


def choose_triton_impl(rows: int, n: int, k: int) -> str:
    """``"xnor"`` (popcount) or ``"int8"`` (``tl.dot``) for a ``[rows, k] x [k, n]`` product on GPU."""
    return "xnor" if rows <= XNOR_MAX_BATCH else "int8"


# ----------------------------------------------------------------------------------------------
# Functional products on +-1 tensors


def _sign_pm1(x: torch.Tensor) -> torch.Tensor:
    # The packing convention: value < 0 is -1, anything else +1 (sign(0) = +1).
    return sign_pm1(x if x.is_floating_point() else x.float())


def gemm_function(backend: str) -> PackedGemm:
    """The packed product ``gemm(a [M, W], b [N, W], k) -> int32 [M, N]`` of a concrete backend."""
    if backend == "torch":
        return xnor_gemm_torch
    if backend == "numba":
        from bnnrepro.kernels.cpu import xnor_gemm_cpu

        return xnor_gemm_cpu
    if backend == "triton":
        return _triton_kernels().xnor_gemm_triton
    raise ConfigError(f"backend {backend!r} has no packed product; use 'torch', 'numba' or 'triton'")


def packed_gemm(a: torch.Tensor, b: torch.Tensor, k: int, *, backend: str | None = None) -> torch.Tensor:
    """``k - 2 * popcount(a[m] xor b[n])``: int32 ``[M, N]`` from packed ``a [M, W]``, ``b [N, W]``.

    Equals ``A @ B.T`` of the +-1 matrices that were packed (true reduction length ``k``).
    ``backend`` as in :func:`resolve_backend`; ``"float"`` unpacks and uses a float matmul.
    """
    chosen = resolve_backend(a.device, backend, shape=(a.shape[0], b.shape[0], k))
    if chosen == "float":
        from bnnrepro.kernels.reference import _check_packed

        _check_packed(a, b, k)
        bits = 32 * a.shape[1]
        dtype = torch.float64 if bits >= 1 << 24 else torch.float32
        # Every bit, padding included: a padding bit is 0 (+1) in both operands and adds exactly
        # 1, wherever it sits (also inside the per-tap layout of packed convolutions).
        full = unpack_bits(a, bits, dtype) @ unpack_bits(b, bits, dtype).T
        return full.to(torch.int32) - (bits - k)
    return gemm_function(chosen)(a, b, k)


def _pack_rows(x2: torch.Tensor, backend: str) -> torch.Tensor:
    if backend == "triton" and x2.is_floating_point():
        return _triton_kernels().pack_bits_triton(x2)
    return pack_bits(x2)


@dataclass(frozen=True)
class _WeightForms:
    """A dense +-1 weight ``w [N, K]`` in the form each backend's product takes, built on demand."""

    packed: Callable[[], torch.Tensor]  # int32 bits, the pack_bits layout
    int8: Callable[[], torch.Tensor]  # the +-1 int8 matrix of Triton's tl.dot kernel
    cpu64: Callable[[], CpuPackedWeight]  # 64-bit words of the numba kernel


def _int_product_2d(x2: torch.Tensor, weight: _WeightForms, backend: str, n: int, k: int) -> torch.Tensor:
    """int32 ``x2 @ w.T`` for +-1 ``x2 [M, K]`` and ``w [N, K]``, ``w`` in the form ``backend`` takes."""
    if backend == "triton" and choose_triton_impl(x2.shape[0], n, k) == "int8":
        return _triton_kernels().int8_gemm_triton(x2.to(torch.int8), weight.int8())
    if backend == "numba":  # packs the float activations itself, straight into 64-bit words
        from bnnrepro.kernels.cpu import linear_products

        return linear_products(x2, weight.cpu64())
    return gemm_function(backend)(_pack_rows(x2, backend), weight.packed(), k)


def xnor_linear(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, *, backend: str | None = None
) -> torch.Tensor:
    """``F.linear(x, weight) + bias`` for +-1 ``x [..., K]`` and ``weight [N, K]``, exactly.

    Inputs are taken by sign (value < 0 is -1, else +1). The product is computed by ``backend``
    (default: the current setting, see :func:`resolve_backend`) and returned in ``x``'s float
    dtype (float32 for integer inputs); ``bias`` is added once, after the exact product.
    """
    if weight.dim() != 2 or x.dim() == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"xnor_linear: input [..., K] and weight [N, K] disagree: {tuple(x.shape)} vs {tuple(weight.shape)}"
        )
    rows = x.numel() // max(1, x.shape[-1])
    chosen = resolve_backend(x.device, backend, shape=(rows, weight.shape[0], weight.shape[1]))
    dtype = x.dtype if x.is_floating_point() else torch.float32
    if chosen == "float":
        out = F.linear(_sign_pm1(x).to(dtype), _sign_pm1(weight).to(dtype))
    else:
        k = weight.shape[1]
        forms = _WeightForms(
            packed=lambda: pack_bits(weight),
            int8=lambda: _sign_pm1(weight).to(torch.int8),
            cpu64=lambda: _cpu_weight(_sign_pm1(weight)),
        )
        x2 = x.reshape(-1, k)
        if not x2.is_floating_point():
            x2 = x2.to(torch.float32)
        out = _int_product_2d(x2, forms, chosen, weight.shape[0], k)
        out = out.to(dtype).reshape(*x.shape[:-1], weight.shape[0])
    return out if bias is None else out + bias


def xnor_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor | PackedConvWeight,
    bias: torch.Tensor | None = None,
    stride: PairLike = 1,
    padding: PairLike = 0,
    *,
    backend: str | None = None,
) -> torch.Tensor:
    """``F.conv2d(x, weight, stride=stride, padding=padding) + bias`` for +-1 tensors, exactly.

    ``x`` ``[N, C, H, W]`` and ``weight`` ``[O, C, kh, kw]`` (or a prepared
    :class:`~bnnrepro.kernels.conv.PackedConvWeight`) are taken by sign; the zero padding
    contributes 0, as in the float model. Dilation 1, one group.
    """
    chosen = resolve_backend(x.device, backend)
    dtype = x.dtype if x.is_floating_point() else torch.float32
    if isinstance(weight, PackedConvWeight):
        in_channels = weight.in_channels
    elif weight.dim() != 4:
        raise ValueError(f"a conv weight has shape [out, in, kh, kw], not {tuple(weight.shape)}")
    else:
        in_channels = weight.shape[1]
    if x.dim() != 4 or x.shape[1] != in_channels:
        raise ValueError(f"conv input must be [batch, {in_channels}, height, width], not {tuple(x.shape)}")
    strides, paddings = _pair(stride, "stride"), _pair(padding, "padding")
    if chosen == "float":
        if isinstance(weight, PackedConvWeight):
            raise ValueError("backend 'float' needs the +-1 weight tensor, not a PackedConvWeight")
        out = F.conv2d(_sign_pm1(x).to(dtype), _sign_pm1(weight).to(dtype), stride=strides, padding=paddings)
    else:
        prepared = weight if isinstance(weight, PackedConvWeight) else PackedConvWeight(weight)
        out = _conv_int(x, prepared, chosen, strides, paddings).to(dtype)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def _conv_int(x: torch.Tensor, prepared: PackedConvWeight, backend: str, stride: Pair, padding: Pair) -> torch.Tensor:
    n, _, h, w = x.shape
    kh, kw = prepared.kernel_size
    rows = n * conv_output_size(h, kh, stride[0], padding[0]) * conv_output_size(w, kw, stride[1], padding[1])
    if backend == "triton" and choose_triton_impl(rows, prepared.out_channels, prepared.k) == "int8":
        xi = torch.where(x < 0, -1, 1).to(torch.int8)
        cols = int8_im2col(xi, prepared.kernel_size, stride, padding)
        out = _triton_kernels().int8_gemm_triton(cols, prepared.int8_matrix())
        ho, wo = conv_output_size(h, kh, stride[0], padding[0]), conv_output_size(w, kw, stride[1], padding[1])
        return out.view(n, ho, wo, prepared.out_channels).permute(0, 3, 1, 2).contiguous()
    return xnor_conv2d_packed(x, prepared, gemm_function(backend), stride, padding)


# ----------------------------------------------------------------------------------------------
# The inference interface of binary layers (bnnrepro.nn): prepared weights in, exact products out.
# The layers own their prepared weights (and decide when they are stale); nothing here looks
# inside a layer.


def _cpu_weight(weight: torch.Tensor) -> CpuPackedWeight:
    from bnnrepro.kernels.cpu import CpuPackedWeight

    return CpuPackedWeight(weight)


class PackedLinearWeight:
    """A +-1 dense weight ``[N, K]`` prepared for :func:`packed_linear`: its packed bits, and the
    int8 matrix the Triton ``tl.dot`` kernel wants and the 64-bit words of the numba kernel (each
    built from the bits on first use)."""

    def __init__(self, weight: torch.Tensor):
        if weight.dim() != 2:
            raise ValueError(f"a dense weight has shape [out, in], not {tuple(weight.shape)}")
        self.out_features, self.k = weight.shape
        self.bits = pack_bits(weight)
        self._int8: torch.Tensor | None = None
        self._cpu64: CpuPackedWeight | None = None

    def cpu_matrix(self) -> CpuPackedWeight:
        """The :class:`~bnnrepro.kernels.cpu.CpuPackedWeight` of these bits (64-bit words)."""
        if self._cpu64 is None:
            from bnnrepro.kernels.cpu import CpuPackedWeight, words64, words64_from_int32

            words = words64_from_int32(self.bits)[:, : words64(self.k)]
            self._cpu64 = CpuPackedWeight(bits=words, k=self.k)
        return self._cpu64

    def int8_matrix(self) -> torch.Tensor:
        if self._int8 is None:
            self._int8 = unpack_bits(self.bits, self.k, torch.int8)
        return self._int8

    def forms(self) -> _WeightForms:
        return _WeightForms(packed=lambda: self.bits, int8=self.int8_matrix, cpu64=self.cpu_matrix)


def inference_backend(
    device: torch.device | str, *, shape: tuple[int, int, int] | None = None, needs_grad: bool = False
) -> str:
    """The concrete backend a binary layer should use for one eval-mode product.

    ``"float"`` whenever autograd must record the product (``needs_grad``): the packed paths
    have no backward. Otherwise :func:`resolve_backend` of the current setting.
    """
    chosen = resolve_backend(device, shape=shape)
    return "float" if needs_grad else chosen


def packed_linear(
    x: torch.Tensor, weight: PackedLinearWeight, bias: torch.Tensor | None = None, *, backend: str
) -> torch.Tensor:
    """``x @ W.T + bias`` for +-1 ``x [..., K]`` and a prepared +-1 weight, exactly, with the
    packed ``backend`` (``"torch"`` or ``"triton"``); the bias is added once, after the product."""
    k = weight.k
    if x.shape[-1] != k:
        raise ValueError(f"packed_linear: inputs [..., {k}] expected, got {tuple(x.shape)}")
    x2 = x.reshape(-1, k)
    if not x2.is_floating_point():
        x2 = x2.to(torch.float32)
    out = _int_product_2d(x2, weight.forms(), backend, weight.out_features, k)
    dtype = x.dtype if x.is_floating_point() else torch.float32
    out = out.to(dtype).reshape(*x.shape[:-1], weight.out_features)
    return out if bias is None else out + bias


def conv_supported(groups: int, dilation: Iterable[int], padding: str | PairLike, padding_mode: str) -> bool:
    """True if the packed convolution handles this geometry (else use the float path)."""
    return groups == 1 and tuple(dilation) == (1, 1) and padding_mode == "zeros" and isinstance(padding, tuple)


def packed_conv2d(
    x: torch.Tensor,
    weight: PackedConvWeight,
    bias: torch.Tensor | None = None,
    *,
    stride: PairLike,
    padding: PairLike,
    backend: str,
) -> torch.Tensor:
    """``conv2d(x, W) + bias`` for +-1 ``x [N, C, H, W]`` (or unbatched ``[C, H, W]``) and a prepared
    +-1 weight, zero padding included, exactly, with the packed ``backend``."""
    unbatched = x.dim() == 3
    if unbatched:
        x = x.unsqueeze(0)
    dtype = x.dtype if x.is_floating_point() else torch.float32
    out = _conv_int(x, weight, backend, _pair(stride, "stride"), _pair(padding, "padding")).to(dtype)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out.squeeze(0) if unbatched else out


__all__ = [
    "BACKENDS",
    "ENV_VAR",
    "TRITON_IMPLS",
    "XNOR_MAX_BATCH",
    "PackedLinearWeight",
    "choose_triton_impl",
    "conv_supported",
    "cpu_prefers_packed",
    "gemm_function",
    "get_backend",
    "inference_backend",
    "packed_conv2d",
    "packed_gemm",
    "packed_linear",
    "resolve_backend",
    "set_backend",
    "triton_module",
    "triton_usable",
    "use_backend",
    "xnor_conv2d",
    "xnor_linear",
]
