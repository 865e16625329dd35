"""Memorization family: its figures (PNG and SVG), drawn from its tables (the ``figures`` step)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bnnrepro.families import figures as style
from bnnrepro.families.memorization.declaration import CONDITION, figures, tables
from bnnrepro.families.memorization.tables import BIN_ORDER, LABEL_ORDER
from bnnrepro.families.reporting import Context

#: Conditions (label mode, regularization) per row of the class-wise grid: two, of two panels each
#: (train, test), so that the figure stays readable when a page scales it down.
CLASSWISE_PER_ROW = 2


def plot_classwise(curves: pd.DataFrame, dataset: str, binarization: str, path: Path) -> None:
    """Class-wise train and test error by epoch: a (train, test) pair of panels per condition that
    ran (label mode x regularization; none is drawn for a condition that did not run), two
    conditions per row."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    style.setup()
    data = curves[
        (curves["dataset"] == dataset)
        & (curves["binarization"] == binarization)
        & (curves["class"] != "all")
        & curves["split"].isin(["train", "test"])
    ]
    seed0 = data[data["seed"] == data["seed"].min()]  # class-wise lines of one seed, as the paper
    swept = seed0["regularization"].str.startswith("l2_") & (seed0["regularization"] != "l2_inert")
    seed0 = seed0[~swept]  # the L2 sweep has its own figure
    labels = style.ordered(seed0["labels"], LABEL_ORDER)
    regs = style.ordered(seed0["regularization"], ["none", "dropout", "l2", "l2_inert"])
    ran = [
        (lab, reg)
        for lab in labels
        for reg in regs
        if len(seed0[(seed0["labels"] == lab) & (seed0["regularization"] == reg)])
    ]
    classes = sorted(seed0["class"].unique(), key=int)
    tab10 = plt.get_cmap("tab10")
    assert isinstance(tab10, ListedColormap)  # a qualitative map: a list of colours
    colours = dict(zip(classes, tab10.colors))
    per_row = min(CLASSWISE_PER_ROW, max(1, len(ran)))
    rows = max(1, -(-len(ran) // per_row))
    fig, axes = plt.subplots(
        rows, 2 * per_row, figsize=(2.6 * 2 * per_row, 2.3 * rows), sharex=True, sharey=True, squeeze=False
    )
    for n, (lab, reg) in enumerate(ran):
        for k, split in enumerate(["train", "test"]):
            ax = axes[n // per_row, 2 * (n % per_row) + k]
            panel = seed0[(seed0["labels"] == lab) & (seed0["regularization"] == reg) & (seed0["split"] == split)]
            for cls in classes:
                line = panel[panel["class"] == cls].sort_values("epoch")
                ax.plot(line["epoch"], 100 * line["error"], color=colours[cls], lw=1.0, label=f"class {cls}")
            ax.set_title(f"{lab}, {reg}: {split}", fontsize=9)
            ax.set_ylim(-2, 102)
    for n in range(len(ran), rows * per_row):  # the last row's empty places: nothing drawn
        for k in range(2):
            axes[n // per_row, 2 * (n % per_row) + k].set_visible(False)
    for col in range(2 * per_row):  # an epoch axis under the lowest panel of each column
        visible = [r for r in range(rows) if axes[r, col].get_visible()]
        if visible:
            axes[visible[-1], col].set_xlabel("epoch")
            axes[visible[-1], col].xaxis.set_tick_params(labelbottom=True)
    for r in range(rows):
        axes[r, 0].set_ylabel("error (%)")
    style.integer_axis(axes)
    fig.tight_layout()
    height = fig.get_figheight()
    top = max(ax.get_position().y1 for ax in axes[0]) + 0.3 / height  # above the first row's titles
    handles, names = axes[0, 0].get_legend_handles_labels()
    if handles:  # above the panels, outside every curve
        fig.legend(
            handles, names, loc="lower center", ncol=min(len(classes), 5), frameon=False, bbox_to_anchor=(0.5, top)
        )
    fig.suptitle(
        f"Class-wise error by epoch, {dataset}, {binarization} binarization", y=top + 0.55 / height, va="bottom"
    )
    style.save(fig, path)


def plot_overlay(curves: pd.DataFrame, dataset: str, path: Path) -> None:
    """Overall train and test error of every grid condition, one panel per label mode and split;
    mean over seeds with the range over seeds as a band."""
    import matplotlib.pyplot as plt

    style.setup()
    swept = curves["regularization"].str.startswith("l2_") & (curves["regularization"] != "l2_inert")
    data = curves[
        (curves["dataset"] == dataset) & (curves["class"] == "all") & curves["split"].isin(["train", "test"]) & ~swept
    ]
    spread = data.groupby(list(CONDITION) + ["split", "epoch"], as_index=False)["error"].agg(
        mean="mean", low="min", high="max"
    )
    labels = style.ordered(spread["labels"], LABEL_ORDER)
    regs = style.ordered(spread["regularization"], ["none", "dropout", "l2", "l2_inert"])
    bins = style.ordered(spread["binarization"], BIN_ORDER)
    colours = style.palette("regularization", regs)
    dashes = {"det": "-", "stoch": "--"}
    fig, axes = plt.subplots(2, len(labels), figsize=(3.9 * len(labels), 5.8), sharex=True, sharey=True, squeeze=False)
    for j, lab in enumerate(labels):
        for i, split in enumerate(["train", "test"]):
            ax = axes[i, j]
            for reg in regs:
                for b in bins:
                    line = spread[
                        (spread["labels"] == lab)
                        & (spread["regularization"] == reg)
                        & (spread["binarization"] == b)
                        & (spread["split"] == split)
                    ].sort_values("epoch")
                    if len(line):
                        ax.plot(
                            line["epoch"],
                            100 * line["mean"],
                            color=colours[reg],
                            ls=dashes.get(b, ":"),
                            lw=1.5,
                            label=f"{b}, {reg}",
                        )
                        ax.fill_between(
                            line["epoch"], 100 * line["low"], 100 * line["high"], color=colours[reg], alpha=0.15, lw=0
                        )
            ax.set_title(f"labels: {lab} ({split})", fontsize=10)
            ax.set_ylim(-2, 102)
            if i == 1:
                ax.set_xlabel("epoch")
            if j == 0:
                ax.set_ylabel(f"{split} error (%)")
    style.integer_axis(axes)
    handles, names = [], []
    for ax in axes.flat:
        for h, n in zip(*ax.get_legend_handles_labels()):
            if n not in names:
                handles.append(h)
                names.append(n)
    fig.legend(handles, names, loc="upper center", ncol=min(4, len(names)), frameon=False, bbox_to_anchor=(0.5, 1.06))
    fig.suptitle(f"Overall error by epoch, {dataset}: mean over seeds, band = range over seeds", y=1.1)
    style.save(fig, path)


def plot_l2_sweep(summary: pd.DataFrame, dataset: str, path: Path) -> None:
    """Final train error against the L2 coefficient (det/randY), with 'none' at the left."""
    import matplotlib.pyplot as plt

    style.setup()
    rows = summary[
        (summary["dataset"] == dataset) & (summary["binarization"] == "det") & (summary["labels"] == "randY")
    ]
    sweep = rows[rows["regularization"].str.startswith("l2_") & (rows["regularization"] != "l2_inert")].copy()
    sweep["coefficient"] = sweep["regularization"].str[3:].astype(float)
    none = rows[rows["regularization"] == "none"]
    fig, ax = plt.subplots(figsize=(6.2, 3.8))
    stat = sweep.groupby("coefficient")["final_train_error"].agg(["mean", "min", "max"]).reset_index()
    ax.errorbar(
        stat["coefficient"],
        100 * stat["mean"],
        yerr=[100 * (stat["mean"] - stat["min"]), 100 * (stat["max"] - stat["mean"])],
        fmt="o-",
        color="#228833",
        capsize=3,
        label="L2 on the latent weights (as intended)",
    )
    if len(none):
        ax.axhline(100 * none["final_train_error"].mean(), color="#4477aa", ls="--", lw=1, label="no regularization")
    ax.axhline(90, color="0.5", ls=":", lw=0.8, label="chance (90%)")
    ax.set_xscale("log")
    ax.set_xlabel("L2 coefficient (penalty = coefficient x sum of squared latent weights)")
    ax.set_ylabel("final train error on randY (%)")
    ax.set_ylim(-2, 102)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the axes: no point hidden
    ax.set_title(f"Where L2 starts to stop memorization, {dataset}")
    style.save(fig, path)


def make_figures(context: Context) -> None:
    curves = context.csv(tables(context.config)["curves"])
    summary = context.csv(tables(context.config)["summary"])
    for spec in figures(context.config):
        path, dataset = context.report_dir / spec.path, spec.params["dataset"]
        if spec.kind == "classwise":
            plot_classwise(curves, dataset, spec.params["binarization"], path)
        elif spec.kind == "overlay":
            plot_overlay(curves, dataset, path)
        else:
            plot_l2_sweep(summary, dataset, path)
