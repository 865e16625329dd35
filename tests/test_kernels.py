"""Bit packing, the packed xnor-popcount products (torch, Triton, int8), backend dispatch, the binary
layers' eval-mode integration and the kernel benchmark.

Without CUDA the Triton kernels run in the Triton interpreter, so TRITON_INTERPRET is set before
anything can import them (bnnrepro.kernels imports Triton only on the first use of the triton
backend). Shapes on the Triton paths are small: the interpreter runs each program in numpy.
"""

import os
from types import ModuleType

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import pandas as pd
import pytest
import torch.nn.functional as F

import bnnrepro.kernels as K
from bnnrepro.errors import ConfigError
from bnnrepro.kernels import bench, dispatch, packing
from bnnrepro.kernels import cpu as kernels_cpu
from bnnrepro.nn import ModelSpec, build_model, clear_packed_cache
from bnnrepro.nn.layers import BinaryLinear
from bnnrepro.nn.quantizers import SignActivation, SignWeight

TRITON_DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pm1(*shape, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    return (1 - 2 * torch.randint(0, 2, shape, generator=g)).to(device=device, dtype=torch.float32)


def triton_kernels() -> ModuleType:
    """The Triton kernels (Triton is a dependency; without CUDA they run in its interpreter)."""
    tk = dispatch.triton_module()
    assert tk is not None, "Triton cannot be imported"
    return tk


def int_product(a, b):
    return (a.double() @ b.double().T).to(torch.int32)


@pytest.fixture(autouse=True)
def _default_backend():
    dispatch.set_backend(None)
    yield
    dispatch.set_backend(None)


# ---------------------------------------------------------------------------------------------
# packing


@pytest.mark.parametrize(("k", "words"), [(0, 0), (1, 1), (31, 1), (32, 1), (33, 2), (64, 2), (1000, 32)])
def test_packed_words(k, words):
    assert K.packed_words(k) == words


@pytest.mark.parametrize("k", [1, 5, 31, 32, 33, 64, 100, 1000])
@pytest.mark.parametrize("lead", [(), (3,), (2, 3)])
def test_pack_unpack_round_trip_and_zero_padding(k, lead):
    x = pm1(*lead, k, seed=k)
    packed = K.pack_bits(x)
    assert packed.dtype == torch.int32 and packed.shape == (*lead, K.packed_words(k))
    assert torch.equal(K.unpack_bits(packed, k), x)
    if k % 32:
        # bits above the last value are 0 (so xor with another operand's padding is 0)
        assert torch.equal(packed[..., -1] >> (k % 32), torch.zeros_like(packed[..., -1]))


def test_pack_bit_layout():
    x = torch.ones(2, 40)
    x[0, 1] = -1  # word 0, bit 1
    x[1, 31] = -1  # word 0, bit 31: the int32 sign bit
    x[1, 32] = -1  # word 1, bit 0
    packed = K.pack_bits(x)
    assert packed.tolist() == [[2, 0], [-(2**31), 1]]


def test_pack_by_sign_and_bool_and_big_endian_fallback(monkeypatch):
    x = torch.tensor([[0.0, -0.5, 3.0, -2.0, 1e-9] * 9])
    expected = K.pack_bits(torch.where(x < 0, -1.0, 1.0))
    assert torch.equal(K.pack_bits(x), expected)  # 0 packs as +1 (sign(0) = +1)
    assert torch.equal(K.pack_bits(x < 0), expected)
    monkeypatch.setattr(packing, "_LITTLE_ENDIAN", False)
    assert torch.equal(K.pack_bits(x), expected)


def test_pack_non_contiguous():
    x = pm1(70, 5, seed=1)
    assert torch.equal(K.pack_bits(x.t()), K.pack_bits(x.t().contiguous()))
    assert torch.equal(K.pack_bits(x[::2, 1:]), K.pack_bits(x[::2, 1:].contiguous()))


def test_pack_strict_rejects_non_pm1():
    x = pm1(3, 10)
    x[1, 4] = 0.5
    with pytest.raises(ValueError, match=r"only \+1 and -1.*\[1, 4\].*0.5.*strict=False"):
        K.pack_bits(x, strict=True)
    K.pack_bits(x)  # by sign: fine


def test_unpack_errors():
    with pytest.raises(TypeError, match="int32"):
        K.unpack_bits(torch.zeros(2, 1, dtype=torch.int64), 10)
    with pytest.raises(ValueError, match="ceil"):
        K.unpack_bits(torch.zeros(2, 1, dtype=torch.int32), 40)


def test_popcount32():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(-(2**31), 2**31 - 1, (1000,), generator=g, dtype=torch.int64)
    x = torch.cat([x, torch.tensor([0, -1, -(2**31), 2**31 - 1])]).to(torch.int32)
    expected = [bin(v & 0xFFFFFFFF).count("1") for v in x.tolist()]
    assert K.popcount32(x).tolist() == expected


# ---------------------------------------------------------------------------------------------
# products

GEMM_SHAPES = [(1, 1, 1), (1, 5, 3), (7, 31, 4), (3, 32, 5), (4, 33, 6), (1, 100, 9), (2, 1000, 3), (20, 300, 19)]


@pytest.mark.parametrize(("m", "k", "n"), GEMM_SHAPES)
def test_torch_gemm_exact(m, k, n):
    a, b = pm1(m, k, seed=1), pm1(n, k, seed=2)
    out = K.xnor_gemm_torch(K.pack_bits(a), K.pack_bits(b), k)
    assert out.dtype == torch.int32 and torch.equal(out, int_product(a, b))
    # tiny tiles: every tiling branch of the loop
    assert torch.equal(K.xnor_gemm_torch(K.pack_bits(a), K.pack_bits(b), k, tile_elements=7), out)


def test_torch_gemm_non_contiguous_and_empty():
    a, b = pm1(9, 200, seed=3), pm1(12, 200, seed=4)
    pa, pb = K.pack_bits(a), K.pack_bits(b)
    assert torch.equal(K.xnor_gemm_torch(pa[::2], pb[1::3], 200), int_product(a[::2], b[1::3]))
    assert K.xnor_gemm_torch(pa[:0], pb, 200).shape == (0, 12)


def test_gemm_input_errors():
    a = K.pack_bits(pm1(3, 40))
    with pytest.raises(ValueError, match="word count"):
        K.xnor_gemm_torch(a, K.pack_bits(pm1(3, 70)), 40)
    with pytest.raises(ValueError, match="do not fit"):
        K.xnor_gemm_torch(a, a, 65)
    with pytest.raises(ValueError, match="int32"):
        K.xnor_gemm_torch(a.long(), a, 40)


@pytest.mark.parametrize(("m", "k", "n"), [(1, 5, 3), (7, 31, 20), (3, 64, 5), (17, 100, 9), (33, 300, 35)])
@pytest.mark.parametrize("scheme", ["autotuned", "broadcast", "outer"])
def test_triton_xnor_gemm_exact(m, k, n, scheme):
    tk = triton_kernels()
    a, b = pm1(m, k, seed=5, device=TRITON_DEVICE), pm1(n, k, seed=6, device=TRITON_DEVICE)
    config = {
        "autotuned": None,
        "broadcast": dict(BLOCK_M=16, BLOCK_N=32, BLOCK_W=2, GROUP_M=2, OUTER=False),
        "outer": dict(BLOCK_M=16, BLOCK_N=16, BLOCK_W=2, GROUP_M=1, OUTER=True),
    }[scheme]
    out = tk.xnor_gemm_triton(K.pack_bits(a), K.pack_bits(b), k, config=config)
    assert out.dtype == torch.int32 and torch.equal(out.cpu(), int_product(a.cpu(), b.cpu()))


def test_triton_non_contiguous_operands():
    tk = triton_kernels()
    a, b = pm1(10, 90, seed=7, device=TRITON_DEVICE), pm1(8, 90, seed=8, device=TRITON_DEVICE)
    pa, pb = K.pack_bits(a), K.pack_bits(b)
    out = tk.xnor_gemm_triton(pa[1::2], pb[::3], 90)
    assert torch.equal(out.cpu(), int_product(a[1::2].cpu(), b[::3].cpu()))
    # transposed storage of the packed operands (column-major)
    out = tk.xnor_gemm_triton(pa.t().contiguous().t(), pb.t().contiguous().t(), 90)
    assert torch.equal(out.cpu(), int_product(a.cpu(), b.cpu()))


def test_triton_fused_epilogue():
    tk = triton_kernels()
    a, b = pm1(9, 70, seed=9, device=TRITON_DEVICE), pm1(11, 70, seed=10, device=TRITON_DEVICE)
    pa, pb = K.pack_bits(a), K.pack_bits(b)
    g = torch.Generator().manual_seed(0)
    scale, shift = torch.randn(11, generator=g).to(TRITON_DEVICE), torch.randn(11, generator=g).to(TRITON_DEVICE)
    dot = int_product(a.cpu(), b.cpu()).float()
    affine = tk.xnor_gemm_triton(pa, pb, 70, scale=scale, shift=shift)
    assert affine.dtype == torch.float32
    torch.testing.assert_close(affine.cpu(), dot * scale.cpu() + shift.cpu(), rtol=1e-6, atol=1e-5)
    signs = tk.xnor_gemm_triton(pa, pb, 70, scale=scale, shift=shift, sign=True).cpu()
    reference = torch.where(dot * scale.cpu() + shift.cpu() >= 0, 1.0, -1.0)
    assert set(signs.unique().tolist()) <= {-1.0, 1.0}
    near_zero = (dot * scale.cpu() + shift.cpu()).abs() < 1e-4  # FMA may flip a sign at 0
    assert torch.equal(signs[~near_zero], reference[~near_zero])
    with pytest.raises(ValueError, match="length N = 11"):
        tk.xnor_gemm_triton(pa, pb, 70, scale=scale[:3])


@pytest.mark.parametrize(("m", "k", "n"), [(1, 5, 3), (17, 70, 33), (20, 100, 64), (3, 33, 70)])
def test_triton_sign_layer_matches_the_cpu_fused_layer(m, k, n):
    """Packed signs out of the Triton fused layer equal the CPU kernel's (the same thresholds)."""
    import numpy as np

    tk = triton_kernels()
    a, b = pm1(m, k, seed=20, device=TRITON_DEVICE), pm1(n, k, seed=21, device=TRITON_DEVICE)
    g = torch.Generator().manual_seed(k)
    thresholds = torch.randint(0, k + 2, (n,), generator=g)
    thresholds[0] = 0
    invert = torch.randint(0, 2, (n,), generator=g).bool()
    out = tk.xnor_sign_layer_triton(K.pack_bits(a), K.pack_bits(b), k, thresholds.to(a.device), invert.to(a.device))
    mismatches = (k - int_product(a.cpu(), b.cpu())) // 2
    negative = (mismatches >= thresholds) != invert
    assert torch.equal(out.cpu(), K.pack_bits(negative))
    expected64 = kernels_cpu.sign_layer64(
        kernels_cpu.pack_rows(a.cpu()), kernels_cpu.CpuPackedWeight(b.cpu()), thresholds.numpy(), invert.numpy()
    )
    assert np.array_equal(kernels_cpu.words64_from_int32(out.cpu()), expected64)
    with pytest.raises(ValueError, match="one entry per unit"):
        tk.xnor_sign_layer_triton(K.pack_bits(a), K.pack_bits(b), k, thresholds[:1], invert)


@pytest.mark.parametrize(("m", "k", "n"), [(1, 5, 3), (5, 64, 7), (20, 100, 17), (33, 96, 40)])
def test_triton_int8_gemm_exact(m, k, n):
    tk = triton_kernels()
    a, b = pm1(m, k, seed=11, device=TRITON_DEVICE), pm1(n, k, seed=12, device=TRITON_DEVICE)
    out = tk.int8_gemm_triton(a.to(torch.int8), b.to(torch.int8))
    assert out.dtype == torch.int32 and torch.equal(out.cpu(), int_product(a.cpu(), b.cpu()))
    forced = tk.int8_gemm_triton(
        a.to(torch.int8), b.to(torch.int8), config=dict(BLOCK_M=16, BLOCK_N=16, BLOCK_K=32, GROUP_M=2)
    )
    assert torch.equal(forced, out)
    with pytest.raises(ValueError, match="int8"):
        tk.int8_gemm_triton(a, b)


@pytest.mark.parametrize(("m", "k"), [(1, 1), (3, 31), (17, 64), (5, 200)])
def test_triton_pack_kernel(m, k):
    tk = triton_kernels()
    x = torch.randn(m, k, generator=torch.Generator().manual_seed(m * k)).to(TRITON_DEVICE)
    assert torch.equal(tk.pack_bits_triton(x), K.pack_bits(x))
    assert torch.equal(tk.pack_bits_triton(x.t().contiguous().t()), K.pack_bits(x))
    with pytest.raises(ValueError, match="2-d"):
        tk.pack_bits_triton(x[None])


def test_triton_configs():
    tk = triton_kernels()
    if tk.INTERPRET:
        assert len(tk.xnor_configs()) == 1 and len(tk.int8_configs()) == 1
        assert tk.USE_LIBDEVICE is False
    else:
        assert len(tk.xnor_configs()) > 1 and tk.USE_LIBDEVICE is True


@pytest.mark.parametrize("backend", ["torch", "numba", "triton", "float"])
def test_packed_gemm_dispatch(backend):
    device = TRITON_DEVICE if backend == "triton" else torch.device("cpu")
    a, b = pm1(6, 45, seed=13, device=device), pm1(4, 45, seed=14, device=device)
    out = K.packed_gemm(K.pack_bits(a), K.pack_bits(b), 45, backend=backend)
    assert torch.equal(out.cpu(), int_product(a.cpu(), b.cpu()))


@pytest.mark.parametrize("backend", ["torch", "numba", "triton", "float"])
def test_xnor_linear_matches_float(backend):
    device = TRITON_DEVICE if backend == "triton" else torch.device("cpu")
    x = torch.randn(2, 3, 50, generator=torch.Generator().manual_seed(0)).to(device)
    w, bias = pm1(7, 50, seed=15, device=device), torch.randn(7).to(device)
    expected = F.linear(torch.where(x < 0, -1.0, 1.0), w) + bias
    assert torch.equal(K.xnor_linear(x, w, bias, backend=backend), expected)
    with pytest.raises(ValueError, match="disagree"):
        K.xnor_linear(x, w[:, :10], backend=backend)


def test_triton_int8_impl_through_dispatch(monkeypatch):
    monkeypatch.setattr(dispatch, "XNOR_MAX_BATCH", 0)
    assert K.choose_triton_impl(1, 10, 10) == "int8"
    x, w = pm1(5, 40, seed=16, device=TRITON_DEVICE), pm1(6, 40, seed=17, device=TRITON_DEVICE)
    assert torch.equal(K.xnor_linear(x, w, backend="triton"), F.linear(x, w))


# ---------------------------------------------------------------------------------------------
# backend setting


def test_backend_setting_order(monkeypatch):
    monkeypatch.delenv(K.ENV_VAR, raising=False)
    assert K.get_backend() == "auto"
    monkeypatch.setenv(K.ENV_VAR, "torch")
    assert K.get_backend() == "torch"
    K.set_backend("float")
    assert K.get_backend() == "float"
    with K.use_backend("triton"):
        assert K.get_backend() == "triton"
        with K.use_backend("torch"):
            assert K.get_backend() == "torch"
        assert K.get_backend() == "triton"
    assert K.get_backend() == "float"
    K.set_backend(None)
    assert K.get_backend() == "torch"


def test_backend_errors(monkeypatch):
    with pytest.raises(ConfigError, match=r"unknown xnor backend 'gpu'.*'auto', 'torch', 'numba', 'triton', 'float'"):
        K.set_backend("gpu")
    with pytest.raises(ConfigError, match="unknown"), K.use_backend("fast"):
        pass
    monkeypatch.setenv(K.ENV_VAR, "nope")
    with pytest.raises(ConfigError, match=K.ENV_VAR):
        K.get_backend()


def test_resolve_backend(monkeypatch):
    assert K.resolve_backend("cpu", "auto") == "float"  # convolutions: not measured against oneDNN
    for shape in [(1, 1024, 1024), (64, 4096, 4096), (512, 1024, 1024)]:  # dense: numba at every shape
        assert K.resolve_backend("cpu", "auto", shape=shape) == "numba"
    assert K.resolve_backend("cpu", "torch") == "torch"
    assert K.resolve_backend("cpu", "numba") == "numba"
    with pytest.raises(ConfigError, match="'numba' runs on CPU tensors"):
        K.resolve_backend("cuda", "numba")
    assert K.resolve_backend("cpu", "float") == "float"
    assert K.resolve_backend(TRITON_DEVICE, "triton") == "triton"
    tk = triton_kernels()
    monkeypatch.setattr(tk, "INTERPRET", False)
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="TRITON_INTERPRET=1"):
            K.resolve_backend("cpu", "triton")


# ---------------------------------------------------------------------------------------------
# layers


def _mlp(spec=None, seed=0):
    torch.manual_seed(seed)
    spec = spec or ModelSpec(arch="mlp", hidden=(70, 33))
    model = build_model(spec, (1, 5, 9), 10)
    model.train()
    with torch.no_grad():
        for _ in range(3):  # non-trivial BatchNorm statistics
            model(torch.randn(16, 1, 5, 9))
    return model.eval()


@pytest.mark.parametrize("backend", ["torch", "numba", "triton"])
@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec(arch="mlp", hidden=(70, 33)),
        ModelSpec(arch="mlp", hidden=(40,), binarization="stoch", stochastic_eval="sign"),
    ],
)
def test_model_eval_backends_equal_float(backend, spec):
    model = _mlp(spec).to(TRITON_DEVICE if backend == "triton" else "cpu")
    x = torch.randn(6, 1, 5, 9).to(next(model.parameters()).device)
    eligible = [m for m in model.modules() if isinstance(m, BinaryLinear) and m.xnor_eligible]
    assert len(eligible) == len(spec.hidden)  # every layer but the first
    with torch.no_grad():
        with K.use_backend("float"):
            expected = model(x)
        with K.use_backend(backend):
            out = model(x)
    assert torch.equal(out, expected)
    assert all("_packed_weight" in m.__dict__ for m in eligible)


def test_layer_product_is_exact_integer_plus_bias():
    layer = BinaryLinear(100, 9, input_quantizer=SignActivation(), kernel_quantizer=SignWeight()).eval()
    x = torch.randn(4, 100)
    exact = int_product(torch.where(x >= 0, 1.0, -1.0), torch.where(layer.weight >= 0, 1.0, -1.0))
    bias = layer.bias.detach().clone()
    for backend in ("float", "torch", "triton"):
        device = TRITON_DEVICE if backend == "triton" else torch.device("cpu")
        with torch.no_grad(), K.use_backend(backend):
            out = layer.to(device)(x.to(device)).cpu()
        assert torch.equal(out, exact.float() + bias), backend


def test_layer_triton_int8_path(monkeypatch):
    monkeypatch.setattr(dispatch, "XNOR_MAX_BATCH", 0)
    model = _mlp().to(TRITON_DEVICE)
    x = torch.randn(3, 1, 5, 9).to(TRITON_DEVICE)
    with torch.no_grad():
        expected = model(x)
        with K.use_backend("triton"):
            assert torch.equal(model(x), expected)


def test_eval_with_grad_keeps_graph_and_values():
    model = _mlp()
    x = torch.randn(4, 1, 5, 9)
    with torch.no_grad():
        expected = model(x)
    with K.use_backend("torch"):
        out = model(x)  # autograd recording: float path
    assert out.grad_fn is not None and torch.equal(out.detach(), expected)


def test_training_mode_untouched():
    model = _mlp()
    x = torch.randn(8, 1, 5, 9)
    layer = [m for m in model.modules() if isinstance(m, BinaryLinear)][1]
    with torch.no_grad(), K.use_backend("torch"):
        model(x)
    assert "_packed_weight" in layer.__dict__
    model.train()
    torch.manual_seed(1)
    with K.use_backend("torch"):
        out = layer(torch.randn(8, layer.in_features))
    torch.manual_seed(1)
    xin = torch.randn(8, layer.in_features)
    assert torch.equal(out, F.linear(layer.quantized_input(xin), layer.quantized_weight(), layer.bias))
    assert "_packed_weight" not in layer.__dict__ and out.grad_fn is not None


def test_weight_change_invalidates_cache():
    model = _mlp()
    x = torch.randn(5, 1, 5, 9)
    with torch.no_grad(), K.use_backend("torch"):
        before = model(x)
        for m in model.modules():
            if isinstance(m, BinaryLinear):
                m.weight.mul_(-1)  # bumps the version counter
        after = model(x)
        with K.use_backend("float"):
            expected = model(x)
    assert torch.equal(after, expected) and not torch.equal(after, before)
    # a load_state_dict also bumps it
    other = _mlp(seed=3)
    with torch.no_grad(), K.use_backend("torch"):
        model.load_state_dict(other.state_dict())
        assert torch.equal(model(x), other(x))
    clear_packed_cache(model)
    assert not any("_packed_weight" in m.__dict__ for m in model.modules())


def test_non_eligible_layers_unchanged():
    # binaryconnect: real activations, only weights binary: no input quantizer, never packed
    model = _mlp(ModelSpec(arch="mlp", hidden=(30,), mode="binaryconnect"))
    assert not any(m.xnor_eligible for m in model.modules() if isinstance(m, BinaryLinear))
    x = torch.randn(3, 1, 5, 9)
    with torch.no_grad():
        with K.use_backend("float"):
            expected = model(x)
        with K.use_backend("torch"):
            assert torch.equal(model(x), expected)
    assert not any("_packed_weight" in m.__dict__ for m in model.modules())


# ---------------------------------------------------------------------------------------------
# benchmark


def test_bench_interleaved_blocks_on_cpu():
    # The library behind `bnnrepro kernels bench` (its command is tested in test_family_kernels.py).
    lines: list[str] = []
    rows = bench.benchmark(torch.device("cpu"), [1, 3], [64, 100], repeats=2, max_time=0.01, log=lines.append)
    frame = pd.DataFrame(rows)
    assert list(frame.columns) == list(bench.COLUMNS)
    assert len(frame) == 2 * 2 * 5 * 2  # shapes x implementations x blocks
    assert set(frame.impl) == {"torch.matmul", "numba_xnor", "numba_naive", "torch_xnor"}
    assert set(frame.act_prep) == {"none", "outside", "inside"}
    assert frame.exact.all() and (frame.ms > 0).all() and (frame.calls >= 1).all()
    # auto: the numba kernel, activations packed inside, for every dense product on CPU
    chosen = frame[frame.auto_choice]
    assert set(zip(chosen.impl, chosen.act_prep)) == {("numba_xnor", "inside")}
    assert set(frame.cpu_path) == {kernels_cpu.cpu_path()} and frame.cpu_features.str.len().gt(0).all()
    assert sorted(frame.block.unique()) == [0, 1] and len(lines) == 2 * 2 * 5


def test_bench_rotates_the_order_of_each_block():
    assert bench.rotated([0, 1, 2], 0) == [0, 1, 2]
    assert bench.rotated([0, 1, 2], 1) == [1, 2, 0]
    assert bench.rotated([0, 1, 2], 5) == [2, 0, 1]


def test_bench_rejects_bad_devices():
    with pytest.raises(ConfigError, match="device must be"):
        bench.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            bench.resolve_device("cuda")
    assert bench.resolve_device("cpu").type == "cpu"
    with pytest.raises(ConfigError, match="repeats"):
        bench.benchmark(torch.device("cpu"), [1], [32], repeats=0, max_time=0.1)


def test_auto_on_cpu_picks_the_numba_kernel():
    layer = BinaryLinear(1000, 130, input_quantizer=SignActivation(), kernel_quantizer=SignWeight()).eval()
    x = torch.randn(3, 1000)
    with torch.no_grad():
        with K.use_backend("float"):
            expected = layer(x)
        out = layer(x)  # auto: the numba kernel
    assert isinstance(layer.__dict__["_packed_weight"][1], K.PackedLinearWeight) and torch.equal(out, expected)


def test_bench_gpu_case_list_under_interpreter():
    # The GPU rows (Triton xnor/int8, fp16/bf16 matmul) built as on CUDA, run here on the
    # interpreter (or on the GPU when there is one): every case computes the exact product.
    a, w = pm1(3, 64, seed=18, device=TRITON_DEVICE), pm1(5, 64, seed=19, device=TRITON_DEVICE)
    expected = int_product(a.cpu(), w.cpu())
    cases = bench.cases(torch.device("cuda"), a, w)
    assert {(case.impl, case.act_prep) for case in cases} == {
        ("torch.matmul", "none"),
        ("triton_xnor", "outside"),
        ("triton_xnor", "inside"),
        ("triton_int8", "outside"),
        ("triton_int8", "inside"),
    }
    for case in cases:
        assert torch.equal(torch.as_tensor(case.fn()).cpu().to(torch.int32), expected), (
            case.impl,
            case.dtype,
            case.act_prep,
        )
        if case.config:
            assert "BLOCK_M" in case.config()


def test_layer_built_under_inference_mode_runs_on_the_packed_path():
    """Weights created inside torch.inference_mode have no version counter; the cache copes."""
    from bnnrepro.kernels import use_backend
    from bnnrepro.nn import ModelSpec, build_model

    with torch.inference_mode():
        model = build_model(ModelSpec(arch="mlp", hidden=(64,)), (1, 8, 8), 10).eval()
        x = torch.randn(5, 1, 8, 8)
        with use_backend("float"):
            expected = model(x)
        with use_backend("torch"):
            assert torch.equal(model(x), expected)
