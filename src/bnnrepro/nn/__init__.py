"""The BNN core: binarization functions, binary layers, model builders, the model summary and the
packed model export.

:mod:`bnnrepro.nn.spec` (what defines a model) imports no torch; the names below are imported on
first use, so that validating settings or planning runs through ``bnnrepro.nn.spec`` stays light.
"""

from __future__ import annotations

import importlib

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
            "SignSTE",
            "SignWeight",
            "SteSign",
            "StochasticSignSTE",
            "StochasticSignWeight",
            "hard_sigmoid",
            "ste_sign",
            "stochastic_sign",
        ),
        "bnnrepro.nn.quantizers",
    ),
    **dict.fromkeys(("ModelSummary", "packed_weight_bytes", "summarize"), "bnnrepro.nn.summary"),
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_LAZY)
