"""Networks of k-input lookup tables trained by pure memorization (Chatterjee 2018).

The model
---------
A network has ``hidden_layers`` layers of luts (``width`` luts each) followed by one output lut.
Every lut reads ``k`` *distinct* inputs of the previous layer (the input bits for the first layer),
drawn uniformly at random when the network is built. Training goes layer by layer from the inputs:
each lut maps each of its ``2**k`` input patterns to the class most often seen with that pattern in
the training set (the 0-1-loss optimal truth table); ties, which include patterns never seen in
training, go to a class drawn at random among the tied ones. The lut's outputs on the training set
are the next layer's inputs; the single output lut gives the prediction.

Data layout and speed
---------------------
Activations are kept feature-major, ``(features, examples)`` uint8 with values in {0, 1}, the
number of examples padded to a multiple of 8, so the ``k`` inputs of a lut are ``k`` contiguous
rows; its pattern indices are built by shift-or passes over those rows viewed as uint64 (8 examples
per word; uint8 patterns for ``k <= 8``, uint16 up to :data:`MAX_K`). :meth:`LutNetwork.fit`
sorts the training examples by class, so counting is one ``numpy.bincount`` per lut and class
over a contiguous slice (comparisons for ``k <= 2``), giving the lut's ``(classes, 2**k)`` count
table; truth tables, tie-breaking and training accuracies are then computed for a whole chunk of
luts at once, and the luts' outputs looked up (``bytes.translate`` for uint8 patterns). The loops
are over luts, never over examples, on rows of a few tens of KB that stay in cache. Fitting the
paper's 5 x 1024 network with ``k = 8`` on 60,000 examples takes about 2 s of CPU time on one
core (benchmarks/lutnet_speed.py); each lut costs three passes over the examples (patterns,
counts, lookup) of about 1 ns per example each, near what numpy's primitives allow.

Memory is bounded for every ``k``: luts are processed in chunks whose working set (int32 count
tables ``luts x classes x 2**k``, their temporaries and the ``luts x examples`` pattern indices)
stays under ``max_chunk_bytes``, whatever ``k`` and the number of examples. Besides, only the
truth tables (``luts x 2**k`` bytes per layer: 64 MiB per 1024-lut layer at ``k = 16``) and two
layers of activations are kept.

Reproducibility
---------------
All randomness comes from ``seed``: the connections of layer ``l`` from a generator seeded with
``(seed, l, 0)``, and the tie-breaking from a keyed hash of ``(seed, l, lut, pattern)``
(:func:`tie_bits`; :func:`tie_priorities` for the many-class rule). A counter-based hash makes each
table cell's random draw independent of how luts are split into chunks or threads, so the result
depends on ``seed`` only.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bnnrepro.errors import ConfigError

#: Largest supported lut size: pattern indices are stored as uint16.
MAX_K = 16
#: Default bound on the working memory of the chunks of luts processed at once (all threads).
DEFAULT_CHUNK_BYTES = 128 << 20

# Stream identifiers mixed into the seed so connections and tie-breaking draw from unrelated streams.
_CONNECTION_STREAM = 0
_TIE_STREAM = 1


def default_threads() -> int:
    """Number of CPUs this process may run on (the thread pool's default size)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def pattern_dtype(k: int) -> np.dtype:
    """Smallest unsigned dtype holding a ``k``-bit pattern index."""
    return np.dtype(np.uint8) if k <= 8 else np.dtype(np.uint16)


# --------------------------------------------------------------------------------------------
# Random connections and tie-breaking
# --------------------------------------------------------------------------------------------


def random_connections(n_inputs: int, n_luts: int, k: int, seed: int, layer: int) -> np.ndarray:
    """``(n_luts, k)`` int64 input indices: for each lut ``k`` distinct inputs out of ``n_inputs``,
    a uniformly random subset, seeded by ``(seed, layer)``.

    Bit ``i`` of a lut's pattern index is the value of its ``i``-th input.
    """
    if not 1 <= k <= n_inputs:
        raise ConfigError(
            f"layer {layer}: a lut needs k={k} distinct inputs but the previous layer "
            f"has only {n_inputs}; use k <= {n_inputs} or a wider previous layer"
        )
    rng = np.random.default_rng([seed, layer, _CONNECTION_STREAM])
    # The k smallest of n_inputs i.i.d. uniform keys form a uniform random k-subset; their order
    # (argsort of those k keys) is a uniform random order, which fixes the bit positions.
    connections = np.empty((n_luts, k), dtype=np.int64)
    block = max(1, (16 << 20) // (8 * n_inputs))  # bound the key matrix to ~16 MiB
    for start in range(0, n_luts, block):
        keys = rng.random((min(block, n_luts - start), n_inputs))
        part = np.argpartition(keys, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(keys, part, axis=1), axis=1)
        connections[start : start + len(keys)] = np.take_along_axis(part, order, axis=1)
    return connections


def _mix32(x: np.ndarray) -> np.ndarray:
    """The 'lowbias32' integer finaliser (C. Wellons): a bijective avalanche hash of uint32 values.

    Operates in place on a uint32 array (numpy wraps uint32 array products modulo 2**32).
    """
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x7FEB352D)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x846CA68B)
    x ^= x >> np.uint32(16)
    return x


def lut_keys(seed: int, layer: int, n_luts: int) -> np.ndarray:
    """Per-lut uint32 keys of the tie-breaking hash for one layer, from ``(seed, layer)``."""
    return np.random.SeedSequence([seed, layer, _TIE_STREAM]).generate_state(n_luts, np.uint32)


def _hash_cells(keys: np.ndarray, n_cells: int, salt: int) -> np.ndarray:
    """``(luts, n_cells)`` uint32 hashes of ``(lut key, cell index, salt)``.

    Each value depends only on its own lut's key and cell, never on which other luts are hashed
    with it, so chunking and threading cannot change the random draws.
    """
    cells = np.arange(n_cells, dtype=np.uint32) + np.uint32(salt)
    _mix32(cells)  # decorrelate neighbouring cells before combining them with the key
    out = np.bitwise_xor(keys.astype(np.uint32)[:, None], cells[None, :])
    return _mix32(out)


def tie_bits(keys: np.ndarray, k: int) -> np.ndarray:
    """Random tie-breaking bits ``(luts, 2**k)`` uint8 of binary luts: a tie at ``(lut, pattern)``
    goes to class 1 iff its bit is 1.

    One 32-bit hash gives the bits of 32 consecutive patterns (1/32 of the hashing work).
    """
    words = _hash_cells(keys, max(1, (1 << k) // 32), salt=0x9E3779B9)
    as_bytes = words.astype("<u4").view(np.uint8)  # little-endian bytes: bit p of word w = pattern 32w+p
    return np.unpackbits(as_bytes, axis=1, bitorder="little")[:, : 1 << k]


def tie_priorities(keys: np.ndarray, k: int, num_classes: int) -> np.ndarray:
    """Random priorities ``(luts, classes, 2**k)`` uint32 for luts with more than two classes: a tie
    at ``(lut, pattern)`` goes to the tied class of highest priority, a uniformly random one among
    the tied classes (up to equal 32-bit hashes, probability 2**-32 per pair)."""
    out = np.empty((len(keys), num_classes, 1 << k), dtype=np.uint32)
    for c in range(num_classes):
        out[:, c] = _hash_cells(keys, 1 << k, salt=(0x7F4A7C15 * (c + 1)) % 2**32)
    return out


# --------------------------------------------------------------------------------------------
# The lut rule, on arrays (feature-major activations)
# --------------------------------------------------------------------------------------------


def _pack_plane(in64: np.ndarray, inputs: Sequence[int] | np.ndarray, out64: np.ndarray) -> None:
    """``out = sum_i rows[inputs[i]] << i`` for at most 8 inputs, on rows viewed as uint64.

    Every byte of an input row is 0 or 1, so shifting a whole uint64 word left by at most 7 keeps
    each byte's bit inside its own byte: one 64-bit shift handles 8 examples at once (numpy has no
    vector instruction for 8-bit shifts, so this is several times faster than uint8 arithmetic).
    """
    np.copyto(out64, in64[inputs[-1]])
    for i in reversed(inputs[:-1]):  # Horner's scheme: no temporary row needed
        np.left_shift(out64, np.uint64(1), out=out64)
        np.bitwise_or(out64, in64[i], out=out64)


def lut_patterns(inputs: np.ndarray, connections: np.ndarray) -> np.ndarray:
    """Pattern indices ``(luts, examples)``: ``sum_i inputs[connections[:, i]] << i``.

    ``inputs`` is ``(features, examples)`` uint8 in {0, 1} (any other values give wrong patterns);
    the result is uint8 for ``k <= 8`` and uint16 up to :data:`MAX_K`. Inputs whose number of
    examples is a multiple of 8 and that are C-contiguous are used in place (the network keeps its
    activations that way, see :func:`to_feature_major`); others are first copied into that form.
    """
    n_luts, k = connections.shape
    n = inputs.shape[1]
    padded = -(-n // 8) * 8  # the uint64 view needs whole words of 8 examples
    if padded != n or not inputs.flags.c_contiguous:
        buf = np.zeros((inputs.shape[0], padded), dtype=np.uint8)
        buf[:, :n] = inputs
        inputs = buf
    in64 = inputs.view(np.uint64)
    low = np.empty((n_luts, padded), dtype=np.uint8)
    low64 = low.view(np.uint64)
    if k <= 8:
        for j in range(n_luts):
            _pack_plane(in64, connections[j], low64[j])
        return low[:, :n]
    out = np.empty((n_luts, padded), dtype=np.uint16)
    high = np.empty(padded // 8, dtype=np.uint64)
    high8 = high.view(np.uint8)
    for j in range(n_luts):
        # Bits 0-7 and bits 8..k-1 as two byte planes, then merged into uint16.
        _pack_plane(in64, connections[j, :8], low64[j])
        _pack_plane(in64, connections[j, 8:], high)
        np.left_shift(high8, 8, out=out[j], dtype=np.uint16)
        np.bitwise_or(out[j], low[j], out=out[j])
    return out[:, :n]


def count_patterns(patterns: np.ndarray, y: np.ndarray, k: int, num_classes: int) -> np.ndarray:
    """Count table ``(luts, classes, 2**k)`` int32: ``counts[j, c, p]`` is the number of examples
    of class ``c`` whose pattern at lut ``j`` is ``p``. ``y`` holds int labels in ``[0, classes)``
    for the first ``len(y)`` examples; further columns of ``patterns`` (padding) are not counted.

    Fastest when the examples are sorted by class (:meth:`LutNetwork.fit` sorts them): each class
    is then a contiguous slice of every row, counted directly, with no index array to build.
    """
    if len(y) >= 2**31:
        raise ValueError("count tables are int32: at most 2**31 - 1 training examples")
    patterns = patterns[:, : len(y)]
    n_patterns = 1 << k
    counts = np.empty((len(patterns), num_classes, n_patterns), dtype=np.int32)
    y = np.asarray(y)
    if np.all(y[:-1] <= y[1:]):
        bounds = np.concatenate(([0], np.cumsum(np.bincount(y, minlength=num_classes))))
        for j in range(len(patterns)):
            for c in range(num_classes):
                counts[j, c] = _count_values(patterns[j, bounds[c] : bounds[c + 1]], n_patterns)
        return counts
    # Unsorted labels: one bincount per lut over pattern + (label << k) counts every class at once.
    offset = y.astype(np.int64) << k
    index = np.empty(len(y), dtype=np.int64)
    for j in range(len(patterns)):
        np.add(patterns[j], offset, out=index, dtype=np.int64)
        counts[j] = np.bincount(index, minlength=num_classes << k).reshape(num_classes, n_patterns)
    return counts


def _count_values(values: np.ndarray, n_values: int) -> np.ndarray | list[int]:
    """Occurrences of each of ``0 .. n_values - 1`` in ``values`` (non-negative ints below n_values).

    ``numpy.bincount`` increments one counter per value; with very few counters the increments of
    the same counter wait for each other, so for up to 4 values one comparison pass per value is
    several times faster.
    """
    if n_values <= 4:
        return [int(np.count_nonzero(values == v)) for v in range(n_values)]
    return np.bincount(values, minlength=n_values)


def memorize(counts: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Truth tables ``(luts, 2**k)`` uint8 from counts ``(luts, classes, 2**k)``: the most frequent
    class of each pattern; ties (unseen patterns included) go to a tied class drawn at random by
    the luts' tie-breaking ``keys`` (:func:`lut_keys`): :func:`tie_bits` for two classes,
    :func:`tie_priorities` for more."""
    k = counts.shape[2].bit_length() - 1
    if counts.shape[1] == 2:
        n0, n1 = counts[:, 0], counts[:, 1]
        return ((n1 > n0) | ((n1 == n0) & tie_bits(keys, k).astype(bool))).astype(np.uint8)
    tied = counts == counts.max(axis=1, keepdims=True)
    # Priorities are < 2**32, so -1 (as int64) never beats a tied class.
    ranked = np.where(tied, tie_priorities(keys, k, counts.shape[1]).astype(np.int64), -1)
    return ranked.argmax(axis=1).astype(np.uint8)


def table_accuracy(counts: np.ndarray) -> np.ndarray:
    """Training accuracy ``(luts,)`` float64 of memorized luts from their counts: a lut maps each
    pattern to one of its most frequent classes, so it is right on ``max_c counts[c, p]`` of the
    examples with pattern ``p``."""
    # Elementwise maxima over the classes (np.maximum) are several times faster than
    # counts.max(axis=1), and int32 sums are exact: they are at most the number of examples,
    # below 2**31 (count_patterns checks it).
    most = counts[:, 0].copy()
    for c in range(1, counts.shape[1]):
        np.maximum(most, counts[:, c], out=most)
    return most.sum(axis=1, dtype=np.int32) / counts[0].sum(dtype=np.int64)


def lookup(tables: np.ndarray, patterns: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Lut outputs ``(luts, examples)`` uint8: ``tables[j, patterns[j]]``."""
    if out is None:
        out = np.empty(patterns.shape, dtype=np.uint8)
    if patterns.dtype == np.uint8:
        # bytes.translate maps every byte through a 256-byte table in one C loop: about 20%
        # faster than np.take, which first converts the indices to intp and checks each one.
        table = np.zeros(256, dtype=np.uint8)
        for j in range(len(tables)):
            table[: tables.shape[1]] = tables[j]
            out[j] = np.frombuffer(patterns[j].tobytes().translate(table.tobytes()), dtype=np.uint8)
        return out
    for j in range(len(tables)):
        np.take(tables[j], patterns[j], out=out[j])
    return out


# --------------------------------------------------------------------------------------------
# Chunked, threaded layer operations
# --------------------------------------------------------------------------------------------


def chunk_size(k: int, num_classes: int, n_examples: int, max_chunk_bytes: int) -> int:
    """Luts per chunk so that a chunk's working set fits in ``max_chunk_bytes`` (at least one lut):
    int32 counts and the temporaries of :func:`memorize` (bounded by 16 bytes per cell, the int64
    ranking of the many-class rule) plus the pattern indices."""
    per_lut = (num_classes << k) * (4 + 16) + n_examples * pattern_dtype(k).itemsize
    return max(1, max_chunk_bytes // per_lut)


def _chunks(n_luts: int, size: int, n_threads: int) -> list[slice]:
    # At least one chunk per thread, so small layers still use every core.
    size = max(1, min(size, math.ceil(n_luts / n_threads)))
    return [slice(s, min(s + size, n_luts)) for s in range(0, n_luts, size)]


def _run(fn: Callable[[Any], Any], items: list, n_threads: int) -> list:
    if n_threads <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        return list(pool.map(fn, items))


def fit_layer(
    inputs: np.ndarray,
    y: np.ndarray,
    connections: np.ndarray,
    keys: np.ndarray,
    num_classes: int = 2,
    *,
    max_chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    n_threads: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Memorize one layer. Returns ``(tables (luts, 2**k) uint8, outputs (luts, examples) uint8,
    training accuracies (luts,) float64)``.

    ``inputs`` is ``(features, examples)`` uint8 in {0, 1}; the first ``len(y)`` examples are the
    training set and any further columns (padding) are only passed through the tables. ``keys``
    are the luts' tie-breaking keys (:func:`lut_keys`). The result does not depend on
    ``max_chunk_bytes`` or ``n_threads``.
    """
    n_luts, k = connections.shape
    n = inputs.shape[1]
    tables = np.empty((n_luts, 1 << k), dtype=np.uint8)
    outputs = np.empty((n_luts, n), dtype=np.uint8)
    accuracy = np.empty(n_luts, dtype=np.float64)
    budget = max_chunk_bytes // max(1, n_threads)  # chunks run concurrently: split the budget

    def work(sl: slice) -> None:
        patterns = lut_patterns(inputs, connections[sl])
        counts = count_patterns(patterns, y, k, num_classes)
        tables[sl] = memorize(counts, keys[sl])
        accuracy[sl] = table_accuracy(counts)
        lookup(tables[sl], patterns, out=outputs[sl])

    _run(work, _chunks(n_luts, chunk_size(k, num_classes, n, budget), n_threads), n_threads)
    return tables, outputs, accuracy


def apply_layer(
    inputs: np.ndarray,
    connections: np.ndarray,
    tables: np.ndarray,
    *,
    max_chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    n_threads: int = 1,
) -> np.ndarray:
    """Outputs ``(luts, examples)`` uint8 of a memorized layer on ``(features, examples)`` inputs."""
    n_luts, k = connections.shape
    outputs = np.empty((n_luts, inputs.shape[1]), dtype=np.uint8)
    per_lut = inputs.shape[1] * pattern_dtype(k).itemsize
    size = max(1, max_chunk_bytes // max(1, n_threads) // per_lut)

    def work(sl: slice) -> None:
        lookup(tables[sl], lut_patterns(inputs, connections[sl]), out=outputs[sl])

    _run(work, _chunks(n_luts, size, n_threads), n_threads)
    return outputs


def accuracy_per_row(outputs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fraction of the first ``len(y)`` examples where each row of ``(rows, examples)`` equals the
    target ``y`` (further columns, padding, are ignored)."""
    y8 = y.astype(outputs.dtype)
    n = len(y)
    return np.fromiter(((row[:n] == y8).mean() for row in outputs), dtype=np.float64, count=len(outputs))


def layer_statistics(accuracies: Sequence[np.ndarray]) -> pd.DataFrame:
    """Per-layer summary of lut accuracies (Chatterjee's Table 2): columns ``layer, count, mean,
    std, min, max`` (``std`` is the population standard deviation, ddof = 0)."""
    rows = [
        {
            "layer": i,
            "count": len(a),
            "mean": float(np.mean(a)),
            "std": float(np.std(a)),
            "min": float(np.min(a)),
            "max": float(np.max(a)),
        }
        for i, a in enumerate(accuracies)
    ]
    return pd.DataFrame(rows, columns=["layer", "count", "mean", "std", "min", "max"])


# --------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------


def to_feature_major(x: np.ndarray, name: str = "x", order: np.ndarray | None = None) -> np.ndarray:
    """Validate ``(examples, features)`` bits and return them as the network's activations:
    ``(features, padded)`` C-contiguous uint8, ``padded`` the number of examples rounded up to a
    multiple of 8, the extra columns zero (see :func:`lut_patterns`). ``order`` (a permutation of
    the examples) puts example ``order[i]`` in column ``i``, without a reordered copy of ``x``."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (examples, features) bits, got shape {x.shape}")
    if x.dtype != np.bool_:
        if not np.issubdtype(x.dtype, np.integer):
            raise ValueError(f"{name} must hold bits (bool or integers 0/1), got dtype {x.dtype}")
        if x.size and (x.min() < 0 or x.max() > 1):
            raise ValueError(
                f"{name} must hold bits 0/1 (threshold images first, e.g. with "
                "bnnrepro.data.threshold_bits), got values outside {0, 1}"
            )
    n, d = x.shape
    out = np.zeros((d, -(-n // 8) * 8), dtype=np.uint8)
    block = 4096  # transpose in row blocks that fit in cache: ~3x faster than one big transpose
    for start in range(0, n, block):
        stop = min(start + block, n)
        out[:, start:stop] = (x[start:stop] if order is None else x[order[start:stop]]).T
    return out


def _as_labels(y: np.ndarray, n: int) -> np.ndarray:
    """Validate binary labels for ``n`` examples and return them as int64."""
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},), got {y.shape}")
    if not (np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_):
        raise ValueError(f"y must hold integer class labels, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if n and (y.min() < 0 or y.max() > 1):
        raise ValueError(
            "a LutNetwork is a binary classifier: labels must be 0 or 1 (build the "
            "task first, e.g. with bnnrepro.data.binary_task_labels)"
        )
    return y


@dataclass
class LutNetwork:
    """A network of ``hidden_layers`` layers of ``width`` k-input luts plus one output lut.

    Parameters
    ----------
    k : inputs per lut, 1..:data:`MAX_K`.
    hidden_layers : number of hidden layers (0 gives a single lut on ``k`` random input bits).
    width : luts per hidden layer, an int or one int per hidden layer.
    seed : seeds the random connections and the tie-breaking (non-negative int).
    max_chunk_bytes : bound on the working memory of the luts processed at once (all threads).
    n_threads : worker threads over chunks of luts; ``None`` = the CPUs this process may use.
        Default 1: the per-lut numpy calls are short (tens of microseconds) and contend for the
        GIL, so a second thread gained little on the 2-core reference machine (see
        benchmarks/lutnet_speed.py); running independent networks in parallel processes scales
        better.

    Attributes set by :meth:`fit`
    -----------------------------
    connections_ : list of ``(luts, k)`` int64 arrays, one per layer (output lut last); layer ``l``
        reads the outputs of layer ``l - 1`` (layer 0 = the input bits).
    tables_ : list of ``(luts, 2**k)`` uint8 truth tables.
    train_accuracy_ : list of per-lut training accuracies; entry 0 is the input bits taken as
        predictors of the target (bit == label), entries ``1..hidden_layers + 1`` the lut layers.
    n_features_in_ : input width seen at fit.

    The network is a binary classifier (labels 0/1), as in the paper: a hidden lut's output is a
    class, and it must be one bit to serve as an input of the next layer. The lut rule itself
    (:func:`count_patterns`, :func:`memorize`) handles any number of classes.
    """

    k: int = 8
    hidden_layers: int = 5
    width: int | Sequence[int] = 1024
    seed: int = 0
    max_chunk_bytes: int = DEFAULT_CHUNK_BYTES
    n_threads: int | None = 1

    def __post_init__(self) -> None:
        if not isinstance(self.k, (int, np.integer)) or not 1 <= self.k <= MAX_K:
            raise ConfigError(f"k={self.k!r}: the number of inputs per lut must be an int in 1..{MAX_K}")
        if not isinstance(self.hidden_layers, (int, np.integer)) or self.hidden_layers < 0:
            raise ConfigError(f"hidden_layers={self.hidden_layers!r} must be an int >= 0")
        widths = self.layer_widths[:-1]
        if any(not isinstance(w, (int, np.integer)) or w < 1 for w in widths):
            raise ConfigError(f"width={self.width!r}: every hidden layer needs at least one lut")
        if any(w < self.k for w in widths):
            raise ConfigError(
                f"width={self.width!r}: each hidden layer must have at least k={self.k} "
                "luts, since the next layer's luts read k distinct outputs"
            )
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ConfigError(f"seed={self.seed!r} must be a non-negative int")
        if self.max_chunk_bytes < 1:
            raise ConfigError(f"max_chunk_bytes={self.max_chunk_bytes!r} must be positive")
        if self.n_threads is not None and self.n_threads < 1:
            raise ConfigError(f"n_threads={self.n_threads!r} must be >= 1")

    @property
    def layer_widths(self) -> list[int]:
        """Number of luts of every lut layer, hidden layers then the output lut."""
        if isinstance(self.width, (int, np.integer)):
            hidden = [int(self.width)] * self.hidden_layers
        else:
            hidden = [int(w) for w in self.width]
            if len(hidden) != self.hidden_layers:
                raise ConfigError(f"width lists {len(hidden)} layers but hidden_layers={self.hidden_layers}")
        return hidden + [1]

    @property
    def _threads(self) -> int:
        return self.n_threads or default_threads()

    # -- training ------------------------------------------------------------------------------

    def fit(self, x: np.ndarray, y: np.ndarray) -> LutNetwork:
        """Memorize ``(examples, features)`` bits ``x`` with labels ``y`` in {0, 1}, layer by layer."""
        x = np.asarray(x)
        y = _as_labels(y, len(x))
        # Train on the examples sorted by class, which makes counting faster (count_patterns).
        # Counts, truth tables and accuracies do not depend on the order of the examples.
        order = np.argsort(y, kind="stable")
        bits = to_feature_major(x, order=order)
        y = y[order]
        self.n_features_in_ = bits.shape[0]
        threads = self._threads
        self.connections_, self.tables_ = [], []
        self.train_accuracy_ = [accuracy_per_row(bits, y)]
        inputs = bits
        for layer, n_luts in enumerate(self.layer_widths, start=1):
            connections = random_connections(len(inputs), n_luts, self.k, self.seed, layer)
            tables, outputs, accuracy = fit_layer(
                inputs,
                y,
                connections,
                lut_keys(self.seed, layer, n_luts),
                2,
                max_chunk_bytes=self.max_chunk_bytes,
                n_threads=threads,
            )
            self.connections_.append(connections)
            self.tables_.append(tables)
            self.train_accuracy_.append(accuracy)
            inputs = outputs
        return self

    # -- inference ------------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "tables_"):
            raise RuntimeError("this LutNetwork is not fitted yet; call fit(x, y) first")

    def layer_outputs(self, x: np.ndarray) -> Iterator[np.ndarray]:
        """Yield the ``(luts, padded)`` uint8 outputs of every lut layer on ``x``, in order (layer 1
        first, the output lut last); column ``i < len(x)`` is example ``i``, further columns are
        padding (see :func:`to_feature_major`)."""
        self._check_fitted()
        inputs = to_feature_major(x)
        if len(inputs) != self.n_features_in_:
            raise ValueError(f"x has {len(inputs)} features, the network was fitted on {self.n_features_in_}")
        threads = self._threads
        for connections, tables in zip(self.connections_, self.tables_):
            outputs = apply_layer(inputs, connections, tables, max_chunk_bytes=self.max_chunk_bytes, n_threads=threads)
            yield outputs
            inputs = outputs

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted classes ``(examples,)`` int64: the output lut's value."""
        *_, last = self.layer_outputs(x)
        return last[0, : len(x)].astype(np.int64)

    def score(self, x: np.ndarray, y: np.ndarray) -> float:
        """Accuracy of :meth:`predict` on ``(x, y)``."""
        return float(np.mean(self.predict(x) == np.asarray(y)))

    def layer_accuracy(self, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        """Per-lut accuracies on ``(x, y)`` for every layer, in the layout of ``train_accuracy_``
        (entry 0: the input bits as predictors; last entry: the output lut)."""
        y = np.asarray(y).astype(np.int64)
        result = [accuracy_per_row(to_feature_major(x), y)]
        result.extend(accuracy_per_row(out, y) for out in self.layer_outputs(x))
        return result

    def layer_stats(self) -> pd.DataFrame:
        """:func:`layer_statistics` of the training accuracies (Chatterjee's Table 2)."""
        self._check_fitted()
        return layer_statistics(self.train_accuracy_)

    @property
    def train_accuracy(self) -> float:
        """Training accuracy of the network (that of the output lut)."""
        self._check_fitted()
        return float(self.train_accuracy_[-1][0])
