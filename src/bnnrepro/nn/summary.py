"""Model summary: binary vs float parameter counts and memory, fp32 vs bit-packed.

A weight counts as *binary* when it is +-1 at inference (deterministic sign, or stochastic with
``eval_weights="sign"``); packed, it takes one bit, stored 32 to an int32 word along the reduction
axis (``ceil(K / 32) * 4`` bytes per output unit, as :mod:`bnnrepro.kernels` packs it). Everything
else (biases, BatchNorm parameters and running statistics, real-valued weights) stays float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import nn

from bnnrepro.nn.layers import QuantLayerMixin

if TYPE_CHECKING:
    import pandas as pd

FLOAT_BYTES = 4


def packed_weight_bytes(out_units: int, reduction: int) -> int:
    """Bytes of a (out_units x reduction) +-1 matrix packed 32 per int32 word along the reduction."""
    return out_units * math.ceil(reduction / 32) * 4


@dataclass
class LayerSummary:
    name: str
    kind: str
    shape: str
    binary_params: int
    float_params: int

    packed_bytes: int = 0

    @property
    def fp32_bytes(self) -> int:
        return FLOAT_BYTES * (self.binary_params + self.float_params)


@dataclass
class ModelSummary:
    layers: list[LayerSummary]

    @property
    def binary_params(self) -> int:
        return sum(layer.binary_params for layer in self.layers)

    @property
    def float_params(self) -> int:
        return sum(layer.float_params for layer in self.layers)

    @property
    def fp32_bytes(self) -> int:
        return sum(layer.fp32_bytes for layer in self.layers)

    @property
    def packed_bytes(self) -> int:
        return sum(layer.packed_bytes for layer in self.layers)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        rows = [
            dict(
                layer=layer.name,
                kind=layer.kind,
                shape=layer.shape,
                binary_params=layer.binary_params,
                float_params=layer.float_params,
                fp32_bytes=layer.fp32_bytes,
                packed_bytes=layer.packed_bytes,
            )
            for layer in self.layers
        ]
        rows.append(
            dict(
                layer="total",
                kind="",
                shape="",
                binary_params=self.binary_params,
                float_params=self.float_params,
                fp32_bytes=self.fp32_bytes,
                packed_bytes=self.packed_bytes,
            )
        )
        return pd.DataFrame(rows)

    def format(self) -> str:
        frame = self.to_frame()
        ratio = self.fp32_bytes / self.packed_bytes if self.packed_bytes else float("nan")
        return (
            frame.to_string(index=False) + f"\n{self.binary_params:,} binary + {self.float_params:,} float parameters; "
            f"{self.fp32_bytes / 1024:,.1f} KiB as fp32, {self.packed_bytes / 1024:,.1f} KiB packed "
            f"({ratio:.1f}x smaller)"
        )


def summarize(model: nn.Module) -> ModelSummary:
    """Per-layer parameter counts and bytes of ``model`` (layers with parameters or buffers)."""
    layers = []
    for name, module in model.named_modules():
        own_params = list(module.parameters(recurse=False))
        own_buffers = [b for n, b in module.named_buffers(recurse=False) if n != "num_batches_tracked"]
        if not own_params and not own_buffers:
            continue
        binary = packed = 0
        floats = sum(b.numel() for b in own_buffers)
        for pname, p in module.named_parameters(recurse=False):
            if pname == "weight" and isinstance(module, QuantLayerMixin) and module.binary_weights_at_eval:
                binary += p.numel()
                packed += packed_weight_bytes(p.shape[0], p[0].numel())
            else:
                floats += p.numel()
        packed += FLOAT_BYTES * floats
        shape = (
            "x".join(str(s) for s in module.weight.shape)
            if hasattr(module, "weight") and module.weight is not None
            else ""
        )
        layers.append(LayerSummary(name, type(module).__name__, shape, binary, floats, packed))
    return ModelSummary(layers)
