"""``bnnrepro efficiency inference``: what a trained BNN promises at inference, measured.

For the trained models of one architecture (one chunk manifest of the efficiency family):

1. **Packed exports.** Every model whose weights are +-1 at inference is written in the packed
   format (:func:`bnnrepro.nn.save_packed`: binary weights as bits, the rest float32), loaded back,
   and its outputs on the test images are compared with the original model's float computation,
   on the float path and on the packed xnor path: the export must reproduce them *exactly*
   (``torch.equal``). One row per model in the exports table, with the sizes (fp32 bytes, packed
   payload bytes, file bytes).
2. **Timing.** The float network and the first repeat's binary models (loaded from their packed
   exports) are timed at every batch size, the BNNs both in float arithmetic on their +-1 values
   and on the bit-packed xnor-popcount path: on a CPU the fused packed MLP
   (:func:`bnnrepro.nn.export.fuse_binary_mlp`: the numba kernel, hidden layers reading and
   writing bits through one integer threshold per unit), on a GPU the ``triton`` backend where it
   runs. A *block* times each (model, path) for ``min_run_time`` seconds and keeps the median
   seconds per call; blocks are repeated ``repeats`` times, and block b visits the conditions in an
   order rotated by b, so that a slow phase of the machine falls on every condition alike. The
   blocks are the repeats of the latency and throughput ratios (paired by block). One row per
   (block, batch size, condition) in the timings table.

The first layer of these MLPs sees real-valued pixels, so its product is a float product on every
path: only the products between +-1 activations and +-1 weights can use the xnor path. For a
784-H-10 MLP that is the H x 10 output layer alone, so the packed path cannot beat the BNN's float
arithmetic by more than the Amdahl bound ``(784 + 10) / (784 + 10 / s)`` < ``1 + 10 / 784`` (about
1.01x) whatever the kernel's speedup ``s`` (counting multiply-adds; the 784 x H float layer
stays). BinaryNet's 784-3x4096-10 MLP (the kernel family's network benchmark) has two 4096 x 4096
binary products, and its bound is ``(784 + 2 * 4096 + 10) / 784``, about 11.5x.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from bnnrepro.errors import ConfigError, DataError
from bnnrepro.io import write_csv

#: Paths of the timed conditions: float arithmetic on the model's values, or the packed products.
FLOAT_PATH, PACKED_PATH = "float", "packed"
#: A network's forward pass: the model itself or its fused packed form.
ModelCall = Callable[[torch.Tensor], torch.Tensor]
EXPORT_COLUMNS = [
    "dataset",
    "arch",
    "variant",
    "seed",
    "run",
    "binary_params",
    "float_params",
    "fp32_bytes",
    "packed_bytes",
    "payload_bytes",
    "file_bytes",
    "xnor_layers",
    "packed_backend",
    "packed_kernel",
    "exact_float_path",
    "exact_packed_path",
    "examples",
    "accuracy",
]


@dataclass
class TrainedModel:
    """A trained run of the chunk: its folder, condition and model."""

    folder: Path
    run: str
    dataset: str
    arch: str
    variant: str
    seed: int
    model: torch.nn.Module
    saved: dict

    @property
    def binary_at_eval(self) -> bool:
        from bnnrepro.nn.layers import binary_layers

        return any(layer.binary_weights_at_eval for layer in binary_layers(self.model))

    @property
    def xnor_eligible(self) -> bool:
        from bnnrepro.nn.layers import binary_layers

        return any(layer.xnor_eligible for layer in binary_layers(self.model))


def load_models(manifest: str | os.PathLike) -> list[TrainedModel]:
    """Every run of a chunk manifest (verified) with its model."""
    from bnnrepro.train.loop import load_model, load_saved_model
    from bnnrepro.train.records import read_manifest, read_summary, tag_columns

    out = []
    for folder in read_manifest(manifest):
        summary = read_summary(folder)
        cfg = summary["config"]
        tags = tag_columns(cfg.get("tags", []))
        path = folder / "model.pt"
        if not path.is_file():
            raise DataError(
                f"{path} is missing: the run was trained with save_model false; the inference "
                "benchmark needs the model (delete the run folder and rerun the workflow)"
            )
        out.append(
            TrainedModel(
                folder,
                summary["run"],
                cfg["dataset"],
                cfg["arch"],
                tags.get("variant", cfg["mode"]),
                int(cfg["seed"]),
                load_model(path),
                load_saved_model(path),
            )
        )
    if not out:
        raise DataError(f"{manifest} lists no runs")
    return out


def packed_backend(device: torch.device) -> str:
    """The concrete backend of the packed path on ``device``: Triton on a GPU where it runs (else
    the plain torch product), the numba kernel on a CPU."""
    from bnnrepro.kernels.dispatch import triton_usable

    if device.type == "cpu":
        return "numba"
    return "triton" if triton_usable(device) else "torch"


def packed_model(model: torch.nn.Module, device: torch.device) -> tuple[ModelCall, str]:
    """``(callable, kernel)``: the packed path of a loaded BNN. On a CPU a BinaryNet MLP is fused
    (:func:`bnnrepro.nn.export.fuse_binary_mlp`); anything else runs layer by layer on the packed
    backend (the callable is the model itself)."""
    if device.type == "cpu":
        from bnnrepro.kernels.cpu import cpu_path
        from bnnrepro.nn.export import fuse_binary_mlp

        try:
            return fuse_binary_mlp(model), f"fused-numba:{cpu_path()}"
        except ValueError:
            return model, f"layers-numba:{cpu_path()}"
    return model, f"layers-{packed_backend(device)}"


def test_inputs(dataset: str, size: int, data_dir: str | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``size`` test images (the test set repeated if it is smaller) scaled as in training, and labels."""
    from bnnrepro.data import load_dataset, scale_inputs

    raw = load_dataset(dataset, data_dir, download=False, quiet=True)
    x = torch.from_numpy(scale_inputs(raw.x_test))
    y = torch.from_numpy(raw.y_test)
    repeats = -(-size // len(x))
    return x.repeat(repeats, *([1] * (x.dim() - 1)))[:size].contiguous(), y.repeat(repeats)[:size]


@torch.no_grad()
def export_and_check(
    trained: TrainedModel, packed_dir: Path, x: torch.Tensor, y: torch.Tensor, device: torch.device
) -> tuple[dict[str, Any], torch.nn.Module, ModelCall]:
    """Write the packed export of a binary model, load it back and compare its outputs with the
    original's float computation on ``x``: one row of the exports table, the loaded model and its
    packed path (:func:`packed_model`)."""
    from bnnrepro.kernels import use_backend
    from bnnrepro.nn.export import load_packed, save_packed
    from bnnrepro.nn.summary import summarize
    from bnnrepro.train.loop import saved_spec

    path = packed_dir / f"{trained.run}.packed.pt"
    payload = save_packed(
        trained.model,
        path,
        spec=saved_spec(trained.saved),
        input_shape=tuple(trained.saved["input_shape"]),
        num_classes=trained.saved["num_classes"],
        metadata={"run": trained.run, "arch": trained.arch, "variant": trained.variant},
    )
    loaded = load_packed(path, map_location=device).model
    original = trained.model.to(device)
    xd = x.to(device)
    with use_backend("float"):
        reference = original(xd)
        exact_float = bool(torch.equal(loaded(xd), reference))
    backend = packed_backend(device)
    packed, kernel = packed_model(loaded, device)
    with use_backend(backend):
        packed_out = packed(xd)
    exact_packed = bool(torch.equal(packed_out, reference))
    summary = summarize(trained.model)
    row = {
        "dataset": trained.dataset,
        "arch": trained.arch,
        "variant": trained.variant,
        "seed": trained.seed,
        "run": trained.run,
        "binary_params": summary.binary_params,
        "float_params": summary.float_params,
        "fp32_bytes": summary.fp32_bytes,
        "packed_bytes": summary.packed_bytes,
        "payload_bytes": payload,
        "file_bytes": path.stat().st_size,
        "xnor_layers": trained.xnor_eligible,
        "packed_backend": backend,
        "packed_kernel": kernel,
        "exact_float_path": exact_float,
        "exact_packed_path": exact_packed,
        "examples": len(x),
        "accuracy": float((packed_out.argmax(1).cpu() == y).float().mean()),
    }
    return row, loaded, packed


def time_block(call: Callable[[], object], min_run_time: float, min_calls: int = 2) -> tuple[float, int]:
    """Median seconds per ``call()`` over one block of at least ``min_run_time`` seconds (and at
    least ``min_calls`` calls), and the number of calls. The median: robust to the odd preempted call
    (a batch of 10,000 images takes a few tenths of a second, so its blocks hold few calls: the
    blocks, not the calls, are the repeats of the ratios)."""
    times = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        call()
        t1 = time.perf_counter()
        times.append(t1 - t0)
        if t1 - start >= min_run_time and len(times) >= min_calls:
            return statistics.median(times), len(times)


@torch.no_grad()
def time_conditions(
    conditions: list[dict],
    x: torch.Tensor,
    batch_sizes: list[int],
    repeats: int,
    min_run_time: float,
    device: torch.device,
) -> list[dict]:
    """Timing blocks of every condition (``model``, ``backend`` and the columns to report), interleaved:
    block b runs, at each batch size, the conditions rotated left by b."""
    from bnnrepro.kernels import use_backend

    def call(condition: dict[str, Any], batch: torch.Tensor) -> torch.Tensor:
        with use_backend(condition["backend"]):
            out = condition["model"](batch)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return out

    batches = {size: x[:size].to(device) for size in batch_sizes}
    for condition in conditions:  # warm-up: allocations, prepared packed weights, kernel compilation
        for size in batch_sizes:
            time_block(functools.partial(call, condition, batches[size]), min_run_time / 4, min_calls=1)
    rows = []
    for block in range(repeats):
        shift = block % len(conditions)
        order = conditions[shift:] + conditions[:shift]
        for size in batch_sizes:
            for position, condition in enumerate(order):
                seconds, calls = time_block(functools.partial(call, condition, batches[size]), min_run_time)
                rows.append(
                    {
                        **{k: v for k, v in condition.items() if k != "model"},
                        "batch_size": size,
                        "block": block,
                        "position": position,
                        "median_ms": 1e3 * seconds,
                        "images_per_s": size / seconds,
                        "calls": calls,
                    }
                )
    return rows


def benchmark(
    manifest: str | os.PathLike,
    packed_dir: str | os.PathLike,
    batch_sizes: list[int],
    repeats: int,
    min_run_time: float,
    device: str = "cpu",
    data_dir: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(timings, exports) of the models of one chunk manifest (see the module docstring)."""
    from bnnrepro.train.loop import resolve_device

    target = resolve_device(device)
    packed_dir = Path(packed_dir)
    packed_dir.mkdir(parents=True, exist_ok=True)
    models = load_models(manifest)
    datasets = {m.dataset for m in models}
    if len(datasets) != 1:
        raise DataError(
            f"{manifest}: runs of several datasets ({', '.join(sorted(datasets))}); one chunk is one dataset"
        )
    x, y = test_inputs(models[0].dataset, max(batch_sizes), data_dir)
    exports: list[dict[str, Any]] = []
    loaded: dict[str, torch.nn.Module] = {}
    packed: dict[str, ModelCall] = {}
    for trained in models:
        if trained.binary_at_eval:
            row, loaded[trained.run], packed[trained.run] = export_and_check(trained, packed_dir, x, y, target)
            exports.append(row)
    first_seed = min(m.seed for m in models)
    conditions = []
    for trained in sorted((m for m in models if m.seed == first_seed), key=lambda m: m.variant != "float"):
        common = {
            "dataset": trained.dataset,
            "arch": trained.arch,
            "variant": trained.variant,
            "seed": trained.seed,
            "run": trained.run,
            "device": str(target),
            "threads": torch.get_num_threads(),
        }
        if trained.run in loaded:
            model = loaded[trained.run]
            conditions.append({**common, "model": model, "path": FLOAT_PATH, "backend": "float"})
            if trained.xnor_eligible:
                conditions.append(
                    {**common, "model": packed[trained.run], "path": PACKED_PATH, "backend": packed_backend(target)}
                )
        elif trained.variant == "float":
            conditions.append({**common, "model": trained.model.to(target), "path": FLOAT_PATH, "backend": "float"})
        # Other models (e.g. stochastic binarization evaluated with its real weights) are not BNNs at inference.
    if not any(c["variant"] == "float" for c in conditions):
        raise DataError(f"{manifest}: no float network among the runs; the timings compare the BNNs with it")
    timings = pd.DataFrame(time_conditions(conditions, x, batch_sizes, repeats, min_run_time, target))
    return timings, pd.DataFrame(exports, columns=EXPORT_COLUMNS)


# --- command ---------------------------------------------------------------------------------------


class Inference:
    """``bnnrepro efficiency inference MANIFEST``: packed exports and interleaved inference timings."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.description = (
            "Write the packed export of each binary model of an efficiency chunk, check it exactly, "
            "and time the float network against the BNNs (float and packed paths) in interleaved "
            "blocks at each batch size."
        )
        parser.add_argument("manifest", help="the chunk manifest of one (dataset, arch) of the efficiency family")
        parser.add_argument("--timings", required=True, metavar="CSV", help="output: one row per timing block")
        parser.add_argument("--exports", required=True, metavar="CSV", help="output: one row per packed export")
        parser.add_argument("--packed-dir", required=True, metavar="DIR", help="output: the packed models")
        parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 10000], metavar="N")
        parser.add_argument("--repeats", type=int, default=5, help="timing blocks per condition (default: 5)")
        parser.add_argument(
            "--min-run-time", type=float, default=0.5, metavar="S", help="seconds of timing per block (default: 0.5)"
        )
        parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
        parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
        parser.add_argument("--data-dir", default=None)

    def run(self, args: argparse.Namespace) -> int:
        if any(b < 1 for b in args.batch_sizes):
            raise ConfigError("--batch-sizes must be positive integers, e.g. --batch-sizes 1 10000")
        if args.repeats < 2:
            raise ConfigError(f"--repeats {args.repeats}: the ratios need at least 2 timing blocks (5 is a good value)")
        if not args.min_run_time > 0:
            raise ConfigError(f"--min-run-time {args.min_run_time}: must be positive seconds, e.g. 0.2")
        if args.threads:
            torch.set_num_threads(min(args.threads, os.cpu_count() or args.threads))
        timings, exports = benchmark(
            args.manifest,
            args.packed_dir,
            sorted(set(args.batch_sizes)),
            args.repeats,
            args.min_run_time,
            args.device,
            args.data_dir,
        )
        write_csv(args.exports, exports)
        write_csv(args.timings, timings)
        return 0


command = Inference()
