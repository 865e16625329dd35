"""Easy examples family: its figures (PNG and SVG), drawn from its tables (the ``figures`` step)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from bnnrepro.errors import DataError
from bnnrepro.families import figures as style
from bnnrepro.families.easy_examples.declaration import figures, tables
from bnnrepro.families.easy_examples.tables import BIN_ORDER, LABEL_ORDER
from bnnrepro.families.reporting import Context


def plot_histograms(histogram: pd.DataFrame, summary: pd.DataFrame, dataset: str, path: Path) -> None:
    """Per condition (rows: binarizations, columns: label modes): examples right in k of R runs
    (bars) against the permutation null's 95% band and mean, and Binomial(R, p̄) (dotted)."""
    import matplotlib.pyplot as plt
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.patches import Patch

    style.setup()
    data = histogram[histogram["dataset"] == dataset]
    rows = summary[summary["dataset"] == dataset].set_index(["binarization", "labels"])
    if data.empty:
        raise DataError(f"no easy-example results for dataset {dataset}")
    binarizations = style.ordered(data["binarization"], BIN_ORDER)
    labels = style.ordered(data["labels"], LABEL_ORDER)
    colours = style.palette("labels", labels)
    fig, axes = plt.subplots(
        len(binarizations), len(labels), figsize=(4.4 * len(labels), 3.5 * len(binarizations)), squeeze=False
    )
    for i, b in enumerate(binarizations):
        for j, lab in enumerate(labels):
            ax = axes[i, j]
            panel = data[(data["binarization"] == b) & (data["labels"] == lab)].sort_values("k")
            if panel.empty:  # a condition that did not run: nothing drawn in its place
                ax.set_visible(False)
                continue
            row = rows.loc[(b, lab)]
            k, runs_ = panel["k"].to_numpy(), int(row["runs"])
            ax.bar(k, panel["observed"], width=1.0, color=colours[lab], alpha=0.75, lw=0, label="observed")
            ax.fill_between(
                k,
                panel["null_low"],
                panel["null_high"],
                step="mid",
                color="0.35",
                alpha=0.3,
                lw=0,
                label="equally hard: 95% band",
            )
            ax.step(k, panel["null_mean"], where="mid", color="0.2", lw=0.9, label="equally hard: mean")
            ax.plot(k, panel["binomial"], ":", color="black", lw=1.2, label="Binomial(runs, p̄)")
            ax.axvline(math.ceil(row["at_least"] * runs_ - 1e-9) - 0.5, color="0.4", ls="--", lw=0.8)
            ax.set_title(
                f"{b}, {lab}: p̄ = {100 * row['mean_accuracy']:.1f}%, SD of p = {row['sd_of_p']:.3f}\n"
                f"right in ≥ {100 * row['at_least']:g}% of runs: {int(row['easy_examples'])} "
                f"(equally hard: {row['easy_null_mean']:.0f})",
                fontsize=8.5,
            )
            ax.set_xlim(-0.5, runs_ + 0.5)
            # √ scale: the tall bars at k = 0 or R and the short ones between stay readable together.
            ax.set_yscale("function", functions=(np.sqrt, np.square))
            if i == len(binarizations) - 1:
                ax.set_xlabel(f"runs (of {runs_}) that got the example right")
            if j == 0:
                ax.set_ylabel("probe examples (√ scale)")
    style.integer_axis(axes)
    handles = [tuple(Patch(color=colours[lab], alpha=0.75) for lab in labels)]
    names = ["observed (colour: label mode)"]
    for ax in axes.flat:
        for h, n in zip(*ax.get_legend_handles_labels()):
            if n not in names and n != "observed":
                handles.append(h)
                names.append(n)
    fig.legend(
        handles,
        names,
        loc="upper center",
        ncol=len(names),
        frameon=False,
        bbox_to_anchor=(0.5, 0.0),
        handler_map={tuple: HandlerTuple(ndivide=None, pad=0)},
    )
    repeats = sorted({int(r) for r in rows["runs"]})
    said = "-".join(str(r) for r in (repeats[:1] + repeats[-1:] if len(repeats) > 1 else repeats))
    plural = "s" if repeats != [1] else ""
    fig.suptitle(f"One epoch from {said} random initialisation{plural}, {dataset}: per-example correctness", y=1.0)
    fig.tight_layout()
    style.save(fig, path)


def make_figures(context: Context) -> None:
    paths = tables(context.config)
    histogram, summary = context.csv(paths["histogram"]), context.csv(paths["summary"])
    for spec in figures(context.config):
        plot_histograms(histogram, summary, spec.params["dataset"], context.report_dir / spec.path)
