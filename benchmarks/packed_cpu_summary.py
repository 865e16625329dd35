"""Summarise the packed CPU benchmarks for the README: per shape and thread count, the numba product
(activations packed inside the timing) against fp32 torch.matmul, and whole networks against the
float MLP. Ratios are geometric means over the interleaved timing blocks (paired by block), with the
range over blocks; times are block medians.

    python -m bnnrepro kernels bench --device cpu --out benchmarks/out/kernel_t1.csv \\
        --batch 1 8 64 512 --sizes 1024 4096 8192 --threads 1        # and --threads 2 (kernel_t2.csv)
    python -m bnnrepro kernels network --out benchmarks/out/networks_t1.csv --threads 1   # and 2
    python benchmarks/packed_cpu_summary.py benchmarks/out/kernel_t*.csv benchmarks/out/networks_t*.csv
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd


def kernel_rows(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.assign(label=frame["impl"] + ":" + frame["act_prep"])
    rows = []
    for (threads, m, k), group in frame.groupby(["threads", "M", "K"]):
        times = group.pivot_table(index="block", columns="label", values="ms")
        fp32, ours = times["torch.matmul:none"], times["numba_xnor:inside"]
        ratio = fp32 / ours
        ops = 2 * m * k * k
        rows.append(
            {
                "threads": threads,
                "M": m,
                "K=N": k,
                "fp32 ms": fp32.median(),
                "numba ms": ours.median(),
                "speedup": float(np.exp(np.log(ratio).mean())),
                "range": f"{ratio.min():.1f}-{ratio.max():.1f}",
                "numba Gop/s": ops / ours.median() / 1e6,
                "naive Gop/s": ops / times["numba_naive:inside"].median() / 1e6,
                "fp32 Gflop/s": ops / fp32.median() / 1e6,
                "exact": bool(group["exact"].all()),
                "load": group["load_avg"].median(),
            }
        )
    return pd.DataFrame(rows)


def network_rows(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (threads, _arch, size), group in frame.groupby(["threads", "arch", "batch_size"]):
        times = group.pivot_table(index="block", columns="condition", values="median_ms")
        ratio = times["float network"] / times["packed BNN"]
        rows.append(
            {
                "threads": threads,
                "network": group["shape"].iloc[0],
                "batch": size,
                "float ms": times["float network"].median(),
                "packed ms": times["packed BNN"].median(),
                "speedup": float(np.exp(np.log(ratio).mean())),
                "range": f"{ratio.min():.2f}-{ratio.max():.2f}",
                "exact logits": bool(group["exact_logits"].all()),
                "load": group["load_avg"].median(),
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", nargs="+", help="outputs of `bnnrepro kernels bench` and `bnnrepro kernels network`")
    args = parser.parse_args(argv)
    frames = [pd.read_csv(path) for path in args.csv]
    kernels = [f for f in frames if "impl" in f.columns]
    networks = [f for f in frames if "condition" in f.columns]
    pd.set_option("display.width", 200)
    if kernels:
        table = kernel_rows(pd.concat(kernels, ignore_index=True))
        print(f"CPU: {kernels[0]['device'].iloc[0]}, path {kernels[0]['cpu_path'].iloc[0]}")
        print(table.round(3).to_markdown(index=False) if _has_tabulate() else table.round(3).to_string(index=False))
        if table["threads"].nunique() > 1:
            wide = table.pivot_table(index=["M", "K=N"], columns="threads", values="numba ms")
            low, high = wide.columns.min(), wide.columns.max()
            print(f"\nnumba {high} threads over {low}: time({low}) / time({high})")
            print((wide[low] / wide[high]).round(2).to_string())
    if networks:
        table = network_rows(pd.concat(networks, ignore_index=True))
        print()
        print(table.round(3).to_markdown(index=False) if _has_tabulate() else table.round(3).to_string(index=False))
    return 0


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
