"""Triton kernels: xnor-popcount GEMM, bit packing, and the int8 +-1 ``tl.dot`` GEMM.

Import this module only through :mod:`bnnrepro.kernels` (it is imported lazily, on the first use
of the ``"triton"`` backend), because Triton decides *when a kernel is decorated* whether it is
compiled for the GPU or run by the interpreter: set ``TRITON_INTERPRET=1`` **before** that first
use to run the kernels on CPU tensors (slowly, for tests). :data:`INTERPRET` records the choice.

Kernels
-------
``xnor_gemm_triton(a, b, k)``
    ``out[m, n] = k - 2 * popcount(a[m] xor b[n])`` on packed int32 operands ``[M, W]`` and
    ``[N, W]``. Tiled over (M, N) with a grouped tile order (consecutive programs share B tiles in
    L2); inside a tile, two reduction schemes selected by the ``OUTER`` meta-parameter: a 3-d
    broadcast ``[BM, BN, BW]`` xor reduced along the words, or one word at a time as an outer
    product (less register pressure). ``@triton.autotune`` picks block sizes and scheme per
    (M, N, W). popcount is ``libdevice.popc`` (one ``POPC`` instruction) on GPU and a SWAR
    shift-and-mask count under the interpreter, which cannot call libdevice; the choice is the
    ``USE_LIBDEVICE`` constexpr, so the same kernel source runs in both. Optional fused epilogue
    ``sign(dot * scale[n] + shift[n])`` (folded bias / batch norm, as inference engines do).
``pack_bits_triton(x)``
    Packs a 2-d float tensor along its last axis, same layout as
    :func:`bnnrepro.kernels.packing.pack_bits` (bit = value < 0).
``int8_gemm_triton(a, b)``
    ``a[M, K] @ b[N, K].T`` for int8 operands holding +-1 (or 0) with int32 accumulation through
    ``tl.dot``: exact, and on tensor-core GPUs (int8 MMA) far faster than popcount once the
    product is compute-bound. On H100, int8 dense MMA peaks near 2 POPS while ``POPC`` runs 16
    per SM per clock (~250 T binary ops/s), so popcount only wins while the product is bound by
    memory traffic (small batch: its weights are 8x smaller than int8); see
    :func:`bnnrepro.kernels.dispatch.choose_triton_impl`.

None of the GPU timings could be measured where this was written (no GPU); the autotune lists
are broad on purpose and ``bnnrepro kernels bench`` on a GPU reports what they achieve.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import triton
import triton.language as tl
from triton.language.extra import libdevice

#: True when the kernels below were decorated for the Triton interpreter (``TRITON_INTERPRET=1``).
INTERPRET: bool = bool(triton.knobs.runtime.interpret)
#: popcount through libdevice (GPU) or SWAR (interpreter); fixed for the process, like INTERPRET.
USE_LIBDEVICE: bool = not INTERPRET


# ----------------------------------------------------------------------------------------------
# Autotune spaces. Under the interpreter a single small config keeps test time low (the
# autotuner benchmarks nothing when it has one config).


def _xnor_configs() -> list[triton.Config]:
    if INTERPRET:
        return [triton.Config(dict(BLOCK_M=16, BLOCK_N=16, BLOCK_W=4, GROUP_M=4, OUTER=False), num_warps=1)]
    configs = []
    # Broadcast scheme: BM * BN * BW xor words in flight. Outer-product scheme: BW words unrolled
    # per loop step. Every config below compiles for sm_90 without register spills (checked with
    # cuobjdump --dump-resource-usage on the cubin; bigger tiles spilled).
    for bm, bn, bw, outer, warps, stages in [
        (64, 64, 4, False, 4, 3),
        (128, 64, 2, False, 4, 3),
        (64, 128, 2, False, 4, 3),
        (128, 128, 2, False, 8, 3),
        (128, 64, 1, False, 4, 3),
        (256, 64, 1, False, 8, 3),
        (64, 64, 8, False, 8, 3),
        (32, 32, 8, False, 4, 4),
        (16, 64, 8, False, 4, 4),
        (16, 128, 4, False, 4, 4),
        (16, 256, 2, False, 8, 3),
        (128, 64, 4, True, 4, 3),
        (16, 256, 4, True, 4, 3),
        (16, 128, 8, True, 4, 4),
    ]:
        configs.append(
            triton.Config(
                dict(BLOCK_M=bm, BLOCK_N=bn, BLOCK_W=bw, GROUP_M=8, OUTER=outer), num_warps=warps, num_stages=stages
            )
        )
    return configs


def _int8_configs() -> list[triton.Config]:
    if INTERPRET:
        return [triton.Config(dict(BLOCK_M=16, BLOCK_N=16, BLOCK_K=32, GROUP_M=4), num_warps=1)]
    # int8 wgmma tiles (Hopper) / mma (Ampere); all compile for sm_80 and sm_90 without spills
    # (tests/test_triton_compile.py), given K a multiple of 16 (int8_gemm_triton pads it). 128 x 256
    # tiles are left out: on sm_90 they spill in the store when N is not a multiple of 16.
    return [
        triton.Config(dict(BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=bk, GROUP_M=8), num_warps=warps, num_stages=stages)
        for bm, bn, bk, warps, stages in [
            (256, 128, 128, 8, 3),
            (256, 128, 64, 8, 3),
            (128, 128, 128, 8, 3),
            (128, 128, 64, 8, 4),
            (64, 128, 128, 4, 4),
            (64, 256, 64, 8, 3),
            (64, 64, 128, 4, 4),
            (32, 64, 128, 4, 4),
            (16, 128, 128, 4, 4),
        ]
    ]


# ----------------------------------------------------------------------------------------------
# Device functions


@triton.jit
def _popcount(x, USE_LIBDEVICE: tl.constexpr):
    if USE_LIBDEVICE:
        count = libdevice.popc(x)
    else:
        # SWAR bit count on int32. Right shifts are arithmetic, but each shifted value is masked
        # with a constant whose top bits are 0, so copies of the sign bit never count.
        x = x - ((x >> 1) & 0x55555555)
        x = (x & 0x33333333) + ((x >> 2) & 0x33333333)
        x = (x + (x >> 4)) & 0x0F0F0F0F
        x = x + (x >> 8)
        x = x + (x >> 16)
        count = x & 0x3F
    return count


@triton.jit
def _tile_coords(M, N, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, GROUP_M: tl.constexpr):
    # Grouped order: GROUP_M row tiles sweep each column tile together, so the B (weight) tile
    # is read from L2 by GROUP_M programs in a row instead of once per pass over all rows.
    pid = tl.program_id(0)
    tiles_m = tl.cdiv(M, BLOCK_M)
    tiles_n = tl.cdiv(N, BLOCK_N)
    per_group = GROUP_M * tiles_n
    first_m = (pid // per_group) * GROUP_M
    rows = tl.minimum(tiles_m - first_m, GROUP_M)
    pid_m = first_m + (pid % per_group) % rows
    pid_n = (pid % per_group) // rows
    return pid_m, pid_n


@triton.jit
def _bit_or(a, b):
    return a | b


@triton.jit
def _mismatches(
    a_ptr, b_ptr, offs_m, offs_n, mask_m, mask_n, W, stride_am, stride_aw, stride_bn, stride_bw,
    USE_LIBDEVICE: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_W: tl.constexpr,
    OUTER: tl.constexpr,
):  # fmt: skip
    """int32 ``[BLOCK_M, BLOCK_N]``: ``popcount(a[m] xor b[n])`` summed over the W words."""
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.int32)
    # Out-of-range rows and words load 0 in both operands: xor 0, no mismatch counted.
    if OUTER:
        for w0 in range(0, W, BLOCK_W):
            for i in tl.static_range(BLOCK_W):
                w = w0 + i
                a = tl.load(a_ptr + offs_m * stride_am + w * stride_aw, mask=mask_m & (w < W), other=0)
                b = tl.load(b_ptr + offs_n * stride_bn + w * stride_bw, mask=mask_n & (w < W), other=0)
                acc += _popcount(a[:, None] ^ b[None, :], USE_LIBDEVICE)
    else:
        offs_w = tl.arange(0, BLOCK_W)
        for w0 in range(0, W, BLOCK_W):
            ws = w0 + offs_w
            a = tl.load(
                a_ptr + offs_m[:, None] * stride_am + ws[None, :] * stride_aw,
                mask=mask_m[:, None] & (ws[None, :] < W),
                other=0,
            )
            b = tl.load(
                b_ptr + offs_n[:, None] * stride_bn + ws[None, :] * stride_bw,
                mask=mask_n[:, None] & (ws[None, :] < W),
                other=0,
            )
            acc += tl.sum(_popcount(a[:, None, :] ^ b[None, :, :], USE_LIBDEVICE), axis=2)
    return acc


# ----------------------------------------------------------------------------------------------
# Kernels


@triton.jit
def _xnor_gemm_kernel(
    a_ptr,
    b_ptr,
    out_ptr,
    scale_ptr,
    shift_ptr,
    M,
    N,
    W,
    K,
    M_BUCKET,
    stride_am,
    stride_aw,
    stride_bn,
    stride_bw,
    stride_om,
    stride_on,
    FLOAT_EPILOGUE: tl.constexpr,
    HAS_SCALE: tl.constexpr,
    HAS_SHIFT: tl.constexpr,
    SIGN: tl.constexpr,
    USE_LIBDEVICE: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_W: tl.constexpr,
    GROUP_M: tl.constexpr,
    OUTER: tl.constexpr,
):
    pid_m, pid_n = _tile_coords(M, N, BLOCK_M, BLOCK_N, GROUP_M)
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    mask_m = offs_m < M
    mask_n = offs_n < N
    acc = _mismatches(
        a_ptr, b_ptr, offs_m, offs_n, mask_m, mask_n, W, stride_am, stride_aw, stride_bn, stride_bw,
        USE_LIBDEVICE, BLOCK_M, BLOCK_N, BLOCK_W, OUTER,
    )  # fmt: skip
    dot = K - 2 * acc
    if FLOAT_EPILOGUE:
        y = dot.to(tl.float32)
        if HAS_SCALE:
            y = y * tl.load(scale_ptr + offs_n, mask=mask_n, other=1.0)[None, :]
        if HAS_SHIFT:
            y = y + tl.load(shift_ptr + offs_n, mask=mask_n, other=0.0)[None, :]
        if SIGN:
            y = tl.where(y >= 0, 1.0, -1.0)
    else:
        y = dot
    tl.store(
        out_ptr + offs_m[:, None] * stride_om + offs_n[None, :] * stride_on,
        y.to(out_ptr.dtype.element_ty),
        mask=mask_m[:, None] & mask_n[None, :],
    )


@triton.jit
def _xnor_sign_kernel(
    a_ptr, b_ptr, out_ptr, thr_ptr, inv_ptr, M, N, W, WORDS_OUT, M_BUCKET,
    stride_am, stride_aw, stride_bn, stride_bw, stride_om, stride_ow,
    USE_LIBDEVICE: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_W: tl.constexpr,
    GROUP_M: tl.constexpr, OUTER: tl.constexpr,
):  # fmt: skip
    """The fused binary layer: bit ``n % 32`` of ``out[m, n // 32]`` is 1 (output -1) iff
    ``(mismatches >= thr[n]) != inv[n]``; BLOCK_N is a multiple of 32, so a tile writes whole words."""
    pid_m, pid_n = _tile_coords(M, N, BLOCK_M, BLOCK_N, GROUP_M)
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    mask_m = offs_m < M
    mask_n = offs_n < N
    acc = _mismatches(
        a_ptr, b_ptr, offs_m, offs_n, mask_m, mask_n, W, stride_am, stride_aw, stride_bn, stride_bw,
        USE_LIBDEVICE, BLOCK_M, BLOCK_N, BLOCK_W, OUTER,
    )  # fmt: skip
    # Units past N: threshold above any count and no inversion, so their (padding) bits are 0.
    thr = tl.load(thr_ptr + offs_n, mask=mask_n, other=2147483647)
    inv = tl.load(inv_ptr + offs_n, mask=mask_n, other=0)
    negative = ((acc >= thr[None, :]).to(tl.int32) ^ inv[None, :]).to(tl.int32)
    shifted = negative << (tl.arange(0, BLOCK_N) % 32)[None, :]
    words = tl.reduce(tl.reshape(shifted, (BLOCK_M, BLOCK_N // 32, 32)), 2, _bit_or)
    offs_w = pid_n * (BLOCK_N // 32) + tl.arange(0, BLOCK_N // 32)
    tl.store(
        out_ptr + offs_m[:, None] * stride_om + offs_w[None, :] * stride_ow,
        words,
        mask=mask_m[:, None] & (offs_w[None, :] < WORDS_OUT),
    )


def _sign_configs() -> list[triton.Config]:
    # The xnor configs whose tiles hold whole output words (BLOCK_N a multiple of 32).
    if INTERPRET:
        return [triton.Config(dict(BLOCK_M=16, BLOCK_N=32, BLOCK_W=4, GROUP_M=4, OUTER=False), num_warps=1)]
    return [c for c in _xnor_configs() if c.kwargs["BLOCK_N"] % 32 == 0]


_xnor_sign_autotuned = triton.autotune(configs=_sign_configs(), key=["M_BUCKET", "N", "W"])(_xnor_sign_kernel)


# M_BUCKET (the next power of two of M, unused by the kernel) is the autotune key instead of M:
# inference sees many batch sizes (a last partial batch, conv rows = batch x pixels) and should
# not re-tune for each.
_xnor_gemm_autotuned = triton.autotune(configs=_xnor_configs(), key=["M_BUCKET", "N", "W"])(_xnor_gemm_kernel)


@triton.jit
def _pack_kernel(
    x_ptr, out_ptr, M, K, W, stride_xm, stride_xk, stride_om, stride_ow, BLOCK_M: tl.constexpr, BLOCK_W: tl.constexpr
):
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_w = tl.program_id(1) * BLOCK_W + tl.arange(0, BLOCK_W)
    bit = tl.arange(0, 32)
    ks = offs_w[:, None] * 32 + bit[None, :]  # [BW, 32]
    mask = (offs_m[:, None, None] < M) & (ks[None, :, :] < K)
    x = tl.load(x_ptr + offs_m[:, None, None] * stride_xm + ks[None, :, :] * stride_xk, mask=mask, other=0)
    bits = (x < 0).to(tl.int32) << bit[None, None, :]  # padding: 0 -> bit 0
    words = tl.reduce(bits, 2, _bit_or)
    tl.store(
        out_ptr + offs_m[:, None] * stride_om + offs_w[None, :] * stride_ow,
        words,
        mask=(offs_m[:, None] < M) & (offs_w[None, :] < W),
    )


@triton.jit
def _int8_gemm_kernel(
    a_ptr,
    b_ptr,
    out_ptr,
    M,
    N,
    K,
    M_BUCKET,
    stride_am,
    stride_ak,
    stride_bn,
    stride_bk,
    stride_om,
    stride_on,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
    GROUP_M: tl.constexpr,
    EVEN_K: tl.constexpr,
):
    pid_m, pid_n = _tile_coords(M, N, BLOCK_M, BLOCK_N, GROUP_M)
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    # Rows/columns past the edge wrap around (valid addresses, results masked at the store), so
    # the loads need no row mask: fewer live predicate registers in the pipelined loop.
    rows_a = offs_m % M
    rows_b = offs_n % N
    offs_k = tl.arange(0, BLOCK_K)
    a_ptrs = a_ptr + rows_a[:, None] * stride_am + offs_k[None, :] * stride_ak
    b_ptrs = b_ptr + offs_k[:, None] * stride_bk + rows_b[None, :] * stride_bn
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.int32)
    for k0 in range(0, K, BLOCK_K):
        if EVEN_K:
            a = tl.load(a_ptrs)
            b = tl.load(b_ptrs)
        else:
            a = tl.load(a_ptrs, mask=offs_k[None, :] < K - k0, other=0)
            b = tl.load(b_ptrs, mask=offs_k[:, None] < K - k0, other=0)
        acc = tl.dot(a, b, acc, out_dtype=tl.int32)  # exact for +-1
        a_ptrs += BLOCK_K * stride_ak
        b_ptrs += BLOCK_K * stride_bk
    tl.store(
        out_ptr + offs_m[:, None] * stride_om + offs_n[None, :] * stride_on,
        acc.to(out_ptr.dtype.element_ty),
        mask=(offs_m[:, None] < M) & (offs_n[None, :] < N),
    )


_int8_gemm_kernel = triton.heuristics({"EVEN_K": lambda args: args["K"] % args["BLOCK_K"] == 0})(_int8_gemm_kernel)


def _prefer_even_k(configs: list[triton.Config], named_args: dict[str, Any], **kwargs: Any) -> list[triton.Config]:
    # Tiles whose BLOCK_K divides K skip the K mask (EVEN_K); masked variants of the largest
    # tiles spill registers, so drop them when an unmasked choice exists.
    even = [c for c in configs if named_args["K"] % c.kwargs["BLOCK_K"] == 0]
    return even or configs


_int8_gemm_autotuned = triton.autotune(
    configs=_int8_configs(), key=["M_BUCKET", "N", "K"], prune_configs_by={"early_config_prune": _prefer_even_k}
)(_int8_gemm_kernel)


# ----------------------------------------------------------------------------------------------
# Host wrappers


def _tile_grid(m: int, n: int) -> Callable[[dict[str, Any]], tuple[int]]:
    """The launch grid of an ``[m, n]`` output in ``BLOCK_M x BLOCK_N`` tiles, from a launch's
    meta-parameters (the autotuner's choice, or a fixed config)."""

    def grid(meta: dict[str, Any]) -> tuple[int]:
        return (triton.cdiv(m, meta["BLOCK_M"]) * triton.cdiv(n, meta["BLOCK_N"]),)

    return grid


def _check_device(*tensors: torch.Tensor) -> None:
    for t in tensors:
        if not INTERPRET and t.device.type != "cuda":
            raise ValueError(
                f"the Triton kernels were compiled for the GPU but got a {t.device} tensor; move it to "
                "CUDA, use backend 'torch' or 'float' on CPU, or set TRITON_INTERPRET=1 before the first "
                "use of the triton backend to run them in the Triton interpreter"
            )


def _check_offsets(*tensors: torch.Tensor) -> None:
    # The kernels compute element offsets in int32; refuse what would overflow them.
    for t in tensors:
        last = sum((size - 1) * abs(stride) for size, stride in zip(t.shape, t.stride()) if size)
        if last >= 2**31:
            raise ValueError(
                f"a {tuple(t.shape)} operand is too large for the Triton kernels' int32 "
                "offsets; split the batch into chunks"
            )


def _rows_aligned_16(x: torch.Tensor) -> torch.Tensor:
    """``x [rows, K]``, or a zero-padded copy ``[rows, K']`` (K' = K rounded up to a multiple of 16)
    unless its rows are contiguous, 16-byte aligned and K is a multiple of 16.

    Without 16-byte rows ``tl.dot``'s operand loads cannot be vectorized and every int8 config spills
    registers; zero columns add nothing to the product.
    """
    k = x.shape[1]
    if k % 16 == 0 and x.stride(1) == 1 and x.stride(0) % 16 == 0 and x.data_ptr() % 16 == 0:
        return x
    padded = x.new_zeros(x.shape[0], -(-k // 16) * 16)
    padded[:, :k] = x
    return padded


def _meta(config: triton.Config | dict[str, Any]) -> dict[str, Any]:
    # A Config's all_kwargs() holds its meta-parameters and launch options (num_warps, ...).
    return dict(config.all_kwargs()) if isinstance(config, triton.Config) else dict(config)


def xnor_gemm_triton(
    a: torch.Tensor,
    b: torch.Tensor,
    k: int,
    *,
    scale: torch.Tensor | None = None,
    shift: torch.Tensor | None = None,
    sign: bool = False,
    out_dtype: torch.dtype | None = None,
    config: triton.Config | dict | None = None,
) -> torch.Tensor:
    """Packed xnor-popcount product ``k - 2 * popcount(a[m] xor b[n])`` as an ``[M, N]`` tensor.

    ``a``: int32 ``[M, W]``, ``b``: int32 ``[N, W]`` (any strides), packed along the same true
    reduction length ``k``. Without an epilogue the result is int32 (exact) unless ``out_dtype``
    says otherwise (float32 is exact for ``|dot| < 2**24``).

    Fused epilogue (float32 math, output float32 by default): ``y = dot * scale[n] + shift[n]``
    (either may be omitted), then ``sign(y)`` (+1 for y >= 0) if ``sign``. On GPU the multiply-add
    may be contracted to one FMA, so ``y`` can differ from torch's two-step rounding by one ulp.

    ``config``: force one meta-parameter set (a ``triton.Config`` or a dict with BLOCK_M,
    BLOCK_N, BLOCK_W, GROUP_M, OUTER; plus num_warps/num_stages in a Config) instead of autotuning.
    """
    from bnnrepro.kernels.reference import _check_packed

    _check_packed(a, b, k)
    _check_device(a, b)
    m, w = a.shape
    n = b.shape[0]
    float_epilogue = scale is not None or shift is not None or sign
    if out_dtype is None:
        out_dtype = torch.float32 if float_epilogue else torch.int32
    out = torch.empty(m, n, dtype=out_dtype, device=a.device)
    for name, vec in (("scale", scale), ("shift", shift)):
        if vec is not None and (vec.shape != (n,) or vec.device != a.device):
            raise ValueError(
                f"{name} must be a vector of length N = {n} on {a.device}, not {tuple(vec.shape)} on {vec.device}"
            )
    if m == 0 or n == 0:
        return out
    if w == 0:
        return out.fill_(k)
    scale = scale.to(torch.float32).contiguous() if scale is not None else out
    shift = shift.to(torch.float32).contiguous() if shift is not None else out
    _check_offsets(a, b, out)
    args = (
        a,
        b,
        out,
        scale,
        shift,
        m,
        n,
        w,
        k,
        triton.next_power_of_2(m),
        a.stride(0),
        a.stride(1),
        b.stride(0),
        b.stride(1),
        out.stride(0),
        out.stride(1),
    )
    flags = dict(
        FLOAT_EPILOGUE=float_epilogue,
        HAS_SCALE=scale is not out,
        HAS_SHIFT=shift is not out,
        SIGN=bool(sign),
        USE_LIBDEVICE=USE_LIBDEVICE,
    )
    if config is None:
        _xnor_gemm_autotuned[_tile_grid(m, n)](*args, **flags)
    else:
        meta = _meta(config)
        _xnor_gemm_kernel[_tile_grid(m, n)(meta)](*args, **flags, **meta)
    return out


def xnor_sign_layer_triton(
    a: torch.Tensor, b: torch.Tensor, k: int, thresholds: torch.Tensor, invert: torch.Tensor
) -> torch.Tensor:
    """The fused binary layer on packed int32 operands (``a [M, W]``, ``b [N, W]``, true length
    ``k``): int32 ``[M, ceil(N / 32)]`` packed signs (the :func:`~bnnrepro.kernels.pack_bits`
    layout, padding bits 0), bit 1 (output -1) iff ``(c >= thresholds[n]) != invert[n]`` with ``c``
    the mismatch count (dot product ``k - 2c``): BatchNorm and sign folded into one integer per
    unit, as on the CPU (:func:`bnnrepro.kernels.cpu.sign_layer64`)."""
    from bnnrepro.kernels.reference import _check_packed

    _check_packed(a, b, k)
    _check_device(a, b)
    m, w = a.shape
    n = b.shape[0]
    if thresholds.shape != (n,) or invert.shape != (n,):
        raise ValueError(f"thresholds and invert need one entry per unit (N = {n})")
    words_out = -(-n // 32)
    out = torch.zeros(m, words_out, dtype=torch.int32, device=a.device)
    if m == 0 or n == 0:
        return out
    thr = thresholds.to(device=a.device, dtype=torch.int32).contiguous()
    inv = invert.to(device=a.device, dtype=torch.int32).contiguous()
    _check_offsets(a, b, out)

    _xnor_sign_autotuned[_tile_grid(m, n)](
        a, b, out, thr, inv, m, n, w, words_out, triton.next_power_of_2(m),
        a.stride(0), a.stride(1), b.stride(0), b.stride(1), out.stride(0), out.stride(1),
        USE_LIBDEVICE=USE_LIBDEVICE,
    )  # fmt: skip
    return out


def pack_bits_triton(x: torch.Tensor, *, block_m: int = 16, block_w: int = 4) -> torch.Tensor:
    """Pack a 2-d real tensor ``[M, K]`` (any strides) along its last axis: int32 ``[M, ceil(K/32)]``.

    Same layout as :func:`bnnrepro.kernels.packing.pack_bits` (bit = value < 0, zero padding).
    """
    if x.dim() != 2:
        raise ValueError(
            f"pack_bits_triton packs 2-d [rows, K] tensors, not shape {tuple(x.shape)}; "
            "reshape first (or use pack_bits, which takes any shape)"
        )
    if not (x.is_floating_point() or x.dtype in (torch.int8, torch.int16, torch.int32)):
        raise TypeError(f"pack_bits_triton takes float or signed int tensors, not {x.dtype}")
    _check_device(x)
    m, k = x.shape
    w = -(-k // 32)
    out = torch.empty(m, w, dtype=torch.int32, device=x.device)
    if out.numel():
        _check_offsets(x, out)
        grid = (triton.cdiv(m, block_m), triton.cdiv(w, block_w))
        _pack_kernel[grid](
            x, out, m, k, w, x.stride(0), x.stride(1), out.stride(0), out.stride(1), BLOCK_M=block_m, BLOCK_W=block_w
        )
    return out


def int8_gemm_triton(
    a: torch.Tensor,
    b: torch.Tensor,
    *,
    out_dtype: torch.dtype = torch.int32,
    config: triton.Config | dict | None = None,
) -> torch.Tensor:
    """``a @ b.T`` for int8 ``a [M, K]`` and ``b [N, K]`` (any strides) with int32 accumulation.

    Exact for +-1 (and 0) operands. ``config`` forces BLOCK_M, BLOCK_N, BLOCK_K (each >= 16, as
    ``tl.dot`` requires) and GROUP_M instead of autotuning. An operand whose rows are not
    contiguous multiples of 16 bytes is copied zero-padded first (the kernel spills otherwise).
    """
    if a.dtype != torch.int8 or b.dtype != torch.int8 or a.dim() != 2 or b.dim() != 2:
        raise ValueError(
            f"int8_gemm_triton takes 2-d int8 tensors, not {a.dtype} {tuple(a.shape)} and "
            f"{b.dtype} {tuple(b.shape)}; convert +-1 floats with .to(torch.int8)"
        )
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"reduction lengths differ: a is {tuple(a.shape)}, b is {tuple(b.shape)} "
            "(b is [N, K], the transposed right operand)"
        )
    _check_device(a, b)
    m, k = a.shape
    n = b.shape[0]
    out = torch.empty(m, n, dtype=out_dtype, device=a.device)
    if m == 0 or n == 0:
        return out
    if k == 0:
        return out.zero_()
    a, b = _rows_aligned_16(a), _rows_aligned_16(b)
    k = a.shape[1]
    _check_offsets(a, b, out)
    args = (
        a,
        b,
        out,
        m,
        n,
        k,
        triton.next_power_of_2(m),
        a.stride(0),
        a.stride(1),
        b.stride(0),
        b.stride(1),
        out.stride(0),
        out.stride(1),
    )
    if config is None:
        _int8_gemm_autotuned[_tile_grid(m, n)](*args)
    else:
        meta = _meta(config)
        _int8_gemm_kernel[_tile_grid(m, n)(meta)](*args, **meta)
    return out


def xnor_configs() -> list[triton.Config]:
    """The autotune space of the xnor GEMM in this process (one config under the interpreter)."""
    return list(_xnor_gemm_autotuned.configs)


def int8_configs() -> list[triton.Config]:
    """The autotune space of the int8 GEMM in this process (one config under the interpreter)."""
    return list(_int8_gemm_autotuned.configs)


__all__ = [
    "INTERPRET",
    "USE_LIBDEVICE",
    "int8_configs",
    "int8_gemm_triton",
    "pack_bits_triton",
    "xnor_configs",
    "xnor_gemm_triton",
    "xnor_sign_layer_triton",
]
