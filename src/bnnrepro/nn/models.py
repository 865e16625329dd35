"""Model builders for every architecture of the study (:mod:`bnnrepro.nn.spec`), with a width multiplier.

Block order follows BinaryNet's Theano code: ``Layer -> [MaxPool] -> [Dropout] -> BatchNorm ->
activation``; the output layer is ``Dense(classes) -> BatchNorm`` with no activation. In
``binarynet`` mode the hidden activation is the sign applied by the *next* layer's input
quantizer; in ``binaryconnect`` and ``float`` modes it is an explicit real activation (ReLU).
BatchNorm uses eps = 1e-4 and running-average factor 0.1, as the original.
"""

from __future__ import annotations

from torch import nn

from bnnrepro.nn.layers import BinaryConv2d, BinaryLinear, layer_quantizers
from bnnrepro.nn.quantizers import Quantizer
from bnnrepro.nn.spec import ARCHITECTURES, POOL, Architecture, ModelSpec

BN_EPS = 1e-4
BN_MOMENTUM = 0.1
FLOAT_ACTIVATIONS = {"relu": nn.ReLU, "hardtanh": nn.Hardtanh}


def _bn(num: int, dims: int) -> nn.Module:
    cls = nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d
    return cls(num, eps=BN_EPS, momentum=BN_MOMENTUM)


def build_model(spec: ModelSpec, input_shape: tuple[int, ...], num_classes: int) -> nn.Sequential:
    """Build the model of ``spec`` for inputs of ``input_shape`` (C, H, W) and ``num_classes``."""
    layers: list[nn.Module] = []
    first = True

    def quantizers() -> tuple[Quantizer | None, Quantizer | None]:
        nonlocal first
        q = layer_quantizers(
            spec.mode, spec.binarization, first=first, activation=spec.activation, stochastic_eval=spec.stochastic_eval
        )
        first = False
        return q

    def real_activation() -> None:
        if spec.mode != "binarynet":
            layers.append(FLOAT_ACTIVATIONS[spec.float_activation]())

    channels, height, width = input_shape
    convs = spec.conv_channels()
    for i, c in enumerate(convs):
        if c == POOL:
            continue
        in_q, k_q = quantizers()
        layers.append(BinaryConv2d(channels, c, 3, padding=1, input_quantizer=in_q, kernel_quantizer=k_q))
        if i + 1 < len(convs) and convs[i + 1] == POOL:
            layers.append(nn.MaxPool2d(2))
            height, width = height // 2, width // 2
        layers.append(_bn(c, 2))
        real_activation()
        channels = c

    layers.append(nn.Flatten())
    features = channels * height * width
    if spec.input_dropout and not convs:
        layers.append(nn.Dropout(spec.input_dropout))
    for units, rate in zip(spec.dense_sizes(), spec.dropout_rates()):
        in_q, k_q = quantizers()
        layers.append(BinaryLinear(features, units, input_quantizer=in_q, kernel_quantizer=k_q))
        if rate:
            layers.append(nn.Dropout(rate))
        layers.append(_bn(units, 1))
        real_activation()
        features = units
    in_q, k_q = quantizers()
    layers.append(BinaryLinear(features, num_classes, input_quantizer=in_q, kernel_quantizer=k_q))
    layers.append(_bn(num_classes, 1))
    return nn.Sequential(*layers)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def describe(model: nn.Module) -> str:
    """One line per layer: a compact text form of ``model`` for logs."""
    return "\n".join(f"{name:>4} {module!r}" for name, module in model.named_children())


__all__ = ["ARCHITECTURES", "Architecture", "ModelSpec", "build_model", "count_parameters", "describe"]
