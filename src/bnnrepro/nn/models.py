"""Model builders for every architecture of the study (papers.md), with a width multiplier.

Block order follows BinaryNet's Theano code: ``Layer -> [MaxPool] -> [Dropout] -> BatchNorm ->
activation``; the output layer is ``Dense(classes) -> BatchNorm`` with no activation. In
``binarynet`` mode the hidden activation is the sign applied by the *next* layer's input
quantizer; in ``binaryconnect`` and ``float`` modes it is an explicit real activation (ReLU).
BatchNorm uses eps = 1e-4 and running-average factor 0.1, as the original.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from bnnrepro.nn.layers import MODES, BinaryConv2d, BinaryLinear, layer_quantizers
from bnnrepro.nn.quantizers import ACTIVATION_QUANTIZERS, BINARIZATIONS

BN_EPS = 1e-4
BN_MOMENTUM = 0.1
POOL = "M"


@dataclass(frozen=True)
class Architecture:
    """Hidden layer sizes of an architecture at width 1. ``conv`` lists 3x3 (pad 1) conv
    channels with ``"M"`` for a 2x2 max pool; ``dense`` lists hidden dense units."""

    description: str
    dense: tuple[int, ...]
    conv: tuple = ()


ARCHITECTURES: dict[str, Architecture] = {
    "mlp": Architecture("MLP with the hidden sizes given by `hidden` (default 1024)", (1024,)),
    "fashion_mlp_128": Architecture("784-128-10 MLP of the Fashion-MNIST report (seed 003)", (128,)),
    "fashion_mlp_1024": Architecture("784-1024-10 MLP of the Fashion-MNIST report (seed 003)", (1024,)),
    "binarynet_mlp": Architecture("BinaryNet MNIST MLP: 3 x 4096", (4096, 4096, 4096)),
    "binaryconnect_mlp": Architecture("BinaryConnect MNIST MLP: 3 x 1024", (1024, 1024, 1024)),
    "cifar10_cnn": Architecture("BinaryNet CIFAR-10 CNN: 2x128C3-MP2-2x256C3-MP2-2x512C3-MP2-1024FC-1024FC",
                                (1024, 1024), (128, 128, POOL, 256, 256, POOL, 512, 512, POOL)),
    "svhn_cnn": Architecture("BinaryNet SVHN CNN (half width): 2x64C3-MP2-2x128C3-MP2-2x256C3-MP2-1024FC-1024FC",
                             (1024, 1024), (64, 64, POOL, 128, 128, POOL, 256, 256, POOL)),
}

FLOAT_ACTIVATIONS = {"relu": nn.ReLU, "hardtanh": nn.Hardtanh}


@dataclass(frozen=True)
class ModelSpec:
    """Everything that defines a model (apart from the data's shape and class count)."""

    arch: str = "mlp"
    mode: str = "binarynet"
    binarization: str = "det"
    width: float = 1.0
    hidden: tuple[int, ...] | None = None
    dropout: tuple[float, ...] = field(default_factory=tuple)
    input_dropout: float = 0.0
    activation: str = "sign"
    float_activation: str = "relu"
    stochastic_eval: str = "real"

    def __post_init__(self):
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"arch must be one of {tuple(ARCHITECTURES)}, not {self.arch!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        if self.binarization not in BINARIZATIONS:
            raise ValueError(f"binarization must be one of {BINARIZATIONS}, not {self.binarization!r}")
        if self.activation not in ACTIVATION_QUANTIZERS:
            raise ValueError(f"activation must be one of {tuple(ACTIVATION_QUANTIZERS)}")
        if self.float_activation not in FLOAT_ACTIVATIONS:
            raise ValueError(f"float_activation must be one of {tuple(FLOAT_ACTIVATIONS)}")
        if self.width <= 0:
            raise ValueError("width must be positive")

    def dense_sizes(self) -> tuple[int, ...]:
        base = self.hidden if (self.hidden and self.arch == "mlp") else ARCHITECTURES[self.arch].dense
        return tuple(_scaled(n, self.width) for n in base)

    def conv_channels(self) -> tuple:
        return tuple(c if c == POOL else _scaled(c, self.width) for c in ARCHITECTURES[self.arch].conv)

    def dropout_rates(self) -> tuple[float, ...]:
        """One rate per hidden dense layer (a single value applies to all)."""
        n = len(self.dense_sizes())
        rates = tuple(self.dropout) or (0.0,)
        if len(rates) == 1:
            rates = rates * n
        if len(rates) != n:
            raise ValueError(f"dropout lists {len(rates)} rates for {n} hidden dense layers of {self.arch}")
        return rates


def _scaled(n: int, width: float) -> int:
    return max(1, int(round(n * width)))


def _bn(num: int, dims: int) -> nn.Module:
    cls = nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d
    return cls(num, eps=BN_EPS, momentum=BN_MOMENTUM)


def build_model(spec: ModelSpec, input_shape: tuple[int, ...], num_classes: int) -> nn.Sequential:
    """Build the model of ``spec`` for inputs of ``input_shape`` (C, H, W) and ``num_classes``."""
    layers: list[nn.Module] = []
    first = True

    def quantizers():
        nonlocal first
        q = layer_quantizers(spec.mode, spec.binarization, first=first, activation=spec.activation,
                             stochastic_eval=spec.stochastic_eval)
        first = False
        return q

    def real_activation():
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

