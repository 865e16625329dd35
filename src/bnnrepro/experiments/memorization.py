"""Memorization family (paper Figs 1-4): class-wise train/test error by epoch per condition.

A condition is (dataset, binarization, labels, regularization); seeds repeat it. From the runs'
``metrics.csv`` files this module builds

* ``curves.csv``: the concatenated learning curves (tidy, one row per epoch/split/class/run);
* ``summary.csv``: per run, the final train/test error, the lowest train error and the first epoch
  at which the overall train error falls below each threshold (empty if it never does);

and the figures: class-wise train and test error per condition (laid out like the paper's
figures: one row per label mode, one pair of train/test panels per regularization), and an
overlay of the overall error of every condition.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from bnnrepro.errors import ConfigError
from bnnrepro.experiments import Command
from bnnrepro.io import read_csv, write_csv

CONDITION = ["dataset", "binarization", "labels", "regularization"]
LABEL_ORDER = ["true", "randY", "randX"]
REG_ORDER = ["none", "dropout", "l2", "l2_original"]
BIN_ORDER = ["det", "stoch"]


def _ordered(values, order):
    values = list(dict.fromkeys(values))
    return [v for v in order if v in values] + [v for v in values if v not in order]


def collect(paths: list[str | Path]) -> pd.DataFrame:
    """Concatenate the metrics of memorization runs (which carry the condition as tag columns)."""
    if not paths:
        raise ConfigError("no metrics files given")
    frames = [read_csv(p) for p in paths]
    curves = pd.concat(frames, ignore_index=True)
    missing = [c for c in CONDITION if c not in curves.columns]
    if missing:
        raise ConfigError(f"metrics lack the condition columns {missing}; were the runs trained with "
                          "--tags binarization=... labels=... regularization=...?")
    return curves


def summarize(curves: pd.DataFrame, thresholds: list[float]) -> pd.DataFrame:
    """One row per run: final errors, minimum train error, epochs to reach each threshold."""
    overall = curves[curves["class"] == "all"]
    rows = []
    for run, group in overall.groupby("run", sort=True):
        first = group.iloc[0]
        train = group[group["split"] == "train"].set_index("epoch")["error"].sort_index()
        test = group[group["split"] == "test"].set_index("epoch")["error"].sort_index()
        row = {key: first[key] for key in CONDITION}
        row.update(run=run, seed=int(first["seed"]), epochs=int(train.index.max()),
                   final_train_error=float(train.iloc[-1]), final_test_error=float(test.iloc[-1]),
                   min_train_error=float(train.min()))
        classwise = curves[(curves["run"] == run) & (curves["class"] != "all") & (curves["split"] == "train")
                           & (curves["epoch"] == train.index.max())]["error"]
        row["final_train_error_class_min"] = float(classwise.min())
        row["final_train_error_class_max"] = float(classwise.max())
        for threshold in thresholds:
            below = train[train < threshold]
            row[f"epoch_train_below_{threshold:g}"] = int(below.index[0]) if len(below) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def plot_classwise(curves: pd.DataFrame, dataset: str, binarization: str, path: Path) -> None:
    """Class-wise train and test error by epoch: rows = label modes, column pairs = regularizations."""
    import matplotlib.pyplot as plt

    from bnnrepro import plots

    plots.setup()
    data = curves[(curves["dataset"] == dataset) & (curves["binarization"] == binarization)
                  & (curves["class"] != "all") & curves["split"].isin(["train", "test"])]
    if data.empty:
        raise ConfigError(f"no memorization curves for {dataset} / {binarization}")
    seed0 = data[data["seed"] == data["seed"].min()]  # class-wise lines of one seed, as the paper
    labels = _ordered(seed0["labels"], LABEL_ORDER)
    regs = _ordered(seed0["regularization"], REG_ORDER)
    classes = sorted(seed0["class"].unique(), key=int)
    colours = dict(zip(classes, plt.get_cmap("tab10").colors))
    fig, axes = plt.subplots(len(labels), 2 * len(regs), figsize=(3.0 * 2 * len(regs), 2.4 * len(labels)),
                             sharex=True, sharey=True, squeeze=False)
    for i, lab in enumerate(labels):
        for j, reg in enumerate(regs):
            for k, split in enumerate(["train", "test"]):
                ax = axes[i, 2 * j + k]
                panel = seed0[(seed0["labels"] == lab) & (seed0["regularization"] == reg) & (seed0["split"] == split)]
                for cls in classes:
                    line = panel[panel["class"] == cls].sort_values("epoch")
                    ax.plot(line["epoch"], 100 * line["error"], color=colours[cls], lw=1.0, label=f"class {cls}")
                ax.set_title(f"{lab}, {reg}: {split}")
                if not len(panel):
                    ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes, color="0.5")
                if i == len(labels) - 1:
                    ax.set_xlabel("epoch")
                if j == 0 and k == 0:
                    ax.set_ylabel("error (%)")
                ax.set_ylim(-2, 102)
    plots.integer_axis(axes)
    handles, names = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, names, loc="upper center", ncol=len(classes), frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.suptitle(f"Class-wise error by epoch, {dataset}, {binarization} binarization", y=1.04)
    plots.save(fig, path)


def plot_overlay(curves: pd.DataFrame, dataset: str, path: Path) -> None:
    """Overall train (solid) and test (dotted) error of every condition, one panel per label mode;
    colour = regularization, line style = binarization; mean over seeds."""
    import matplotlib.pyplot as plt

    from bnnrepro import plots

    plots.setup()
    data = curves[(curves["dataset"] == dataset) & (curves["class"] == "all") & curves["split"].isin(["train", "test"])]
    if data.empty:
        raise ConfigError(f"no memorization curves for {dataset}")
    data = data.groupby(CONDITION + ["split", "epoch"], as_index=False)["error"].mean()
    labels = _ordered(data["labels"], LABEL_ORDER)
    regs = _ordered(data["regularization"], REG_ORDER)
    bins = _ordered(data["binarization"], BIN_ORDER)
    colours = plots.palette("regularization", regs)
    styles = {"det": "-", "stoch": "--"}
    fig, axes = plt.subplots(2, len(labels), figsize=(4.2 * len(labels), 6.2), sharex=True, sharey=True, squeeze=False)
    for j, lab in enumerate(labels):
        for i, split in enumerate(["train", "test"]):
            ax = axes[i, j]
            for reg in regs:
                for b in bins:
                    line = data[(data["labels"] == lab) & (data["regularization"] == reg) & (data["binarization"] == b)
                                & (data["split"] == split)].sort_values("epoch")
                    if len(line):
                        ax.plot(line["epoch"], 100 * line["error"], color=colours[reg], ls=styles.get(b, ":"),
                                lw=1.6, label=f"{b}, {reg}")
            ax.set_title(f"labels: {lab} ({split})")
            ax.set_ylim(-2, 102)
            if i == 1:
                ax.set_xlabel("epoch")
            if j == 0:
                ax.set_ylabel(f"{split} error (%)")
    plots.integer_axis(axes)
    handles, names = [], []
    for ax in axes.flat:
        for h, n in zip(*ax.get_legend_handles_labels()):
            if n not in names:
                handles.append(h)
                names.append(n)
    fig.legend(handles, names, loc="upper center", ncol=min(6, len(names)), frameon=False, bbox_to_anchor=(0.5, 1.02))
    fig.suptitle(f"Overall error by epoch, {dataset} (mean over seeds)", y=1.07)
    plots.save(fig, path)


# --- CLI ----------------------------------------------------------------------------------------

def add_aggregate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("metrics", nargs="+", help="metrics.csv files of memorization runs")
    parser.add_argument("--curves", required=True, help="output: concatenated curves CSV")
    parser.add_argument("--summary", required=True, help="output: per-run summary CSV")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.1, 0.05])


def run_aggregate(args: argparse.Namespace) -> int:
    curves = collect(args.metrics)
    write_csv(args.curves, curves)
    write_csv(args.summary, summarize(curves, args.thresholds))
    return 0


def add_plot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--curves", required=True, help="curves CSV written by `memorization aggregate`")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--kind", choices=["classwise", "overlay"], required=True)
    parser.add_argument("--binarization", help="for --kind classwise")
    parser.add_argument("--out", required=True, help="PNG path (an SVG is written beside it)")


def run_plot(args: argparse.Namespace) -> int:
    curves = read_csv(args.curves)
    if args.kind == "classwise":
        if not args.binarization:
            raise ConfigError("--kind classwise needs --binarization det|stoch")
        plot_classwise(curves, args.dataset, args.binarization, Path(args.out))
    else:
        plot_overlay(curves, args.dataset, Path(args.out))
    return 0




aggregate = Command(add_aggregate_arguments, run_aggregate)
plot = Command(add_plot_arguments, run_plot)
