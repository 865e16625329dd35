"""Chatterjee's (2018) experiments as tidy tables, and the ``bnnrepro lookup_tables table`` verb that
the family's compute jobs run.

Tasks are built by :func:`make_task` from a parsed dataset: pixels thresholded to bits
(``pixel >= 128``), the task's relabelling (``binary``: classes 0-4 -> 0, 5-9 -> 1, the paper's
Binary-{dataset}; ``pair-A-B``: only classes A and B, relabelled 0 and 1), optional random
subsets of the official train / test splits, and optionally random training labels (one uniform
label in {0, 1} per training example; test labels stay true, so test accuracy measures
generalization). All data randomness comes from ``data_seed``; network randomness from ``seed``.

Column schemas
--------------
Common columns of :func:`table1`, :func:`table3`, :func:`pairwise` (and :func:`sweep`):

``dataset``         registry name (``fashion_mnist``, ``mnist``, ``cifar10``)
``task``            ``binary`` or ``pair-A-B``
``labels``          ``real`` (true training labels), ``random`` (uniform random training labels) or
                    ``random_mirror`` (the complement of the ``random`` draw of the same data seed)
``method``          ``memorization`` (the lut network) or a baseline name (:data:`~bnnrepro.lutnet.baselines.BASELINES`)
``k``               inputs per lut (memorization rows; empty for baselines)
``hidden_layers``   hidden lut layers (memorization rows; empty for baselines)
``width``           luts per hidden layer (memorization rows; empty for baselines)
``seed``            seed of the method (network connections and tie-breaking; baselines' seed)
``data_seed``       seed of the subsets and of the random labels
``n_train``         training examples the method was fitted on
``label_agreement`` fraction of the training labels equal to the true labels (1 for real labels;
                    about 0.5 for random labels, ``0.5 +- 0.5 / sqrt(n_train)`` from draw to draw)
``split``           ``train`` or ``test``: the examples the accuracy is measured on
``n_eval``          number of those examples
``accuracy``        fraction of them classified correctly (against the labels trained on for
                    ``train``, the true labels for ``test``)
``fit_seconds``     wall time of fitting (the same on both rows of a fit)

:func:`pairwise` adds ``class_a``, ``class_b`` (class indices, A < B; label 0 is A) and
``name_a``, ``name_b`` (class names). :func:`bnnrepro.families.lookup_tables.analysis.fits` turns
any of these tables into one row per fit with ``train_accuracy``, ``test_accuracy`` and
``gap = train - test`` (Figure 1).

:func:`table2` has one row per (layer, split): ``dataset, task, labels, method, k, hidden_layers,
width, seed, data_seed, n_train, layer, kind, split, n_eval, count, mean, std, min, max``, where
``layer`` 0 is the input bits (``kind`` = ``input``: each bit used as a predictor of the label,
accuracy = fraction of examples with bit == label, as in the paper), ``1..hidden_layers`` the
hidden layers (``hidden``) and ``hidden_layers + 1`` the output lut (``output``); ``count`` is the
number of luts (bits) and ``mean, std, min, max`` summarize their accuracies on ``split``
(population ``std``). The network's test accuracy is the ``mean`` of the ``output``/``test`` row.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bnnrepro.data import parse_task, randomize_labels, subset_indices, threshold_bits
from bnnrepro.data.prepare import apply_task
from bnnrepro.data.registry import RawDataset
from bnnrepro.errors import ConfigError
from bnnrepro.lutnet.baselines import BASELINES, make_baseline
from bnnrepro.lutnet.network import MAX_K, LutNetwork, layer_statistics

#: ``random_mirror``: the complement (1 - r) of the draw ``random`` r with the same data seed. A draw
#: and its mirror are equally likely draws whose test accuracies are close to a + b = 1: the
#: network trained on noise settles on an image feature whose sign follows the draw, so a pair's
#: mean cancels the draw-to-draw spread (SD ~0.1 per draw, ~0.005 per pair on Binary-Fashion-MNIST).
LABELS = ("real", "random", "random_mirror")
#: Paper defaults: 5 hidden layers of 1024 luts; Table 3's k sweep; Table 1 used k = 12 (MNIST).
PAPER_LAYERS, PAPER_WIDTH = 5, 1024
PAPER_KS = (2, 4, 6, 8, 10, 12, 14, 16)
TABLE1_METHODS = ("memorization",) + BASELINES
TABLES = ("table1", "table2", "table3", "pairwise")
#: How network seeds meet data seeds: every seed on every draw, or the i-th seed on the i-th draw.
PAIRINGS = ("crossed", "paired")

COLUMNS = [
    "dataset",
    "task",
    "labels",
    "method",
    "k",
    "hidden_layers",
    "width",
    "seed",
    "data_seed",
    "n_train",
    "label_agreement",
    "split",
    "n_eval",
    "accuracy",
    "fit_seconds",
]
PAIR_COLUMNS = ["class_a", "class_b", "name_a", "name_b"]
TABLE2_COLUMNS = [
    "dataset",
    "task",
    "labels",
    "method",
    "k",
    "hidden_layers",
    "width",
    "seed",
    "data_seed",
    "n_train",
    "layer",
    "kind",
    "split",
    "n_eval",
    "count",
    "mean",
    "std",
    "min",
    "max",
]

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
    label_agreement: float = 1.0

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def n_test(self) -> int:
        return len(self.y_test)

    def meta(self) -> dict:
        """The columns that identify this task in a result table."""
        return {
            "dataset": self.dataset,
            "task": self.task,
            "labels": self.labels,
            "data_seed": self.data_seed,
            "n_train": self.n_train,
            "label_agreement": self.label_agreement,
        }


def _check_size(name: str, size: int | None, available: int, what: str) -> None:
    if size is not None and not 0 < size <= available:
        raise ConfigError(f"{name}={size} must be in [1, {available}] ({available} examples in {what})")


def make_task(
    raw: RawDataset,
    task: str = "binary",
    *,
    labels: str = "real",
    train_size: int | None = None,
    test_size: int | None = None,
    data_seed: int = 0,
    threshold: int = 128,
) -> BitTask:
    """Build a :class:`BitTask` (see the module docstring for the steps).

    ``train_size`` / ``test_size`` draw uniform random subsets (``None``: the whole split) of the
    task's examples, with seeds ``data_seed`` and ``data_seed + 1``.
    """
    kind, _ = parse_task(task)
    if kind == "multiclass":
        raise ConfigError("the lut network is a binary classifier: use task 'binary' or 'pair-A-B'")
    if labels not in LABELS:
        raise ConfigError(f"labels={labels!r}: choose one of {', '.join(LABELS)}")
    x_tr, y_tr, _, names = apply_task(raw.x_train, raw.y_train, raw.classes, task)
    x_te, y_te, _, _ = apply_task(raw.x_test, raw.y_test, raw.classes, task)
    what = f"{raw.name} {task}"
    _check_size("train_size", train_size, len(y_tr), f"the training split of {what}")
    _check_size("test_size", test_size, len(y_te), f"the test split of {what}")
    train_idx = subset_indices(len(y_tr), train_size, data_seed)
    test_idx = subset_indices(len(y_te), test_size, data_seed + 1)
    true_train = y_tr[train_idx]
    if labels == "real":
        y_train = true_train
    else:
        y_train = randomize_labels(true_train, 2, data_seed)
        if labels == "random_mirror":
            y_train = 1 - y_train
    return BitTask(
        raw.name,
        task,
        labels,
        data_seed,
        threshold_bits(x_tr[train_idx], threshold),
        y_train,
        threshold_bits(x_te[test_idx], threshold),
        y_te[test_idx],
        raw.image_shape,
        (names[0], names[1]),
        float(np.mean(y_train == true_train)),
    )


def _rows(
    task: BitTask, base: dict, fit_seconds: float, train_acc: float, test_acc: float, n_eval_train: int
) -> list[dict]:
    common = {**task.meta(), **base, "fit_seconds": fit_seconds}
    return [
        {**common, "split": "train", "n_eval": n_eval_train, "accuracy": train_acc},
        {**common, "split": "test", "n_eval": task.n_test, "accuracy": test_acc},
    ]


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    for col in ("k", "hidden_layers", "width"):
        if col in frame:
            frame[col] = frame[col].astype("Int64")  # integers, empty for the baselines
    return frame


def fit_network(
    task: BitTask,
    *,
    k: int,
    hidden_layers: int = PAPER_LAYERS,
    width: int = PAPER_WIDTH,
    seed: int = 0,
    n_threads: int = 1,
) -> tuple[LutNetwork, list[dict]]:
    """Fit one lut network on ``task``; returns it and its two rows (train, test) of the schema.

    The training accuracy is that of the output lut on the whole training set."""
    net = LutNetwork(k=k, hidden_layers=hidden_layers, width=width, seed=seed, n_threads=n_threads)
    t0 = time.perf_counter()
    net.fit(task.x_train, task.y_train)
    seconds = time.perf_counter() - t0
    test_acc = net.score(task.x_test, task.y_test)
    base = {"method": "memorization", "k": k, "hidden_layers": hidden_layers, "width": width, "seed": seed}
    return net, _rows(task, base, seconds, net.train_accuracy, test_acc, task.n_train)


def sweep(
    fits: Iterable[tuple[BitTask, Sequence[int]]],
    *,
    ks: Sequence[int],
    hidden_layers: Sequence[int] = (PAPER_LAYERS,),
    width: int = PAPER_WIDTH,
    n_threads: int = 1,
    progress: Progress = None,
) -> pd.DataFrame:
    """Lut networks for every (task, its network seeds) x k x depth: the rows of the common schema."""
    _check_ks(ks)
    rows = []
    for task, seeds in fits:
        for k, depth, seed in itertools.product(ks, hidden_layers, seeds):
            _, fit_rows = fit_network(task, k=k, hidden_layers=depth, width=width, seed=seed, n_threads=n_threads)
            rows.extend(fit_rows)
            if progress:
                progress(
                    f"{task.dataset} {task.task} {task.labels} (data seed {task.data_seed}) k={k} "
                    f"layers={depth} seed={seed}: "
                    f"train {fit_rows[0]['accuracy']:.4f} test {fit_rows[1]['accuracy']:.4f} "
                    f"({fit_rows[0]['fit_seconds']:.1f} s)"
                )
    return _frame(rows, COLUMNS)


def seed_plan(data_seeds: Sequence[int], seeds: Sequence[int], pairing: str = "crossed") -> list[tuple[int, list[int]]]:
    """(data seed, its network seeds) for every data seed: ``crossed`` gives every data seed all
    the network seeds; ``paired`` gives the i-th data seed the i-th network seed (one network per
    draw, so that a random-label draw and its wiring are one independent replicate)."""
    if pairing not in PAIRINGS:
        raise ConfigError(f"pairing {pairing!r}: choose one of {', '.join(PAIRINGS)}")
    if pairing == "crossed":
        return [(int(ds), [int(s) for s in seeds]) for ds in data_seeds]
    if len(seeds) != len(data_seeds):
        raise ConfigError(
            f"paired seeds need one network seed per data seed (got {len(seeds)} seeds for "
            f"{len(data_seeds)} data seeds); give as many --seed as --data-seed"
        )
    return [(int(ds), [int(s)]) for ds, s in zip(data_seeds, seeds)]


def _check_ks(ks: Sequence[int]) -> None:
    if not ks:
        raise ConfigError("give at least one k")
    bad = [k for k in ks if not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K]
    if bad:
        raise ConfigError(f"k={bad[0]!r}: the lut size must be an int in 1..{MAX_K}")


# --------------------------------------------------------------------------------------------
# The paper's tables
# --------------------------------------------------------------------------------------------


def table1(
    raw: RawDataset,
    *,
    methods: Sequence[str] = TABLE1_METHODS,
    ks: Sequence[int] = (12,),
    hidden_layers: int = PAPER_LAYERS,
    width: int = PAPER_WIDTH,
    train_size: int | None = None,
    memorization_train_size: int | None = None,
    test_size: int | None = None,
    train_eval_size: int | None = None,
    seed: int = 0,
    data_seed: int = 0,
    n_jobs: int = 1,
    conv_epochs: int = 3,
    n_threads: int = 1,
    progress: Progress = None,
) -> pd.DataFrame:
    """Table 1: memorization vs standard methods on Binary-{dataset}, train and test accuracy.

    The baselines are fitted on the same ``train_size`` training examples (k-NN and random forests
    are slow on all of them) and the lut networks on ``memorization_train_size`` (``None``: the
    whole training set, as the paper); every method is tested on the same ``test_size`` test
    examples. A baseline's training accuracy is measured on ``train_eval_size`` of its training
    examples (a seeded random subset, the same for every baseline; ``None``: all), since predicting
    the whole training set is the slow part of k-NN; a lut network's is exact on all of its
    training examples (its output lut's, computed during the fit). ``n_jobs`` processes serve k-NN
    and random forests; ``conv_epochs`` is the conv net's number of epochs; ``n_threads`` the
    threads of the lut network and of the conv net (torch).
    """
    unknown = [m for m in methods if m not in TABLE1_METHODS]
    if unknown or not methods:
        raise ConfigError(
            f"unknown method {unknown[0] if unknown else '(none given)'!r}; choose from {', '.join(TABLE1_METHODS)}"
        )
    rows = []
    if "memorization" in methods:
        _check_ks(ks)
        task = make_task(raw, "binary", train_size=memorization_train_size, test_size=test_size, data_seed=data_seed)
        for k in ks:
            _, fit_rows = fit_network(
                task, k=k, hidden_layers=hidden_layers, width=width, seed=seed, n_threads=n_threads
            )
            rows.extend(fit_rows)
            if progress:
                progress(
                    f"table1 memorization k={k} ({task.n_train} examples): train {fit_rows[0]['accuracy']:.4f} "
                    f"test {fit_rows[1]['accuracy']:.4f} (fit {fit_rows[0]['fit_seconds']:.1f} s)"
                )
    baselines = [m for m in methods if m != "memorization"]
    if baselines:
        task = make_task(raw, "binary", train_size=train_size, test_size=test_size, data_seed=data_seed)
        _check_size("train_eval_size", train_eval_size, task.n_train, "the baselines' training subset")
        eval_idx = subset_indices(task.n_train, train_eval_size, data_seed + 2)
        x_eval, y_eval = task.x_train[eval_idx], task.y_train[eval_idx]
        for method in baselines:
            model = make_baseline(
                method,
                seed=seed,
                image_shape=task.image_shape,
                n_jobs=n_jobs,
                conv_epochs=conv_epochs,
                threads=n_threads,
            )
            rows.extend(_fit_and_score(model, task, {"method": method, "seed": seed}, x_eval, y_eval, progress))
    order = {m: i for i, m in enumerate(methods)}
    rows.sort(key=lambda row: order[row["method"]])  # stable: k and split order kept
    return _frame(rows, COLUMNS)


def _fit_and_score(
    model: Any, task: BitTask, base: dict, x_eval: np.ndarray, y_eval: np.ndarray, progress: Progress
) -> list[dict]:
    t0 = time.perf_counter()
    model.fit(task.x_train, task.y_train)
    seconds = time.perf_counter() - t0
    train_acc = float(np.mean(model.predict(x_eval) == y_eval))
    test_acc = float(np.mean(model.predict(task.x_test) == task.y_test))
    if progress:
        progress(
            f"table1 {base['method']} ({task.n_train} examples): train {train_acc:.4f} test {test_acc:.4f} "
            f"(fit {seconds:.1f} s, total {time.perf_counter() - t0:.1f} s)"
        )
    return _rows(task, base, seconds, train_acc, test_acc, len(y_eval))


def table2(
    raw: RawDataset,
    *,
    k: int = 8,
    hidden_layers: int = PAPER_LAYERS,
    width: int = PAPER_WIDTH,
    train_size: int | None = None,
    test_size: int | None = None,
    seed: int = 0,
    data_seed: int = 0,
    labels: str = "real",
    n_threads: int = 1,
) -> pd.DataFrame:
    """Table 2: statistics of the per-lut accuracies of every layer, on the training set (the
    paper's table) and on the test set, for one network on Binary-{dataset}."""
    _check_ks([k])
    task = make_task(raw, "binary", labels=labels, train_size=train_size, test_size=test_size, data_seed=data_seed)
    net, _ = fit_network(task, k=k, hidden_layers=hidden_layers, width=width, seed=seed, n_threads=n_threads)
    n_layers = len(net.train_accuracy_)
    kinds = ["input"] + ["hidden"] * (n_layers - 2) + ["output"]
    base = {
        **task.meta(),
        "method": "memorization",
        "k": k,
        "hidden_layers": hidden_layers,
        "width": width,
        "seed": seed,
    }
    parts = []
    for split, accs, n_eval in (
        ("train", net.train_accuracy_, task.n_train),
        ("test", net.layer_accuracy(task.x_test, task.y_test), task.n_test),
    ):
        summary = layer_statistics(accs)
        summary.insert(1, "kind", kinds)
        summary.insert(2, "split", split)
        summary.insert(3, "n_eval", n_eval)
        parts.append(summary)
    # Stable sort on the layer only: train before test within a layer.
    frame = pd.concat(parts, ignore_index=True).sort_values("layer", kind="stable")
    for col, value in base.items():
        frame[col] = value
    return _frame(frame.to_dict("records"), TABLE2_COLUMNS)


def table3(
    raw: RawDataset,
    *,
    ks: Sequence[int] = PAPER_KS,
    labels: Sequence[str] = ("real", "random"),
    hidden_layers: Sequence[int] = (PAPER_LAYERS,),
    width: int = PAPER_WIDTH,
    train_size: int | None = None,
    test_size: int | None = None,
    seeds: Sequence[int] = (0,),
    data_seeds: Sequence[int] = (0,),
    pairing: str = "crossed",
    n_threads: int = 1,
    progress: Progress = None,
) -> pd.DataFrame:
    """Table 3: train and test accuracy against k, on real and on random labels (Binary-{dataset}).

    Several ``data_seeds`` give independent draws of the random labels (and subsets). They matter:
    a draw of random labels agrees with the true labels on slightly more or less than half of
    the examples by chance (standard deviation ``0.5 / sqrt(n_train)``, the ``label_agreement``
    column), and the network picks up that faint correlation, so its test accuracy on random labels
    moves away from 0.5 in the direction of the draw, the same way at every k. ``pairing`` says how
    network seeds meet the draws (:func:`seed_plan`)."""
    _check_labels(labels)
    plan = seed_plan(data_seeds, seeds, pairing)
    fits = (
        (make_task(raw, "binary", labels=lab, train_size=train_size, test_size=test_size, data_seed=ds), net_seeds)
        for lab in labels
        for ds, net_seeds in plan
    )
    return sweep(fits, ks=ks, hidden_layers=hidden_layers, width=width, n_threads=n_threads, progress=progress)


def all_pairs(num_classes: int = 10) -> list[tuple[int, int]]:
    """The ``num_classes * (num_classes - 1) / 2`` pairs ``(a, b)``, ``a < b`` (45 for 10 classes)."""
    return list(itertools.combinations(range(num_classes), 2))


def pairwise(
    raw: RawDataset,
    *,
    ks: Sequence[int] = (8,),
    pairs: Sequence[tuple[int, int]] | None = None,
    labels: Sequence[str] = ("real",),
    hidden_layers: Sequence[int] = (PAPER_LAYERS,),
    width: int = PAPER_WIDTH,
    train_size: int | None = None,
    test_size: int | None = None,
    seeds: Sequence[int] = (0,),
    data_seeds: Sequence[int] = (0,),
    pairing: str = "crossed",
    n_threads: int = 1,
    progress: Progress = None,
) -> pd.DataFrame:
    """Table 4 / Figure 1: the pairwise a-vs-b tasks (all 45 by default) for every k and depth.

    ``train_size`` / ``test_size`` are per pair (``None``: all examples of the two classes)."""
    pairs = all_pairs(len(raw.classes)) if pairs is None else [(int(a), int(b)) for a, b in pairs]
    for a, b in pairs:
        if not (0 <= a < len(raw.classes) and 0 <= b < len(raw.classes) and a != b):
            raise ConfigError(f"pair {a}-{b}: need two different classes in 0..{len(raw.classes) - 1}")
    _check_labels(labels)
    plan = seed_plan(data_seeds, seeds, pairing)
    parts = []
    for a, b in pairs:
        fits = [
            (
                make_task(raw, f"pair-{a}-{b}", labels=lab, train_size=train_size, test_size=test_size, data_seed=ds),
                net_seeds,
            )
            for lab in labels
            for ds, net_seeds in plan
        ]
        part = sweep(fits, ks=ks, hidden_layers=hidden_layers, width=width, n_threads=n_threads, progress=progress)
        pair: tuple[int | str, ...] = (a, b, raw.classes[a], raw.classes[b])
        for column, value in zip(PAIR_COLUMNS, pair):
            part[column] = value
        parts.append(part)
    return pd.concat(parts, ignore_index=True)[COLUMNS + PAIR_COLUMNS]


def _check_labels(labels: Sequence[str]) -> Sequence[str]:
    bad = [lab for lab in labels if lab not in LABELS]
    if bad or not labels:
        raise ConfigError(f"labels {bad[0] if bad else '(none given)'!r}: choose from {', '.join(LABELS)}")
    return labels


# --------------------------------------------------------------------------------------------
# The verb: bnnrepro lookup_tables table TABLE --out FILE.csv [options]
# --------------------------------------------------------------------------------------------

#: Default k per table: Table 1 used k = 12 on MNIST, Table 2 k = 8, Table 3 the sweep 2..16,
#: Figure 1 and Table 4 a few k (Table 4: k = 10).
DEFAULT_KS = {"table1": [12], "table2": [8], "table3": list(PAPER_KS), "pairwise": [8]}
_PAIR = re.compile(r"^(\d+)-(\d+)$")

USAGE = """TABLE is one of
  table1    memorization vs 1-NN, 5-NN, random forests, logistic regression, naive Bayes, a LeNet
            conv net and random guessing on Binary-{dataset}: train and test accuracy
  table2    per-layer statistics of the luts' accuracies (train and test) of one network
  table3    train and test accuracy against k, on real and on random labels
  pairwise  the 45 a-vs-b tasks (Table 4 / Figure 1): train and test accuracy per pair and k

The column schemas are documented in the bnnrepro.families.lookup_tables.compute module."""

EXAMPLES = """examples:
  bnnrepro lookup_tables table table3 --out t3.csv --k 2 4 6 8 10 12 14 16
  bnnrepro lookup_tables table table3 --out rand.csv --labels random --data-seed 0 1 2 3 4 \\
      --seed 0 1 2 3 4 --pairing paired
  bnnrepro lookup_tables table table1 --out t1.csv --k 12 --train-size 10000 --train-eval-size 2000
  bnnrepro lookup_tables table pairwise --out pairs.csv --k 2 8 14 --layers 2 5 --pairs 3-5 4-9"""


def _parse_pairs(items: list[str] | None, num_classes: int) -> list[tuple[int, int]] | None:
    if not items:
        return None
    pairs = []
    for item in items:
        match = _PAIR.match(item)
        if not match:
            raise ConfigError(f"--pairs {item!r}: write a pair as A-B, e.g. 3-5")
        a, b = int(match.group(1)), int(match.group(2))
        if a == b or not (0 <= a < num_classes and 0 <= b < num_classes):
            raise ConfigError(f"--pairs {item}: need two different classes in 0..{num_classes - 1}")
        pairs.append((min(a, b), max(a, b)))
    return pairs


def _check(args: argparse.Namespace) -> None:
    """Reject bad settings with a message naming the option, before loading any data."""
    for name in (
        "width",
        "conv_epochs",
        "jobs",
        "threads",
        "train_size",
        "memorization_train_size",
        "test_size",
        "train_eval_size",
    ):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    for k in args.k or []:
        if not 1 <= k <= MAX_K:
            raise ConfigError(f"--k {k}: the lut size must be in 1..{MAX_K}")
        if args.width < k:
            raise ConfigError(
                f"--k {k} needs --width >= {k} (luts read k distinct outputs of the "
                f"previous layer), got --width {args.width}"
            )
    if any(layers < 0 for layers in args.layers):
        raise ConfigError("--layers must be >= 0")
    if any(seed < 0 for seed in args.seed + args.data_seed):
        raise ConfigError("seeds must be non-negative")
    if args.table == "table2" and args.k and len(args.k) != 1:
        raise ConfigError("table2 describes one network: give a single --k")
    if args.table in ("table1", "table2") and len(args.layers) != 1:
        raise ConfigError(f"{args.table} uses one depth: give a single --layers")
    if args.table != "pairwise" and args.pairs:
        raise ConfigError("--pairs applies to the pairwise table only")
    if args.table != "table1" and (args.methods or args.train_eval_size or args.memorization_train_size):
        raise ConfigError("--methods, --train-eval-size and --memorization-train-size apply to table1 only")
    if args.table == "table1" and args.labels and args.labels != ["real"]:
        raise ConfigError("table1 compares methods on real labels only")
    if args.table == "table2" and args.labels and len(args.labels) != 1:
        raise ConfigError("table2 describes one network: give a single --labels")
    if args.table in ("table3", "pairwise"):
        seed_plan(args.data_seed, args.seed, args.pairing)
    elif args.pairing != "crossed":
        raise ConfigError(f"--pairing applies to table3 and pairwise only ({args.table} fits one seed)")


class TableCommand:
    """``bnnrepro lookup_tables table TABLE --out FILE.csv``: one of Chatterjee's tables as a tidy CSV."""

    help = "compute one of Chatterjee's tables (lookup-table networks and baselines) as a tidy CSV"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.description = f"{self.help}.\n\n{USAGE}"
        parser.epilog = EXAMPLES
        parser.add_argument("table", choices=TABLES, metavar="TABLE", help=" | ".join(TABLES))
        parser.add_argument("--out", required=True, metavar="FILE", help="output CSV (written atomically)")
        parser.add_argument(
            "--dataset", default="fashion_mnist", help="fashion_mnist, mnist or cifar10 (default: fashion_mnist)"
        )
        parser.add_argument("--data-dir", metavar="DIR", help="explicit data directory")
        parser.add_argument("--offline", action="store_true", help="fail instead of downloading data")
        parser.add_argument(
            "--k",
            type=int,
            nargs="+",
            metavar="K",
            help="inputs per lut (default: table1 12, table2 8, table3 2 4 .. 16, pairwise 8)",
        )
        parser.add_argument(
            "--layers",
            type=int,
            nargs="+",
            metavar="L",
            default=[PAPER_LAYERS],
            help="hidden lut layers; several for a depth sweep in table3/pairwise (default: 5)",
        )
        parser.add_argument("--width", type=int, default=PAPER_WIDTH, help="luts per hidden layer (default: 1024)")
        parser.add_argument(
            "--train-size",
            type=int,
            metavar="N",
            help="random subset of the training examples (table1: the baselines'; per pair for pairwise; default: all)",
        )
        parser.add_argument(
            "--memorization-train-size",
            type=int,
            metavar="N",
            help="table1: training examples of the lut networks (default: all, as the paper)",
        )
        parser.add_argument(
            "--test-size", type=int, metavar="N", help="random subset of the test examples (default: all)"
        )
        parser.add_argument(
            "--train-eval-size",
            type=int,
            metavar="N",
            help="table1: training examples on which the baselines' train accuracy is measured (default: all)",
        )
        parser.add_argument(
            "--seed",
            type=int,
            nargs="+",
            default=[0],
            metavar="S",
            help="network seed(s); table1 and table2 use the first (default: 0)",
        )
        parser.add_argument(
            "--data-seed",
            type=int,
            nargs="+",
            default=[0],
            metavar="S",
            help="seed(s) of the subsets and the random labels; table1 and table2 use the first (default: 0)",
        )
        parser.add_argument(
            "--pairing",
            choices=PAIRINGS,
            default="crossed",
            help="table3/pairwise: every --seed on every --data-seed (crossed, default), or the "
            "i-th seed on the i-th data seed (paired: one network per random-label draw)",
        )
        parser.add_argument(
            "--labels",
            nargs="+",
            choices=LABELS,
            metavar="LABELS",
            help="real and/or random training labels (default: table3 both, others real)",
        )
        parser.add_argument("--pairs", nargs="+", metavar="A-B", help="pairwise: class pairs (default: all 45)")
        parser.add_argument(
            "--methods",
            nargs="+",
            metavar="METHOD",
            help=f"table1: methods (default: all: {', '.join(TABLE1_METHODS)})",
        )
        parser.add_argument("--conv-epochs", type=int, default=3, help="table1: conv net epochs (default: 3)")
        parser.add_argument("--jobs", type=int, default=1, help="table1: processes for k-NN and random forests")
        parser.add_argument(
            "--threads",
            type=int,
            default=1,
            help="threads of the lut network, the conv net and the BLAS of the baselines (default: 1)",
        )
        parser.add_argument("--quiet", action="store_true", help="no progress lines")

    def run(self, args: argparse.Namespace) -> int:
        """Compute the table and write it to ``--out``; returns the exit status (0)."""
        from threadpoolctl import threadpool_limits

        from bnnrepro.data import get_spec, load_dataset
        from bnnrepro.io import write_csv

        _check(args)
        ks = args.k or DEFAULT_KS[args.table]
        pairs = _parse_pairs(args.pairs, len(get_spec(args.dataset).classes))
        raw = load_dataset(args.dataset, args.data_dir, download=not args.offline, quiet=args.quiet)
        progress = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
        common = dict(train_size=args.train_size, test_size=args.test_size, n_threads=args.threads)
        t0 = time.perf_counter()
        # BLAS (k-NN distances, logistic regression) would otherwise start one thread per core and,
        # beside other jobs, run several times slower than on the threads this job was given.
        with threadpool_limits(limits=args.threads):
            if args.table == "table1":
                frame = table1(
                    raw,
                    methods=args.methods or TABLE1_METHODS,
                    ks=ks,
                    hidden_layers=args.layers[0],
                    width=args.width,
                    memorization_train_size=args.memorization_train_size,
                    train_eval_size=args.train_eval_size,
                    seed=args.seed[0],
                    n_jobs=args.jobs,
                    conv_epochs=args.conv_epochs,
                    data_seed=args.data_seed[0],
                    progress=progress,
                    **common,
                )
            elif args.table == "table2":
                frame = table2(
                    raw,
                    k=ks[0],
                    hidden_layers=args.layers[0],
                    width=args.width,
                    seed=args.seed[0],
                    data_seed=args.data_seed[0],
                    labels=(args.labels or ["real"])[0],
                    **common,
                )
            elif args.table == "table3":
                frame = table3(
                    raw,
                    ks=ks,
                    labels=args.labels or LABELS,
                    hidden_layers=args.layers,
                    width=args.width,
                    seeds=args.seed,
                    data_seeds=args.data_seed,
                    pairing=args.pairing,
                    progress=progress,
                    **common,
                )
            else:
                frame = pairwise(
                    raw,
                    ks=ks,
                    pairs=pairs,
                    labels=args.labels or ["real"],
                    hidden_layers=args.layers,
                    width=args.width,
                    seeds=args.seed,
                    data_seeds=args.data_seed,
                    pairing=args.pairing,
                    progress=progress,
                    **common,
                )
        write_csv(args.out, frame)
        if not args.quiet:
            print(
                f"{args.out}: {len(frame)} rows ({args.table}, {raw.name}) in {time.perf_counter() - t0:.1f} s",
                file=sys.stderr,
            )
        return 0


table = TableCommand()
