"""Kernel family: its tables, aggregated from the runs (the ``tables`` step), and the names and
labels its figures, report section and claims share.

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
from bnnrepro.families.base import key_parts
from bnnrepro.families.kernels.declaration import BLOCKS, NETWORKS, tables
from bnnrepro.families.reporting import Context
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
    "numba_xnor bit (packed inside)",
    "numba_xnor bit (pre-packed)",
    "numba_naive bit (packed inside)",
    "torch_xnor bit (packed inside)",
    "torch_xnor bit (pre-packed)",
    "triton_xnor bit (packed inside)",
    "triton_xnor bit (pre-packed)",
    "triton_int8 int8 (packed inside)",
    "triton_int8 int8 (pre-packed)",
]
#: The xnor-popcount product of each device (the claims' "packed product"): the numba kernel on CPU,
#: the Triton popcount kernel on GPU.
XNOR_IMPL = {"cpu": "numba_xnor", "cuda": "triton_xnor"}


def implementation_label(impl: str, dtype: str, act_prep: str) -> str:
    """``impl dtype`` plus how the activations were prepared (the weights are always pre-packed)."""
    prep = {"inside": " (packed inside)", "outside": " (pre-packed)"}.get(act_prep, "")
    return f"{impl} {dtype}{prep}"


def as_bool(series: pd.Series) -> pd.Series:
    return series.map(lambda v: v if isinstance(v, (bool, np.bool_)) else str(v).strip().lower() == "true").astype(bool)


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
    blocks["exact"] = as_bool(blocks["exact"])
    blocks["auto_choice"] = as_bool(blocks["auto_choice"])
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
    for key, group in blocks.groupby(SHAPE, sort=True):
        shape = key_parts(key)

        def times(dtype: str, group: pd.DataFrame = group) -> pd.Series:
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


def network_ratios(networks: pd.DataFrame) -> pd.DataFrame:
    """One row per (network, batch size, threads): float network time / packed BNN time, the paired
    ratio interval over the timing blocks, and whether the packed logits were exact."""
    rows = []
    for (arch, shape, size, threads), group in networks.groupby(["arch", "shape", "batch_size", "threads"]):
        ms = group.pivot_table(index="block", columns="condition", values="median_ms")
        if {"float network", "packed BNN"} - set(ms.columns):
            raise DataError(f"{arch} batch {size}: the network benchmark lacks a condition; rerun it")
        est = stats.ratio_interval(ms["float network"], ms["packed BNN"], paired=True, unit="blocks")
        rows.append(
            dict(
                arch=arch,
                shape=shape,
                batch_size=int(size),
                threads=int(threads),
                device=group["device"].iloc[0],
                cpu_path=group["cpu_path"].iloc[0],
                float_ms=float(np.exp(np.log(ms["float network"]).mean())),
                packed_ms=float(np.exp(np.log(ms["packed BNN"]).mean())),
                speedup=est.estimate,
                speedup_low=est.low,
                speedup_high=est.high,
                blocks=est.repeats,
                exact_logits=bool(as_bool(group["exact_logits"]).all()),
            )
        )
    return pd.DataFrame(rows)


def make_tables(context: Context, inputs: list[str]) -> None:
    paths = [str(p) for p in inputs] or [str(context.results / BLOCKS), str(context.results / NETWORKS)]
    network_paths = [p for p in paths if Path(p).name == Path(NETWORKS).name]
    blocks = load_blocks([p for p in paths if p not in network_paths])
    names = tables(context.config)
    write_csv(context.results / names["products"], products(blocks))
    networks = pd.concat([read_csv(p) for p in network_paths], ignore_index=True) if network_paths else None
    write_csv(
        context.results / names["networks"],
        network_ratios(networks) if networks is not None and len(networks) else pd.DataFrame(),
    )
