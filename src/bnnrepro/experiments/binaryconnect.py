"""BinaryConnect family (seed 004 and Courbariaux et al. 2015): binary weights, real activations.

Variants (config ``binaryconnect.variants``): ``none`` (float network, no regularizer),
``bc_det`` / ``bc_stoch`` (deterministic / stochastic BinaryConnect: weights binarized in the
forward and backward passes, real ReLU activations; stochastic uses the real weights at test time
as the original), ``dropout`` (float network with dropout). From the runs this module builds

* ``summary.csv``: per run, the final test error, the test error at the epoch of lowest
  validation error (how the BinaryConnect paper reports), training time;
* ``weights.csv``: statistics of the first layer's weights per run: mean |w|, the fraction of
  weights within 10% of the clipping bound (|w| > 0.9, vs 10% for the Uniform(-1, 1)
  initialisation) and the fraction within 10% of the layer's largest |w| (comparable across
  float and binary variants);

and the figures: training curves, first-layer features (weights of 64 first-layer units as image
tiles) and histograms of the first layer's weights per variant (the paper's finding: binarization
pushes the latent weights toward +-1).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bnnrepro.errors import ConfigError
from bnnrepro.experiments import Command
from bnnrepro.io import read_csv, write_csv

VARIANT_ORDER = ["none", "bc_det", "bc_stoch", "dropout"]
VARIANT_LABELS = {"none": "no regularizer", "bc_det": "BinaryConnect (det.)", "bc_stoch": "BinaryConnect (stoch.)",
                  "dropout": "dropout"}


def _meta(run_dir: Path) -> tuple[dict, dict]:
    info = json.loads((run_dir / "summary.json").read_text())
    cfg = info["config"]
    tags = dict(t.split("=", 1) for t in cfg.get("tags", []))
    return {"run": info["run"], "dataset": cfg["dataset"], "arch": cfg["arch"],
            "variant": tags.get("variant", cfg["mode"]), "seed": cfg["seed"]}, info


def first_layer_weights(run_dir: Path) -> tuple[np.ndarray, tuple[int, ...]]:
    """The first weight matrix of a run's model (latent real values) and the input image shape."""
    saved = torch.load(run_dir / "model.pt", map_location="cpu", weights_only=False)
    for name, tensor in saved["state_dict"].items():
        if name.endswith("weight") and tensor.dim() in (2, 4):
            return tensor.float().numpy(), tuple(saved["input_shape"])
    raise ConfigError(f"{run_dir / 'model.pt'} has no dense or conv weight")


def summarize_runs(run_dirs: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(summary, weights, curves)."""
    rows, weights, curves = [], [], []
    for run_dir in map(Path, run_dirs):
        meta, info = _meta(run_dir)
        metrics = read_csv(run_dir / "metrics.csv")
        overall = metrics[metrics["class"] == "all"].pivot_table(index="epoch", columns="split", values="error")
        best = overall["valid"].idxmin() if "valid" in overall else overall.index.max()
        rows.append({**meta, "epochs": int(overall.index.max()), "final_test_error": float(overall["test"].iloc[-1]),
                     "test_error_at_best_valid": float(overall.loc[best, "test"]), "best_valid_epoch": int(best),
                     "final_train_error": float(overall["train"].iloc[-1]),
                     "train_minutes": info["train_seconds_total"] / 60})
        w, _ = first_layer_weights(run_dir)
        a = np.abs(w.ravel())
        weights.append({**meta, "mean_abs": float(a.mean()), "max_abs": float(a.max()),
                        "frac_abs_above_0.9": float((a > 0.9).mean()),
                        "frac_near_max": float((a > 0.9 * a.max()).mean()), "count": int(a.size)})
        c = metrics[metrics["class"] == "all"][["epoch", "split", "error", "loss"]].copy()
        for key, value in meta.items():
            c[key] = value
        curves.append(c)
    if not rows:
        raise ConfigError("no BinaryConnect runs given")
    return pd.DataFrame(rows), pd.DataFrame(weights), pd.concat(curves, ignore_index=True)


def _variants(values) -> list[str]:
    present = list(dict.fromkeys(values))
    return [v for v in VARIANT_ORDER if v in present] + [v for v in present if v not in VARIANT_ORDER]


def plot_curves(curves: pd.DataFrame, path: Path, dataset: str) -> None:
    import matplotlib.pyplot as plt

    from bnnrepro import plots

    plots.setup()
    data = curves[curves["dataset"] == dataset].groupby(["variant", "split", "epoch"], as_index=False)[["error", "loss"]].mean()
    variants = _variants(data["variant"])
    colours = plots.palette("variant", variants)
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for v in variants:
        d = data[data["variant"] == v]
        train = d[d["split"] == "train"]
        axes[0].plot(train["epoch"], train["loss"], color=colours[v], label=VARIANT_LABELS.get(v, v))
        for ax, split in ((axes[1], "valid"), (axes[2], "test")):
            s = d[d["split"] == split]
            ax.plot(s["epoch"], 100 * s["error"], color=colours[v], label=VARIANT_LABELS.get(v, v))
    axes[0].set_ylabel("training loss (eval mode, squared hinge)")
    axes[1].set_ylabel("validation error (%)")
    axes[2].set_ylabel("test error (%)")
    for ax in axes:
        ax.set_xlabel("epoch")
    plots.integer_axis(axes)
    axes[2].legend()
    fig.suptitle(f"Training curves by regularizer, {dataset}", y=1.02)
    fig.tight_layout()
    plots.save(fig, path)


def plot_features(run_dirs: list[Path], path: Path, units: int = 64) -> None:
    """First-layer weights of ``units`` units per variant as image tiles (like BC paper Fig 1)."""
    import matplotlib.pyplot as plt

    from bnnrepro import plots

    plots.setup()
    entries = []
    for run_dir in map(Path, run_dirs):
        meta, _ = _meta(run_dir)
        if meta["seed"] != min(_meta(Path(r))[0]["seed"] for r in run_dirs):
            continue
        w, shape = first_layer_weights(run_dir)
        entries.append((meta["variant"], w, shape))
    order = {v: i for i, v in enumerate(_variants([e[0] for e in entries]))}
    entries.sort(key=lambda e: order[e[0]])
    side = int(np.ceil(np.sqrt(units)))
    fig, axes = plt.subplots(1, len(entries), figsize=(3.4 * len(entries), 3.7), squeeze=False)
    for ax, (variant, w, shape) in zip(axes[0], entries):
        c, h, wd = shape
        if w.ndim != 2 or w.shape[1] != c * h * wd:
            ax.text(0.5, 0.5, "first layer is a convolution", ha="center", transform=ax.transAxes)
            ax.axis("off")
            continue
        tiles = w[:units].reshape(-1, c, h, wd)[:, 0]  # first channel
        grid = np.full((side * (h + 1), side * (wd + 1)), np.nan)
        for i, tile in enumerate(tiles):
            r, q = divmod(i, side)
            scale = np.abs(tile).max() or 1.0
            grid[r * (h + 1):r * (h + 1) + h, q * (wd + 1):q * (wd + 1) + wd] = tile / scale
        ax.imshow(grid, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(VARIANT_LABELS.get(variant, variant))
        ax.axis("off")
    fig.suptitle(f"First-layer features: weights of {units} units (each tile scaled to its max |w|; red +, blue -)", y=1.02)
    plots.save(fig, path, svg=False)


def plot_histograms(run_dirs: list[Path], path: Path) -> None:
    import matplotlib.pyplot as plt

    from bnnrepro import plots

    plots.setup()
    entries = []
    for run_dir in map(Path, run_dirs):
        meta, _ = _meta(run_dir)
        w, _ = first_layer_weights(run_dir)
        entries.append((meta["variant"], meta["seed"], w.ravel()))
    seed0 = min(e[1] for e in entries)
    entries = [e for e in entries if e[1] == seed0]
    order = {v: i for i, v in enumerate(_variants([e[0] for e in entries]))}
    entries.sort(key=lambda e: order[e[0]])
    colours = plots.palette("variant", [e[0] for e in entries])
    fig, axes = plt.subplots(1, len(entries), figsize=(3.6 * len(entries), 3.2), squeeze=False)
    for ax, (variant, _, w) in zip(axes[0], entries):
        lim = max(1.0, float(np.abs(w).max()))
        ax.hist(w, bins=101, range=(-lim, lim), color=colours[variant], density=True)
        ax.set_title(VARIANT_LABELS.get(variant, variant))
        ax.set_xlabel("first-layer weight (latent, real-valued)")
    axes[0, 0].set_ylabel("density")
    fig.suptitle("Histogram of the first layer's weights by regularizer", y=1.03)
    fig.tight_layout()
    plots.save(fig, path)


# --- CLI -----------------------------------------------------------------------------------------

def _add_aggregate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("metrics", nargs="+", help="metrics.csv files of BinaryConnect runs (model.pt beside each)")
    parser.add_argument("--summary", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--curves", required=True)


def _run_aggregate(args: argparse.Namespace) -> int:
    summary, weights, curves = summarize_runs([Path(p).parent for p in args.metrics])
    write_csv(args.summary, summary)
    write_csv(args.weights, weights)
    write_csv(args.curves, curves)
    return 0


def _add_plot(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("metrics", nargs="+", help="metrics.csv files of the dataset's runs")
    parser.add_argument("--curves", required=True, help="curves CSV from `binaryconnect aggregate`")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--curves-out", required=True)
    parser.add_argument("--features-out", required=True)
    parser.add_argument("--histograms-out", required=True)


def _run_plot(args: argparse.Namespace) -> int:
    runs = [Path(p).parent for p in args.metrics]
    plot_curves(read_csv(args.curves), Path(args.curves_out), args.dataset)
    plot_features(runs, Path(args.features_out))
    plot_histograms(runs, Path(args.histograms_out))
    return 0


aggregate = Command(_add_aggregate, _run_aggregate)
plot = Command(_add_plot, _run_plot)
