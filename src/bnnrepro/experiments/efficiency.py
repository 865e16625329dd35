"""Efficiency family (seed 003): binary vs float MLPs on Fashion-MNIST, trained and deployed.

Training cost is measured by the training loop itself (``timing.csv``: seconds per epoch, process
RSS through psutil as the report did, CUDA peak memory on a GPU); the workflow runs these jobs
alone (``threads`` = all cores) so that no other job disturbs the clock. Beyond the report, this
module measures the *inference* cost of each trained model: latency at batch 1 and throughput at a
large batch, for the float computation and for the bit-packed xnor-popcount path
(:mod:`bnnrepro.kernels`), and the model's size in bytes as fp32 and packed (the packed export is
written, loaded back and checked to give identical predictions).

Outputs: ``summary.csv`` (one row per run: time, memory, accuracy, size), ``curves.csv`` (overall
error by epoch and split), ``inference.csv`` (one row per run, backend and batch size).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bnnrepro.errors import ConfigError
from bnnrepro.experiments import Command
from bnnrepro.io import read_csv, write_csv

VARIANT_ORDER = ["float", "det", "stoch"]


def _run_info(run_dir: Path) -> dict:
    info = json.loads((run_dir / "summary.json").read_text())
    cfg = info["config"]
    tags = dict(t.split("=", 1) for t in cfg.get("tags", []))
    return {"run": info["run"], "dataset": cfg["dataset"], "arch": cfg["arch"],
            "variant": tags.get("variant", cfg["mode"]), "seed": cfg["seed"], "info": info}


# --- inference -----------------------------------------------------------------------------------

def _time_ms(fn, min_run_time: float) -> tuple[float, int]:
    """Median milliseconds of ``fn()`` (torch.utils.benchmark: warm-up, then repeated blocks)."""
    from torch.utils import benchmark

    measurement = benchmark.Timer(stmt="fn()", globals={"fn": fn}).blocked_autorange(min_run_time=min_run_time)
    return measurement.median * 1e3, len(measurement.times)


@torch.no_grad()
def inference_benchmark(run_dir: Path, batch_sizes: list[int], min_run_time: float = 1.0,
                        data_dir: str | None = None) -> pd.DataFrame:
    """Latency / throughput of a trained run's model, float vs packed, and its sizes."""
    from bnnrepro.data import load_dataset, scale_inputs
    from bnnrepro.kernels import use_backend
    from bnnrepro.nn import load_packed, save_packed
    from bnnrepro.nn import binary_layers, summarize
    from bnnrepro.train.loop import load_model, saved_spec

    meta = _run_info(run_dir)
    model = load_model(run_dir / "model.pt")
    saved = torch.load(run_dir / "model.pt", map_location="cpu", weights_only=False)
    spec = saved_spec(saved)
    packed_path = run_dir / "model.packed.pt"
    payload = save_packed(model, packed_path, spec=spec, input_shape=tuple(saved["input_shape"]),
                          num_classes=saved["num_classes"], metadata={"run": meta["run"]})
    packed = load_packed(packed_path).model

    raw = load_dataset(meta["info"]["config"]["dataset"], data_dir, download=False, quiet=True)
    largest = max(batch_sizes)
    x = torch.from_numpy(scale_inputs(raw.x_test[:largest]))
    y = torch.from_numpy(raw.y_test[:largest])
    with use_backend("float"):
        reference = model(x)
    backends = ["float"]
    if any(layer.xnor_eligible for layer in binary_layers(model)):
        backends += ["torch", "auto"]
    summary = summarize(model)
    rows = []
    for backend in backends:
        with use_backend(backend):
            out = packed(x)
            exact = bool(torch.equal(out, reference))
            accuracy = float((out.argmax(1) == y).float().mean())
            for batch in batch_sizes:
                xb = x[:batch]
                median_ms, samples = _time_ms(lambda: packed(xb), min_run_time)
                rows.append({**{k: meta[k] for k in ("run", "dataset", "arch", "variant", "seed")},
                             "backend": backend, "batch_size": batch, "median_ms": median_ms,
                             "images_per_s": batch / (median_ms / 1e3), "samples": samples,
                             "exact_vs_float": exact, "test_accuracy_on_batch": accuracy,
                             "fp32_bytes": summary.fp32_bytes, "packed_bytes": summary.packed_bytes,
                             "packed_file_bytes": packed_path.stat().st_size, "packed_payload_bytes": payload,
                             "threads": torch.get_num_threads()})
    return pd.DataFrame(rows)


# --- aggregation ---------------------------------------------------------------------------------

def summarize_runs(run_dirs: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary, curves) over efficiency runs."""
    rows, curves = [], []
    for run_dir in map(Path, run_dirs):
        meta = _run_info(run_dir)
        info = meta.pop("info")
        timing = read_csv(run_dir / "timing.csv")
        metrics = read_csv(run_dir / "metrics.csv")
        overall = metrics[metrics["class"] == "all"]
        final = overall[overall["epoch"] == overall["epoch"].max()].set_index("split")["error"]
        row = {**meta, "epochs": int(timing["epoch"].max()),
               # the median epoch: robust to the first epoch's one-off costs (allocation, caches)
               "seconds_per_epoch": float(statistics.median(timing["train_seconds"])),
               "train_seconds_total": float(timing["train_seconds"].sum()),
               "peak_rss_mb": float(timing["peak_rss_mb"].max()),
               "cuda_peak_mb": float(timing["cuda_peak_mb"].max()),
               "binary_params": info["binary_params"], "float_params": info["float_params"],
               "fp32_bytes": info["fp32_bytes"], "packed_bytes": info["packed_bytes"],
               "threads": info["environment"]["torch_threads"]}
        for split in ("train", "valid", "test"):
            row[f"{split}_accuracy"] = 1 - float(final[split]) if split in final else np.nan
        rows.append(row)
        c = overall[["epoch", "split", "error"]].copy()
        for key in ("run", "dataset", "arch", "variant", "seed"):
            c[key] = meta[key]
        curves.append(c)
    if not rows:
        raise ConfigError("no efficiency runs given")
    return pd.DataFrame(rows), pd.concat(curves, ignore_index=True)


def plot_curves(curves: pd.DataFrame, path: Path) -> None:
    import matplotlib.pyplot as plt

    from bnnrepro import plots

    plots.setup()
    archs = list(dict.fromkeys(curves["arch"]))
    splits = [s for s in ("train", "valid", "test") if s in set(curves["split"])]
    variants = [v for v in VARIANT_ORDER if v in set(curves["variant"])]
    colours = plots.palette("variant", variants)
    fig, axes = plt.subplots(len(splits), len(archs), figsize=(4.6 * len(archs), 2.8 * len(splits)),
                             sharex=True, sharey="row", squeeze=False, layout="constrained")
    mean = curves.groupby(["arch", "variant", "split", "epoch"], as_index=False)["error"].mean()
    for i, split in enumerate(splits):
        for j, arch in enumerate(archs):
            ax = axes[i, j]
            for v in variants:
                line = mean[(mean["arch"] == arch) & (mean["variant"] == v) & (mean["split"] == split)]
                ax.plot(line["epoch"], 100 * line["error"], color=colours[v], lw=1.6, label=v)
            ax.set_title(f"{arch}: {split}")
            if i == len(splits) - 1:
                ax.set_xlabel("epoch")
            if j == 0:
                ax.set_ylabel("error (%)")
    plots.integer_axis(axes)
    axes[0, -1].legend(title="variant")
    fig.suptitle("Error by epoch, binary vs float MLPs (mean over seeds)")
    plots.save(fig, path)


def plot_bars(summary: pd.DataFrame, inference: pd.DataFrame, path: Path) -> None:
    import matplotlib.pyplot as plt
    import seaborn as sns

    from bnnrepro import plots

    plots.setup()
    variants = [v for v in VARIANT_ORDER if v in set(summary["variant"])]
    colours = plots.palette("variant", variants)
    panels = [("seconds_per_epoch", "training time per epoch (s)"), ("peak_rss_mb", "peak RSS (MB)"),
              ("test_accuracy", "test accuracy (%)")]
    lat = inference[inference["batch_size"] == inference["batch_size"].min()]
    thr = inference[inference["batch_size"] == inference["batch_size"].max()]
    # Two rows (training cost, inference cost) so that the panels stay readable at page width.
    fig, grid = plt.subplots(2, 3, figsize=(14, 8), layout="constrained")
    axes = [grid[0, 0], grid[0, 1], grid[0, 2], grid[1, 0], grid[1, 1]]
    grid[1, 2].axis("off")
    data = summary.assign(test_accuracy=100 * summary["test_accuracy"])
    for ax, (col, label) in zip(axes, panels):
        sns.barplot(data=data, x="arch", y=col, hue="variant", hue_order=variants, palette=colours, ax=ax,
                    errorbar=None)
        ax.set_ylabel(label)
        ax.set_xlabel("")
        ax.legend_.remove() if ax.legend_ else None
    for ax, frame, label, col in ((axes[3], lat, f"inference latency, batch {int(lat['batch_size'].min())} (ms)", "median_ms"),
                                  (axes[4], thr, f"throughput, batch {int(thr['batch_size'].max())} (images/s)", "images_per_s")):
        frame = frame.assign(impl=frame["variant"] + " / " + frame["backend"])
        sns.barplot(data=frame, x="arch", y=col, hue="impl", ax=ax, errorbar=None, palette="colorblind")
        ax.set_ylabel(label)
        ax.set_xlabel("")
        ax.legend(fontsize=8, title="variant / backend", title_fontsize=8)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[v]) for v in variants]
    axes[0].legend(handles, variants, title="variant")
    fig.suptitle("Training (top) and inference (bottom) cost, binary vs float MLPs")
    plots.save(fig, path)


# --- CLI -----------------------------------------------------------------------------------------

def _add_inference(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-dir", required=True, help="a trained run (model.pt, summary.json)")
    parser.add_argument("--out", required=True, help="output CSV")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 10000])
    parser.add_argument("--min-run-time", type=float, default=1.0, help="seconds of timing per measurement")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--data-dir", default=None)


def _run_inference(args: argparse.Namespace) -> int:
    import os

    if any(b < 1 for b in args.batch_sizes):
        raise ConfigError("--batch-sizes must be positive")
    if args.threads:
        torch.set_num_threads(min(args.threads, os.cpu_count() or args.threads))
    write_csv(args.out, inference_benchmark(Path(args.run_dir), args.batch_sizes, args.min_run_time, args.data_dir))
    return 0


def _add_aggregate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inference", nargs="+", help="inference.csv files (their folders are the runs)")
    parser.add_argument("--summary", required=True)
    parser.add_argument("--curves", required=True)
    parser.add_argument("--inference-out", required=True)


def _run_aggregate(args: argparse.Namespace) -> int:
    summary, curves = summarize_runs([Path(p).parent for p in args.inference])
    write_csv(args.summary, summary)
    write_csv(args.curves, curves)
    write_csv(args.inference_out, pd.concat([read_csv(p) for p in args.inference], ignore_index=True))
    return 0


def _add_plot(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--summary", required=True)
    parser.add_argument("--curves", required=True)
    parser.add_argument("--inference", required=True)
    parser.add_argument("--curves-out", required=True, help="PNG of error by epoch")
    parser.add_argument("--bars-out", required=True, help="PNG of time / memory / accuracy bars")


def _run_plot(args: argparse.Namespace) -> int:
    plot_curves(read_csv(args.curves), Path(args.curves_out))
    plot_bars(read_csv(args.summary), read_csv(args.inference), Path(args.bars_out))
    return 0


inference = Command(_add_inference, _run_inference)
aggregate = Command(_add_aggregate, _run_aggregate)
plot = Command(_add_plot, _run_plot)
