"""Lookup-table family: its figures (PNG and SVG), drawn from its tables (the ``figures`` step)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bnnrepro import stats
from bnnrepro.errors import DataError
from bnnrepro.families import figures as style
from bnnrepro.families.base import key_parts
from bnnrepro.families.lookup_tables.declaration import dataset_name, figures, tables
from bnnrepro.families.lookup_tables.tables import CHANCE, LABELS, METHOD_NAMES, fits
from bnnrepro.families.reporting import Context


def plot_table1(table: pd.DataFrame, dataset: str, path: Path) -> None:
    import matplotlib.pyplot as plt

    style.setup()
    data = table[table["dataset"] == dataset].copy()
    data["name"] = [
        METHOD_NAMES.get(m, m) + (f", k = {int(k)}" if m == "memorization" else "")
        for m, k in zip(data["method"], data["k"])
    ]
    order = data[data["split"] == "test"].sort_values("accuracy", ascending=False)["name"].tolist()
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(order) + 1.2))
    y = np.arange(len(order))
    for offset, split, colour in ((-0.2, "train", "#4477aa"), (0.2, "test", "#ee6677")):
        values = data[data["split"] == split].set_index("name")["accuracy"].reindex(order)
        ax.barh(y + offset, 100 * values, height=0.38, color=colour, label=split)
    ax.set_yticks(y, order)
    ax.invert_yaxis()
    ax.axvline(100 * CHANCE, color="0.4", ls=":", lw=1)
    ax.set_xlim(40, 101)
    ax.set_xlabel("accuracy (%)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the bars: none hidden
    ax.set_title(f"Binary-{dataset_name(dataset)}: memorization vs standard methods")
    style.save(fig, path)


def plot_table2(table: pd.DataFrame, dataset: str, path: Path) -> None:
    import matplotlib.pyplot as plt

    style.setup()
    data = table[table["dataset"] == dataset]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for split, colour in (("train", "#4477aa"), ("test", "#ee6677")):
        rows = data[data["split"] == split].sort_values("layer")
        ax.plot(rows["layer"], 100 * rows["mean"], marker="o", color=colour, label=f"{split}: mean")
        ax.fill_between(
            rows["layer"],
            100 * rows["min"],
            100 * rows["max"],
            color=colour,
            alpha=0.15,
            lw=0,
            label=f"{split}: range over the luts",
        )
    ax.axhline(100 * CHANCE, color="0.4", ls=":", lw=1)
    ax.set_xlabel("layer (0 = input bits, last = output lut)")
    ax.set_ylabel("accuracy of the layer's luts (%)")
    style.integer_axis(ax)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the axes: no curve hidden
    ax.set_title(f"Layer-by-layer accuracy, k = {int(data['k'].iloc[0])}, Binary-{dataset_name(dataset)}")
    style.save(fig, path)


def plot_table3(summary: pd.DataFrame, dataset: str, path: Path) -> None:
    import matplotlib.pyplot as plt

    style.setup()
    data = summary[summary["dataset"] == dataset]
    colours = style.palette("labels", list(LABELS))
    fig, ax = plt.subplots(figsize=(6.6, 4.3))
    for labels in LABELS:
        for split, dash in (("train", "-"), ("test", "--")):
            rows = data[(data["labels"] == labels) & (data["split"] == split)].sort_values("k")
            if rows.empty:
                continue
            unit = rows["unit"].iloc[0]
            ax.plot(
                rows["k"],
                100 * rows["accuracy"],
                dash,
                marker="o",
                color=colours[labels],
                label=f"{labels} labels, {split} ({style.count_of(int(rows['repeats'].max()), unit)})",
            )
            ax.fill_between(
                rows["k"],
                100 * rows["low"].fillna(rows["accuracy"]),
                100 * rows["high"].fillna(rows["accuracy"]),
                color=colours[labels],
                alpha=0.15,
                lw=0,
            )
    ax.axhline(100 * CHANCE, color="0.4", ls=":", lw=1)
    ax.set_xlabel("k (inputs per lookup table)")
    ax.set_ylabel("accuracy (%)")
    ax.set_xticks(sorted(data["k"].unique()))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the axes: no curve hidden
    ax.set_title(f"Binary-{dataset_name(dataset)}: accuracy against k (band: 95% interval)")
    style.save(fig, path)


def plot_random_draws(draws: pd.DataFrame, table3: pd.DataFrame, dataset: str, tolerance: float, path: Path) -> None:
    """One point per random-label draw: its test accuracy (mean over k, bar: range over k) against
    its agreement with the true labels; at the right, the mean over draws with its 95% interval."""
    import matplotlib.pyplot as plt

    style.setup()
    data = draws[draws["dataset"] == dataset]
    per_k = table3[(table3["dataset"] == dataset) & (table3["labels"] == "random") & (table3["split"] == "test")]
    spread = per_k.groupby("data_seed")["accuracy"].agg(["min", "max"]).reindex(data["data_seed"])
    x = 100 * (data["label_agreement"].to_numpy() - 0.5)
    reach = max(float(np.abs(x).max()) if len(x) else 0.0, 0.1) * 1.15
    fig, ax = plt.subplots(figsize=(6.8, 4.2))
    ax.axhspan(
        100 * (CHANCE - tolerance),
        100 * (CHANCE + tolerance),
        color="#c7e9c0",
        lw=0,
        label=f"chance +- {100 * tolerance:g} points",
    )
    ax.axhline(100 * CHANCE, color="0.4", ls=":", lw=1)
    ax.axvline(0, color="0.6", lw=0.8)
    ax.vlines(
        x,
        100 * spread["min"].to_numpy(),
        100 * spread["max"].to_numpy(),
        color="#d95f02",
        alpha=0.5,
        lw=1.5,
        label="range over k",
    )
    ax.scatter(x, 100 * data["test_accuracy"], color="#d95f02", zorder=3, label="one draw: mean over k")
    if len(data) >= 2:
        est = stats.mean_interval(data["test_accuracy"], unit="label draws")
        where = 1.3 * reach
        low, high = (est.low, est.high) if est.has_interval else (est.estimate, est.estimate)
        ax.errorbar(
            [where],
            [100 * est.estimate],
            yerr=[[100 * (est.estimate - low)], [100 * (high - est.estimate)]],
            fmt="s",
            color="#222222",
            capsize=4,
            label=f"mean of {len(data)} draws, 95% interval",
        )
        ax.set_xlim(-reach, 1.5 * reach)
    ax.set_xlabel("agreement of the draw's random labels with the true labels, minus 50% (points)")
    ax.set_ylabel("test accuracy after training on random labels (%)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"Random-label draws, Binary-{dataset_name(dataset)}")
    style.save(fig, path)


def pair_matrix(pairs: pd.DataFrame, k: int) -> tuple[np.ndarray, list[str]]:
    """Class x class matrix at one k: train accuracy below the diagonal, test accuracy above (mean
    over seeds), as the paper's Table 4."""
    data = pairs[(pairs["k"] == k) & (pairs["labels"] == "real")]
    if data.empty:
        raise DataError(f"no pairwise results for k = {k}")
    names: dict[Any, Any] = {}
    for row in data.itertuples():
        names[row.class_a], names[row.class_b] = row.name_a, row.name_b
    n = max(names) + 1
    matrix = np.full((n, n), np.nan)
    for key, value in data.groupby(["class_a", "class_b", "split"])["accuracy"].mean().items():
        a, b, split = key_parts(key)
        if split == "train":
            matrix[b, a] = value
        else:
            matrix[a, b] = value
    return matrix, [str(names.get(i, i)) for i in range(n)]


def matrix_k(ks: Iterable[int]) -> int:
    """The k of the pairwise matrix: the paper's (10) when it was run, else the largest."""
    ks = sorted(int(k) for k in ks)
    return 10 if 10 in ks else ks[-1]


def plot_pairwise(pairs: pd.DataFrame, dataset: str, path: Path) -> None:
    import matplotlib.pyplot as plt
    import seaborn as sns

    style.setup()
    data = pairs[pairs["dataset"] == dataset]
    k = matrix_k(data["k"].unique())
    matrix, names = pair_matrix(data, k)
    fig, axes = plt.subplots(1, 2, figsize=(15, 6), gridspec_kw={"width_ratios": [1.15, 1]})
    sns.heatmap(
        100 * matrix,
        annot=True,
        fmt=".0f",
        cmap="viridis",
        vmin=50,
        vmax=100,
        ax=axes[0],
        xticklabels=names,
        yticklabels=names,
        cbar_kws={"label": "accuracy (%)"},
        annot_kws={"size": 7},
    )
    axes[0].set_title(f"Pairwise tasks, k = {k}: train (below the diagonal), test (above)")
    gaps = fits(data[data["labels"] == "real"])
    gaps["gap_points"] = 100 * gaps["gap"]
    sns.boxplot(data=gaps, x="k", y="gap_points", ax=axes[1], color="#88ccee", fliersize=0)
    sns.stripplot(data=gaps, x="k", y="gap_points", ax=axes[1], color="0.25", size=2.5, alpha=0.6)
    axes[1].set_xlabel("k (inputs per lookup table)")
    axes[1].set_ylabel("generalization gap (train - test accuracy, points)")
    axes[1].set_title(
        f"Gap against k over {gaps.groupby(['class_a', 'class_b']).ngroups} pairs x {gaps['seed'].nunique()} seed(s)"
    )
    fig.tight_layout()
    style.save(fig, path)


def make_figures(context: Context) -> None:
    paths = tables(context.config)

    def table(name: str) -> pd.DataFrame:
        return context.csv(paths[name])

    tolerance = float(context.thresholds.get("lut_chance_tolerance", 0.02))
    for spec in figures(context.config):
        path, dataset = context.report_dir / spec.path, spec.params["dataset"]
        if spec.kind == "table1":
            plot_table1(table("table1"), dataset, path)
        elif spec.kind == "table2":
            plot_table2(table("table2"), dataset, path)
        elif spec.kind == "table3":
            plot_table3(table("table3_summary"), dataset, path)
        elif spec.kind == "random_draws":
            plot_random_draws(table("random_draws"), table("table3"), dataset, tolerance, path)
        else:
            plot_pairwise(table("pairwise"), dataset, path)
