"""Kernel family: its figures (PNG and SVG), drawn from its tables (the ``figures`` step)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bnnrepro.errors import DataError
from bnnrepro.families import figures as style
from bnnrepro.families.kernels.declaration import figures, tables
from bnnrepro.families.kernels.tables import IMPL_ORDER
from bnnrepro.families.reporting import Context


def plot_speedup(table: pd.DataFrame, path: Path) -> None:
    """Speedup over fp32 against the batch M, one panel per K = N, one line per implementation with
    its 95% interval as error bars."""
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    style.setup()
    shown = table[~((table["impl"] == "torch.matmul") & (table["dtype"] == "fp32"))]
    if shown.empty:
        raise DataError("the kernel benchmark has no rows besides the fp32 baseline; nothing to draw")
    sizes = sorted(shown["K"].unique())
    impls = style.ordered(shown["implementation"], IMPL_ORDER)
    colours = style.palette("kernel", impls)
    devices = " and ".join(dict.fromkeys(shown["device"]))
    batches = sorted(int(m) for m in table["M"].unique())
    fig, axes = plt.subplots(
        1, len(sizes), figsize=(4.4 * len(sizes), 3.6), sharey=True, squeeze=False, layout="constrained"
    )
    for ax, size in zip(axes[0], sizes):
        for impl in impls:
            line = shown[(shown["K"] == size) & (shown["implementation"] == impl)].sort_values("M")
            if line.empty:
                continue
            err = np.vstack(
                [
                    line["speedup_vs_fp32"] - line["speedup_vs_fp32_low"],
                    line["speedup_vs_fp32_high"] - line["speedup_vs_fp32"],
                ]
            )
            ax.errorbar(
                line["M"],
                line["speedup_vs_fp32"],
                yerr=np.nan_to_num(err),
                fmt="o",
                ls="--" if "pre-packed" in impl else "-",
                ms=4,
                capsize=2,
                color=colours[impl],
                label=impl,
            )
        ax.axhline(1.0, color="0.3", lw=1, ls=":")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(batches, [str(m) for m in batches])
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.set_title(f"K = N = {size}")
        ax.set_xlabel("batch M (rows of activations)")
    style.ratio_axis(axes[0, 0], "y")  # shared: ticked over every panel's data (the top point included)
    axes[0, 0].set_ylabel("speedup over fp32 matmul")
    handles, names = axes[0, -1].get_legend_handles_labels()
    if handles:  # below the panels, outside the data
        fig.legend(handles, names, fontsize=8, loc="outside lower center", ncol=min(len(names), 3), frameon=False)
    fig.suptitle(f"Packed xnor-popcount product vs torch.matmul on {devices}")
    style.save(fig, path)


def make_figures(context: Context) -> None:
    table = context.csv(tables(context.config)["products"])
    for spec in figures(context.config):
        plot_speedup(table, context.report_dir / spec.path)
