"""Kernel family: its section of the report (text, tables, figures and glance rows), read from its
tables.
"""

from __future__ import annotations

import pandas as pd

from bnnrepro.families.kernels.declaration import BLOCKS, NAME, figures, tables
from bnnrepro.families.kernels.tables import SHAPE, XNOR_IMPL, as_bool
from bnnrepro.families.reporting import Col, Context, Glance, Section, Table, interval_column
from bnnrepro.families.sources import cite, paper_vs_ours

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
    table["exact"], table["auto_choice"] = as_bool(table["exact"]), as_bool(table["auto_choice"])
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
        Glance(
            family=NAME,
            what="paper",
            dataset="random \u00b11 matrices",
            model="xnor GEMM",
            training_examples="-",
            epochs="-",
            repeats="not stated",
            hardware="GeForce GTX 750",
        ),
        Glance(
            family=NAME,
            what="this run",
            dataset="random \u00b11 matrices",
            model=f"M {fam.get('batch')} x K = N {fam.get('sizes')}",
            training_examples="-",
            epochs="-",
            repeats=f"{int(blocks['block'].max()) + 1} interleaved timing blocks",
            hardware=devices,
        ),
    ]
    return section
