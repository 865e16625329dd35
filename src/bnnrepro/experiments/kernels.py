"""Kernel family: the xnor-popcount product against torch.matmul, from ``bnnrepro bench kernel``.

The benchmark (:mod:`bnnrepro.kernels.bench`) writes one row per (implementation, shape); this
module turns it into the report's table and figure:

* :func:`speedup_table`: per shape ``M x K x N``, the median time of every implementation and its
  speedup over fp32 ``torch.matmul`` on the same device (and over fp16 where that was measured);
* :func:`plot_speedup`: speedup over fp32 against the batch M, one panel per K = N, one line per
  implementation; above 1 the packed product is faster.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from bnnrepro.errors import ConfigError
from bnnrepro.experiments import Command
from bnnrepro.io import read_csv

#: Display order of the implementations (the fp32 baseline is the reference line at 1).
IMPL_ORDER = ["torch.matmul fp16", "torch.matmul bf16", "torch_xnor bit (packed inside)",
              "torch_xnor bit (pre-packed)", "triton_xnor bit (packed inside)", "triton_xnor bit (pre-packed)",
              "triton_int8 int8 (packed inside)", "triton_int8 int8 (pre-packed)"]


def implementation_label(row: pd.Series) -> str:
    """``impl dtype`` plus how the activations were prepared (the weights are always pre-packed)."""
    prep = {"inside": " (packed inside)", "outside": " (pre-packed)"}.get(row["act_prep"], "")
    return f"{row['impl']} {row['dtype']}{prep}"


def load(path: str | Path) -> pd.DataFrame:
    bench = read_csv(path)
    missing = {"impl", "dtype", "act_prep", "M", "K", "N", "median_ms", "speedup_vs_fp32", "exact"} - set(bench.columns)
    if missing:
        raise ConfigError(f"{path} is not a `bnnrepro bench kernel` CSV: columns {sorted(missing)} are missing")
    return bench.assign(implementation=bench.apply(implementation_label, axis=1))


def speedup_table(bench: pd.DataFrame) -> pd.DataFrame:
    """One row per (device, shape, implementation): median ms, Gop/s, speedup vs fp32 and vs fp16."""
    fp16 = (bench[(bench["impl"] == "torch.matmul") & (bench["dtype"] == "fp16")]
            .set_index(["device", "M", "K", "N"])["median_ms"].rename("fp16_ms"))
    table = bench.join(fp16, on=["device", "M", "K", "N"])
    table["speedup_vs_fp16"] = table["fp16_ms"] / table["median_ms"]
    columns = ["device", "M", "K", "N", "implementation", "median_ms", "gops", "speedup_vs_fp32", "speedup_vs_fp16",
               "exact", "auto_choice"]
    return table[[c for c in columns if c in table.columns]].sort_values(["device", "K", "M", "median_ms"])


def best_packed(bench: pd.DataFrame, act_prep: str = "inside") -> pd.DataFrame:
    """Per (device, M, K, N): the fastest packed implementation (xnor or int8, activations prepared
    as ``act_prep``) with its speedups; BinaryNet's number includes the packing, hence ``inside``."""
    packed = bench.index[(bench["impl"] != "torch.matmul") & (bench["act_prep"] == act_prep)]
    table = speedup_table(bench).loc[packed]
    return table.sort_values("median_ms").groupby(["device", "M", "K", "N"], as_index=False).first()


def plot_speedup(bench: pd.DataFrame, path: Path) -> None:
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    from bnnrepro import plots

    plots.setup()
    shown = bench[~((bench["impl"] == "torch.matmul") & (bench["dtype"] == "fp32"))]
    if shown.empty:
        raise ConfigError("the kernel benchmark has no rows besides the fp32 baseline")
    sizes = sorted(shown["K"].unique())
    impls = [i for i in IMPL_ORDER if i in set(shown["implementation"])] + sorted(
        set(shown["implementation"]) - set(IMPL_ORDER))
    colours = plots.palette("kernel", impls)
    device = ", ".join(dict.fromkeys(bench["device"]))
    batches = sorted(int(m) for m in bench["M"].unique())
    fig, axes = plt.subplots(1, len(sizes), figsize=(4.4 * len(sizes), 3.6), sharey=True, squeeze=False,
                             layout="constrained")
    for ax, size in zip(axes[0], sizes):
        for impl in impls:
            line = shown[(shown["K"] == size) & (shown["implementation"] == impl)].sort_values("M")
            if not line.empty:
                style = "--" if "pre-packed" in impl else "-"
                ax.plot(line["M"], line["speedup_vs_fp32"], style, marker="o", ms=4, color=colours[impl], label=impl)
        ax.axhline(1.0, color="0.3", lw=1, ls=":")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(batches, [str(m) for m in batches])
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
        ax.yaxis.set_minor_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}x" if v in (0.2, 0.5, 2, 5) else ""))
        ax.set_title(f"K = N = {size}")
        ax.set_xlabel("batch M (rows of activations)")
    axes[0, 0].set_ylabel("speedup over fp32 matmul (x)")
    axes[0, -1].legend(fontsize=8, loc="best")
    fig.suptitle(f"Packed xnor-popcount product vs torch.matmul on {device}")
    plots.save(fig, path)


def _add_plot(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bench", help="kernel_bench.csv written by `bnnrepro bench kernel`")
    parser.add_argument("--out", required=True, help="output PNG (an SVG is written beside it)")


def _run_plot(args: argparse.Namespace) -> int:
    plot_speedup(load(args.bench), Path(args.out))
    return 0


plot = Command(_add_plot, _run_plot)
