"""The BNN core: binarization functions, binary layers, model builders, the model summary and the
packed model export.

:mod:`bnnrepro.nn.spec` (what defines a model) imports no torch; the names below are imported on
first use, so that validating settings or planning runs through ``bnnrepro.nn.spec`` stays light.
Type checkers see them through the ``TYPE_CHECKING`` imports, which never run.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bnnrepro.nn.export import PackedModel, load_packed, packed_state, payload_bytes, save_packed
    from bnnrepro.nn.layers import (
        BinaryConv2d,
        BinaryLinear,
        QuantLayerMixin,
        binary_layers,
        clear_packed_cache,
        layer_quantizers,
    )
    from bnnrepro.nn.models import build_model, count_parameters
    from bnnrepro.nn.quantizers import (
        BinarySigmoid,
        SignActivation,
        SignFunction,
        SignWeight,
        StochasticSignFunction,
        StochasticSignWeight,
        hard_sigmoid,
        ste_sign,
        stochastic_sign,
    )
    from bnnrepro.nn.spec import ACTIVATIONS, ARCHITECTURES, BINARIZATIONS, MODES, ModelSpec
    from bnnrepro.nn.summary import ModelSummary, packed_weight_bytes, summarize

_LAZY = {
    **dict.fromkeys(("ACTIVATIONS", "ARCHITECTURES", "BINARIZATIONS", "MODES", "ModelSpec"), "bnnrepro.nn.spec"),
    **dict.fromkeys(
        ("PackedModel", "load_packed", "packed_state", "payload_bytes", "save_packed"), "bnnrepro.nn.export"
    ),
    **dict.fromkeys(
        ("BinaryConv2d", "BinaryLinear", "QuantLayerMixin", "binary_layers", "clear_packed_cache", "layer_quantizers"),
        "bnnrepro.nn.layers",
    ),
    **dict.fromkeys(("build_model", "count_parameters"), "bnnrepro.nn.models"),
    **dict.fromkeys(
        (
            "BinarySigmoid",
            "SignActivation",
            "SignFunction",
            "SignWeight",
            "StochasticSignFunction",
            "StochasticSignWeight",
            "hard_sigmoid",
            "ste_sign",
            "stochastic_sign",
        ),
        "bnnrepro.nn.quantizers",
    ),
    **dict.fromkeys(("ModelSummary", "packed_weight_bytes", "summarize"), "bnnrepro.nn.summary"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURES",
    "BINARIZATIONS",
    "MODES",
    "BinaryConv2d",
    "BinaryLinear",
    "BinarySigmoid",
    "ModelSpec",
    "ModelSummary",
    "PackedModel",
    "QuantLayerMixin",
    "SignActivation",
    "SignFunction",
    "SignWeight",
    "StochasticSignFunction",
    "StochasticSignWeight",
    "binary_layers",
    "build_model",
    "clear_packed_cache",
    "count_parameters",
    "hard_sigmoid",
    "layer_quantizers",
    "load_packed",
    "packed_state",
    "packed_weight_bytes",
    "payload_bytes",
    "save_packed",
    "ste_sign",
    "stochastic_sign",
    "summarize",
]
