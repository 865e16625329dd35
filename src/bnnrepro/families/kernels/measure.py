"""``bnnrepro kernels bench``: the kernel benchmark's compute job (what the workflow's
``kernels_bench`` rule runs; its code version is this module's import closure, so editing the
analysis does not rerun it).

Times the packed xnor-popcount product and torch.matmul in interleaved blocks
(:func:`bnnrepro.kernels.bench.benchmark`) and writes one row per shape, implementation and block.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bnnrepro.errors import ConfigError

if TYPE_CHECKING:  # torch is imported where it is used: the CLI's help does not load it
    import torch


class Bench:
    help = "time the packed xnor-popcount product against torch.matmul (interleaved blocks)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--out", type=Path, required=True, help="CSV to write (one row per timing block)")
        parser.add_argument(
            "--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda or cuda:N (default: auto)"
        )
        parser.add_argument(
            "--batch",
            type=int,
            nargs="+",
            default=[1, 8, 64, 512],
            metavar="M",
            help="batch sizes M, rows of the activations (default: 1 8 64 512)",
        )
        parser.add_argument(
            "--sizes",
            type=int,
            nargs="+",
            default=[1024, 4096],
            metavar="K",
            help="weight sizes K = N (default: 1024 4096)",
        )
        parser.add_argument(
            "--repeats",
            type=int,
            default=5,
            help="timing blocks per product, interleaved across the implementations (default: 5)",
        )
        parser.add_argument(
            "--max-time",
            type=float,
            default=1.0,
            help="seconds of timed calls per product, split over its blocks; a block holds at least "
            "one call (default: 1.0)",
        )
        parser.add_argument("--seed", type=int, default=0, help="seed of the random +-1 operands (default: 0)")
        parser.add_argument(
            "--threads",
            type=int,
            default=None,
            help="torch CPU threads (default: torch's own choice, usually every core)",
        )

    def run(self, args: argparse.Namespace) -> int:
        import pandas as pd
        import torch

        from bnnrepro.io import write_csv
        from bnnrepro.kernels.bench import benchmark, resolve_device

        if args.repeats < 2:
            raise ConfigError(f"--repeats must be >= 2 (the speedup intervals need two blocks), not {args.repeats}")
        if not math.isfinite(args.max_time) or args.max_time <= 0:
            raise ConfigError(f"--max-time must be positive, not {args.max_time}")
        if min(args.batch) < 1 or min(args.sizes) < 1:
            raise ConfigError("--batch and --sizes take positive integers")
        if args.threads is not None:
            if args.threads < 1:
                raise ConfigError(f"--threads must be >= 1, not {args.threads}")
            torch.set_num_threads(min(args.threads, os.cpu_count() or args.threads))
        device = resolve_device(args.device)
        if device.type == "cpu":
            print(
                "kernel benchmark on CPU: the Triton and fp16/bf16 rows are skipped (the Triton interpreter is no "
                "performance path)",
                file=sys.stderr,
            )
        rows = benchmark(
            device,
            list(dict.fromkeys(args.batch)),
            list(dict.fromkeys(args.sizes)),
            repeats=args.repeats,
            max_time=args.max_time,
            seed=args.seed,
            log=lambda line: print(line, file=sys.stderr, flush=True),
        )
        write_csv(args.out, pd.DataFrame(rows))
        print(f"wrote {len(rows)} rows to {args.out}", file=sys.stderr)
        return 0


bench = Bench()


# --- whole networks ----------------------------------------------------------------------------------

#: Fields of every row of the network benchmark, in order.
NETWORK_COLUMNS = (
    "arch",
    "shape",
    "condition",
    "batch_size",
    "block",
    "position",
    "calls",
    "median_ms",
    "exact_logits",
    "same_predictions",
    "device",
    "threads",
    "cpu_path",
    "cpu_features",
    "load_avg",
)
FLOAT_NETWORK, PACKED_BNN = "float network", "packed BNN"


def _randomize_batchnorm(model: torch.nn.Module, generator: torch.Generator) -> None:
    """BatchNorm statistics and affine parameters of a trained-looking network (means around 0,
    variances around the fan-in, some negative scales): the fused thresholds then vary per unit
    and both signs of the scale are exercised. Timing does not depend on the values."""
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            n = module.num_features
            if module.running_mean is None or module.running_var is None:
                raise ValueError("a BatchNorm layer without running statistics cannot be given trained-looking ones")
            module.running_mean.copy_(torch.randn(n, generator=generator) * 8)
            module.running_var.copy_(torch.rand(n, generator=generator) * 900 + 100)
            module.weight.data.copy_(torch.randn(n, generator=generator))
            module.bias.data.copy_(torch.randn(n, generator=generator) * 0.5)


def _median_block(call: Callable[[], object], min_run_time: float) -> tuple[float, int]:
    """Median seconds per ``call()`` over at least ``min_run_time`` seconds (at least one call)."""
    import statistics
    import time

    times: list[float] = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        call()
        t1 = time.perf_counter()
        times.append(t1 - t0)
        if t1 - start >= min_run_time:
            return statistics.median(times), len(times)


def network_benchmark(
    archs: list[str],
    batch_sizes: list[int],
    repeats: int,
    min_run_time: float,
    seed: int,
    log: Callable[[str], object] = print,
) -> list[dict[str, Any]]:
    """Time the float MLP of each architecture against the fused packed BNN of the same shape
    (:func:`bnnrepro.nn.export.fuse_binary_mlp`) on the CPU, in interleaved blocks (block b runs the
    two conditions in an order rotated by b, at every batch size). The BNN has random weights and
    BatchNorm statistics (:func:`_randomize_batchnorm`): speed does not depend on them, and the
    fused network's logits are checked against the BNN's float computation on the same inputs."""
    import torch

    from bnnrepro.kernels import use_backend
    from bnnrepro.kernels.bench import device_name, load_average
    from bnnrepro.kernels.cpu import cpu_features, cpu_name, cpu_path
    from bnnrepro.nn.export import fuse_binary_mlp
    from bnnrepro.nn.models import build_model
    from bnnrepro.nn.spec import ModelSpec

    generator = torch.Generator().manual_seed(seed)
    common = {
        "device": device_name(torch.device("cpu")),
        "threads": torch.get_num_threads(),
        "cpu_path": cpu_path(),
        "cpu_features": f"{cpu_name()}: {' '.join(cpu_features())}",
    }
    x = torch.rand(max(batch_sizes), 1, 28, 28, generator=generator)
    rows: list[dict[str, Any]] = []
    for arch in archs:
        torch.manual_seed(seed)
        float_net = build_model(ModelSpec(arch=arch, mode="float"), (1, 28, 28), 10).eval()
        bnn = build_model(ModelSpec(arch=arch, mode="binarynet"), (1, 28, 28), 10).eval()
        _randomize_batchnorm(bnn, generator)
        fused = fuse_binary_mlp(bnn)
        shape = "-".join(str(n) for n in (784, *ModelSpec(arch=arch).dense_sizes(), 10))
        with torch.inference_mode():
            with use_backend("float"):
                reference = bnn(x)
            packed = fused(x)
        facts = {
            "arch": arch,
            "shape": shape,
            "exact_logits": bool(torch.equal(packed, reference)),
            "same_predictions": bool(torch.equal(packed.argmax(1), reference.argmax(1))),
        }
        del reference, packed

        def float_call(batch: torch.Tensor, net: torch.nn.Module = float_net) -> torch.Tensor:
            with use_backend("float"):
                return net(batch)

        conditions: list[tuple[str, Callable[[torch.Tensor], torch.Tensor]]] = [
            (FLOAT_NETWORK, float_call),
            (PACKED_BNN, fused),
        ]
        batches = {size: x[:size].contiguous() for size in batch_sizes}
        with torch.inference_mode():
            for _, call in conditions:  # warm-up: allocations, compiled code, caches
                for size in batch_sizes:
                    call(batches[size])
            times: dict[tuple[str, int], list[float]] = {}
            for block in range(repeats):
                shift = block % len(conditions)
                for size in batch_sizes:
                    for position, (name, call) in enumerate(conditions[shift:] + conditions[:shift]):
                        load = load_average()
                        seconds, calls = _median_block(functools.partial(call, batches[size]), min_run_time)
                        times.setdefault((name, size), []).append(seconds)
                        rows.append(
                            dict(
                                common,
                                **facts,
                                condition=name,
                                batch_size=size,
                                block=block,
                                position=position,
                                calls=calls,
                                median_ms=1e3 * seconds,
                                load_avg=load,
                            )
                        )
        for size in batch_sizes:
            ratios = sorted(f / p for f, p in zip(times[(FLOAT_NETWORK, size)], times[(PACKED_BNN, size)]))
            log(
                f"{arch} ({shape}) batch {size}: float / packed = {ratios[len(ratios) // 2]:.2f}x (median of "
                f"{repeats} blocks), exact logits {facts['exact_logits']}"
            )
    return [{column: row[column] for column in NETWORK_COLUMNS} for row in rows]


class Network:
    help = "time the float MLP against the fused packed BNN of the same shape on the CPU (interleaved blocks)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--out", type=Path, required=True, help="CSV to write (one row per timing block)")
        parser.add_argument(
            "--archs",
            nargs="+",
            default=["binarynet_mlp", "fashion_mlp_1024", "fashion_mlp_128"],
            help="MLP architectures (bnnrepro.nn.spec; default: binarynet_mlp fashion_mlp_1024 fashion_mlp_128)",
        )
        parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 10000], metavar="N")
        parser.add_argument("--repeats", type=int, default=5, help="timing blocks per condition (default: 5)")
        parser.add_argument("--min-run-time", type=float, default=0.3, metavar="S", help="seconds per block (0.3)")
        parser.add_argument("--seed", type=int, default=0, help="seed of the weights and inputs (default: 0)")
        parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")

    def run(self, args: argparse.Namespace) -> int:
        import pandas as pd
        import torch

        from bnnrepro.io import write_csv
        from bnnrepro.nn.spec import ARCHITECTURES

        if args.repeats < 2:
            raise ConfigError(f"--repeats must be >= 2 (the ratios need two blocks), not {args.repeats}")
        if not args.min_run_time > 0:
            raise ConfigError(f"--min-run-time must be positive seconds, not {args.min_run_time}")
        if min(args.batch_sizes) < 1:
            raise ConfigError("--batch-sizes take positive integers, e.g. --batch-sizes 1 10000")
        for arch in args.archs:
            if arch not in ARCHITECTURES or ARCHITECTURES[arch].conv:
                mlps = [name for name, a in ARCHITECTURES.items() if not a.conv]
                raise ConfigError(f"--archs {arch!r} is not an MLP architecture; choose from {mlps}")
        if args.threads is not None:
            if args.threads < 1:
                raise ConfigError(f"--threads must be >= 1, not {args.threads}")
            torch.set_num_threads(min(args.threads, os.cpu_count() or args.threads))
        rows = network_benchmark(
            list(dict.fromkeys(args.archs)),
            sorted(set(args.batch_sizes)),
            args.repeats,
            args.min_run_time,
            args.seed,
            log=lambda line: print(line, file=sys.stderr, flush=True),
        )
        write_csv(args.out, pd.DataFrame(rows))
        print(f"wrote {len(rows)} rows to {args.out}", file=sys.stderr)
        return 0


network = Network()
