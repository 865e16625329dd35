"""Kernel benchmark: the packed xnor-popcount product vs torch.matmul, timed in interleaved blocks.

A measurement library (the command that runs it is ``bnnrepro kernels bench``, a verb of the
kernel experiment family). It times ``out = A @ B.T`` with ``A [M, K]`` +-1
activations and ``B [N, K]`` +-1 weights (``K = N``), for every implementation that runs on the
device (:func:`cases`):

==============  ======  ========  ============================================================
impl            dtype   act_prep  what is timed
==============  ======  ========  ============================================================
torch.matmul    fp32    none      ``torch.matmul(A, B.T)`` (the baseline; cuBLAS / MKL-oneDNN)
torch.matmul    fp16,   none      the same in half precision (GPU only)
                bf16
numba_xnor      bit     outside   the numba CPU kernel (:mod:`~bnnrepro.kernels.cpu`), activations
                                  given packed (64-bit words)
numba_xnor      bit     inside    the same, packing the float activations inside the timing (what the
                                  ``"numba"`` backend and the fused layers run)
numba_naive     bit     inside    the plain loop a new user would write in numba (one thread, no
                                  blocking), packing inside: the yardstick of the blocking
torch_xnor      bit     inside    packed product in plain torch (CPU; products of at most
                                  :data:`TORCH_XNOR_MAX_OPS` binary ops: it runs at tens of G op/s and
                                  would dominate the benchmark's time)
triton_xnor     bit     out/in    the Triton popcount kernel (GPU)
triton_int8     int8    out/in    the Triton int8 ``tl.dot`` kernel on +-1 values (GPU)
==============  ======  ========  ============================================================

The weights are always pre-packed (a layer packs them once); ``inside`` rows time the packing
(or int8 conversion) of the activations too, as BinaryNet's kernel numbers do.

Interleaved blocks
    Machine drift (other processes, clock changes) must hit every implementation of a shape
    alike, so that their ratios stay fair: for one shape every implementation is first called
    once (warm-up, Triton autotuning, and the exactness check against the fp32 product), then
    timed in ``repeats`` blocks; in block b each implementation is timed once, in an order rotated
    by b (so that no implementation always runs right after the same neighbour). A block of one
    implementation takes about ``max_time / repeats`` seconds (at least one call). The blocks are
    the repeats of the speedup intervals (:func:`bnnrepro.stats.ratio_interval`, paired by block).

Timers (each framework's own tool)
    CPU: ``timeit.Timer(fn).timeit(calls)`` (perf_counter, garbage collection off), the block's
    time = total / calls (calls sized from a calibration after the warm-up). GPU: ``triton.testing.do_bench`` with a
    ``max_time / repeats`` repetition budget per block (the L2 cache is flushed before every
    call, so weights are read from memory as in a network), the block's time = the median over
    its calls. On CPU the Triton rows are skipped: the interpreter is no performance path.

:func:`benchmark` returns one row per (shape, implementation, block):

==================  ==========================================================================
column              meaning
==================  ==========================================================================
device_type, device ``cpu``/``cuda`` and the processor or GPU name
impl, dtype,        the implementation (table above)
act_prep
M, K, N             product shape
block, position     the block (0..repeats-1) and the implementation's place in it
calls, ms           calls timed in the block and the time per product (ms)
exact               the warm-up output equals the fp32 product element for element (exact on
                    +-1 values: integer sums below 2**24); fp16/bf16 round sums above 2048 / 256
auto_choice         the implementation the ``"auto"`` backend uses for this shape and device
config              the autotuned Triton config (Triton rows)
load_avg            1-minute load average before the block (contention check)
timer, threads, torch_version, triton_version
cpu_path,           the CPU kernel's popcount path and the CPU features LLVM compiled for
cpu_features        (:func:`bnnrepro.kernels.cpu.cpu_path`; CPU rows only)
==================  ==========================================================================
"""

from __future__ import annotations

import functools
import math
import os
import platform
import time
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from bnnrepro.errors import ConfigError

#: Fields of every row, in order.
COLUMNS = (
    "device_type",
    "device",
    "impl",
    "dtype",
    "act_prep",
    "M",
    "K",
    "N",
    "block",
    "position",
    "calls",
    "ms",
    "exact",
    "auto_choice",
    "config",
    "load_avg",
    "timer",
    "threads",
    "torch_version",
    "triton_version",
    "cpu_path",
    "cpu_features",
)
#: The plain-torch packed product is timed up to this many binary ops (2 M N K; 64 x 4096 x 4096):
#: above, one call takes seconds.
TORCH_XNOR_MAX_OPS = 2 * 64 * 4096 * 4096
#: The shortest calibration of the CPU timer: enough calls to time this many seconds.
CALIBRATION_SECONDS = 0.01


@dataclass(frozen=True)
class Case:
    """One implementation of a product: ``fn()`` computes it; ``config()`` names its Triton config."""

    impl: str
    dtype: str
    act_prep: str
    fn: Callable[[], torch.Tensor | np.ndarray]  # the numba rows return numpy arrays
    config: Callable[[], str] | None = None


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA if available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, not {name!r}") from None
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"device must be a CPU or CUDA device, not {name!r}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda was asked for but CUDA is not available; use device cpu (or auto)")
    return device


def device_name(device: torch.device) -> str:
    """The GPU's name, or the processor's model name (from /proc/cpuinfo where there is one)."""
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


def load_average() -> float | None:
    """The 1-minute load average: other processes distort CPU timings (a busy core stalls a
    multi-threaded matmul at every barrier), so it is recorded beside every block."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


class CpuTimer:
    """Blocks of ``calls`` back-to-back calls with :class:`timeit.Timer` (perf_counter, garbage
    collection off); the block's time per call is the total over ``calls``. (Not
    ``torch.utils.benchmark.Timer.timeit``: it adds at least two untimed warm-up calls to every
    block, which would triple the cost of a product slower than a block.)"""

    name = "timeit.Timer"

    def __init__(self, block_seconds: float):
        self.block_seconds = block_seconds

    def calls(self, fn: Callable[[], object], warmup_seconds: float) -> int:
        """Calls per block: about ``block_seconds`` of calls, at least one (after the warm-up call,
        which took ``warmup_seconds``: a product slower than a block needs no calibration).

        The time per call is the fastest of at least three timings (a call stalled by another
        process must not shrink every block to one call), growing the number of calls until
        CALIBRATION_SECONDS were timed; calibration stops after one block's worth of time."""
        if warmup_seconds >= self.block_seconds:
            return 1
        timer, calls, tries, spent, per_call = timeit.Timer(fn), 1, 0, 0.0, math.inf
        while (tries < 3 or spent < CALIBRATION_SECONDS) and spent < self.block_seconds:
            seconds = timer.timeit(calls)
            per_call, spent, tries = min(per_call, seconds / calls), spent + seconds, tries + 1
            if seconds < CALIBRATION_SECONDS:
                calls *= 2
        return max(1, round(self.block_seconds / per_call))

    def block(self, fn: Callable[[], object], calls: int) -> tuple[float, int]:
        """(ms per call, calls) of one block."""
        return timeit.Timer(fn).timeit(calls) / calls * 1e3, calls


class GpuTimer:
    """Blocks of ``triton.testing.do_bench`` (L2 flushed before every call): the median call."""

    name = "triton.testing.do_bench"

    def __init__(self, block_seconds: float):
        self.rep_ms = max(1.0, 1e3 * block_seconds)

    def calls(self, fn: Callable[[], object], warmup_seconds: float) -> int:
        return 0  # do_bench sizes the block itself

    def block(self, fn: Callable[[], object], calls: int) -> tuple[float, int]:
        import statistics

        import triton.testing

        times = triton.testing.do_bench(fn, warmup=1, rep=self.rep_ms, return_mode="all")
        return statistics.median(times), len(times)


def _pm1(rows: int, cols: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    bits = torch.randint(0, 2, (rows, cols), generator=generator, dtype=torch.int8)
    return (1 - 2 * bits).to(device=device, dtype=torch.float32)


def cases(device: torch.device, a: torch.Tensor, w: torch.Tensor) -> list[Case]:
    """The implementations of ``a @ w.T`` on ``device``; the fp32 matmul comes first (the reference
    of the exactness check)."""
    from bnnrepro.kernels.packing import pack_bits
    from bnnrepro.kernels.reference import xnor_gemm_torch

    k = a.shape[1]
    wt = w.t()
    out = [Case("torch.matmul", "fp32", "none", lambda: torch.matmul(a, wt))]
    w_bits = pack_bits(w)
    if device.type == "cpu":
        from bnnrepro.kernels import cpu

        w64 = cpu.CpuPackedWeight(w)
        a64 = cpu.pack_rows(a)
        out += [
            Case("numba_xnor", "bit", "outside", lambda: cpu.products64(a64, w64.bits, k)),
            Case("numba_xnor", "bit", "inside", lambda: cpu.linear_products(a, w64)),
            Case("numba_naive", "bit", "inside", lambda: cpu.naive_products64(cpu.pack_rows(a), w64.bits, k)),
        ]
        if 2 * a.shape[0] * w.shape[0] * k <= TORCH_XNOR_MAX_OPS:
            out.append(Case("torch_xnor", "bit", "inside", lambda: xnor_gemm_torch(pack_bits(a), w_bits, k)))
        return out
    from bnnrepro.kernels import xnor_gemm as tk

    for name, dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
        ah, wth = a.to(dtype), wt.to(dtype)
        out.append(Case("torch.matmul", name, "none", functools.partial(torch.matmul, ah, wth)))
    a_bits = tk.pack_bits_triton(a)
    a8, w8 = a.to(torch.int8), w.to(torch.int8)

    def xnor_config() -> str:
        return str(tk._xnor_gemm_autotuned.best_config)

    def int8_config() -> str:
        return str(tk._int8_gemm_autotuned.best_config)

    return out + [
        Case("triton_xnor", "bit", "outside", lambda: tk.xnor_gemm_triton(a_bits, w_bits, k), xnor_config),
        Case(
            "triton_xnor", "bit", "inside", lambda: tk.xnor_gemm_triton(tk.pack_bits_triton(a), w_bits, k), xnor_config
        ),
        Case("triton_int8", "int8", "outside", lambda: tk.int8_gemm_triton(a8, w8), int8_config),
        Case("triton_int8", "int8", "inside", lambda: tk.int8_gemm_triton(a.to(torch.int8), w8), int8_config),
    ]


def auto_choice(device: torch.device, case: Case, m: int, n: int, k: int) -> bool:
    """Whether the ``"auto"`` backend of the binary layers runs ``case`` for this shape."""
    from bnnrepro.kernels.dispatch import choose_triton_impl, resolve_backend

    backend = resolve_backend(device, "auto", shape=(m, n, k))
    if backend == "float":
        return case.impl == "torch.matmul" and case.dtype == "fp32"
    if backend in ("torch", "numba"):
        return case.impl == f"{backend}_xnor" and case.act_prep == "inside"
    return case.impl == f"triton_{choose_triton_impl(m, n, k)}" and case.act_prep == "inside"


def rotated(items: list, by: int) -> list:
    """``items`` rotated left by ``by`` places (the order of block ``by``)."""
    shift = by % len(items)
    return items[shift:] + items[:shift]


def _check_fits(device: torch.device, batches: Sequence[int], sizes: Sequence[int]) -> None:
    """Refuse shapes whose operands cannot fit in memory before allocating any (a K = N of 10^6 asks
    for terabytes): per shape about 4 fp32 copies of the K x N weights and 6 of the M x K operands."""
    if min(batches, default=1) < 1 or min(sizes, default=1) < 1:
        raise ConfigError(f"--batch and --sizes must be >= 1 (got {list(batches)} and {list(sizes)})")
    if device.type == "cuda":
        available = torch.cuda.mem_get_info(device)[0]
    else:
        import psutil

        available = psutil.virtual_memory().available
    for size in sizes:
        need = 4 * (4 * size * size + 6 * max(batches, default=1) * size)
        if need > 0.8 * available:
            raise ConfigError(
                f"--sizes {size} needs about {need / 2**30:,.1f} GiB for its operands, more than the "
                f"{available / 2**30:,.1f} GiB free on {device.type}; choose smaller --sizes / --batch"
            )


def benchmark(
    device: torch.device,
    batches: Sequence[int],
    sizes: Sequence[int],
    *,
    repeats: int,
    max_time: float,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> list[dict]:
    """Time every implementation of every shape (M in ``batches``, K = N in ``sizes``) in
    ``repeats`` interleaved blocks of about ``max_time / repeats`` seconds each; one row per
    (shape, implementation, block) with the columns of :data:`COLUMNS`."""
    if repeats < 1 or max_time <= 0:
        raise ConfigError(f"repeats must be >= 1 and max_time > 0 (got {repeats} and {max_time})")
    _check_fits(device, batches, sizes)
    log = log or (lambda line: None)
    block_seconds = max_time / repeats
    timer = GpuTimer(block_seconds) if device.type == "cuda" else CpuTimer(block_seconds)
    try:
        import triton

        triton_version = triton.__version__
    except ImportError:
        triton_version = ""
    common = dict(
        device_type=device.type,
        device=device_name(device),
        timer=timer.name,
        threads=torch.get_num_threads(),
        torch_version=torch.__version__,
        triton_version=triton_version,
        cpu_path="",
        cpu_features="",
    )
    if device.type == "cpu":
        from bnnrepro.kernels.cpu import cpu_features, cpu_name, cpu_path

        common.update(cpu_path=cpu_path(), cpu_features=f"{cpu_name()}: {' '.join(cpu_features())}")
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for size in sizes:
        w = _pm1(size, size, generator, device)
        for m in batches:
            a = _pm1(m, size, generator, device)
            shape_cases = cases(device, a, w)
            facts, block_calls, expected = [], [], None
            with torch.inference_mode():
                for case in shape_cases:  # warm-up (and Triton autotuning), exactness, block size
                    start = time.perf_counter()
                    out = case.fn()
                    warmup_seconds = time.perf_counter() - start
                    out = torch.as_tensor(out)  # the numba rows return numpy arrays
                    if expected is None:  # the fp32 matmul: exact on +-1 values (sums < 2**24)
                        expected = out.to(torch.float64)
                    facts.append(
                        dict(
                            exact=bool(torch.equal(out.to(torch.float64), expected)),
                            auto_choice=auto_choice(device, case, m, size, size),
                            config=case.config() if case.config else "",
                        )
                    )
                    block_calls.append(timer.calls(case.fn, warmup_seconds))
                    del out
                times: list[list[float]] = [[] for _ in shape_cases]
                for block in range(repeats):
                    for position, i in enumerate(rotated(list(range(len(shape_cases))), block)):
                        case, load = shape_cases[i], load_average()
                        ms, calls = timer.block(case.fn, block_calls[i])
                        times[i].append(ms)
                        rows.append(
                            dict(
                                common,
                                impl=case.impl,
                                dtype=case.dtype,
                                act_prep=case.act_prep,
                                M=m,
                                K=size,
                                N=size,
                                block=block,
                                position=position,
                                calls=calls,
                                ms=ms,
                                **facts[i],
                                load_avg=load,
                            )
                        )
            for case, fact, case_times in zip(shape_cases, facts, times):
                log(
                    f"{case.impl:>13} {case.dtype:>4} {case.act_prep:>7}  M={m:<5} K=N={size:<5} "
                    f"{sorted(case_times)[len(case_times) // 2]:10.4g} ms (median of {repeats} blocks)  "
                    f"exact={fact['exact']}"
                )
            del a, expected
    return [{column: row[column] for column in COLUMNS} for row in rows]
