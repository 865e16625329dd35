"""The numba CPU kernel (bnnrepro.kernels.cpu) and the fused packed MLP (bnnrepro.nn.export):
exact against the float products and the float model at awkward shapes, on one and two threads,
on this CPU's code path and on the x86-64 baseline (compiled in a subprocess). Small shapes: the
compiled code is cached (numba ``cache=True``), so only the first run pays for compilation."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from bnnrepro.kernels import cpu, pack_bits, use_backend
from bnnrepro.nn.export import fuse_binary_mlp, sign_thresholds
from bnnrepro.nn.models import build_model
from bnnrepro.nn.spec import ModelSpec


def pm1(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (1 - 2 * torch.randint(0, 2, shape, generator=g)).to(torch.float32)


def int_product(a, b):
    return (a.double() @ b.double().T).to(torch.int32)


@pytest.fixture
def threads():
    """Run a block with n torch threads (the kernels follow torch's setting), restored after."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


SHAPES = [(1, 1, 1), (1, 7, 63), (2, 5, 64), (3, 65, 65), (5, 130, 127), (1, 64, 129), (9, 3, 1000), (67, 200, 333)]


@pytest.mark.parametrize(("m", "n", "k"), SHAPES)
@pytest.mark.parametrize("parallel", [False, True])
def test_products_exact(m, n, k, parallel, monkeypatch, threads):
    threads(2)
    monkeypatch.setattr(cpu, "PARALLEL_MIN_OPS", 0 if parallel else 1 << 62)
    a, w = pm1(m, k, seed=k), pm1(n, k, seed=k + 1)
    expected = int_product(a, w)
    weight = cpu.CpuPackedWeight(w)
    assert torch.equal(cpu.linear_products(a, weight), expected)
    assert np.array_equal(cpu.products64(cpu.pack_rows(a), weight.bits, k), expected.numpy())
    assert np.array_equal(cpu.naive_products64(cpu.pack_rows(a), weight.bits, k), expected.numpy())
    # The dispatch signature, from the int32 layout of pack_bits (odd word counts padded).
    assert torch.equal(cpu.xnor_gemm_cpu(pack_bits(a), pack_bits(w), k), expected)


def test_one_and_two_threads_identical(monkeypatch, threads):
    monkeypatch.setattr(cpu, "PARALLEL_MIN_OPS", 0)
    a, w = pm1(300, 515, seed=1), pm1(260, 515, seed=2)
    weight = cpu.CpuPackedWeight(w)
    thresholds = np.random.default_rng(0).integers(0, 517, 260)
    invert = np.random.default_rng(1).integers(0, 2, 260).astype(bool)
    out = {}
    for count in (1, 2):
        threads(count)
        assert cpu.threads() == count
        bits = cpu.pack_rows(a)
        out[count] = (cpu.linear_products(a, weight), cpu.sign_layer64(bits, weight, thresholds, invert))
    assert torch.equal(out[1][0], out[2][0]) and torch.equal(out[1][0], int_product(a, w))
    assert np.array_equal(out[1][1], out[2][1])


def test_pack_rows_layout_and_sign_convention():
    x = torch.tensor([[0.0, -0.0, float("nan"), -1e-30, 3.0, float("-inf")] + [1.0] * 60 + [-2.0]])
    bits = cpu.pack_rows(x)
    assert bits.dtype == np.uint64 and bits.shape == (1, 2)
    # -1 (bit 1) only for x < 0: not for 0, -0.0 or NaN (the sign_pm1 convention)
    assert int(bits[0, 0]) == (1 << 3) | (1 << 5) and int(bits[0, 1]) == 1 << 2
    y = torch.randn(4, 197, generator=torch.Generator().manual_seed(3))
    assert np.array_equal(cpu.pack_rows(y), cpu.words64_from_int32(pack_bits(y)))
    assert np.array_equal(cpu.pack_rows(y.double().numpy()), cpu.pack_rows(y))


@pytest.mark.parametrize(("m", "n", "k"), [(1, 1, 1), (3, 64, 64), (5, 65, 129), (70, 130, 1000)])
def test_sign_layer_thresholds_and_invert(m, n, k, monkeypatch, threads):
    threads(2)
    monkeypatch.setattr(cpu, "PARALLEL_MIN_OPS", 0)
    a, w = pm1(m, k, seed=5), pm1(n, k, seed=6)
    rng = np.random.default_rng(k)
    thresholds = rng.integers(0, k + 2, n)
    thresholds[:1] = 0  # always -1 (or never, inverted)
    thresholds[1:2] = k + 1  # never -1 (or always, inverted)
    invert = rng.integers(0, 2, n).astype(bool)
    out = cpu.sign_layer64(cpu.pack_rows(a), cpu.CpuPackedWeight(w), thresholds, invert)
    mismatches = (k - int_product(a, w).numpy()) // 2
    negative = (mismatches >= thresholds) != invert
    assert np.array_equal(out, cpu.pack_rows(np.where(negative, -1.0, 1.0)))


def test_kernel_errors():
    a = cpu.pack_rows(pm1(2, 100))
    with pytest.raises(ValueError, match="cannot hold K = 200"):
        cpu.products64(a, a, 200)
    with pytest.raises(TypeError, match="uint64"):
        cpu.products64(a.view(np.int64), a, 100)
    with pytest.raises(ValueError, match="one entry per unit"):
        cpu.sign_layer64(a, cpu.CpuPackedWeight(pm1(3, 100)), np.zeros(2, np.int64), np.zeros(3, bool))


def test_path_and_features_recorded():
    assert cpu.cpu_path() in ("avx512-vpopcntq", "avx2-vpshufb", "neon-cnt", "scalar-popcnt", "generic-swar")
    assert isinstance(cpu.cpu_features(), tuple) and cpu.cpu_name()


def test_x86_baseline_path_is_exact(tmp_path):
    """The code a CPU without AVX2 or POPCNT gets: LLVM compiles for the generic target (shift-and-mask
    popcount, no vector popcount), in a subprocess with its own cache."""
    script = textwrap.dedent(
        """
        import numpy as np, torch
        from bnnrepro.kernels import cpu
        assert cpu.cpu_path() == "generic-swar", cpu.cpu_path()
        g = torch.Generator().manual_seed(0)
        for m, n, k in [(1, 5, 63), (7, 70, 129), (3, 64, 1000)]:
            a = (1 - 2 * torch.randint(0, 2, (m, k), generator=g)).float()
            w = (1 - 2 * torch.randint(0, 2, (n, k), generator=g)).float()
            expected = (a.double() @ w.double().T).to(torch.int32)
            weight = cpu.CpuPackedWeight(w)
            assert torch.equal(cpu.linear_products(a, weight), expected), (m, n, k)
            t = np.full(n, k // 2 + 1, np.int64)
            bits = cpu.sign_layer64(cpu.pack_rows(a), weight, t, np.zeros(n, bool))
            neg = (k - expected.numpy()) // 2 >= t
            assert np.array_equal(bits, cpu.pack_rows(np.where(neg, -1.0, 1.0)))
        asm = "\\n".join(cpu._jit().products_serial.inspect_asm().values())
        assert "vpshufb" not in asm and "popcnt" not in asm, "baseline code uses AVX2/POPCNT"
        print("ok")
        """
    )
    env = dict(os.environ, NUMBA_CPU_NAME="generic", NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    env["PYTHONPATH"] = os.pathsep.join([str(p) for p in sys.path if p])
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-3000:]


# --- the fused packed MLP ---------------------------------------------------------------------


def _binarynet_mlp(hidden, seed=0, zero_scales=True):
    torch.manual_seed(seed)
    model = build_model(ModelSpec(arch="mlp", hidden=hidden, dropout=(0.2,)), (1, 6, 7), 10)
    g = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            n = module.num_features
            assert module.running_mean is not None and module.running_var is not None
            module.running_mean.copy_(torch.randn(n, generator=g) * 4)
            module.running_var.copy_(torch.rand(n, generator=g) * 30 + 0.5)
            module.weight.data.copy_(torch.randn(n, generator=g))  # both signs of the scale
            if zero_scales:
                module.weight.data[:2] = 0.0  # constant units
            module.bias.data.copy_(torch.randn(n, generator=g))
    return model.eval()


@pytest.mark.parametrize("hidden", [(33,), (65, 130), (64, 1, 129)])
def test_fused_mlp_equals_float_model_bit_for_bit(hidden, monkeypatch, threads):
    model = _binarynet_mlp(hidden)
    fused = fuse_binary_mlp(model)
    assert fused.binary_layers == len(hidden)
    x = torch.randn(37, 1, 6, 7, generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), use_backend("float"):
        expected = model(x)
    for count, parallel in [(1, False), (2, True)]:
        threads(count)
        monkeypatch.setattr(cpu, "PARALLEL_MIN_OPS", 0 if parallel else 1 << 62)
        whole = fused(x)
        rows = torch.cat([fused(x[i : i + 1]) for i in range(len(x))])
        assert torch.equal(whole, expected) and torch.equal(rows, expected)  # logits to the last bit
        assert torch.equal(whole.argmax(1), expected.argmax(1))


def test_fused_mlp_detects_a_wrong_threshold():
    """The exactness check above can fail: moving one unit's threshold changes the logits."""
    model = _binarynet_mlp((40, 50), seed=2, zero_scales=False)
    fused = fuse_binary_mlp(model)
    x = torch.randn(200, 1, 6, 7, generator=torch.Generator().manual_seed(4))
    with torch.no_grad(), use_backend("float"):
        expected = model(x)
    layer = fused.hidden[0]
    unit = int(np.argmin(np.abs(layer.thresholds - 20)))  # a threshold inside 0..K
    layer.thresholds[unit] += 3
    assert not torch.equal(fused(x), expected)


def test_sign_thresholds_both_directions_and_errors():
    k = 10
    counts = torch.arange(k + 1, dtype=torch.float32)
    products = k - 2 * counts  # 10, 8, ..., -10

    def g(p):  # unit 0: -1 for p < 3 (c >= 4); unit 1: -1 for p > -1 (c < 6); 2: always +1; 3: always -1
        return torch.stack([p[:, 0] - 3, -(p[:, 1] + 1), torch.ones_like(p[:, 2]), -torch.ones_like(p[:, 3])], 1)

    thresholds, invert = sign_thresholds(k, g, 4)
    assert thresholds.tolist() == [4, 6, k + 1, 0] and invert.tolist() == [False, True, False, False]
    negative = g(products.unsqueeze(1).expand(-1, 4)) < 0
    assert torch.equal(torch.from_numpy((counts.unsqueeze(1).numpy() >= thresholds) != invert), negative)
    with pytest.raises(ValueError, match="not monotone"):
        sign_thresholds(k, lambda p: torch.cos(p), 2)


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        (ModelSpec(arch="mlp", hidden=(20,), mode="binaryconnect"), "ReLU"),
        (ModelSpec(arch="mlp", hidden=(20,), mode="float"), "ReLU"),
        (ModelSpec(arch="mlp", hidden=(20,), activation="binary_sigmoid"), r"\+-1 inputs"),
        (ModelSpec(arch="mlp", hidden=(20,), binarization="stoch"), "real weights"),
    ],
)
def test_fuse_refuses_what_it_cannot_pack(spec, why):
    model = build_model(spec, (1, 6, 7), 10).eval()
    with pytest.raises(ValueError, match=why):
        fuse_binary_mlp(model)


# --- the network benchmark (bnnrepro kernels network) ------------------------------------------


def test_network_verb_times_float_and_fused_interleaved(tmp_path):
    import pandas as pd

    from bnnrepro.cli import main

    out = tmp_path / "networks.csv"
    args = ["kernels", "network", "--out", str(out), "--archs", "fashion_mlp_128", "--batch-sizes", "1", "3"]
    assert main([*args, "--repeats", "2", "--min-run-time", "0.001", "--threads", "1"]) == 0
    rows = pd.read_csv(out)
    assert len(rows) == 2 * 2 * 2  # batch sizes x conditions x blocks
    assert set(rows["condition"]) == {"float network", "packed BNN"} and set(rows["shape"]) == {"784-128-10"}
    assert rows["exact_logits"].all() and rows["same_predictions"].all() and (rows["median_ms"] > 0).all()
    assert (rows["threads"] == 1).all() and rows["cpu_path"].notna().all()
    for _, shape in rows.groupby("batch_size"):  # every block times both, in a rotated order
        orders = [tuple(b.sort_values("position")["condition"]) for _, b in shape.groupby("block")]
        assert orders[0] == orders[1][::-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--archs", "cifar10_cnn"], "not an MLP architecture"), (["--repeats", "1"], "--repeats must be >= 2")],
)
def test_network_verb_rejects_bad_options_in_one_line(tmp_path, capsys, args, message):
    from bnnrepro.cli import main

    assert main(["kernels", "network", "--out", str(tmp_path / "x.csv"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
