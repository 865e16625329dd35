"""Binary convolution through word-level im2col + the packed GEMM: exact against F.conv2d on +-1
inputs with zero padding (the padding correction), for every backend, and in BinaryConv2d layers.

Without CUDA the Triton kernels run in the Triton interpreter (TRITON_INTERPRET is set before they
can be imported); shapes stay small.
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest
import torch.nn.functional as F
from torch import nn

import bnnrepro.kernels as K
from bnnrepro.kernels import dispatch
from bnnrepro.kernels.conv import PackedConvWeight, padding_correction, padding_mask
from bnnrepro.nn import ModelSpec, build_model
from bnnrepro.nn.layers import BinaryConv2d
from bnnrepro.nn.quantizers import SignActivation, SignWeight

TRITON_DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pm1(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (1 - 2 * torch.randint(0, 2, shape, generator=g)).float()


# (batch, in channels, height, width, out channels, kernel, stride, padding)
CONV_CASES = [
    (2, 3, 7, 6, 5, 3, 1, 1),
    (1, 40, 5, 5, 4, 3, 2, 1),  # C > 32: two words per tap, stride 2
    (2, 33, 6, 7, 3, 2, 2, 0),  # even kernel, no padding
    (1, 4, 5, 5, 2, 3, 1, 2),  # padding wider than one tap
    (1, 5, 6, 5, 3, (3, 2), (2, 1), (1, 0)),  # rectangular kernel, per-axis stride and padding
    (3, 1, 4, 4, 2, 1, 1, 0),  # 1x1
]


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("backend", ["torch", "triton", "triton-int8", "float"])
def test_conv_exact(case, backend, monkeypatch):
    n, c, h, w, o, k, stride, padding = case
    kh, kw = (k, k) if isinstance(k, int) else k
    x, weight = pm1(n, c, h, w, seed=1), pm1(o, c, kh, kw, seed=2)
    bias = torch.randn(o, generator=torch.Generator().manual_seed(3))
    expected = F.conv2d(x, weight, stride=stride, padding=padding) + bias.view(1, -1, 1, 1)
    device = torch.device("cpu")
    if backend.startswith("triton"):
        device = TRITON_DEVICE
        monkeypatch.setattr(dispatch, "XNOR_MAX_BATCH", 0 if backend == "triton-int8" else 10**9)
        backend = "triton"
    out = K.xnor_conv2d(x.to(device), weight.to(device), bias.to(device), stride, padding, backend=backend)
    assert out.is_contiguous() and torch.equal(out.cpu(), expected)


def test_padding_correction_brute_force():
    # correction = conv(input padded with +1) - conv(input padded with 0), for any input
    c, h, w, o, k, stride, padding = 3, 6, 5, 4, 3, (2, 1), (2, 1)
    x, weight = pm1(1, c, h, w, seed=4), pm1(o, c, k, k, seed=5)
    zero = F.conv2d(x, weight, stride=stride, padding=padding)
    ones = F.conv2d(F.pad(x, (padding[1], padding[1], padding[0], padding[0]), value=1.0), weight, stride=stride)
    corr = padding_correction(weight.sum(1).to(torch.int32), (h, w), stride, padding)
    assert torch.equal(corr.float(), (ones - zero)[0])
    mask = padding_mask((h, w), (k, k), stride, padding)
    assert mask.shape == (k, k, zero.shape[2], zero.shape[3]) and mask.any() and not mask.all()


def test_packed_conv_weight_reuse_and_errors():
    weight = pm1(4, 6, 3, 3, seed=6)
    prepared = PackedConvWeight(weight)
    assert prepared.bits.shape == (4, 9)  # 9 taps x ceil(6 / 32) words
    for size in [(5, 5), (7, 4), (5, 5)]:
        x = pm1(2, 6, *size, seed=sum(size))
        out = K.xnor_conv2d(x, prepared, padding=1, backend="torch")
        assert torch.equal(out, F.conv2d(x, weight, padding=1))
    assert len(prepared._corrections) == 2  # cached per input size
    with pytest.raises(ValueError, match=r"\[batch, 6, height, width\]"):
        K.xnor_conv2d(pm1(2, 5, 4, 4), prepared, backend="torch")
    with pytest.raises(ValueError, match="leaves no output"):
        K.xnor_conv2d(pm1(1, 6, 2, 2), prepared, backend="torch")
    with pytest.raises(ValueError, match="needs the"):
        K.xnor_conv2d(pm1(1, 6, 4, 4), prepared, backend="float")


def _layer(c, o, **kwargs):
    torch.manual_seed(0)
    layer = BinaryConv2d(c, o, 3, input_quantizer=SignActivation(), kernel_quantizer=SignWeight(), **kwargs)
    return layer.eval()


@pytest.mark.parametrize("backend", ["torch", "triton"])
@pytest.mark.parametrize("geometry", [dict(padding=1), dict(stride=2, padding=1), dict(stride=2)])
def test_conv_layer_backends_equal_float(backend, geometry):
    device = TRITON_DEVICE if backend == "triton" else torch.device("cpu")
    layer = _layer(5, 4, **geometry).to(device)
    x = torch.randn(2, 5, 7, 6).to(device)
    with torch.no_grad():
        with K.use_backend("float"):
            expected = layer(x)
        with K.use_backend(backend):
            out = layer(x)
            unbatched = layer(x[0])
    assert torch.equal(out, expected) and torch.equal(unbatched, expected[0])
    # the float path is the exact integer product plus the bias, added once
    exact = F.conv2d(
        torch.where(x >= 0, 1.0, -1.0),
        torch.where(layer.weight >= 0, 1.0, -1.0),
        stride=layer.stride,
        padding=layer.padding,
    )
    assert torch.equal(expected, exact + layer.bias.detach().view(1, -1, 1, 1))


def test_conv_layer_unsupported_geometry_falls_back():
    torch.manual_seed(0)
    layer = BinaryConv2d(4, 4, 3, padding=1, input_quantizer=SignActivation(), kernel_quantizer=SignWeight()).eval()
    layer.dilation = (2, 2)  # nn.Conv2d attribute: not packed
    assert not K.conv_supported(layer.groups, layer.dilation, layer.padding, layer.padding_mode)
    x = torch.randn(1, 4, 6, 6)
    with torch.no_grad():
        with K.use_backend("float"):
            expected = layer(x)
        with K.use_backend("torch"):
            assert torch.equal(layer(x), expected)
    assert "_packed_weight" not in layer.__dict__


@pytest.mark.parametrize("backend", ["torch", "triton"])
def test_cnn_model_eval_equal_float(backend):
    torch.manual_seed(0)
    spec = ModelSpec(arch="svhn_cnn", width=0.08)
    model = build_model(spec, (3, 8, 8), 10)
    with torch.no_grad():
        model(torch.randn(8, 3, 8, 8))  # BatchNorm statistics
    device = TRITON_DEVICE if backend == "triton" else torch.device("cpu")
    model = model.eval().to(device)
    x = torch.randn(2, 3, 8, 8).to(device)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert sum(isinstance(m, BinaryConv2d) and m.xnor_eligible for m in convs) == len(convs) - 1
    with torch.no_grad():
        with K.use_backend("float"):
            expected = model(x)
        with K.use_backend(backend):
            out = model(x)
    assert torch.equal(out, expected)


def test_prepared_weight_int8_matrix_and_float_gemm(monkeypatch):
    weight = pm1(5, 6, 3, 2, seed=7)
    prepared = PackedConvWeight(weight)
    assert torch.equal(prepared.int8_matrix(), weight.reshape(5, -1).to(torch.int8))
    # the per-tap layout has padding bits between taps; every backend handles them
    x = pm1(2, 6, 5, 4, seed=8)
    cols = K.im2col_words(K.pack_input_channels(x), (3, 2), (1, 1), (0, 0))
    products = {b: K.packed_gemm(cols, prepared.bits, prepared.k, backend=b) for b in ("torch", "float")}
    assert torch.equal(products["torch"], products["float"])
    # a prepared weight on the Triton int8 path
    monkeypatch.setattr(dispatch, "XNOR_MAX_BATCH", 0)
    out = K.xnor_conv2d(
        x.to(TRITON_DEVICE), PackedConvWeight(weight.to(TRITON_DEVICE)), stride=(2, 1), padding=1, backend="triton"
    )
    assert torch.equal(out.cpu(), F.conv2d(x, weight, stride=(2, 1), padding=1))
