"""Seeded transforms of inputs and labels used by the experiments.

Every function takes an explicit ``seed`` and draws from its own ``numpy.random.Generator``, so
the result depends only on its arguments (not on global random state or call order).
"""

from __future__ import annotations

import numpy as np

#: Variance of the Gaussian inputs of randX in the original code: N(0, 0.1), sigma = 0.316.
RANDX_VARIANCE = 0.1


def scale_inputs(x: np.ndarray) -> np.ndarray:
    """uint8 pixels to float32 in [-1, 1] as the original code did: ``x * 2 / 255 - 1``."""
    return x.astype(np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)


def randomize_labels(y: np.ndarray, num_classes: int, seed: int) -> np.ndarray:
    """randY: one uniform random label per example, drawn once (the original was unseeded)."""
    rng = np.random.default_rng([seed, 0x7261_6E64_59])  # stream distinct from other transforms
    return rng.integers(0, num_classes, size=len(y), dtype=np.int64)


def gaussian_inputs(shape: tuple[int, ...], seed: int, variance: float = RANDX_VARIANCE) -> np.ndarray:
    """randX: inputs replaced by i.i.d. N(0, variance) noise (after the [-1, 1] scaling)."""
    rng = np.random.default_rng([seed, 0x7261_6E64_58])
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(variance))).astype(np.float32)


def subset_indices(n: int, size: int | None, seed: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """Sorted indices of a uniform random subset of ``range(n)`` of ``size`` (all if None),
    never containing an index in ``exclude``."""
    pool = np.arange(n) if exclude is None else np.setdiff1d(np.arange(n), exclude)
    if size is None or size >= len(pool):
        if size is not None and size > len(pool):
            raise ValueError(f"subset of {size} requested from {len(pool)} examples")
        return pool
    rng = np.random.default_rng([seed, 0x7375_6273])
    return np.sort(rng.choice(pool, size=size, replace=False))


def binary_task_labels(y: np.ndarray, split: int = 5) -> np.ndarray:
    """Binary-{dataset} (Chatterjee): classes 0..split-1 -> 0, split..9 -> 1."""
    return (y >= split).astype(np.int64)


def pairwise_task(x: np.ndarray, y: np.ndarray, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """The a-vs-b task: only examples of classes a and b, relabelled 0 (a) and 1 (b)."""
    if a == b:
        raise ValueError("a pairwise task needs two different classes")
    keep = (y == a) | (y == b)
    return x[keep], (y[keep] == b).astype(np.int64)


def threshold_bits(x: np.ndarray, threshold: int = 128) -> np.ndarray:
    """1-bit quantized images (Chatterjee's Binary-MNIST): pixel >= threshold -> 1, flattened (N, D)."""
    return (x.reshape(len(x), -1) >= threshold).astype(np.uint8)
