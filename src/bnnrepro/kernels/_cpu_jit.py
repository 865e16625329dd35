"""The numba-compiled CPU kernels behind :mod:`bnnrepro.kernels.cpu` (imported on first use only:
importing numba and loading compiled code takes a few tenths of a second).

Operands are packed 64 values per ``uint64`` word along the reduction axis (bit ``k % 64`` of word
``k // 64`` is 1 for a -1 value; zero padding in both operands), so for +-1 rows ``a`` and ``b`` of
length ``K``::

    dot(a, b) = K - 2 * sum_w popcount(a[w] xor b[w])

One loop body serves every CPU: LLVM compiles it for the host (numba's default target) and picks
the popcount instruction itself: ``vpopcntq`` with AVX-512 VPOPCNTDQ, the ``vpshufb`` nibble-table
count with AVX2, ``cnt`` with NEON, ``popcnt`` or a shift-and-mask count otherwise. The inner loop
is written so that LLVM vectorizes it along the words (several words of one row per register).

Register and cache blocking: one activation row against four weight rows per inner loop (each
activation word loaded once for four products); the weights are cut in blocks of 64 rows (one
output word of the fused layer, 32-64 KiB at K = 4096-8192: L1/L2-resident while every activation
row streams past it), and the blocks are the units of parallel work (``prange``), so threads never
write the same output word.

All arithmetic is on integers: exact whatever the compiler does (``fastmath`` stays off anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

#: Weight rows per block: one 64-bit output word of the fused layer.
BLOCK = 64
#: Activation rows per parallel tile (a tile is one block of weight rows against this many rows).
ROWS = 256


@intrinsic
def _ctpop64(typingctx, x):
    """``llvm.ctpop.i64``: LLVM lowers (and vectorizes) it for the target CPU."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


#: The population count of a 64-bit word, as compiled code calls it. numba's stubs type an
#: intrinsic as called from Python, where it only raises (a `Never` result that would make mypy
#: skip the rest of every kernel), so the compiled signature is stated here.
popcount64 = cast(Callable[[np.uint64], np.uint64], _ctpop64)


@njit(cache=True, inline="always")
def _mismatches4(ai, b, j0, j1, j2, j3, words):
    """Mismatch counts of activation row ``ai`` against weight rows ``j0..j3``."""
    b0, b1, b2, b3 = b[j0], b[j1], b[j2], b[j3]
    c0 = c1 = c2 = c3 = np.uint64(0)
    for w in range(words):
        x = ai[w]
        c0 += popcount64(x ^ b0[w])
        c1 += popcount64(x ^ b1[w])
        c2 += popcount64(x ^ b2[w])
        c3 += popcount64(x ^ b3[w])
    return np.int64(c0), np.int64(c1), np.int64(c2), np.int64(c3)


@njit(cache=True, inline="always")
def _block_products(a, b, k, out, block, row_start, row_stop):
    """``out[rows, cols] = k - 2 * mismatches`` for the weight rows of one block."""
    words = a.shape[1]
    n = b.shape[0]
    start = block * BLOCK
    stop = min(n, start + BLOCK)
    last = n - 1
    for i in range(row_start, row_stop):
        ai = a[i]
        for j in range(start, stop, 4):
            # Past the end, recompute the last row (never stored): one loop body for every N.
            c0, c1, c2, c3 = _mismatches4(ai, b, j, min(j + 1, last), min(j + 2, last), min(j + 3, last), words)
            out[i, j] = k - 2 * c0
            if j + 1 < stop:
                out[i, j + 1] = k - 2 * c1
            if j + 2 < stop:
                out[i, j + 2] = k - 2 * c2
            if j + 3 < stop:
                out[i, j + 3] = k - 2 * c3


@njit(cache=True, inline="always")
def _block_signs(a, b, thresholds, invert, out, block, row_start, row_stop):
    """Bit ``j % 64`` of ``out[rows, block]`` = 1 (the unit's output is -1) iff
    ``(mismatches >= thresholds[j]) != invert[j]``, for the weight rows of one block."""
    words = a.shape[1]
    n = b.shape[0]
    start = block * BLOCK
    stop = min(n, start + BLOCK)
    last = n - 1
    for i in range(row_start, row_stop):
        ai = a[i]
        word = np.uint64(0)
        for j in range(start, stop, 4):
            counts = _mismatches4(ai, b, j, min(j + 1, last), min(j + 2, last), min(j + 3, last), words)
            for d in range(4):
                col = j + d
                if col < stop and (counts[d] >= thresholds[col]) != invert[col]:
                    word |= np.uint64(1) << np.uint64(col - start)
        out[i, block] = word


@njit(cache=True, nogil=True)
def products_serial(a, b, k, out):
    for block in range((b.shape[0] + BLOCK - 1) // BLOCK):
        _block_products(a, b, k, out, block, 0, a.shape[0])


@njit(cache=True, nogil=True, parallel=True)
def products_parallel(a, b, k, out):
    # Tiles = (chunk of ROWS activation rows) x (block of weight rows): enough tiles for every
    # thread whether the product is wide (many blocks) or tall (many rows, e.g. a 10-unit output).
    blocks = (b.shape[0] + BLOCK - 1) // BLOCK
    chunks = (a.shape[0] + ROWS - 1) // ROWS
    for tile in prange(blocks * chunks):
        chunk = tile // blocks
        _block_products(a, b, k, out, tile % blocks, chunk * ROWS, min(a.shape[0], chunk * ROWS + ROWS))


@njit(cache=True, nogil=True)
def signs_serial(a, b, thresholds, invert, out):
    for block in range((b.shape[0] + BLOCK - 1) // BLOCK):
        _block_signs(a, b, thresholds, invert, out, block, 0, a.shape[0])


@njit(cache=True, nogil=True, parallel=True)
def signs_parallel(a, b, thresholds, invert, out):
    blocks = (b.shape[0] + BLOCK - 1) // BLOCK
    chunks = (a.shape[0] + ROWS - 1) // ROWS
    for tile in prange(blocks * chunks):
        chunk = tile // blocks
        _block_signs(a, b, thresholds, invert, out, tile % blocks, chunk * ROWS, min(a.shape[0], chunk * ROWS + ROWS))


@njit(cache=True, inline="always")
def _pack_row(x, out, i):
    k = x.shape[1]
    full = k // 64
    for w in range(full):
        word = np.uint64(0)
        base = w * 64
        for t in range(64):
            word |= np.uint64(x[i, base + t] < 0) << np.uint64(t)
        out[i, w] = word
    if full < out.shape[1]:
        word = np.uint64(0)
        for t in range(k - full * 64):
            word |= np.uint64(x[i, full * 64 + t] < 0) << np.uint64(t)
        out[i, full] = word
        for w in range(full + 1, out.shape[1]):
            out[i, w] = np.uint64(0)


@njit(cache=True, nogil=True)
def pack_serial(x, out):
    """Bit ``k % 64`` of ``out[i, k // 64]`` = ``x[i, k] < 0`` (NaN and -0.0 give 0, i.e. +1)."""
    for i in range(x.shape[0]):
        _pack_row(x, out, i)


@njit(cache=True, nogil=True, parallel=True)
def pack_parallel(x, out):
    for i in prange(x.shape[0]):
        _pack_row(x, out, i)


@njit(cache=True, nogil=True)
def naive_products(a, b, k, out):
    """The plain loop a new user would write (no blocking, one thread): the benchmark's yardstick."""
    m, words = a.shape
    for i in range(m):
        for j in range(b.shape[0]):
            c = np.uint64(0)
            for w in range(words):
                c += popcount64(a[i, w] ^ b[j, w])
            out[i, j] = k - 2 * np.int64(c)


# One compiled call per product from float activations: packing and product without a round trip
# through Python (which costs more than a whole 1 x 1024 x 1024 product).


@njit(cache=True, nogil=True)
def linear_serial(x, b, k):
    """int32 ``[M, N]`` = ``sign(x) @ B.T`` for real ``x [M, K]`` and packed weights ``b``."""
    m = x.shape[0]
    a = np.empty((m, b.shape[1]), dtype=np.uint64)
    for i in range(m):
        _pack_row(x, a, i)
    out = np.empty((m, b.shape[0]), dtype=np.int32)
    for block in range((b.shape[0] + BLOCK - 1) // BLOCK):
        _block_products(a, b, k, out, block, 0, m)
    return out


@njit(cache=True, nogil=True, parallel=True)
def linear_parallel(x, b, k):
    m = x.shape[0]
    a = np.empty((m, b.shape[1]), dtype=np.uint64)
    for i in prange(m):
        _pack_row(x, a, i)
    out = np.empty((m, b.shape[0]), dtype=np.int32)
    blocks = (b.shape[0] + BLOCK - 1) // BLOCK
    chunks = (m + ROWS - 1) // ROWS
    for tile in prange(blocks * chunks):
        chunk = tile // blocks
        _block_products(a, b, k, out, tile % blocks, chunk * ROWS, min(m, chunk * ROWS + ROWS))
    return out
