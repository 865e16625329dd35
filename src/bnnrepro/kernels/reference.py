"""The packed xnor-popcount product in plain torch: the CPU fallback and the oracle of the kernels.

``xnor_gemm_torch(a, b, k)[m, n] = k - 2 * popcount(a[m] xor b[n])`` summed over the words, for
packed operands (:func:`bnnrepro.kernels.packing.pack_bits`). torch has no popcount operator,
so the count is the classic SWAR (shift-and-mask) bit count on int32, done in place on tiles of
the ``[m, n, words]`` xor so that the temporaries stay around 1 MiB (cache-sized; measured best
of 2^16..2^20 elements on a 2-core Xeon).

It runs on any device and is exact. On CPU it reaches ~30-40 G binary op/s on 2 cores, against
~200-240 Gop/s for MKL/oneDNN sgemm on the unpacked values once the batch is large, so it is
slower than fp32 for batch >= 64 (4-9x) and faster only where fp32 is bound by reading its
weights: batch <= 8 on layers with >= 4096 x 4096 weights (2-2.5x at batch 1). The measured table
and the CPU "auto" rule built on it are in :mod:`bnnrepro.kernels.dispatch`.
"""

from __future__ import annotations

import torch

_M1 = 0x55555555  # every other bit: 2-bit fields
_M2 = 0x33333333  # 4-bit fields
_M4 = 0x0F0F0F0F  # bytes
#: Elements of one xor tile (int32): about 1 MiB.
TILE_ELEMENTS = 1 << 18


def popcount32_(x: torch.Tensor) -> torch.Tensor:
    """In-place population count of every int32 element of ``x`` (returns ``x``, values 0..32).

    Arithmetic right shifts are fine here: every shifted value is masked with a constant whose
    top bits are 0 before it is used, so the copies of the sign bit never count.
    """
    if x.dtype != torch.int32:
        raise TypeError(f"popcount32_ works on int32 tensors, not {x.dtype}")
    t = torch.bitwise_right_shift(x, 1)
    t &= _M1
    x -= t  # 2-bit fields hold the count of their 2 bits
    t = torch.bitwise_right_shift(x, 2, out=t)
    t &= _M2
    x &= _M2
    x += t  # 4-bit fields: 0..4
    t = torch.bitwise_right_shift(x, 4, out=t)
    x += t
    x &= _M4  # bytes: 0..8
    t = torch.bitwise_right_shift(x, 8, out=t)
    x += t
    t = torch.bitwise_right_shift(x, 16, out=t)
    x += t
    x &= 0x3F  # the low byte now holds the total, 0..32
    return x


def popcount32(x: torch.Tensor) -> torch.Tensor:
    """Population count of every int32 element of ``x`` (a new tensor)."""
    return popcount32_(x.clone())


def _check_packed(a: torch.Tensor, b: torch.Tensor, k: int) -> None:
    for name, t in (("a", a), ("b", b)):
        if t.dtype != torch.int32 or t.dim() != 2:
            raise ValueError(
                f"packed operand {name} must be a 2-d int32 tensor [rows, words] "
                f"(from pack_bits), not {t.dtype} {tuple(t.shape)}"
            )
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"packed operands disagree on the word count: a has {a.shape[1]}, b has "
            f"{b.shape[1]} (both must be packed along the same reduction length K)"
        )
    if a.device != b.device:
        raise ValueError(f"packed operands are on different devices: {a.device} and {b.device}")
    # More words than ceil(k / 32) is fine (e.g. the per-tap padding of packed convolutions):
    # padding bits are 0 in both operands. Fewer cannot hold k values.
    if k < 0 or k > 32 * a.shape[1]:
        raise ValueError(
            f"k = {k} values do not fit in {a.shape[1]} words (at most {32 * a.shape[1]}); "
            f"pass the true reduction length K used when packing"
        )


def xnor_gemm_torch(a: torch.Tensor, b: torch.Tensor, k: int, *, tile_elements: int = TILE_ELEMENTS) -> torch.Tensor:
    """``out[m, n] = k - 2 * popcount(a[m] xor b[n])`` as int32 ``[M, N]`` (== A @ B.T on +-1 values).

    ``a``: int32 ``[M, W]``, ``b``: int32 ``[N, W]``, packed along the same ``k`` (``W >= ceil(k/32)``;
    every padding bit must be 0 in both operands, as :func:`~bnnrepro.kernels.packing.pack_bits` leaves it).
    Tiles of at most ``tile_elements`` xor words are processed at a time (a Python loop over
    tiles, each a vectorised torch op).
    """
    _check_packed(a, b, k)
    m, w = a.shape
    n = b.shape[0]
    out = torch.empty(m, n, dtype=torch.int32, device=a.device)
    if m == 0 or n == 0:
        return out
    if w == 0:
        return out.fill_(k)
    nb = max(1, min(n, tile_elements // w))
    mb = max(1, min(m, tile_elements // (nb * w)))
    for i in range(0, m, mb):
        rows = a[i : i + mb].unsqueeze(1)
        for j in range(0, n, nb):
            x = torch.bitwise_xor(rows, b[j : j + nb].unsqueeze(0))
            torch.sum(popcount32_(x), dim=-1, dtype=torch.int32, out=out[i : i + mb, j : j + nb])
    return out.mul_(-2).add_(k)


__all__ = ["TILE_ELEMENTS", "popcount32", "popcount32_", "xnor_gemm_torch"]
