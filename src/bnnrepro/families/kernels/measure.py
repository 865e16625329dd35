"""``bnnrepro kernels bench``: the kernel benchmark's compute job (what the workflow's
``kernels_bench`` rule runs; its code version is this module's import closure, so editing the
analysis does not rerun it).

Times the packed xnor-popcount product and torch.matmul in interleaved blocks
(:func:`bnnrepro.kernels.bench.benchmark`) and writes one row per shape, implementation and block.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from bnnrepro.errors import ConfigError


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
