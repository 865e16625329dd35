"""Training-speed benchmark: seconds per epoch of the BNN vs the float MLP, same data, same run.

Measures the product's own training step (:func:`bnnrepro.train.loop._train_epoch`) for the
deterministic BNN, the stochastic BNN and the float version of the same architecture, plus a
*plain torch* float MLP (nn.Linear / BatchNorm / ReLU, cross-entropy, stock Adam) as the reference
the speed goal is stated against. After one warm-up epoch each, the variants train ``--epochs``
interleaved rounds of one epoch; reported are the median seconds per epoch and the median of the
per-round ratios. Output: a tidy CSV, one row per timed epoch, with wall-clock ``seconds`` and the
process's CPU time ``cpu_seconds`` (all threads): on a shared machine the CPU time is less
disturbed by other processes (time spent waiting for a core is not counted), though spinning
OpenMP threads inflate it when ``--threads`` > 1.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from bnnrepro.io import write_csv

if TYPE_CHECKING:
    from bnnrepro.data import PreparedData

VARIANTS = ("plain_torch", "float", "det", "stoch")


def add_train_benchmark_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="benchmarks/out/train_speed.csv", help="CSV of per-epoch times")
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--train-size", type=int, default=50000, help="training examples per epoch")
    parser.add_argument("--hidden", type=int, default=1024, help="hidden units of the 784-H-10 MLP")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[100, 5000])
    parser.add_argument("--epochs", type=int, default=5, help="timed rounds (one epoch per variant) after one warm-up")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")


def _plain_torch_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    order: torch.Generator,
) -> None:
    model.train()
    perm = torch.randperm(len(x), generator=order)
    for step in range(len(x) // batch_size):
        idx = perm[step * batch_size : (step + 1) * batch_size]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def _variant_epoch(variant: str, data: PreparedData, batch_size: int, hidden: int) -> Callable[[], None]:
    """A zero-argument function training one epoch of ``variant`` (state kept between calls)."""
    from bnnrepro.nn.models import build_model
    from bnnrepro.train.config import TrainConfig
    from bnnrepro.train.loop import _train_epoch
    from bnnrepro.train.optim import make_optimizer, pm1_targets

    x, y = data.train.x, data.train.y
    torch.manual_seed(0)
    order = torch.Generator().manual_seed(0)
    if variant == "plain_torch":
        model = nn.Sequential(
            nn.Flatten(),
            nn.Linear(x[0].numel(), hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Linear(hidden, data.num_classes),
        )
        adam = torch.optim.Adam(model.parameters(), lr=1e-3)
        return lambda: _plain_torch_epoch(model, adam, x, y, batch_size, order)
    cfg = TrainConfig(
        arch="mlp",
        hidden=[hidden],
        batch_size=batch_size,
        mode="float" if variant == "float" else "binarynet",
        binarization="stoch" if variant == "stoch" else "det",
    )
    model = build_model(cfg.model_spec(), data.input_shape, data.num_classes)
    optimizer = make_optimizer(model, cfg.lr_start, cfg.glorot_lr_scale)  # clips the latent weights
    targets = pm1_targets(y, data.num_classes)
    return lambda: _train_epoch(model, optimizer, x, targets, cfg, order, [])


def run_train_benchmark(args: argparse.Namespace) -> int:
    from bnnrepro.data import load_dataset, prepare_data

    if args.threads:
        torch.set_num_threads(args.threads)
    data = prepare_data(load_dataset(args.dataset), train_size=args.train_size, test_size=100)
    rows = []
    for batch_size in args.batch_sizes:
        epochs = {v: _variant_epoch(v, data, batch_size, args.hidden) for v in args.variants}
        for run in epochs.values():
            run()  # warm-up: allocator, lazy initialisation
        # Rounds interleave the variants (A B C A B C ...) so that drift in the machine's speed
        # (this VM's varies by tens of percent over minutes) hits every variant alike.
        for round_ in range(args.epochs):
            for variant, run in epochs.items():
                t0, cpu0 = time.perf_counter(), time.process_time()
                run()
                rows.append(
                    {
                        "variant": variant,
                        "batch_size": batch_size,
                        "round": round_ + 1,
                        "seconds": time.perf_counter() - t0,
                        "cpu_seconds": time.process_time() - cpu0,
                        "train_examples": len(data.train),
                        "hidden": args.hidden,
                        "threads": torch.get_num_threads(),
                        "torch": torch.__version__,
                    }
                )
        for variant in args.variants:
            mine = [r for r in rows if r["variant"] == variant and r["batch_size"] == batch_size]
            wall = statistics.median(r["seconds"] for r in mine)
            cpu = statistics.median(r["cpu_seconds"] for r in mine)
            print(
                f"batch {batch_size:>5} {variant:<12} {wall:7.2f} s/epoch, {cpu:7.2f} CPU s/epoch "
                f"(medians of {args.epochs})",
                flush=True,
            )
    frame = pd.DataFrame(rows)
    write_csv(args.out, frame)
    for measure in ("seconds", "cpu_seconds"):
        paired = frame.pivot_table(index=["batch_size", "round"], columns="variant", values=measure)
        for bs, group in paired.groupby(level="batch_size"):
            if {"det", "float"} <= set(group.columns):
                line = f"batch {bs}, {measure:<11}: det BNN / float = {(group['det'] / group['float']).median():.3f}x"
                if "plain_torch" in group.columns:
                    line += f", det BNN / plain torch = {(group['det'] / group['plain_torch']).median():.3f}x"
                print(line + " (median of per-round ratios)")
    print(f"wrote {args.out}")
    return 0
