"""What defines a model, without torch: architectures, modes, binarizations and activations by name,
and :class:`ModelSpec`. Settings are validated (and dry runs planned) from here without importing torch;
:mod:`bnnrepro.nn.models` turns a spec into layers.

The architectures are those of the original code: BinaryNet's MNIST MLP and CIFAR-10/SVHN CNNs
(Courbariaux et al. 2016), BinaryConnect's MLP (Courbariaux et al. 2015), the Fashion-MNIST MLPs of
Srivastava & Chatterjee's report, and a free MLP whose hidden sizes come from ``hidden``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Layer modes: BinaryNet (binary weights and activations), BinaryConnect (binary weights, real
#: activations), float (the same recipe with real weights).
MODES = ("binarynet", "binaryconnect", "float")
#: Kernel quantizers: deterministic sign, stochastic sign, or real weights with the same recipe.
BINARIZATIONS = ("det", "stoch", "real")
#: Input quantizers of binary layers: +-1 sign, or the {0, 1} "binary sigmoid" of the stochastic scripts.
ACTIVATIONS = ("sign", "binary_sigmoid")
#: Real activations of the binaryconnect and float modes.
FLOAT_ACTIVATIONS = ("relu", "hardtanh")
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
    "fashion_mlp_128": Architecture("784-128-10 MLP of the Fashion-MNIST report (Srivastava & Chatterjee)", (128,)),
    "fashion_mlp_1024": Architecture("784-1024-10 MLP of the Fashion-MNIST report (Srivastava & Chatterjee)", (1024,)),
    "binarynet_mlp": Architecture("BinaryNet MNIST MLP: 3 x 4096", (4096, 4096, 4096)),
    "binaryconnect_mlp": Architecture("BinaryConnect MNIST MLP: 3 x 1024", (1024, 1024, 1024)),
    "cifar10_cnn": Architecture(
        "BinaryNet CIFAR-10 CNN: 2x128C3-MP2-2x256C3-MP2-2x512C3-MP2-1024FC-1024FC",
        (1024, 1024),
        (128, 128, POOL, 256, 256, POOL, 512, 512, POOL),
    ),
    "svhn_cnn": Architecture(
        "BinaryNet SVHN CNN (half width): 2x64C3-MP2-2x128C3-MP2-2x256C3-MP2-1024FC-1024FC",
        (1024, 1024),
        (64, 64, POOL, 128, 128, POOL, 256, 256, POOL),
    ),
}


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

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"arch must be one of {tuple(ARCHITECTURES)}, not {self.arch!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        if self.binarization not in BINARIZATIONS:
            raise ValueError(f"binarization must be one of {BINARIZATIONS}, not {self.binarization!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}")
        if self.float_activation not in FLOAT_ACTIVATIONS:
            raise ValueError(f"float_activation must be one of {FLOAT_ACTIVATIONS}")
        if self.width <= 0:
            raise ValueError("width must be positive")

    def dense_sizes(self) -> tuple[int, ...]:
        """Hidden dense sizes at this width."""
        base = self.hidden if (self.hidden and self.arch == "mlp") else ARCHITECTURES[self.arch].dense
        return tuple(_scaled(n, self.width) for n in base)

    def conv_channels(self) -> tuple:
        """Conv channels at this width, with ``"M"`` for each 2x2 max pool."""
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
    return max(1, round(n * width))


__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURES",
    "BINARIZATIONS",
    "FLOAT_ACTIVATIONS",
    "MODES",
    "POOL",
    "Architecture",
    "ModelSpec",
]
