"""BinaryConnect family: its figures (PNG and SVG), drawn from its tables (the ``figures`` step)."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bnnrepro import stats
from bnnrepro.families import figures as style
from bnnrepro.families.base import dataset_name
from bnnrepro.families.binaryconnect.declaration import BASELINE, BINARY_VARIANTS, CONTROL, figures, tables
from bnnrepro.families.binaryconnect.tables import (
    ERROR_METRIC,
    FEATURE_UNITS,
    INITIAL_SHARE,
    SATURATION_BOUND,
    SEEDS,
    ordered_variants,
    paired,
    variant_label,
)
from bnnrepro.families.reporting import Context

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_curves(curves: pd.DataFrame, dataset: str, path: Path) -> None:
    """Training loss, validation and test error by epoch: mean over seeds, band = range over seeds."""
    import matplotlib.pyplot as plt

    data, variants, colours = _one_dataset(curves, dataset)
    panels = [
        ("train", "loss", "training loss (squared hinge, eval mode)"),
        ("valid", "error", "validation error (%)"),
        ("test", "error", "test error (%)"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 3.8), layout="constrained")
    for ax, (split, column, label) in zip(axes, panels):
        shown = data[data["split"] == split]
        scale = 100 if column == "error" else 1
        for variant in variants:
            stat = shown[shown["variant"] == variant].groupby("epoch")[column].agg(["mean", "min", "max"])
            if stat.empty:
                continue
            ax.plot(stat.index, scale * stat["mean"], color=colours[variant], lw=1.5, label=variant_label(variant))
            ax.fill_between(
                stat.index, scale * stat["min"], scale * stat["max"], color=colours[variant], alpha=0.18, lw=0
            )
        if shown.empty:
            ax.text(0.5, 0.5, f"no {split} split", ha="center", va="center", transform=ax.transAxes, color="0.5")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
    style.integer_axis(axes)
    handles, names = axes[2].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper center", ncol=min(5, len(names)), frameon=False, bbox_to_anchor=(0.5, 1.12))
    fig.suptitle(
        f"Training curves per variant, {dataset_name(dataset)}: mean over seeds, band = range over seeds", y=1.2
    )
    style.save(fig, path)


def _dots_and_means(
    ax: Axes, frame: pd.DataFrame, column: str, variants: list[str], colours: dict, scale: float = 100
) -> None:
    """One dot per seed and the mean with its 95% t-interval, per variant (x = position)."""
    rng = np.random.default_rng(0)  # a fixed jitter, so that redrawing gives the same figure
    for i, variant in enumerate(variants):
        values = frame.loc[frame["variant"] == variant, column].dropna()
        if values.empty:
            continue
        ax.scatter(
            i + rng.uniform(-0.12, 0.12, len(values)), scale * values, color=colours[variant], s=18, alpha=0.7, zorder=3
        )
        est = stats.mean_interval(values, unit=SEEDS)
        if est.has_interval:
            ax.errorbar(
                i + 0.28,
                scale * est.estimate,
                yerr=[[scale * (est.estimate - est.low)], [scale * (est.high - est.estimate)]],
                fmt="s",
                color=colours[variant],
                ms=5,
                capsize=3,
                zorder=3,
            )
        else:
            ax.plot(i + 0.28, scale * est.estimate, "s", color=colours[variant], ms=5)
    ax.set_xticks(range(len(variants)), [textwrap.fill(variant_label(v), 14) for v in variants], fontsize=8)
    ax.set_xlim(-0.6, len(variants) - 0.3)


def _differences(ax: Axes, rows: list[tuple[str, stats.Estimate]], colours: dict, xlabel: str, missing: str) -> None:
    """Paired differences (pp) with 95% intervals, one row per comparison, and the zero line; without
    rows, the panel says what is ``missing``."""
    if not rows:
        ax.text(0.5, 0.5, missing, ha="center", va="center", transform=ax.transAxes, color="0.5")
        ax.set_axis_off()
        return
    for i, (variant, est) in enumerate(rows):
        low = est.low if est.has_interval else est.estimate
        high = est.high if est.has_interval else est.estimate
        ax.errorbar(
            100 * est.estimate,
            i,
            xerr=[[100 * (est.estimate - low)], [100 * (high - est.estimate)]],
            fmt="o",
            color=colours[variant],
            capsize=4,
        )
    ax.axvline(0, color="0.4", lw=0.8, ls=":")
    ax.set_yticks(range(len(rows)), [variant_label(v) for v, _ in rows], fontsize=8)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)


def _one_dataset(table: pd.DataFrame, dataset: str) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """The style set up, and ``dataset``'s rows of ``table``, their variants in order and the variants' colours."""
    style.setup()
    data = table[table["dataset"] == dataset]
    variants = ordered_variants(data["variant"])
    return data, variants, style.palette("variant", variants)


def plot_errors(runs_table: pd.DataFrame, dataset: str, path: Path) -> None:
    """Test error at the best validation epoch per variant, and each variant minus no regularizer."""
    import matplotlib.pyplot as plt

    data, variants, colours = _one_dataset(runs_table, dataset)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.5, 3.9), layout="constrained", width_ratios=[1.3, 1])
    _dots_and_means(left, data, ERROR_METRIC, variants, colours)
    left.set_ylabel("test error at best validation epoch (%)")
    results = [(v, paired(data, dataset, ERROR_METRIC, v, BASELINE)) for v in variants if v != BASELINE]
    rows = [(v, result[0]) for v, result in results if result is not None]
    xlabel = f"minus {variant_label(BASELINE).lower()}, paired by seed (pp)"
    _differences(right, rows, colours, xlabel, f"no {BASELINE!r} variant to compare with")
    fig.suptitle(f"Test error per variant, {dataset_name(dataset)}: dots = seeds, squares = mean with 95% interval")
    style.save(fig, path)


def plot_saturation(weights: pd.DataFrame, dataset: str, path: Path) -> None:
    """Share of saturated first-layer weights per variant, and BinaryConnect minus the control."""
    import matplotlib.pyplot as plt

    data, variants, colours = _one_dataset(weights, dataset)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.5, 3.9), layout="constrained", width_ratios=[1.3, 1])
    _dots_and_means(left, data, "share_saturated", variants, colours)
    left.axhline(100 * INITIAL_SHARE, color="0.4", lw=0.8, ls=":", label="Uniform(-1, 1) initialisation")
    left.set_ylabel("first-layer weights with |w| > 0.9 (%)")
    handles, names = left.get_legend_handles_labels()
    if handles:  # below the panels: the control's points may lie anywhere
        fig.legend(handles, names, fontsize=7, loc="outside lower left", frameon=False)
    rows = [(v, paired(data, dataset, "share_saturated", v, CONTROL)) for v in BINARY_VARIANTS if v in variants]
    differences = [(v, result[0]) for v, result in rows if result is not None]
    _differences(
        right, differences, colours, "minus the control, paired by seed (pp)", f"no control {CONTROL!r} to compare with"
    )
    fig.suptitle(f"Saturation of the first layer's latent weights, {dataset_name(dataset)}")
    style.save(fig, path)


def plot_histograms(histograms: pd.DataFrame, weights: pd.DataFrame, dataset: str, path: Path) -> None:
    """One panel per variant: mean density over seeds (bars) and the range over seeds (band)."""
    import matplotlib.pyplot as plt

    data, variants, colours = _one_dataset(histograms, dataset)
    fig, axes = plt.subplots(1, len(variants), figsize=(3.3 * len(variants), 3.2), layout="constrained", squeeze=False)
    for ax, variant in zip(axes[0], variants):
        stat = (
            data[data["variant"] == variant]
            .groupby("bin")
            .agg(
                left=("left", "first"),
                right=("right", "first"),
                mean=("density", "mean"),
                low=("density", "min"),
                high=("density", "max"),
            )
        )
        ax.bar(
            stat["left"],
            stat["mean"],
            width=stat["right"] - stat["left"],
            align="edge",
            color=colours[variant],
            alpha=0.75,
        )
        centres = (stat["left"] + stat["right"]) / 2
        ax.fill_between(centres, stat["low"], stat["high"], color="0.2", alpha=0.25, lw=0, step="mid")
        limit = float(stat["right"].max())
        if limit >= SATURATION_BOUND:
            for x in (-SATURATION_BOUND, SATURATION_BOUND):
                ax.axvline(x, color="0.3", lw=0.8, ls=":")
        share = weights.loc[(weights["dataset"] == dataset) & (weights["variant"] == variant), "share_saturated"].mean()
        ax.set_title(f"{variant_label(variant)}\n|w| > 0.9: {100 * share:.1f}% (mean over seeds)", fontsize=8)
        ax.set_xlabel("first-layer weight (latent)")
    axes[0, 0].set_ylabel("density")
    fig.suptitle(f"First-layer weights per variant, {dataset_name(dataset)} (BinaryConnect paper Fig. 2)")
    style.save(fig, path)


def plot_features(features: pd.DataFrame, dataset: str, path: Path) -> None:
    """First-layer weights of the first units as image tiles, one panel per variant (lowest seed)."""
    import matplotlib.pyplot as plt

    data, variants, _ = _one_dataset(features, dataset)
    fig, axes = plt.subplots(1, len(variants), figsize=(3.2 * len(variants), 3.6), layout="constrained", squeeze=False)
    for ax, variant in zip(axes[0], variants):
        mine = data[data["variant"] == variant].sort_values("unit")
        height, width = int(mine["height"].iloc[0]), int(mine["width"].iloc[0])
        images = mine[[f"w{i}" for i in range(height * width)]].to_numpy(dtype=float).reshape(-1, height, width)
        side = math.ceil(math.sqrt(len(images)))
        grid = np.full((side * (height + 1) - 1, side * (width + 1) - 1), np.nan)
        for i, image in enumerate(images):
            scale = np.abs(image).max() or 1.0
            r, q = divmod(i, side)
            grid[r * (height + 1) : r * (height + 1) + height, q * (width + 1) : q * (width + 1) + width] = (
                image / scale
            )
        ax.imshow(grid, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(f"{variant_label(variant)}\nseed {int(mine['seed'].iloc[0])}", fontsize=8)
        ax.axis("off")
    fig.suptitle(
        f"First-layer features, {dataset_name(dataset)}: {FEATURE_UNITS} units per variant "
        "(each tile scaled to its largest |w|; red +, blue -)"
    )
    style.save(fig, path)


def make_figures(context: Context) -> None:
    paths = tables(context.config)
    data = {name: context.csv(paths[name]) for name in ("runs", "weights", "curves", "histograms", "features")}
    for spec in figures(context.config):
        path, dataset = context.report_dir / spec.path, spec.params["dataset"]
        if spec.kind == "curves":
            plot_curves(data["curves"], dataset, path)
        elif spec.kind == "errors":
            plot_errors(data["runs"], dataset, path)
        elif spec.kind == "saturation":
            plot_saturation(data["weights"], dataset, path)
        elif spec.kind == "histograms":
            plot_histograms(data["histograms"], data["weights"], dataset, path)
        else:
            plot_features(data["features"], dataset, path)
