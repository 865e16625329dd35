"""Kernel family: tables, figure, report section and claims (declaration in ``__init__``).

Table (under results/kernels/):

* ``products.csv``: one row per device, shape ``M x K x N`` and implementation: the geometric
  mean time per product over the timing blocks, the throughput, the speedup over fp32
  torch.matmul (and over fp16 where measured) with its 95% interval, whether every product was
  exact, and whether the ``auto`` backend uses this implementation for this shape.

A speedup is a ratio of times measured in the same interleaved blocks, so its interval is the
paired ratio interval of :func:`bnnrepro.stats.ratio_interval` over the blocks:
l_b = log(t_baseline,b / t_impl,b), estimate exp(mean l), interval exp(mean l +- t_{n-1} s_l / sqrt(n)).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bnnrepro import stats
from bnnrepro.errors import DataError
from bnnrepro.families import figures as style
from bnnrepro.families.kernels.declaration import BLOCKS, NAME, figures, tables
from bnnrepro.families.reporting import (
    Claim,
    ClaimResult,
    Col,
    Context,
    Glance,
    Section,
    Table,
    interval_column,
    not_run,
)
from bnnrepro.families.sources import cite, paper_vs_ours
from bnnrepro.io import read_csv, write_csv

SHAPE = ["device_type", "device", "M", "K", "N"]
IMPLEMENTATION = ["impl", "dtype", "act_prep"]
BLOCK_COLUMNS = {
    "device_type",
    "device",
    "impl",
    "dtype",
    "act_prep",
    "M",
    "K",
    "N",
    "block",
    "calls",
    "ms",
    "exact",
    "auto_choice",
    "load_avg",
    "timer",
    "threads",
    "torch_version",
    "triton_version",
}
#: Display order of the implementations (the fp32 baseline is the reference line at 1x).
IMPL_ORDER = [
    "torch.matmul fp32",
    "torch.matmul fp16",
    "torch.matmul bf16",
    "torch_xnor bit (packed inside)",
    "torch_xnor bit (pre-packed)",
    "triton_xnor bit (packed inside)",
    "triton_xnor bit (pre-packed)",
    "triton_int8 int8 (packed inside)",
    "triton_int8 int8 (pre-packed)",
]
#: The xnor-popcount product of each device (the claims' "packed product"): plain torch on CPU,
#: the Triton popcount kernel on GPU.
XNOR_IMPL = {"cpu": "torch_xnor", "cuda": "triton_xnor"}
SPEEDUP_METHOD = "geometric mean ratio, paired t-interval on log scale over timing blocks"


def implementation_label(impl: str, dtype: str, act_prep: str) -> str:
    """``impl dtype`` plus how the activations were prepared (the weights are always pre-packed)."""
    prep = {"inside": " (packed inside)", "outside": " (pre-packed)"}.get(act_prep, "")
    return f"{impl} {dtype}{prep}"


def _as_bool(series: pd.Series) -> pd.Series:
    return series.map(lambda v: v if isinstance(v, (bool, np.bool_)) else str(v).strip().lower() == "true").astype(bool)


# --- tables ----------------------------------------------------------------------------------------


def load_blocks(paths: list[str | Path]) -> pd.DataFrame:
    """The timing blocks of one or more benchmark CSVs (``bnnrepro kernels bench``)."""
    if not paths:
        raise DataError(f"no kernel benchmark given; run `bnnrepro kernels bench --out results/{BLOCKS}` first")
    frames = []
    for path in paths:
        frame = read_csv(path)
        missing = sorted(BLOCK_COLUMNS - set(frame.columns))
        if missing:
            raise DataError(f"{path} is not a `bnnrepro kernels bench` CSV: columns {missing} are missing; rerun it")
        frames.append(frame)
    blocks = pd.concat(frames, ignore_index=True)
    if not (blocks["ms"] > 0).all():
        raise DataError(f"{', '.join(map(str, paths))}: every block time must be positive; rerun the benchmark")
    blocks["exact"] = _as_bool(blocks["exact"])
    blocks["auto_choice"] = _as_bool(blocks["auto_choice"])
    return blocks


def _ratio(baseline: pd.Series, times: pd.Series) -> stats.Estimate | None:
    """baseline / times over the blocks both have (paired by block), or None without two blocks."""
    common = baseline.index.intersection(times.index)
    if len(common) == 0:
        return None
    return stats.ratio_interval(baseline.loc[common], times.loc[common], paired=True, unit="blocks")


def products(blocks: pd.DataFrame) -> pd.DataFrame:
    """One row per (device, shape, implementation): geometric mean ms, Gop/s, speedups with intervals."""
    rows = []
    for shape, group in blocks.groupby(SHAPE, sort=True):

        def times(dtype: str) -> pd.Series:
            base = group[(group["impl"] == "torch.matmul") & (group["dtype"] == dtype)]
            return base.groupby("block")["ms"].mean()

        fp32, fp16 = times("fp32"), times("fp16")
        if fp32.empty:
            raise DataError(f"the benchmark has no fp32 torch.matmul rows for shape {shape}; rerun it")
        for impl, rows_of in group.groupby(IMPLEMENTATION, sort=False):
            ms = rows_of.groupby("block")["ms"].mean()
            row = dict(
                zip(SHAPE, shape),
                **dict(zip(IMPLEMENTATION, impl)),
                implementation=implementation_label(*impl),
                blocks=len(ms),
                calls_per_block=int(rows_of["calls"].min()),
                ms=float(np.exp(np.log(ms).mean())),
                ms_min=float(ms.min()),
                ms_max=float(ms.max()),
            )
            m, k, n = shape[2:]
            row["gops"] = 2.0 * m * n * k / (row["ms"] * 1e6)
            for name, baseline in (("fp32", fp32), ("fp16", fp16)):
                est = _ratio(baseline, ms) if not baseline.empty else None
                row[f"speedup_vs_{name}"] = est.estimate if est else np.nan
                row[f"speedup_vs_{name}_low"] = est.low if est else np.nan
                row[f"speedup_vs_{name}_high"] = est.high if est else np.nan
            row.update(
                exact=bool(rows_of["exact"].all()),
                auto_choice=bool(rows_of["auto_choice"].any()),
                config=str(rows_of["config"].dropna().iloc[0]) if rows_of["config"].notna().any() else "",
                load_avg_max=float(rows_of["load_avg"].max()),
            )
            rows.append(row)
    frame = pd.DataFrame(rows)
    order = {label: i for i, label in enumerate(IMPL_ORDER)}
    frame["_order"] = frame["implementation"].map(lambda label: order.get(label, len(order)))
    return (
        frame.sort_values(["device_type", "device", "K", "M", "_order"]).drop(columns="_order").reset_index(drop=True)
    )


def make_tables(context: Context, inputs: list[str]) -> None:
    blocks = load_blocks(inputs or [context.results / BLOCKS])
    write_csv(context.results / tables(context.config)["products"], products(blocks))


# --- figure ----------------------------------------------------------------------------------------


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
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
        ax.yaxis.set_minor_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}x" if v in (0.2, 0.5, 2, 5) else ""))
        ax.set_title(f"K = N = {size}")
        ax.set_xlabel("batch M (rows of activations)")
    axes[0, 0].set_ylabel("speedup over fp32 matmul")
    axes[0, -1].legend(fontsize=8, loc="best")
    fig.suptitle(f"Packed xnor-popcount product vs torch.matmul on {devices}")
    style.save(fig, path)


def make_figures(context: Context) -> None:
    table = context.csv(tables(context.config)["products"])
    for spec in figures(context.config):
        plot_speedup(table, context.report_dir / spec.path)


# --- report section ------------------------------------------------------------------------------

COLUMNS = {
    "device": Col("Device"),
    "K": Col("K = N", "int"),
    "M": Col("Batch M", "int"),
    "implementation": Col("Implementation"),
    "ms": Col("Time per product", "ms"),
    "fp32_ms": Col("fp32 matmul", "ms"),
    "gops": Col("Throughput (Gop/s)", "num"),
    "speedup_vs_fp32": Col("Speedup over fp32", "ratio"),
    "fp32_ci": Col("95% interval (x)", "interval_num"),
    "speedup_vs_fp16": Col("Speedup over fp16", "ratio"),
    "fp16_ci": Col("95% interval vs fp16 (x)", "interval_num"),
    "exact": Col("Exact"),
    "auto_choice": Col("Used by the auto backend"),
}


def _is_baseline(table: pd.DataFrame) -> pd.Series:
    return (table["impl"] == "torch.matmul") & (table["dtype"] == "fp32")


def speed_table(table: pd.DataFrame) -> pd.DataFrame:
    """The report's rows: every implementation but the fp32 baseline, whose time is a column."""
    fp32 = table[_is_baseline(table)].set_index(SHAPE)["ms"].rename("fp32_ms")
    shown = table[~_is_baseline(table)].join(fp32, on=SHAPE)
    shown["fp32_ci"] = interval_column(shown, "speedup_vs_fp32_low", "speedup_vs_fp32_high")
    shown["fp16_ci"] = interval_column(shown, "speedup_vs_fp16_low", "speedup_vs_fp16_high")
    columns = (["device"] if shown["device"].nunique() > 1 else []) + [
        "K",
        "M",
        "implementation",
        "ms",
        "fp32_ms",
        "gops",
        "speedup_vs_fp32",
        "fp32_ci",
    ]
    if shown["speedup_vs_fp16"].notna().any():
        columns += ["speedup_vs_fp16", "fp16_ci"]
    shown = shown[columns + ["exact", "auto_choice"]].reset_index(drop=True)
    for column in ("exact", "auto_choice"):
        shown[column] = shown[column].map({True: "yes", False: "no"})
    return shown


def section(context: Context) -> Section:
    fam = context.section(NAME)
    path = tables(context.config)["products"]
    table = context.csv(path)
    table["exact"], table["auto_choice"] = _as_bool(table["exact"]), _as_bool(table["auto_choice"])
    blocks = context.csv(BLOCKS)
    section = Section(
        NAME,
        "Xnor-popcount kernel: packed binary products vs matmul",
        f"<p>When both the activations and the weights of a layer are &plusmn;1, their dot product of length K is "
        f"K &minus; 2&nbsp;popcount(a xor b) on bit-packed operands (32 values per int32 word): 32x less weight "
        f"memory than fp32 and no multiplications. {cite('courbariaux2016', 'Sec. 4')} report that their GPU "
        f"kernel ran 23x faster than their own unoptimised float kernel and 3.4x faster than cuBLAS at "
        f"8192<sup>3</sup> on a GTX 750, packing included. Here every product is checked for exact equality with "
        f"the fp32 product and timed against torch.matmul on the same device, in interleaved timing blocks (so "
        f"that drift of the machine hits every implementation alike; the blocks are the repeats of the speedup "
        f"intervals): on a CPU the plain-torch packed product against fp32, on a GPU also the Triton popcount and "
        f"int8 kernels against fp16 and bf16.</p>",
    )
    devices = "; ".join(f"{t}: {d}" for t, d in dict.fromkeys(zip(blocks["device_type"], blocks["device"])))
    first = blocks.iloc[0]
    triton = first["triton_version"] if isinstance(first["triton_version"], str) else "none"
    section.settings = (
        f"{devices}, {int(first['threads'])} torch thread(s); batch M {fam.get('batch')}; K = N {fam.get('sizes')}; "
        f"{int(blocks['block'].max()) + 1} interleaved timing blocks per product of about "
        f"{1e3 * fam.get('max_time', 1.0) / fam.get('repeats', 5):.3g} ms each ({first['timer']}); random \u00b11 "
        f"operands (seed {fam.get('seed', 0)}); torch {first['torch_version']}, triton {triton}."
    )
    if (blocks["device_type"] == "cpu").all():
        section.notes.append(
            "This run had no GPU: the Triton kernels and the fp16/bf16 products were not timed (the "
            "Triton interpreter, which the tests use on a CPU, is no performance path), and the GPU "
            "claims are not run. The paper preset runs the benchmark on CUDA."
        )
    load = blocks["load_avg"].dropna()
    if len(load) and load.max() > blocks["threads"].max():
        section.notes.append(
            f"The machine was shared: the 1-minute load average before the blocks ranged {load.min():.1f}-"
            f"{load.max():.1f} with {int(blocks['threads'].max())} torch thread(s), so other processes took CPU time "
            "from the benchmark. The interleaved blocks make the speedups fair to every implementation, but the "
            "intervals are wider and the absolute times longer than on an idle machine."
        )
    section.tables.append(
        Table(
            "Time per product and speedup over fp32 matmul",
            speed_table(table),
            COLUMNS,
            note="Time: geometric mean over the timing blocks. Speedup: fp32 time / this time, paired by block; "
            "'packed inside': the packing of the activations is timed too (the weights are always pre-packed). "
            "Exact: every output equals the fp32 product. Used by the auto backend: what the binary layers run "
            "for this shape.",
            csv=path,
        )
    )
    ours = table[table["impl"] == table["device_type"].map(XNOR_IMPL)]
    ours = ours[ours["act_prep"] == "inside"].rename(columns={"device": "dataset"})
    metrics = {
        "speedup_vs_fp32": "speedup over fp32 matmul (cuBLAS sgemm in the paper), packing included",
        "speedup_vs_baseline_kernel": "speedup over the paper's own unoptimised float kernel",
    }
    pvo, notes = paper_vs_ours(NAME, ours, ["M", "K", "N"], metrics)
    section.tables.append(
        Table(
            "Paper vs this run",
            pvo,
            {
                "M": Col("M", "int"),
                "K": Col("K", "int"),
                "N": Col("N", "int"),
                "metric": Col("Metric"),
                "paper": Col("Paper", "ratio"),
                "ours": Col("This run", "ratio"),
                "difference": Col("Difference", "num"),
                "approx": Col("Approximate"),
                "paper_dataset": Col("Paper's device"),
                "our_dataset": Col("Our device"),
                "note": Col("Source"),
            },
            note="Ours: the xnor-popcount product with the activations packed inside the timing. Numbers from "
            "different devices are shown side by side, not subtracted; the paper's float kernel is not "
            "reimplemented.",
            footnotes=notes,
        )
    )
    for spec in figures(context.config):
        section.figures.append(context.figure(spec, path))
    section.glance = [
        Glance(NAME, "paper", "random \u00b11 matrices", "xnor GEMM", "-", "-", "not stated", "GeForce GTX 750"),
        Glance(
            NAME,
            "this run",
            "random \u00b11 matrices",
            f"M {fam.get('batch')} x K = N {fam.get('sizes')}",
            "-",
            "-",
            f"{int(blocks['block'].max()) + 1} interleaved timing blocks",
            devices,
        ),
    ]
    return section


# --- claims ----------------------------------------------------------------------------------------


def _products(context: Context) -> pd.DataFrame:
    table = context.csv(tables(context.config)["products"])
    table["exact"] = _as_bool(table["exact"])
    return table


def _row(table: pd.DataFrame, device: str, impl: str, dtype: str, act_prep: str, m: int, k: int, n: int):
    rows = table[
        (table["device"] == device)
        & (table["impl"] == impl)
        & (table["dtype"] == dtype)
        & (table["act_prep"] == act_prep)
        & (table["M"] == m)
        & (table["K"] == k)
        & (table["N"] == n)
    ]
    return rows.iloc[0] if len(rows) else None


def _speedup(row, against: str) -> stats.Estimate:
    """The speedup interval stored in a products row (from :func:`products`)."""
    column = f"speedup_vs_{against}"
    return stats.Estimate(
        float(row[column]),
        float(row[f"{column}_low"]),
        float(row[f"{column}_high"]),
        int(row["blocks"]),
        SPEEDUP_METHOD,
    )


def _devices(table: pd.DataFrame, device_type: str | None = None) -> list[tuple[str, str]]:
    rows = table if device_type is None else table[table["device_type"] == device_type]
    return list(dict.fromkeys(zip(rows["device_type"], rows["device"])))


def _xnor(device_type: str) -> tuple[str, str, str]:
    return XNOR_IMPL[device_type], "bit", "inside"


def _exact(context: Context) -> list[ClaimResult]:
    table = _products(context)
    out = []
    for device_type, device in _devices(table):
        binary = table[(table["device"] == device) & (table["impl"] != "torch.matmul")]
        if binary.empty:
            out.append(not_run(device, "the benchmark has no binary products on this device", "= 100%"))
            continue
        exact = int(binary["exact"].sum())
        inexact = binary[~binary["exact"]]
        verdict = (
            ("held", "every output element equals the fp32 product")
            if inexact.empty
            else (
                "did not hold",
                "inexact: " + "; ".join(f"{r.implementation} at {r.M}x{r.K}x{r.N}" for r in inexact.itertuples()),
            )
        )
        out.append(
            ClaimResult(
                device,
                verdict[0],
                stats.exact_estimate(exact / len(binary), "exact comparison"),
                "= 100% of products",
                f"{verdict[1]}; {exact} of {len(binary)} binary products (shapes x implementations) exact",
                "pct",
            )
        )
    return out or [not_run("", "the benchmark has no rows", "= 100%")]


def _matvec(context: Context) -> list[ClaimResult]:
    table = _products(context)
    thr = context.thresholds["kernel_matvec_speedup"]
    threshold = f"> {thr:g}x"
    out = []
    for device_type, device in _devices(table):
        mine = table[table["device"] == device]
        size = int(mine["K"].max())
        row = _row(table, device, *_xnor(device_type), 1, size, size)
        if row is None:
            out.append(
                not_run(device, f"batch 1 is not in this config (kernels.batch); largest K = N = {size}", threshold)
            )
            continue
        est = _speedup(row, "fp32")
        verdict = stats.verdict_above(est, thr)
        out.append(
            ClaimResult(
                device,
                verdict[0],
                est,
                threshold,
                f"{verdict[1]}; fp32 matmul time / {row['implementation']} time at M = 1, K = N = "
                f"{size} ({row['ms']:.3g} ms vs fp32 {row['ms'] * est.estimate:.3g} ms)",
                "ratio",
            )
        )
    return out or [not_run("", "the benchmark has no rows", threshold)]


def _no_gpu(table: pd.DataFrame, threshold: str) -> list[ClaimResult] | None:
    if _devices(table, "cuda"):
        return None
    ran_on = ", ".join(device for _, device in _devices(table)) or "nothing"
    return [
        not_run("", f"no GPU in this run (the benchmark ran on {ran_on}); the claim is about a GPU kernel", threshold)
    ]


def _gpu_claim(context: Context, threshold_key: str):
    """(products table, threshold value, threshold text, "not run" results when the run had no GPU)."""
    table = _products(context)
    thr = context.thresholds[threshold_key]
    threshold = f"> {thr:g}x"
    return table, thr, threshold, _no_gpu(table, threshold)


def _beats_fp16(context: Context) -> list[ClaimResult]:
    table, thr, threshold, skipped = _gpu_claim(context, "kernel_speedup_vs_fp16")
    if skipped:
        return skipped
    out = []
    for device_type, device in _devices(table, "cuda"):
        rows = table[
            (table["device"] == device)
            & (table["impl"] == XNOR_IMPL[device_type])
            & (table["act_prep"] == "inside")
            & (table["K"] == 4096)
            & (table["N"] == 4096)
            & (table["M"] <= 16)
            & table["speedup_vs_fp16"].notna()
        ]
        if rows.empty:
            out.append(
                not_run(device, "K = N = 4096 with a batch of 1-16 and fp16 rows are not in this run", threshold)
            )
        for row in rows.sort_values("M").to_dict("records"):
            est = _speedup(row, "fp16")
            verdict = stats.verdict_above(est, thr)
            out.append(
                ClaimResult(
                    f"{device}, M = {row['M']}",
                    verdict[0],
                    est,
                    threshold,
                    f"{verdict[1]}; fp16 matmul time / {row['implementation']} time at 4096 x 4096 weights",
                    "ratio",
                )
            )
    return out


def _beats_cublas(context: Context) -> list[ClaimResult]:
    table, thr, threshold, skipped = _gpu_claim(context, "kernel_speedup_vs_fp32")
    if skipped:
        return skipped
    out = []
    for device_type, device in _devices(table, "cuda"):
        row = _row(table, device, *_xnor(device_type), 8192, 8192, 8192)
        if row is None:
            out.append(
                not_run(device, "the shape 8192 x 8192 x 8192 is not in this run (kernels.batch, sizes)", threshold)
            )
            continue
        est = _speedup(row, "fp32")
        verdict = stats.verdict_above(est, thr)
        int8 = _row(table, device, "triton_int8", "int8", "inside", 8192, 8192, 8192)
        also = f"; the int8 tl.dot product: {int8['speedup_vs_fp32']:.2f}x" if int8 is not None else ""
        out.append(
            ClaimResult(
                device,
                verdict[0],
                est,
                threshold,
                f"{verdict[1]}; cuBLAS fp32 time / {row['implementation']} time at 8192^3, packing included{also}",
                "ratio",
            )
        )
    return out


CLAIMS = [
    Claim(
        "kernel-exact",
        "The packed xnor-popcount product (and, on a GPU, the int8 product) equals the float "
        "product on +-1 values exactly, for every shape.",
        cite("courbariaux2016", "Sec. 4"),
        NAME,
        _exact,
    ),
    Claim(
        "kernel-beats-fp32-matvec",
        "On this run's device, at batch 1 with the largest weight matrix of the run, "
        "the xnor-popcount product (activations packed inside the timing) is faster than fp32 torch.matmul: a "
        "memory-bound matrix-vector product reads 32x fewer weight bytes when they are packed.",
        cite("courbariaux2016", "Sec. 4"),
        NAME,
        _matvec,
        "speedup",
        caveat="A check of what packing promises on the device of this run (a CPU here unless a GPU was given), "
        "not a number of the paper: its speedups are GPU numbers.",
    ),
    Claim(
        "kernel-beats-fp16",
        "On a GPU, with 4096 x 4096 weights at batch 1-16, the xnor-popcount kernel is many "
        "times faster than fp16 matmul (16x less weight traffic).",
        "this project's kernel goal",
        NAME,
        _beats_fp16,
        "speedup",
    ),
    Claim(
        "kernel-beats-cublas",
        "At 8192 x 8192 x 8192 the xnor-popcount kernel is faster than cuBLAS fp32 "
        "(3.4x on a GTX 750, packing included).",
        cite("courbariaux2016", "Sec. 4"),
        NAME,
        _beats_cublas,
        "speedup",
        caveat="The paper's GTX 750 (Maxwell, 2014) had no tensor cores; a modern GPU's fp32 GEMM is far "
        "stronger. Their 23x over their own unoptimised float kernel is not checked: that kernel is not "
        "reimplemented.",
    ),
]
