"""Efficiency family: its figures (PNG and SVG), drawn from its tables (the ``figures`` step)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bnnrepro.families import figures as style
from bnnrepro.families.efficiency.declaration import VARIANT_ORDER, figures, tables
from bnnrepro.families.efficiency.tables import (
    TRAINING_METRICS,
    arch_label,
    arch_order,
    condition_label,
    report_ratio,
    variant_label,
)
from bnnrepro.families.reporting import Context

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_training(runs: pd.DataFrame, path: Path) -> None:
    """Seconds per epoch, peak RSS and test accuracy per arch and variant: bar = mean over repeats,
    dots = the repeats."""
    import matplotlib.pyplot as plt

    style.setup()
    variants = style.ordered(runs["variant"], VARIANT_ORDER)
    colours = style.palette("variant", variants)
    data = runs.assign(model=runs["arch"].map(arch_label), test_accuracy_pct=100 * runs["test_accuracy"])
    order = [arch_label(a) for a in arch_order(runs)]
    panels = [
        ("seconds_per_epoch", "training time per epoch (s)"),
        ("peak_rss_mb", "peak RSS of the training process (MB)"),
        ("test_accuracy_pct", "test accuracy (%)"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 3.9), layout="constrained")
    for ax, (column, label) in zip(axes, panels):
        style.bars_and_dots(ax, data, "model", column, "variant", order, variants, colours, dodge=True)
        ax.set_xlabel("")
        ax.set_ylabel(label)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[v]) for v in variants]
    fig.legend(
        handles,
        [variant_label(v) for v in variants],
        loc="upper center",
        ncol=len(variants),
        frameon=False,
        bbox_to_anchor=(0.5, 1.1),
    )
    fig.suptitle(
        f"Emulated training cost: {int(runs['repeat'].nunique())} interleaved timing repeats, "
        "bar = mean, dots = repeats",
        y=1.16,
    )
    style.save(fig, path)


def _forest(
    ax: Axes, rows: pd.DataFrame, value: str, labels: list[str], colours: list[str], marks: list[float] | None
) -> None:
    y = np.arange(len(rows))[::-1]
    estimate = rows[value].to_numpy(float)
    low, high = rows["low"].to_numpy(float), rows["high"].to_numpy(float)
    has = np.isfinite(low) & np.isfinite(high)
    ax.errorbar(
        estimate[has],
        y[has],
        xerr=[estimate[has] - low[has], high[has] - estimate[has]],
        fmt="none",
        ecolor="0.3",
        capsize=3,
        lw=1.2,
    )
    ax.scatter(
        estimate, y, c=colours, s=36, zorder=3, edgecolor="white", linewidth=0.6, label="this run (95% interval)"
    )
    if marks is not None and np.isfinite(marks).any():
        ax.scatter(marks, y, marker="D", facecolor="none", edgecolor="#cc3311", s=40, zorder=4, label="the report")
    ax.axvline(1.0, color="0.5", ls=":", lw=1)
    ax.set_yticks(y, labels)
    ax.set_xscale("log")


def plot_ratios(training: pd.DataFrame, inference: pd.DataFrame, path: Path) -> None:
    """Left: BNN / float training ratios (time, memory); right: the float network's latency over
    the BNN's on the packed path, per batch size."""
    import matplotlib.pyplot as plt

    style.setup()
    train_rows = training.dropna(subset=["ratio"]).reset_index(drop=True)
    infer_rows = inference[inference["comparison"] == "packed_vs_float_network"].reset_index(drop=True)
    height = 1.2 + 0.32 * max(len(train_rows), len(infer_rows), 1)
    fig, axes = plt.subplots(1, 2, figsize=(13, height), layout="constrained")
    colours = style.palette("variant", list(dict.fromkeys(list(train_rows["variant"]) + list(infer_rows["variant"]))))
    if len(train_rows):
        labels = [
            f"{arch_label(r.arch)}, {TRAINING_METRICS[str(r.metric)]}, {variant_label(r.variant)}"
            for r in train_rows.itertuples()
        ]
        marks = [report_ratio(r.arch, r.variant, r.metric) for r in train_rows.itertuples()]
        _forest(axes[0], train_rows, "ratio", labels, [colours[v] for v in train_rows["variant"]], marks)
        handles, names = axes[0].get_legend_handles_labels()
        if handles:  # below the panels: a mark such as the report's 0.57x lies anywhere in the data
            fig.legend(handles, names, fontsize=8, loc="outside lower center", ncol=len(names), frameon=False)
    axes[0].set_xlabel("BNN / float network (below 1: the BNN trains faster or leaner)")
    axes[0].set_title("Emulated training, paired by timing repeat")
    if len(infer_rows):
        labels = [
            f"{arch_label(r.arch)}, batch {r.batch_size:,}, {variant_label(r.variant)}" for r in infer_rows.itertuples()
        ]
        _forest(axes[1], infer_rows, "speedup", labels, [colours[v] for v in infer_rows["variant"]], None)
    else:
        axes[1].text(
            0.5,
            0.5,
            "no BNN with a packed path was timed",
            ha="center",
            va="center",
            transform=axes[1].transAxes,
            color="0.5",
        )
    axes[1].set_xlabel("float network latency / BNN latency on the packed path (above 1: packed is faster)")
    axes[1].set_title("Inference, paired by timing block")
    for ax in axes:
        style.ratio_axis(ax)  # ticked over the data, decades only over a wide range
    fig.suptitle("BNN vs float: ratios with 95% intervals (dotted: parity)")
    style.save(fig, path)


def plot_inference(timings: pd.DataFrame, path: Path) -> None:
    """Latency at the smallest batch (top) and throughput at the largest (bottom), one column per
    arch (each its own scale): bar = median over timing blocks, dots = blocks."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    style.setup()
    rank = {v: i for i, v in enumerate(VARIANT_ORDER)}
    data = timings.assign(
        condition=[condition_label(v, p).replace(", ", ",\n") for v, p in zip(timings["variant"], timings["path"])],
        order=pd.Series(
            [(rank.get(v, len(rank)), p != "float") for v, p in zip(timings["variant"], timings["path"])],
            index=timings.index,
        ),
    )
    conditions = list(dict.fromkeys(data.sort_values("order", kind="stable")["condition"]))
    colours = dict(zip(conditions, sns.color_palette("colorblind", len(conditions)).as_hex()))
    archs = arch_order(timings)
    small, large = int(data["batch_size"].min()), int(data["batch_size"].max())
    rows = [
        (small, "median_ms", f"latency at batch {small:,} (ms)"),
        (large, "images_per_s", f"throughput at batch {large:,} (images/s)"),
    ]
    fig, axes = plt.subplots(
        len(rows),
        len(archs),
        figsize=(1.6 + 1.5 * len(conditions) * len(archs), 7.2),
        squeeze=False,
        layout="constrained",
    )
    for i, (batch, column, label) in enumerate(rows):
        for j, arch in enumerate(archs):
            ax = axes[i, j]
            frame = data[(data["batch_size"] == batch) & (data["arch"] == arch)]
            style.bars_and_dots(
                ax, frame, "condition", column, "condition", conditions, conditions, colours, "median", linewidth=0.5
            )
            ax.set_xlabel("")
            ax.set_ylabel(label if j == 0 else "")
            ax.set_title(f"{arch_label(arch)}, batch {batch:,}")
            ax.tick_params(axis="x", labelsize=8)
    fig.suptitle(
        f"Inference of the trained models ({timings['device'].iloc[0]}, "
        f"{style.count(int(timings['threads'].max()), 'thread')}): bar = median over "
        f"{style.count(int(timings['block'].nunique()), 'timing block')}, dots = blocks"
    )
    style.save(fig, path)


def plot_curves(curves: pd.DataFrame, path: Path) -> None:
    """Error by epoch per split (rows) and arch (columns), one line per variant (mean over repeats)."""
    import matplotlib.pyplot as plt

    style.setup()
    archs = arch_order(curves)
    splits = [s for s in ("train", "valid", "test") if s in set(curves["split"])]
    variants = style.ordered(curves["variant"], VARIANT_ORDER)
    colours = style.palette("variant", variants)
    fig, axes = plt.subplots(
        len(splits),
        len(archs),
        figsize=(4.6 * len(archs), 2.6 * len(splits)),
        sharex=True,
        sharey="row",
        squeeze=False,
        layout="constrained",
    )
    mean = curves.groupby(["arch", "variant", "split", "epoch"], as_index=False)["error"].mean()
    for i, split in enumerate(splits):
        for j, arch in enumerate(archs):
            ax = axes[i, j]
            for variant in variants:
                line = mean[(mean["arch"] == arch) & (mean["variant"] == variant) & (mean["split"] == split)]
                ax.plot(
                    line["epoch"],
                    100 * line["error"],
                    color=colours[variant],
                    lw=1.6,
                    marker="o",
                    ms=3,
                    label=variant_label(variant),
                )
            ax.set_title(f"{arch_label(arch)}: {split}")
            if i == len(splits) - 1:
                ax.set_xlabel("epoch")
            if j == 0:
                ax.set_ylabel("error (%)")
    style.integer_axis(axes)
    handles, names = axes[0, -1].get_legend_handles_labels()
    if handles:  # below the panels, outside every curve
        fig.legend(handles, names, fontsize=8, loc="outside lower center", ncol=len(names), frameon=False)
    fig.suptitle("Error by epoch (mean over timing repeats)")
    style.save(fig, path)


def make_figures(context: Context) -> None:
    paths = tables(context.config)
    for spec in figures(context.config):
        target = context.report_dir / spec.path
        if spec.kind == "training":
            plot_training(context.csv(paths["runs"]), target)
        elif spec.kind == "ratios":
            plot_ratios(context.csv(paths["training_ratios"]), context.csv(paths["inference_ratios"]), target)
        elif spec.kind == "inference":
            plot_inference(context.csv(paths["inference"]), target)
        else:
            plot_curves(context.csv(paths["curves"]), target)
