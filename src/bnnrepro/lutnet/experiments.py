"""Chatterjee's (2018) experiments as tidy tables: one row per observation, long format.

Tasks are built by :func:`make_task` from a parsed dataset: pixels thresholded to bits
(``pixel >= 128``), the task's relabelling (``binary``: classes 0-4 -> 0, 5-9 -> 1, the paper's
Binary-{dataset}; ``pair-A-B``: only classes A and B, relabelled 0 and 1), optional random
subsets of the official train / test splits, and optionally random training labels (one uniform
label in {0, 1} per training example; test labels stay true, so test accuracy measures
generalization). All data randomness comes from ``data_seed``; network randomness from ``seed``.

Column schemas
--------------
Common columns of :func:`table1`, :func:`table3`, :func:`pairwise` (and :func:`sweep`):

``dataset``       registry name (``fashion_mnist``, ``mnist``, ``cifar10``)
``task``          ``binary`` or ``pair-A-B``
``labels``        ``real`` (true training labels) or ``random`` (uniform random training labels)
``method``        ``memorization`` (the lut network) or a baseline name (:data:`~bnnrepro.lutnet.baselines.BASELINES`)
``k``             inputs per lut (memorization rows; empty for baselines)
``hidden_layers`` hidden lut layers (memorization rows; empty for baselines)
``width``         luts per hidden layer (memorization rows; empty for baselines)
``seed``          seed of the method (network connections and tie-breaking; baselines' seed)
``data_seed``     seed of the subsets and of the random labels
``n_train``       training examples the method was fitted on
``split``         ``train`` or ``test``: the examples the accuracy is measured on
``n_eval``        number of those examples
``accuracy``      fraction of them classified correctly (against the labels trained on for
                  ``train``, the true labels for ``test``)
``fit_seconds``   wall time of fitting (the same on both rows of a fit)

:func:`pairwise` adds ``class_a``, ``class_b`` (class indices, A < B; label 0 is A) and
``name_a``, ``name_b`` (class names). :func:`generalization_gap` turns any of these tables into
one row per fit with ``train_accuracy``, ``test_accuracy`` and ``gap = train - test`` (Figure 1).

:func:`table2` has one row per (layer, split): ``dataset, task, labels, method, k, hidden_layers,
width, seed, data_seed, n_train, layer, kind, split, n_eval, count, mean, std, min, max``, where
``layer`` 0 is the input bits (``kind`` = ``input``: each bit used as a predictor of the label,
accuracy = fraction of examples with bit == label, as in the paper), ``1..hidden_layers`` the
hidden layers (``hidden``) and ``hidden_layers + 1`` the output lut (``output``); ``count`` is the
number of luts (bits) and ``mean, std, min, max`` summarize their accuracies on ``split``
(population ``std``). The network's test accuracy is the ``mean`` of the ``output``/``test`` row.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from bnnrepro.data import parse_task, randomize_labels, subset_indices, threshold_bits
from bnnrepro.data.prepare import apply_task
from bnnrepro.data.registry import RawDataset
from bnnrepro.errors import ConfigError
from bnnrepro.lutnet.baselines import BASELINES, make_baseline
from bnnrepro.lutnet.network import MAX_K, LutNetwork, layer_statistics

LABELS = ("real", "random")
#: Paper defaults: 5 hidden layers of 1024 luts; Table 3's k sweep; Table 1 used k = 12 (MNIST).
PAPER_LAYERS, PAPER_WIDTH = 5, 1024
PAPER_KS = (2, 4, 6, 8, 10, 12, 14, 16)
TABLE1_METHODS = ("memorization",) + BASELINES

COLUMNS = ["dataset", "task", "labels", "method", "k", "hidden_layers", "width", "seed", "data_seed",
           "n_train", "split", "n_eval", "accuracy", "fit_seconds"]
PAIR_COLUMNS = ["class_a", "class_b", "name_a", "name_b"]
TABLE2_COLUMNS = ["dataset", "task", "labels", "method", "k", "hidden_layers", "width", "seed",
                  "data_seed", "n_train", "layer", "kind", "split", "n_eval", "count", "mean", "std",
                  "min", "max"]

Progress = Callable[[str], None] | None


@dataclass(frozen=True)
class BitTask:
    """A binary task on thresholded images: ``(examples, bits)`` uint8 inputs, int64 labels."""

    dataset: str
    task: str
    labels: str
    data_seed: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple[int, int, int]
    class_names: tuple[str, str]

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def n_test(self) -> int:
        return len(self.y_test)

    def meta(self) -> dict:
        """The columns that identify this task in a result table."""
        return {"dataset": self.dataset, "task": self.task, "labels": self.labels,
                "data_seed": self.data_seed, "n_train": self.n_train}


def _check_size(name: str, size: int | None, available: int, what: str) -> None:
    if size is not None and not 0 < size <= available:
        raise ConfigError(f"{name}={size} must be in [1, {available}] ({available} examples in {what})")


def make_task(raw: RawDataset, task: str = "binary", *, labels: str = "real",
              train_size: int | None = None, test_size: int | None = None, data_seed: int = 0,
              threshold: int = 128) -> BitTask:
    """Build a :class:`BitTask` (see the module docstring for the steps).

    ``train_size`` / ``test_size`` draw uniform random subsets (``None``: the whole split) of the
    task's examples, with seeds ``data_seed`` and ``data_seed + 1``.
    """
    kind, _ = parse_task(task)
    if kind == "multiclass":
        raise ConfigError("the lut network is a binary classifier: use task 'binary' or 'pair-A-B'")
    if labels not in LABELS:
        raise ConfigError(f"labels={labels!r}: choose 'real' or 'random'")
    x_tr, y_tr, _, names = apply_task(raw.x_train, raw.y_train, raw.classes, task)
    x_te, y_te, _, _ = apply_task(raw.x_test, raw.y_test, raw.classes, task)
    what = f"{raw.name} {task}"
    _check_size("train_size", train_size, len(y_tr), f"the training split of {what}")
    _check_size("test_size", test_size, len(y_te), f"the test split of {what}")
    train_idx = subset_indices(len(y_tr), train_size, data_seed)
    test_idx = subset_indices(len(y_te), test_size, data_seed + 1)
    y_train = y_tr[train_idx]
    if labels == "random":
        y_train = randomize_labels(y_train, 2, data_seed)
    return BitTask(raw.name, task, labels, data_seed,
                   threshold_bits(x_tr[train_idx], threshold), y_train,
                   threshold_bits(x_te[test_idx], threshold), y_te[test_idx],
                   tuple(raw.image_shape), tuple(names))


def _rows(task: BitTask, base: dict, fit_seconds: float, train_acc: float, test_acc: float,
          n_eval_train: int) -> list[dict]:
    common = {**task.meta(), **base, "fit_seconds": fit_seconds}
    return [{**common, "split": "train", "n_eval": n_eval_train, "accuracy": train_acc},
            {**common, "split": "test", "n_eval": task.n_test, "accuracy": test_acc}]


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    for col in ("k", "hidden_layers", "width"):
        if col in frame:
            frame[col] = frame[col].astype("Int64")  # integers, empty for the baselines
    return frame


def fit_network(task: BitTask, *, k: int, hidden_layers: int = PAPER_LAYERS, width: int = PAPER_WIDTH,
                seed: int = 0, n_threads: int = 1) -> tuple[LutNetwork, list[dict]]:
    """Fit one lut network on ``task``; returns it and its two rows (train, test) of the schema.

    The training accuracy is that of the output lut on the whole training set."""
    net = LutNetwork(k=k, hidden_layers=hidden_layers, width=width, seed=seed, n_threads=n_threads)
    t0 = time.perf_counter()
    net.fit(task.x_train, task.y_train)
    seconds = time.perf_counter() - t0
    test_acc = net.score(task.x_test, task.y_test)
    base = {"method": "memorization", "k": k, "hidden_layers": hidden_layers, "width": width, "seed": seed}
    return net, _rows(task, base, seconds, net.train_accuracy, test_acc, task.n_train)


def sweep(tasks: Iterable[BitTask], *, ks: Sequence[int], hidden_layers: Sequence[int] = (PAPER_LAYERS,),
          width: int = PAPER_WIDTH, seeds: Sequence[int] = (0,), n_threads: int = 1,
          progress: Progress = None) -> pd.DataFrame:
    """Lut networks for every task x k x depth x seed: the rows of the common schema."""
    _check_ks(ks)
    rows = []
    for task in tasks:
        for k, depth, seed in itertools.product(ks, hidden_layers, seeds):
            _, fit_rows = fit_network(task, k=k, hidden_layers=depth, width=width, seed=seed,
                                      n_threads=n_threads)
            rows.extend(fit_rows)
            if progress:
                progress(f"{task.dataset} {task.task} {task.labels} (data seed {task.data_seed}) k={k} "
                         f"layers={depth} seed={seed}: "
                         f"train {fit_rows[0]['accuracy']:.4f} test {fit_rows[1]['accuracy']:.4f} "
                         f"({fit_rows[0]['fit_seconds']:.1f} s)")
    return _frame(rows, COLUMNS)


def _check_ks(ks: Sequence[int]) -> None:
    if not ks:
        raise ConfigError("give at least one k")
    bad = [k for k in ks if not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K]
    if bad:
        raise ConfigError(f"k={bad[0]!r}: the lut size must be an int in 1..{MAX_K}")


# --------------------------------------------------------------------------------------------
# The paper's tables
# --------------------------------------------------------------------------------------------

def table1(raw: RawDataset, *, methods: Sequence[str] = TABLE1_METHODS, ks: Sequence[int] = (12,),
           hidden_layers: int = PAPER_LAYERS, width: int = PAPER_WIDTH, train_size: int | None = None,
           test_size: int | None = None, train_eval_size: int | None = None, seed: int = 0,
           data_seed: int = 0, n_jobs: int = 1, conv_epochs: int = 3, n_threads: int = 1,
           progress: Progress = None) -> pd.DataFrame:
    """Table 1: memorization vs standard methods on Binary-{dataset}, train and test accuracy.

    Every method is fitted on the same ``train_size`` training examples and tested on the same
    ``test_size`` test examples. Training accuracy is measured on ``train_eval_size`` of the
    training examples (a seeded random subset, the same for every method; ``None``: all), since
    predicting the whole training set is the slow part of k-NN. ``n_jobs`` processes serve k-NN
    and random forests; ``conv_epochs`` is the conv net's number of epochs; ``n_threads`` the
    threads of the lut network and of the conv net (torch).
    """
    unknown = [m for m in methods if m not in TABLE1_METHODS]
    if unknown or not methods:
        raise ConfigError(f"unknown method {unknown[0] if unknown else '(none given)'!r}; choose from "
                          f"{', '.join(TABLE1_METHODS)}")
    task = make_task(raw, "binary", train_size=train_size, test_size=test_size, data_seed=data_seed)
    _check_size("train_eval_size", train_eval_size, task.n_train, "the training subset")
    eval_idx = subset_indices(task.n_train, train_eval_size, data_seed + 2)
    x_eval, y_eval = task.x_train[eval_idx], task.y_train[eval_idx]
    rows = []
    for method in methods:
        if method == "memorization":
            _check_ks(ks)
            for k in ks:
                net = LutNetwork(k=k, hidden_layers=hidden_layers, width=width, seed=seed,
                                 n_threads=n_threads)
                base = {"method": method, "k": k, "hidden_layers": hidden_layers, "width": width}
                rows.extend(_fit_and_score(net, task, base, seed, x_eval, y_eval, progress))
        else:
            model = make_baseline(method, seed=seed, image_shape=task.image_shape, n_jobs=n_jobs,
                                  conv_epochs=conv_epochs, threads=n_threads)
            rows.extend(_fit_and_score(model, task, {"method": method}, seed, x_eval, y_eval, progress))
    return _frame(rows, COLUMNS)


def _fit_and_score(model, task: BitTask, base: dict, seed: int, x_eval: np.ndarray,
                   y_eval: np.ndarray, progress: Progress) -> list[dict]:
    t0 = time.perf_counter()
    model.fit(task.x_train, task.y_train)
    seconds = time.perf_counter() - t0
    train_acc = float(np.mean(model.predict(x_eval) == y_eval))
    test_acc = float(np.mean(model.predict(task.x_test) == task.y_test))
    if progress:
        progress(f"table1 {base['method']}{' k=%d' % base['k'] if 'k' in base else ''}: train "
                 f"{train_acc:.4f} test {test_acc:.4f} (fit {seconds:.1f} s, total "
                 f"{time.perf_counter() - t0:.1f} s)")
    return _rows(task, {**base, "seed": seed}, seconds, train_acc, test_acc, len(y_eval))


def table2(raw: RawDataset, *, k: int = 8, hidden_layers: int = PAPER_LAYERS, width: int = PAPER_WIDTH,
           train_size: int | None = None, test_size: int | None = None, seed: int = 0,
           data_seed: int = 0, labels: str = "real", n_threads: int = 1) -> pd.DataFrame:
    """Table 2: statistics of the per-lut accuracies of every layer, on the training set (the
    paper's table) and on the test set, for one network on Binary-{dataset}."""
    _check_ks([k])
    task = make_task(raw, "binary", labels=labels, train_size=train_size, test_size=test_size,
                     data_seed=data_seed)
    net, _ = fit_network(task, k=k, hidden_layers=hidden_layers, width=width, seed=seed,
                         n_threads=n_threads)
    n_layers = len(net.train_accuracy_)
    kinds = ["input"] + ["hidden"] * (n_layers - 2) + ["output"]
    base = {**task.meta(), "method": "memorization", "k": k, "hidden_layers": hidden_layers,
            "width": width, "seed": seed}
    parts = []
    for split, accs, n_eval in (("train", net.train_accuracy_, task.n_train),
                                ("test", net.layer_accuracy(task.x_test, task.y_test), task.n_test)):
        stats = layer_statistics(accs)
        stats.insert(1, "kind", kinds)
        stats.insert(2, "split", split)
        stats.insert(3, "n_eval", n_eval)
        parts.append(stats)
    # Stable sort on the layer only: train before test within a layer.
    frame = pd.concat(parts, ignore_index=True).sort_values("layer", kind="stable")
    for col, value in base.items():
        frame[col] = value
    return _frame(frame.to_dict("records"), TABLE2_COLUMNS)


def table3(raw: RawDataset, *, ks: Sequence[int] = PAPER_KS, labels: Sequence[str] = LABELS,
           hidden_layers: Sequence[int] = (PAPER_LAYERS,), width: int = PAPER_WIDTH,
           train_size: int | None = None, test_size: int | None = None, seeds: Sequence[int] = (0,),
           data_seeds: Sequence[int] = (0,), n_threads: int = 1, progress: Progress = None) -> pd.DataFrame:
    """Table 3: train and test accuracy against k, on real and on random labels (Binary-{dataset}).

    Several ``data_seeds`` give independent draws of the random labels (and subsets). They matter:
    a draw of random labels agrees with the true labels on slightly more or less than half of
    the examples by chance (standard deviation ``0.5 / sqrt(n_train)``), and the network amplifies
    that faint correlation, so its test accuracy on random labels moves away from 0.5 in the
    direction of the draw (on Binary-Fashion-MNIST, k = 4: 0.34-0.63 over three draws)."""
    _check_labels(labels)
    tasks = (make_task(raw, "binary", labels=lab, train_size=train_size, test_size=test_size,
                       data_seed=ds) for lab in labels for ds in data_seeds)
    return sweep(tasks, ks=ks, hidden_layers=hidden_layers, width=width, seeds=seeds,
                 n_threads=n_threads, progress=progress)


def all_pairs(num_classes: int = 10) -> list[tuple[int, int]]:
    """The ``num_classes * (num_classes - 1) / 2`` pairs ``(a, b)``, ``a < b`` (45 for 10 classes)."""
    return list(itertools.combinations(range(num_classes), 2))


def pairwise(raw: RawDataset, *, ks: Sequence[int] = (8,), pairs: Sequence[tuple[int, int]] | None = None,
             labels: Sequence[str] = ("real",), hidden_layers: Sequence[int] = (PAPER_LAYERS,),
             width: int = PAPER_WIDTH, train_size: int | None = None, test_size: int | None = None,
             seeds: Sequence[int] = (0,), data_seeds: Sequence[int] = (0,), n_threads: int = 1,
             progress: Progress = None) -> pd.DataFrame:
    """Table 4 / Figure 1: the pairwise a-vs-b tasks (all 45 by default) for every k and depth.

    ``train_size`` / ``test_size`` are per pair (``None``: all examples of the two classes)."""
    pairs = all_pairs(len(raw.classes)) if pairs is None else [tuple(p) for p in pairs]
    for a, b in pairs:
        if not (0 <= a < len(raw.classes) and 0 <= b < len(raw.classes) and a != b):
            raise ConfigError(f"pair {a}-{b}: need two different classes in 0..{len(raw.classes) - 1}")
    _check_labels(labels)
    parts = []
    for a, b in pairs:
        tasks = [make_task(raw, f"pair-{a}-{b}", labels=lab, train_size=train_size, test_size=test_size,
                           data_seed=ds) for lab in labels for ds in data_seeds]
        part = sweep(tasks, ks=ks, hidden_layers=hidden_layers, width=width, seeds=seeds,
                     n_threads=n_threads, progress=progress)
        part[PAIR_COLUMNS] = [a, b, raw.classes[a], raw.classes[b]]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)[COLUMNS + PAIR_COLUMNS]


def _check_labels(labels: Sequence[str]) -> Sequence[str]:
    bad = [lab for lab in labels if lab not in LABELS]
    if bad or not labels:
        raise ConfigError(f"labels {bad[0] if bad else '(none given)'!r}: choose from real, random")
    return labels


def generalization_gap(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per fit of a :func:`table1` / :func:`table3` / :func:`pairwise` table, with
    ``train_accuracy``, ``test_accuracy`` and ``gap = train_accuracy - test_accuracy``."""
    keys = [c for c in frame.columns if c not in ("split", "n_eval", "accuracy", "fit_seconds")]
    # A merge (not a pivot) because it matches empty keys (k of the baselines) with each other.
    train = frame.loc[frame["split"] == "train", keys + ["accuracy"]]
    test = frame.loc[frame["split"] == "test", keys + ["accuracy"]]
    wide = train.merge(test, on=keys, suffixes=("_train", "_test"))
    wide = wide.rename(columns={"accuracy_train": "train_accuracy", "accuracy_test": "test_accuracy"})
    wide["gap"] = wide["train_accuracy"] - wide["test_accuracy"]
    return wide.reset_index(drop=True)
