"""The BNN core: binarization functions, binary layers, model builders and the model summary."""

from bnnrepro.nn.layers import MODES, BinaryConv2d, BinaryLinear, QuantLayerMixin, binary_layers, layer_quantizers
from bnnrepro.nn.models import ARCHITECTURES, ModelSpec, build_model, count_parameters
from bnnrepro.nn.quantizers import (
    BINARIZATIONS,
    BinarySigmoid,
    SignSTE,
    SignWeight,
    SteSign,
    StochasticSignSTE,
    StochasticSignWeight,
    hard_sigmoid,
    ste_sign,
    stochastic_sign,
)
from bnnrepro.nn.summary import ModelSummary, packed_weight_bytes, summarize

__all__ = [
    "ARCHITECTURES", "BINARIZATIONS", "BinaryConv2d", "BinaryLinear", "BinarySigmoid", "MODES",
    "ModelSpec", "ModelSummary", "QuantLayerMixin", "SignSTE", "SignWeight", "SteSign",
    "StochasticSignSTE", "StochasticSignWeight", "binary_layers", "build_model", "count_parameters",
    "hard_sigmoid", "layer_quantizers", "packed_weight_bytes", "ste_sign", "stochastic_sign", "summarize",
]
