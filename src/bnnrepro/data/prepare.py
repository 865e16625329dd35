"""From a parsed dataset to the tensors a run trains and evaluates on.

The order of operations is fixed: official split -> task (relabel / filter classes) -> validation
split (the *last* ``valid_size`` training examples, as the original scripts held out the end of the
training set) -> random training subset -> label/input transform (randY / randX, training set only;
validation and test keep their true labels and images, so their error measures generalization).
All randomness comes from ``data_seed``, which is separate from the run's seed: runs that differ
only in ``seed`` see the same random labels, noise and subset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bnnrepro.data import transforms
from bnnrepro.data.registry import RawDataset
from bnnrepro.errors import ConfigError

if TYPE_CHECKING:  # torch is imported when data are prepared, so `import bnnrepro.data` stays light
    import torch

LABEL_MODES = ("true", "randY", "randX")
_PAIR = re.compile(r"^pair-(\d)-(\d)$")


@dataclass
class Split:
    """Inputs (float32, N x C x H x W, in [-1, 1]), labels (int64) and the examples' indices in
    the official split they came from."""

    x: torch.Tensor
    y: torch.Tensor
    index: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class PreparedData:
    train: Split
    valid: Split | None
    test: Split
    classes: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train.x.shape[1:])


def parse_task(task: str) -> tuple[str, tuple[int, int] | None]:
    """('multiclass' | 'binary' | 'pair', (a, b) for pairs)."""
    if task in ("multiclass", "binary"):
        return task, None
    match = _PAIR.match(task)
    if match and match.group(1) != match.group(2):
        return "pair", (int(match.group(1)), int(match.group(2)))
    raise ConfigError(
        f"unknown task {task!r}; use 'multiclass', 'binary' (classes 0-4 vs 5-9) "
        "or 'pair-A-B' with two different digits A and B (e.g. pair-3-5)"
    )


def apply_task(
    x: np.ndarray, y: np.ndarray, classes: tuple[str, ...], task: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """(x, y, original indices, class names) after the task's relabelling or filtering."""
    kind, pair = parse_task(task)
    index = np.arange(len(y))
    if kind == "binary":
        return x, transforms.binary_task_labels(y), index, ("classes 0-4", "classes 5-9")
    if pair is not None:  # kind == "pair"
        a, b = pair
        keep = (y == a) | (y == b)
        return x[keep], (y[keep] == b).astype(np.int64), index[keep], (classes[a], classes[b])
    return x, y, index, classes


def prepare_data(
    raw: RawDataset,
    *,
    train_size: int | None = None,
    valid_size: int = 0,
    test_size: int | None = None,
    labels: str = "true",
    randx_variance: float = transforms.RANDX_VARIANCE,
    task: str = "multiclass",
    data_seed: int = 0,
) -> PreparedData:
    """Build the train / valid / test tensors of one run (see the module docstring).

    ``raw``'s arrays may be read-only (memory-mapped): every step below copies (fancy indexing,
    scaling to float32) before anything is changed."""
    import torch

    if labels not in LABEL_MODES:
        raise ConfigError(f"unknown labels mode {labels!r}; choose one of {', '.join(LABEL_MODES)}")
    x_all, y_all, idx_all, classes = apply_task(raw.x_train, raw.y_train, raw.classes, task)
    x_te, y_te, idx_te, _ = apply_task(raw.x_test, raw.y_test, raw.classes, task)
    n = len(y_all)
    if valid_size < 0 or valid_size >= n:
        raise ConfigError(f"valid_size={valid_size} must be in [0, {n - 1}] for {raw.name} ({task})")
    pool = n - valid_size
    if train_size is not None and not 0 < train_size <= pool:
        raise ConfigError(
            f"train_size={train_size} must be in [1, {pool}] for {raw.name} ({task}) with valid_size={valid_size}"
        )
    if test_size is not None and not 0 < test_size <= len(y_te):
        raise ConfigError(f"test_size={test_size} must be in [1, {len(y_te)}] for {raw.name} ({task})")

    train_idx = transforms.subset_indices(pool, train_size, data_seed)
    x_tr = transforms.scale_inputs(x_all[train_idx])
    y_tr = y_all[train_idx]
    if labels == "randY":
        y_tr = transforms.randomize_labels(y_tr, len(classes), data_seed)
    elif labels == "randX":
        x_tr = transforms.gaussian_inputs(x_tr.shape, data_seed, randx_variance)

    def split(x: np.ndarray, y: np.ndarray, index: np.ndarray) -> Split:
        return Split(torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y.astype(np.int64)), index)

    valid = None
    if valid_size:
        sl = slice(pool, n)
        valid = split(transforms.scale_inputs(x_all[sl]), y_all[sl], idx_all[sl])
    test_idx = transforms.subset_indices(len(y_te), test_size, data_seed + 1)
    test = split(transforms.scale_inputs(x_te[test_idx]), y_te[test_idx], idx_te[test_idx])
    return PreparedData(split(x_tr, y_tr, idx_all[train_idx]), valid, test, tuple(classes))
