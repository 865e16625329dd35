"""Kernel benchmark: xnor-popcount products vs torch.matmul, written as a tidy CSV.

``bnnrepro bench kernel`` (wired by the CLI through :func:`add_arguments` and :func:`run`)
times ``out = A @ B.T`` with ``A [M, K]`` +-1 activations and ``B [N, K]`` +-1 weights, for
batch ``M`` in {1, 8, 64, 512, 4096} and ``K = N`` in {1024, 4096, 8192} (``--quick``: M in
{1, 64}, K = N = 1024), and writes one row per measurement:

==================  ==========================================================================
column              meaning
==================  ==========================================================================
device_type, device ``cpu``/``cuda`` and the processor or GPU name
impl                ``torch.matmul``, ``torch_xnor`` (packed, plain torch), ``triton_xnor``
                    (popcount kernel), ``triton_int8`` (int8 +-1 ``tl.dot``)
dtype               operand type: ``fp32``, ``fp16``, ``bf16``, ``int8``, ``bit`` (packed)
act_prep            ``outside``: activations given packed/int8 (weights always pre-packed);
                    ``inside``: the packing / int8 conversion of the activations is timed too;
                    ``none`` for matmul rows
M, K, N             product shape
median_ms, p20_ms,  time per product (median and 20th/80th percentiles of the timed samples)
p80_ms, samples
gops                ``2 * M * N * K / time`` in 1e9 ops/s (a binary multiply-add counts as 2 ops)
speedup_vs_fp32     fp32 ``torch.matmul`` time / this time on the same device (> 1: faster)
exact               result equals the integer product exactly (fp16/bf16 round large sums)
auto_choice         the implementation the ``"auto"`` backend uses for this shape and device
config              the autotuned Triton config (Triton rows)
load_avg            1-minute load average just before the measurement (contention check)
timer, threads, torch_version, triton_version
==================  ==========================================================================

Timing uses each framework's own tool: ``torch.utils.benchmark.Timer.adaptive_autorange`` on CPU
(after a warm-up call; blocks of calls until the spread is small, median over blocks) and ``triton.testing.do_bench`` on
GPU (warm-up, L2 flush, median over runs). On CPU the Triton rows are skipped: the interpreter
is not a performance path. Neither fp16/bf16 rows run on CPU.

GPU numbers were not measured where this module was written (no GPU); on a GPU the same command
fills in the Triton and half-precision rows, and :data:`bnnrepro.kernels.dispatch.XNOR_MAX_BATCH`
(the popcount vs int8 switch) should be set from them.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import torch

from bnnrepro.errors import ConfigError

FULL_BATCHES = (1, 8, 64, 512, 4096)
FULL_SIZES = (1024, 4096, 8192)
QUICK_BATCHES = (1, 64)
QUICK_SIZES = (1024,)
DEFAULT_OUT = Path("results/kernels/kernel_bench.csv")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``bnnrepro bench kernel`` to ``parser``."""
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"CSV file to write (default: {DEFAULT_OUT})")
    parser.add_argument("--quick", action="store_true",
                        help="a small subset of shapes and short timing, for tests and smoke runs")
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA if available, else CPU), cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="CPU: time at least this many calls' worth per measurement (capped by --max-time); "
                             "GPU: do_bench repetition time = max(100, 20 * repeats) ms. Default 5, or 3 with --quick")
    parser.add_argument("--max-time", type=float, default=20.0,
                        help="CPU: at most this many seconds of timed calls per measurement (default: 20)")
    parser.add_argument("--batch", type=int, nargs="+", default=None, metavar="M",
                        help="batch sizes M (default: 1 8 64 512 4096; --quick: 1 64)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, metavar="K",
                        help="K = N sizes (default: 1024 4096 8192; --quick: 1024)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random +-1 operands")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's own choice, usually every core)")


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"--device must be auto, cpu, cuda or cuda:N, not {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but CUDA is not available; use --device cpu")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"--device must be a CPU or CUDA device, not {name!r}")
    return device


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


class _CpuTimer:
    name = "torch.utils.benchmark.Timer.adaptive_autorange"

    def __init__(self, repeats: int, max_time: float, min_time: float):
        self.repeats, self.max_time, self.min_time = repeats, max_time, min_time

    def __call__(self, fn):
        import time

        from torch.utils.benchmark import Timer

        start = time.perf_counter()
        result = fn()                       # warm-up; its output is checked for exactness
        first = time.perf_counter() - start
        timer = Timer(stmt="fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
        # Blocks of calls until the spread is small (IQR < 10% of the median, >= 4 blocks) and at
        # least `repeats` calls' worth of time was timed; never more than max_time (so a product
        # that takes longer than max_time is timed once after its warm-up).
        floor = min(self.max_time, max(self.min_time, self.repeats * first))
        m = timer.adaptive_autorange(threshold=0.1, min_run_time=floor, max_run_time=self.max_time)
        times = [t * 1e3 for t in m.times]
        return result, dict(median_ms=m.median * 1e3, p20_ms=_quantile(times, 0.2),
                             p80_ms=_quantile(times, 0.8), samples=len(times))


class _GpuTimer:
    name = "triton.testing.do_bench"

    def __init__(self, repeats: int):
        self.rep_ms = max(100, 20 * repeats)

    def __call__(self, fn):
        import triton.testing

        result = fn()
        torch.cuda.synchronize()
        median, p20, p80 = triton.testing.do_bench(fn, warmup=25, rep=self.rep_ms, quantiles=[0.5, 0.2, 0.8])
        return result, dict(median_ms=median, p20_ms=p20, p80_ms=p80, samples=None)


def _load_average() -> float | None:
    # Other processes on the machine distort CPU timings (a busy core stalls a 2-thread matmul
    # at every barrier); the 1-minute load before each measurement is recorded with it.
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _pm1(rows: int, cols: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    bits = torch.randint(0, 2, (rows, cols), generator=generator, dtype=torch.int8)
    return (1 - 2 * bits).to(device=device, dtype=torch.float32)


def _cases(device: torch.device, a: torch.Tensor, w: torch.Tensor):
    """(impl, dtype, act_prep, fn, config_getter) for one shape on ``device``."""
    from bnnrepro.kernels.packing import pack_bits
    from bnnrepro.kernels.reference import xnor_gemm_torch

    k = a.shape[1]
    wt = w.t()
    cases = [("torch.matmul", "fp32", "none", lambda: torch.matmul(a, wt), None)]
    w_bits = pack_bits(w)
    if device.type == "cpu":
        a_bits = pack_bits(a)
        cases += [("torch_xnor", "bit", "outside", lambda: xnor_gemm_torch(a_bits, w_bits, k), None),
                  ("torch_xnor", "bit", "inside", lambda: xnor_gemm_torch(pack_bits(a), w_bits, k), None)]
        return cases
    from bnnrepro.kernels import xnor_gemm as tk

    for name, dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
        ah, wth = a.to(dtype), wt.to(dtype)
        cases.append(("torch.matmul", name, "none", lambda ah=ah, wth=wth: torch.matmul(ah, wth), None))
    a_bits = tk.pack_bits_triton(a)
    a8, w8 = a.to(torch.int8), w.to(torch.int8)

    def xnor_config():
        return str(tk._xnor_gemm_autotuned.best_config)

    def int8_config():
        return str(tk._int8_gemm_autotuned.best_config)

    cases += [("triton_xnor", "bit", "outside", lambda: tk.xnor_gemm_triton(a_bits, w_bits, k), xnor_config),
              ("triton_xnor", "bit", "inside", lambda: tk.xnor_gemm_triton(tk.pack_bits_triton(a), w_bits, k),
               xnor_config),
              ("triton_int8", "int8", "outside", lambda: tk.int8_gemm_triton(a8, w8), int8_config),
              ("triton_int8", "int8", "inside", lambda: tk.int8_gemm_triton(a.to(torch.int8), w8), int8_config)]
    return cases


def _auto_choice(device: torch.device, impl: str, dtype: str, act_prep: str, m: int, n: int, k: int) -> bool:
    from bnnrepro.kernels.dispatch import choose_triton_impl, resolve_backend

    backend = resolve_backend(device, "auto", shape=(m, n, k))
    if backend == "float":
        return impl == "torch.matmul" and dtype == "fp32"
    if backend == "torch":
        return impl == "torch_xnor" and act_prep == "inside"
    return impl == f"triton_{choose_triton_impl(m, n, k)}" and act_prep == "inside"


def benchmark(device: torch.device, batches, sizes, *, repeats: int, max_time: float, quick: bool,
              seed: int = 0, log=None) -> list[dict]:
    """Run the benchmark and return its rows (see the module docstring)."""
    timer = _GpuTimer(repeats) if device.type == "cuda" else _CpuTimer(repeats, max_time, 0.05 if quick else 0.5)
    try:
        import triton
        triton_version = triton.__version__
    except ImportError:
        triton_version = ""
    common = dict(device_type=device.type, device=_device_name(device), timer=timer.name,
                  threads=torch.get_num_threads(), torch_version=torch.__version__, triton_version=triton_version)
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for size in sizes:
        w = _pm1(size, size, generator, device)
        for m in batches:
            a = _pm1(m, size, generator, device)
            expected = None
            fp32_ms = None
            shape_rows = []
            for impl, dtype, act_prep, fn, config in _cases(device, a, w):
                load = _load_average()
                with torch.inference_mode():
                    out, timing = timer(fn)
                if expected is None:            # the fp32 matmul comes first and is exact on +-1
                    expected = out.to(torch.int32)
                    fp32_ms = timing["median_ms"]
                exact = bool(torch.equal(out.to(torch.float64), expected.to(torch.float64)))
                ms = timing["median_ms"]
                row = dict(common, impl=impl, dtype=dtype, act_prep=act_prep, M=m, K=size, N=size, **timing,
                           gops=2.0 * m * size * size / (ms * 1e-3) / 1e9, speedup_vs_fp32=fp32_ms / ms,
                           exact=exact, auto_choice=_auto_choice(device, impl, dtype, act_prep, m, size, size),
                           config=config() if config else "", load_avg=load)
                shape_rows.append(row)
                if log:
                    log(f"{impl:>13} {dtype:>4} {act_prep:>7}  M={m:<5} K=N={size:<5} {ms:10.3f} ms  "
                        f"{row['gops']:9.1f} Gop/s  x{row['speedup_vs_fp32']:.2f} vs fp32  exact={exact}")
            rows += shape_rows
            del a
    return rows


def run(args: argparse.Namespace) -> int:
    """Run ``bnnrepro bench kernel`` with the options of :func:`add_arguments`; returns the exit status."""
    import pandas as pd

    from bnnrepro.io import write_csv

    device = _device(args.device)
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 5)
    if repeats < 1:
        raise ConfigError(f"--repeats must be >= 1, not {repeats}")
    if args.max_time <= 0:
        raise ConfigError(f"--max-time must be positive, not {args.max_time}")
    batches = tuple(args.batch) if args.batch else (QUICK_BATCHES if args.quick else FULL_BATCHES)
    sizes = tuple(args.sizes) if args.sizes else (QUICK_SIZES if args.quick else FULL_SIZES)
    if min(batches) < 1 or min(sizes) < 1:
        raise ConfigError("--batch and --sizes take positive integers")
    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads must be >= 1, not {args.threads}")
        torch.set_num_threads(min(args.threads, os.cpu_count() or args.threads))
    if device.type == "cpu":
        print("kernel bench on CPU: Triton rows skipped (the interpreter is not a performance path)",
              file=sys.stderr)
    rows = benchmark(device, batches, sizes, repeats=repeats, max_time=args.max_time, quick=args.quick,
                     seed=args.seed, log=lambda line: print(line, file=sys.stderr, flush=True))
    write_csv(args.out, pd.DataFrame(rows))
    print(f"wrote {len(rows)} rows to {args.out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m bnnrepro.kernels.bench`` (the same options as ``bnnrepro bench kernel``)."""
    parser = argparse.ArgumentParser(prog="python -m bnnrepro.kernels.bench", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
