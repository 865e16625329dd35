"""Every Triton kernel compiles, with every autotune config, for NVIDIA sm_80 and sm_90, without
register spills and within the shared memory of a block; the xnor GEMM counts bits with ``POPC``.
No GPU is needed.

Triton compiles for a GPU target on a CPU-only machine: it lowers a kernel to PTX and assembles it
with its bundled ``ptxas``; its bundled ``cuobjdump`` then reads the cubin's resource usage
(ptxas puts spilled registers on the stack, in local memory) and its SASS.

What is compiled is what the host wrappers launch: the worker calls ``xnor_gemm_triton``,
``int8_gemm_triton`` and ``pack_bits_triton`` on small CPU tensors with their launchers replaced
by recorders, and specialises the recorded arguments as the runtime does (an int equal to 1
becomes a constexpr, ints and pointers divisible by 16 get a divisibility hint, which enables
vector loads and stores). "odd" example calls have sizes that are not multiples of 16: the
general, register-hungry code path. The configs of a call are the autotune space after the
autotuner's own pruning for its arguments, with the kernel's heuristics (EVEN_K) applied.

The compiling happens in worker subprocesses because :mod:`bnnrepro.kernels.xnor_gemm` decides at
import whether its kernels are GPU kernels or run by the interpreter (``TRITON_INTERPRET``), and
other test files import it in interpreter mode in the same pytest process. This file is the
worker too: ``python tests/test_triton_compile.py list`` prints the cases (JSON);
``python tests/test_triton_compile.py compile [CASE_ID ...]`` compiles the named cases (all without
names) and prints one JSON result per line, registers included.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ARCHS = (80, 90)
#: Most dynamic shared memory one block may use, in bytes (A100, H100). A config above it compiles
#: but cannot launch: Triton raises OutOfResources.
MAX_SHARED = {80: 166912, 90: 232448}
#: The example calls whose SASS is searched for POPC (disassembling costs ~0.4 s a kernel; the
#: popcount does not depend on the epilogue or on alignment).
POPC_CHECKED_CALLS = {"odd"}
WORKER_TIMEOUT_S = 1200


# ----------------------------------------------------------------------------------------------
# Worker side (runs in a subprocess without TRITON_INTERPRET; imports torch and triton)


class _LaunchRecorder:
    """Stands in for a kernel launcher ``kernel[grid](*args, **kwargs)`` and records the call."""

    def __init__(self):
        self.calls = []

    def __getitem__(self, grid):
        return lambda *args, **kwargs: self.calls.append((args, kwargs))


def _recorded_launches() -> dict:
    """``{kernel: {call: (JITFunction, [(config, arguments by name)])}}`` of the wrappers' launches."""
    import torch
    import triton
    from triton.runtime.autotuner import Autotuner, Heuristics
    from triton.runtime.jit import JITFunction

    from bnnrepro.kernels import xnor_gemm as xg

    if xg.INTERPRET:
        raise RuntimeError(
            "bnnrepro.kernels.xnor_gemm was imported in interpreter mode (TRITON_INTERPRET "
            "is set); the compile worker must run without it"
        )

    def example_calls():
        generator = torch.Generator().manual_seed(0)

        def bits(rows, words):
            return torch.randint(-(2**31), 2**31 - 1, (rows, words), dtype=torch.int32, generator=generator)

        def pm1(rows, k, dtype):
            return (1 - 2 * torch.randint(0, 2, (rows, k), generator=generator)).to(dtype)

        def epilogue(n):
            return dict(scale=torch.rand(n, generator=generator), shift=torch.rand(n, generator=generator), sign=True)

        # (M, N, K) = (100, 10, 784): a 28 x 28 input to 10 classes. int8 K = 784 is divided by no
        # BLOCK_K (masked loads); K = 99 (e.g. 11 channels x 3 x 3 in a conv) is padded to 112 by
        # int8_gemm_triton, whose kernel spills with rows that are not multiples of 16 bytes.
        return {
            "xnor_gemm": {
                "odd": lambda: xg.xnor_gemm_triton(bits(100, 25), bits(10, 25), 784),
                "odd_epilogue": lambda: xg.xnor_gemm_triton(bits(100, 25), bits(10, 25), 784, **epilogue(10)),
                "aligned_epilogue": lambda: xg.xnor_gemm_triton(bits(128, 32), bits(256, 32), 1024, **epilogue(256)),
            },
            "int8_gemm": {
                "aligned": lambda: xg.int8_gemm_triton(pm1(128, 1024, torch.int8), pm1(256, 1024, torch.int8)),
                "masked_k": lambda: xg.int8_gemm_triton(pm1(100, 784, torch.int8), pm1(10, 784, torch.int8)),
                "odd_k": lambda: xg.int8_gemm_triton(pm1(100, 99, torch.int8), pm1(10, 99, torch.int8)),
            },
            "pack_bits": {
                "aligned": lambda: xg.pack_bits_triton(pm1(128, 1024, torch.float32)),
                "odd": lambda: xg.pack_bits_triton(pm1(100, 99, torch.float32)),
            },
        }

    launchers = {"xnor_gemm": "_xnor_gemm_autotuned", "int8_gemm": "_int8_gemm_autotuned", "pack_bits": "_pack_kernel"}
    launches: dict = {}
    for kernel_name, calls in example_calls().items():
        launcher = getattr(xg, launchers[kernel_name])
        recorder = _LaunchRecorder()
        launches[kernel_name] = {}
        setattr(xg, launchers[kernel_name], recorder)
        # The wrappers refuse CPU tensors when the kernels are compiled for the GPU.
        check_device, xg._check_device = xg._check_device, lambda *tensors: None
        try:
            for call_name, call in calls.items():
                call()
                assert len(recorder.calls) == 1, f"{kernel_name} {call_name}: expected one launch"
                args, kwargs = recorder.calls.pop()
                autotuner = launcher if isinstance(launcher, Autotuner) else None
                heuristics, fn = [], autotuner.fn if autotuner else launcher
                while not isinstance(fn, JITFunction):
                    if isinstance(fn, Heuristics):
                        heuristics.append(fn.values)
                    fn = fn.fn
                bound = dict(zip(fn.arg_names, args), **kwargs)
                if autotuner is None:
                    # pack_bits_triton is not autotuned: its launch carries its block sizes.
                    meta = {name: bound.pop(name) for name in list(bound) if name.startswith("BLOCK_")}
                    configs = [triton.Config(meta)]
                else:
                    prune = autotuner.early_config_prune
                    configs = list(prune(autotuner.configs, bound) if prune else autotuner.configs)
                configs_and_args = []
                for config in configs:
                    config_args = dict(bound)
                    for values in heuristics:
                        config_args.update({name: rule({**bound, **config.kwargs}) for name, rule in values.items()})
                    configs_and_args.append((config, config_args))
                launches[kernel_name][call_name] = (fn, configs_and_args)
        finally:
            setattr(xg, launchers[kernel_name], launcher)
            xg._check_device = check_device
    return launches


def _config_label(config) -> str:
    short = {"BLOCK_M": "BM", "BLOCK_N": "BN", "BLOCK_W": "BW", "BLOCK_K": "BK", "GROUP_M": "G"}
    parts = [f"{short.get(name, name)}{int(value)}" for name, value in config.kwargs.items()]
    parts += [f"w{config.num_warps}", f"s{config.num_stages}"]
    return "-".join(parts)


def _cases(launches) -> list[dict]:
    cases = []
    for kernel_name, calls in launches.items():
        for call_name, (_, configs_and_args) in calls.items():
            for index, (config, _) in enumerate(configs_and_args):
                for arch in ARCHS:
                    cases.append(
                        dict(
                            id=f"{kernel_name}-{call_name}-sm{arch}-{_config_label(config)}",
                            kernel=kernel_name,
                            call=call_name,
                            arch=arch,
                            config_index=index,
                            config=str(config),
                        )
                    )
    return cases


def _specialize(fn, args: dict, constexprs: dict):
    """Signature, constexprs and attributes of a launch, as ``JITFunction.run`` derives them."""
    from triton._C.libtriton import native_specialize_impl
    from triton.backends.nvidia.compiler import CUDABackend

    signature, constants, attrs = {}, {}, {}
    for index, name in enumerate(fn.arg_names):
        if fn.params[index].is_constexpr:
            signature[name] = "constexpr"
            constants[(index,)] = constexprs[name] if name in constexprs else args[name]
            continue
        kind, attr = native_specialize_impl(CUDABackend, args[name], False, True, True)
        signature[name] = kind
        if kind == "constexpr":
            constants[(index,)] = attr
        elif attr:
            attrs[(index,)] = CUDABackend.parse_attr(attr)
    return signature, constants, attrs


def _cuobjdump(cubin: bytes, option: str) -> str:
    import triton

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "kernel.cubin"
        path.write_bytes(cubin)
        done = subprocess.run(
            [triton.knobs.nvidia.cuobjdump.path, option, str(path)], capture_output=True, text=True, check=True
        )
    return done.stdout


def _compile_case(launches, case: dict) -> dict:
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    fn, configs_and_args = launches[case["kernel"]][case["call"]]
    config, args = configs_and_args[case["config_index"]]
    signature, constants, attrs = _specialize(fn, args, config.kwargs)
    options = {name: value for name, value in config.all_kwargs().items() if name not in config.kwargs}
    result = dict(case, flags={name: args[name] for name in ("USE_LIBDEVICE", "EVEN_K") if name in args})
    try:
        compiled = triton.compile(
            ASTSource(fn, signature, constants, attrs), target=GPUTarget("cuda", case["arch"], 32), options=options
        )
    except Exception as error:
        result["error"] = f"{type(error).__name__}: {error}"
        return result
    usage = re.search(
        r"REG:(\d+) STACK:(\d+) SHARED:(\d+) LOCAL:(\d+)", _cuobjdump(compiled.asm["cubin"], "--dump-resource-usage")
    )
    assert usage is not None
    regs, stack, static_shared, local = map(int, usage.groups())
    result.update(regs=regs, stack=stack, local=local, shared=compiled.metadata.shared + static_shared)
    if case["kernel"] == "xnor_gemm" and case["call"] in POPC_CHECKED_CALLS:
        result["popc"] = len(re.findall(r"\bPOPC\b", _cuobjdump(compiled.asm["cubin"], "--dump-sass")))
    return result


def _worker(argv: list[str]) -> None:
    launches = _recorded_launches()
    cases = _cases(launches)
    if argv[0] == "list":
        print(json.dumps(cases))
        return
    wanted = set(argv[1:])
    for case in [case for case in cases if case["id"] in wanted or not wanted]:
        print(json.dumps(_compile_case(launches, case)), flush=True)


# ----------------------------------------------------------------------------------------------
# pytest side (never imports triton or the kernels into this process)


def _run_worker(*argv: str, cache_dir: str | None = None) -> subprocess.Popen:
    env = {name: value for name, value in os.environ.items() if name != "TRITON_INTERPRET"}
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    if cache_dir is not None:
        env["TRITON_CACHE_DIR"] = cache_dir
    return subprocess.Popen(
        [sys.executable, __file__, *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _list_cases() -> list[dict]:
    worker = _run_worker("list")
    stdout, stderr = worker.communicate(timeout=WORKER_TIMEOUT_S)
    if worker.returncode:
        raise RuntimeError(f"listing the Triton kernel launches failed:\n{stderr[-4000:]}")
    return json.loads(stdout)


CASES = _list_cases() if __name__ != "__main__" else []


@pytest.fixture(scope="session")
def compile_results(request, tmp_path_factory) -> dict[str, dict]:
    """The selected cases compiled once per session, shared among one worker per available core."""
    this_test = test_kernel_config_compiles_without_spills.__name__
    wanted = [
        item.callspec.params["case"]["id"]
        for item in request.session.items
        if item.path.resolve() == Path(__file__).resolve() and getattr(item, "originalname", "") == this_test
    ]
    if not wanted:
        return {}
    # A fresh Triton cache: every run really compiles, and nothing is left in ~/.triton.
    cache_dir = str(tmp_path_factory.mktemp("triton-cache"))
    shards = max(1, min(len(os.sched_getaffinity(0)), 8, len(wanted)))
    workers = [_run_worker("compile", *wanted[shard::shards], cache_dir=cache_dir) for shard in range(shards)]
    results, crashes = {}, []
    for worker in workers:
        stdout, stderr = worker.communicate(timeout=WORKER_TIMEOUT_S)
        if worker.returncode:
            crashes.append(stderr[-4000:])
        for line in stdout.splitlines():
            result = json.loads(line)
            results[result["id"]] = result
    if crashes:
        pytest.fail("a Triton compile worker crashed:\n" + "\n".join(crashes), pytrace=False)
    return results


def test_cases_cover_every_kernel_and_the_gpu_autotune_spaces():
    kernels = {case["kernel"] for case in CASES}
    assert kernels == {"xnor_gemm", "int8_gemm", "pack_bits"}
    # The GPU autotune spaces, not the single config the interpreter gets.
    for kernel in ("xnor_gemm", "int8_gemm"):
        assert len({case["config"] for case in CASES if case["kernel"] == kernel}) > 1, kernel


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_kernel_config_compiles_without_spills(case, compile_results):
    result = compile_results[case["id"]]
    what = f"{case['kernel']} kernel ({case['call']} launch) for sm_{case['arch']} with config {case['config']}"
    if "error" in result:
        pytest.fail(f"{what} does not compile: {result['error'][:3000]}", pytrace=False)
    problems = []
    if result["local"] or result["stack"]:
        problems.append(
            f"spills registers ({result['regs']} registers, {result['stack']} bytes of stack and "
            f"{result['local']} of local memory per thread): use smaller blocks or fewer words per step"
        )
    if result["shared"] > MAX_SHARED[case["arch"]]:
        problems.append(
            f"needs {result['shared']} bytes of shared memory, more than sm_{case['arch']} gives a "
            f"block ({MAX_SHARED[case['arch']]}): use fewer stages or smaller blocks"
        )
    if case["kernel"] == "xnor_gemm" and result["flags"]["USE_LIBDEVICE"] is not True:
        problems.append("was launched with USE_LIBDEVICE off (the interpreter's shift-and-mask popcount)")
    if result.get("popc") == 0:
        problems.append("has no POPC instruction in its SASS")
    if problems:
        pytest.fail(f"{what} " + "; ".join(problems), pytrace=False)


if __name__ == "__main__":
    _worker(sys.argv[1:])
