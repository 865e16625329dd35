"""BNN core: binarization functions, straight-through gradients, layers, builders, summary."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from bnnrepro.kernels import sign_pm1
from bnnrepro.nn import (
    ARCHITECTURES,
    BinaryConv2d,
    BinaryLinear,
    ModelSpec,
    SignActivation,
    SignWeight,
    StochasticSignWeight,
    binary_layers,
    build_model,
    hard_sigmoid,
    ste_sign,
    stochastic_sign,
    summarize,
)
from bnnrepro.nn.quantizers import BinarySigmoid, RealWeight, binarize, clipped_ste_grad


def test_sign_of_zero_is_plus_one_and_output_is_pm1():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.3, 5.0])
    assert ste_sign(x).tolist() == [-1.0, -1.0, 1.0, 1.0, 1.0]


def test_sign_ste_gradient_is_cut_off_outside_unit_interval():
    x = torch.tensor([-1.5, -1.0, -0.2, 0.0, 0.7, 1.0, 1.01], requires_grad=True)
    ste_sign(x).backward(torch.arange(1.0, 8.0))
    assert x.grad is not None
    assert x.grad.tolist() == [0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0]


def test_weight_quantizer_passes_gradient_unchanged():
    w = torch.tensor([-3.0, 0.0, 0.5], requires_grad=True)
    SignWeight()(w).backward(torch.tensor([1.0, 2.0, 3.0]))
    assert w.grad is not None
    assert w.grad.tolist() == [1.0, 2.0, 3.0]


def _special_values(dtype: torch.dtype, n: int = 10007) -> torch.Tensor:
    """Random values with zeros of both signs, NaNs of both signs, infinities and the smallest
    subnormals scattered through (so that vectorised bodies and scalar tails both see them)."""
    x = torch.randn(n, generator=torch.Generator().manual_seed(0)).to(dtype)
    tiny = torch.finfo(dtype).smallest_normal / 4
    for start, value in enumerate([0.0, -0.0, math.nan, -math.nan, math.inf, -math.inf, tiny, -tiny]):
        x[start :: 9 + start] = value
    return x


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_fast_binarize_equals_sign_pm1_bit_for_bit(dtype):
    x = _special_values(dtype)
    for view in (x, x[:7], x[1::3], x.reshape(-1, 1)[3:40]):
        fast, reference = binarize(view), sign_pm1(view)
        assert fast.dtype == dtype and fast.shape == view.shape
        # compare bit patterns: -0.0 or NaN would differ from +1 there
        assert torch.equal(fast.view(-1).float().view(torch.int32), reference.reshape(-1).float().view(torch.int32))
        assert set(fast.unique().tolist()) <= {-1.0, 1.0}
    assert binarize(torch.tensor([-0.0, 0.0, -1e-45, math.nan])).tolist() == [1.0, 1.0, -1.0, 1.0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("clip_value", [1.0, 0.3, 2.5])
def test_one_pass_ste_gradient_equals_the_masked_product(dtype, clip_value):
    x = (torch.randn(10007, generator=torch.Generator().manual_seed(1)) * 2).to(dtype)
    limit = torch.tensor(clip_value, dtype=dtype)
    above = torch.nextafter(limit, torch.tensor(9.0, dtype=dtype))
    special: list[torch.Tensor | float] = [limit, -limit, above, -above, 0.0, math.inf, -math.inf]
    for start, value in enumerate(special):
        x[start::11] = value
    grad = torch.randn(10007, generator=torch.Generator().manual_seed(2)).to(dtype)
    expected = grad * (x.abs() <= clip_value).to(dtype)
    assert torch.equal(clipped_ste_grad(grad, x, clip_value), expected)
    assert clipped_ste_grad(grad, x, math.inf) is grad


def test_hard_sigmoid():
    assert hard_sigmoid(torch.tensor([-2.0, -1.0, 0.0, 0.5, 3.0])).tolist() == [0.0, 0.0, 0.5, 0.75, 1.0]


def test_stochastic_binarization_draws_with_hard_sigmoid_probability():
    torch.manual_seed(0)
    x = torch.tensor([-1.0, -0.5, 0.0, 0.6, 1.0]).repeat(40000, 1)
    out = stochastic_sign(x)
    assert set(out.unique().tolist()) == {-1.0, 1.0}
    p_plus = (out == 1).float().mean(0)
    torch.testing.assert_close(p_plus, torch.tensor([0.0, 0.25, 0.5, 0.8, 1.0]), atol=0.01, rtol=0)


def test_stochastic_weights_resample_in_training_and_are_real_or_sign_at_eval():
    w = torch.full((1000,), 0.2)
    q = StochasticSignWeight("real")
    q.train()
    torch.manual_seed(1)
    assert not torch.equal(q(w), q(w))
    q.eval()
    assert torch.equal(q(w), w)
    q_sign = StochasticSignWeight("sign").eval()
    assert torch.equal(q_sign(w), torch.ones(1000))


def test_binary_sigmoid_is_zero_one_with_half_slope():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.5], requires_grad=True)
    y = BinarySigmoid()(x)
    assert y.tolist() == [0.0, 0.0, 1.0, 1.0]
    y.sum().backward()
    assert x.grad is not None
    assert x.grad.tolist() == [0.0, 0.5, 0.5, 0.5]


def test_binary_linear_computes_on_signs():
    torch.manual_seed(0)
    layer = BinaryLinear(37, 5, input_quantizer=SignActivation(), kernel_quantizer=SignWeight())
    assert layer.weight.abs().max() <= 1.0  # Uniform(-1, 1) init
    x = torch.randn(4, 37)
    expected = F.linear(torch.where(x >= 0, 1.0, -1.0), torch.where(layer.weight >= 0, 1.0, -1.0), layer.bias)
    torch.testing.assert_close(layer(x), expected, rtol=0, atol=1e-5)
    assert layer.xnor_eligible and layer.is_binary


def test_binary_conv_pads_with_zero_after_binarizing():
    torch.manual_seed(0)
    conv = BinaryConv2d(3, 4, 3, padding=1, bias=False, input_quantizer=SignActivation(), kernel_quantizer=SignWeight())
    x = torch.randn(2, 3, 5, 5)
    expected = F.conv2d(torch.where(x >= 0, 1.0, -1.0), torch.where(conv.weight >= 0, 1.0, -1.0), padding=1)
    torch.testing.assert_close(conv(x), expected)
    # Corner outputs see 4 of 9 taps per channel: values bounded by 3 * 4.
    assert conv(x)[:, :, 0, 0].abs().max() <= 12


def test_glorot_lr_scale():
    layer = BinaryLinear(784, 1024, kernel_quantizer=SignWeight())
    assert layer.glorot_lr_scale == pytest.approx(1 / math.sqrt(1.5 / (784 + 1024)))
    conv = BinaryConv2d(128, 256, 3, kernel_quantizer=SignWeight())
    assert conv.glorot_lr_scale == pytest.approx(1 / math.sqrt(1.5 / (128 * 9 + 256 * 9)))


@pytest.mark.parametrize(
    ("arch", "shape"),
    [
        ("fashion_mlp_128", (1, 28, 28)),
        ("fashion_mlp_1024", (1, 28, 28)),
        ("binaryconnect_mlp", (1, 28, 28)),
        ("binarynet_mlp", (1, 28, 28)),
        ("cifar10_cnn", (3, 32, 32)),
        ("svhn_cnn", (3, 32, 32)),
    ],
)
@pytest.mark.parametrize("mode", ["binarynet", "binaryconnect", "float"])
def test_every_architecture_builds_and_runs(arch, shape, mode):
    width = 0.125 if "cnn" in arch or arch == "binarynet_mlp" else 1.0
    model = build_model(ModelSpec(arch=arch, mode=mode, width=width), shape, 10)
    out = model(torch.randn(3, *shape))
    assert out.shape == (3, 10)
    layers = binary_layers(model)
    if mode == "float":
        assert layers == []
    else:
        n_layers = sum(1 for c in ARCHITECTURES[arch].conv if c != "M") + len(ARCHITECTURES[arch].dense) + 1
        assert len(layers) == n_layers
        assert layers[0].input_quantizer is None  # the first layer sees real inputs
        if mode == "binarynet":
            assert all(layer.xnor_eligible for layer in layers[1:])
        else:
            assert not any(layer.xnor_eligible for layer in layers)


def test_width_multiplier_and_dropout_layout():
    spec = ModelSpec(arch="cifar10_cnn", width=0.25, dropout=(0.25, 0.5))
    assert spec.conv_channels() == (32, 32, "M", 64, 64, "M", 128, 128, "M")
    assert spec.dense_sizes() == (256, 256)
    model = build_model(spec, (3, 32, 32), 10)
    rates = [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    assert rates == [0.25, 0.5]
    with pytest.raises(ValueError, match="dropout"):
        ModelSpec(arch="cifar10_cnn", dropout=(0.1, 0.2, 0.3)).dropout_rates()


def test_summary_counts_binary_and_float_parameters():
    model = build_model(ModelSpec(arch="fashion_mlp_1024"), (1, 28, 28), 10)
    s = summarize(model)
    assert s.binary_params == 784 * 1024 + 1024 * 10
    # biases (1024 + 10) and BatchNorm weight, bias, running mean and var (4 * (1024 + 10))
    assert s.float_params == 5 * (1024 + 10)
    assert s.packed_bytes == 1024 * math.ceil(784 / 32) * 4 + 10 * 32 * 4 + 4 * s.float_params
    assert s.fp32_bytes == 4 * (s.binary_params + s.float_params)
    stoch_real = build_model(ModelSpec(arch="fashion_mlp_1024", binarization="stoch"), (1, 28, 28), 10)
    assert summarize(stoch_real).binary_params == 0  # real weights at inference
    assert summarize(build_model(ModelSpec(arch="mlp", mode="float"), (1, 28, 28), 10)).binary_params == 0


def test_eval_weight_cache_follows_weight_updates():
    layer = BinaryLinear(8, 3, kernel_quantizer=SignWeight()).eval()
    x = torch.randn(2, 8)
    with torch.no_grad():
        first = layer(x)
        layer.weight.mul_(-1)  # an in-place update bumps the version counter
        flipped = layer(x)
    torch.testing.assert_close(flipped - layer.bias, -(first - layer.bias))
    layer.train()
    out = layer(x)
    out.sum().backward()  # training still gets gradients through the quantizer
    assert layer.weight.grad is not None


def test_real_kernel_quantizer_keeps_the_latent_weight_recipe_but_not_binary():
    """binarization 'real': identity weights, Uniform(-1, 1) init, Glorot LR scale and clipping
    (a binary layer for the recipe), but not binary at eval, never xnor, counted as float."""
    from bnnrepro.train.optim import make_optimizer

    torch.manual_seed(0)
    for mode in ("binaryconnect", "binarynet"):
        model = build_model(ModelSpec(arch="mlp", mode=mode, binarization="real", hidden=(64,)), (1, 28, 28), 10)
        layers = binary_layers(model)
        assert len(layers) == 2 and all(isinstance(layer.kernel_quantizer, RealWeight) for layer in layers)
        assert all(layer.weight.abs().max() <= 1.0 for layer in layers)  # Uniform(-1, 1)
        assert not any(layer.xnor_eligible or layer.binary_weights_at_eval for layer in layers)
        summary = summarize(model)
        running_stats = 2 * (64 + 10)  # BatchNorm running mean and variance
        assert summary.binary_params == 0
        assert summary.float_params == sum(p.numel() for p in model.parameters()) + running_stats
        scales = [g["lr_scale"] for g in make_optimizer(model, 1e-3).param_groups]
        assert scales[:2] == pytest.approx([layer.glorot_lr_scale for layer in layers]) and scales[2] == 1.0
        x = torch.randn(5, 1, 28, 28)
        for train_mode in (True, False):
            model.train(train_mode)
            first = layers[0]
            assert torch.equal(first.quantized_weight(), first.weight)
        assert torch.isfinite(model(x)).all()
    layer = BinaryLinear(6, 3, kernel_quantizer=RealWeight())
    x = torch.randn(4, 6)
    torch.testing.assert_close(layer(x), F.linear(x, layer.weight, layer.bias), rtol=0, atol=0)
    layer(x).sum().backward()
    torch.testing.assert_close(layer.weight.grad, torch.ones(3, 1) * x.sum(0))
    with pytest.raises(ValueError, match="binarization"):
        ModelSpec(binarization="ternary")


@pytest.mark.parametrize("package", ["bnnrepro.nn", "bnnrepro.train"])
def test_lazy_names_are_public_and_visible_to_type_checkers(package):
    """A lazy package states each public name three times (the lazy table, ``__all__`` and the
    ``TYPE_CHECKING`` imports type checkers read): all three must agree, and each name must resolve."""
    import ast
    import importlib

    module = importlib.import_module(package)
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text())
    checked = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for stmt in node.body
        if isinstance(stmt, ast.ImportFrom)
        for alias in stmt.names
    }
    lazy = module._LAZY
    assert set(module.__all__) == set(lazy) == checked
    for name in module.__all__:
        assert getattr(importlib.import_module(lazy[name]), name) is getattr(module, name)
