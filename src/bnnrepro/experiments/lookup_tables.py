"""Figures of the lookup-table family (Chatterjee 2018), from the tables written by
``bnnrepro lutnet TABLE`` (column schemas: :mod:`bnnrepro.lutnet.experiments`).

* ``table3``: train and test accuracy against k, real vs random labels (mean and range over the
  seeds and random-label draws);
* ``pairwise``: the pairwise tasks as a matrix for one k (train below the diagonal, test above,
  like the paper's Table 4), and the generalization gap (train - test) against k over the pairs
  (the paper's Figure 1, left);
* ``table2``: the per-layer statistics of the luts' training accuracy;
* ``table1``: train and test accuracy of memorization and the baselines.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from bnnrepro.errors import ConfigError
from bnnrepro.experiments import Command
from bnnrepro.io import read_csv

LABEL_COLOURS = {"real": "#1b7837", "random": "#d95f02"}


def plot_table3(table: pd.DataFrame, path: Path) -> None:
    import matplotlib.pyplot as plt

    from bnnrepro import plots

    plots.setup()
    stats = table.groupby(["labels", "split", "k"])["accuracy"].agg(["mean", "min", "max"]).reset_index()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for (labels, split), group in stats.groupby(["labels", "split"]):
        style = "-" if split == "train" else "--"
        colour = LABEL_COLOURS.get(labels, "0.3")
        ax.plot(group["k"], group["mean"], style, marker="o", color=colour, label=f"{labels} labels, {split}")
        ax.fill_between(group["k"], group["min"], group["max"], color=colour, alpha=0.12, lw=0)
    ax.axhline(0.5, color="0.5", lw=0.8, ls=":")
    ax.set_xlabel("k (inputs per lookup table)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0.25, 1.02)
    ax.set_xticks(sorted(stats["k"].unique()))
    ax.legend(fontsize=8)
    ds = ", ".join(table["dataset"].unique())
    ax.set_title(f"Binary-{ds}: accuracy against k (band: range over seeds)")
    plots.save(fig, path)


def pair_matrix(table: pd.DataFrame, k: int) -> tuple[np.ndarray, list[str]]:
    """10 x 10 matrix: train accuracy below the diagonal, test accuracy above (mean over seeds)."""
    data = table[(table["k"] == k) & (table["labels"] == "real")]
    if data.empty:
        raise ConfigError(f"no pairwise results for k={k}")
    names = {}
    for row in data.itertuples():
        names[row.class_a], names[row.class_b] = row.name_a, row.name_b
    n = max(names) + 1
    matrix = np.full((n, n), np.nan)
    means = data.groupby(["class_a", "class_b", "split"])["accuracy"].mean()
    for (a, b, split), value in means.items():
        if split == "train":
            matrix[b, a] = value
        else:
            matrix[a, b] = value
    return matrix, [names.get(i, str(i)) for i in range(n)]


def plot_pairwise(table: pd.DataFrame, k: int, path: Path) -> None:
    import matplotlib.pyplot as plt
    import seaborn as sns

    from bnnrepro import plots

    plots.setup()
    matrix, names = pair_matrix(table, k)
    fig, axes = plt.subplots(1, 2, figsize=(15, 6), gridspec_kw={"width_ratios": [1.15, 1]})
    sns.heatmap(matrix, annot=True, fmt=".2f", cmap="viridis", vmin=0.5, vmax=1.0, ax=axes[0],
                xticklabels=names, yticklabels=names, cbar_kws={"label": "accuracy"}, annot_kws={"size": 7})
    axes[0].set_title(f"Pairwise tasks, k = {k}: train (below diagonal), test (above)")
    gaps = (table[table["labels"] == "real"]
            .pivot_table(index=["class_a", "class_b", "k", "seed", "data_seed", "hidden_layers"], columns="split",
                         values="accuracy").reset_index())
    gaps["gap"] = gaps["train"] - gaps["test"]
    sns.boxplot(data=gaps, x="k", y="gap", ax=axes[1], color="#88ccee")
    sns.stripplot(data=gaps, x="k", y="gap", ax=axes[1], color="0.25", size=2.5, alpha=0.6)
    axes[1].set_xlabel("k (inputs per lookup table)")
    axes[1].set_ylabel("generalization gap (train - test accuracy)")
    axes[1].set_title(f"Gap against k over the {gaps.groupby(['class_a', 'class_b']).ngroups} pairwise tasks")
    fig.tight_layout()
    plots.save(fig, path)


def plot_table2(table: pd.DataFrame, path: Path) -> None:
    import matplotlib.pyplot as plt

    from bnnrepro import plots

    plots.setup()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for split, colour in (("train", "#4477aa"), ("test", "#ee6677")):
        d = table[table["split"] == split].sort_values("layer")
        ax.plot(d["layer"], d["mean"], marker="o", color=colour, label=f"{split}: mean")
        ax.fill_between(d["layer"], d["min"], d["max"], color=colour, alpha=0.15, lw=0, label=f"{split}: min-max")
    ax.set_xlabel("layer (0 = input bits, last = output lut)")
    ax.set_ylabel("accuracy of the layer's luts")
    plots.integer_axis(ax)
    ax.legend(fontsize=8)
    k = table["k"].iloc[0]
    ax.set_title(f"Layer-by-layer accuracy, k = {k}, Binary-{table['dataset'].iloc[0]}")
    plots.save(fig, path)


def plot_table1(table: pd.DataFrame, path: Path) -> None:
    import matplotlib.pyplot as plt
    import seaborn as sns

    from bnnrepro import plots

    plots.setup()
    data = table.copy()
    data["method"] = np.where(data["method"] == "memorization",
                              "memorization (k=" + data["k"].astype("Int64").astype(str) + ")", data["method"])
    order = (data[data["split"] == "test"].groupby("method")["accuracy"].mean().sort_values(ascending=False).index)
    fig, ax = plt.subplots(figsize=(8, 4.2))
    sns.barplot(data=data, y="method", x="accuracy", hue="split", order=order, ax=ax, errorbar=None,
                palette={"train": "#4477aa", "test": "#ee6677"})
    ax.axvline(0.5, color="0.5", ls=":", lw=0.8)
    ax.set_xlim(0.4, 1.0)
    ax.set_xlabel("accuracy")
    ax.set_ylabel("")
    ax.set_title(f"Binary-{table['dataset'].iloc[0]}: memorization vs standard methods")
    plots.save(fig, path)


def _add(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=["table1", "table2", "table3", "pairwise"])
    parser.add_argument("tables", nargs="+", help="CSV files written by `bnnrepro lutnet` (concatenated)")
    parser.add_argument("--out", required=True, help="PNG path (an SVG is written beside it)")
    parser.add_argument("--k", type=int, default=None, help="pairwise: the k of the matrix (default: largest k)")


def _run(args: argparse.Namespace) -> int:
    table = pd.concat([read_csv(p) for p in args.tables], ignore_index=True)
    out = Path(args.out)
    if args.kind == "table1":
        plot_table1(table, out)
    elif args.kind == "table2":
        plot_table2(table, out)
    elif args.kind == "table3":
        plot_table3(table, out)
    else:
        plot_pairwise(table, args.k if args.k is not None else int(table["k"].max()), out)
    return 0


plot = Command(_add, _run)
