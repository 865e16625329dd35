"""The BNN core: binarization functions, binary layers, model builders, the model summary and the
packed model export."""

from bnnrepro.nn.export import PackedModel, load_packed, packed_state, payload_bytes, save_packed
from bnnrepro.nn.layers import (
    MODES,
    BinaryConv2d,
    BinaryLinear,
    QuantLayerMixin,
    binary_layers,
    clear_packed_cache,
    layer_quantizers,
)
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
    "ModelSpec", "ModelSummary", "PackedModel", "QuantLayerMixin", "SignSTE", "SignWeight", "SteSign",
    "StochasticSignSTE", "StochasticSignWeight", "binary_layers", "build_model", "clear_packed_cache",
    "count_parameters", "hard_sigmoid", "layer_quantizers", "load_packed", "packed_state", "packed_weight_bytes",
    "payload_bytes", "save_packed", "ste_sign", "stochastic_sign", "summarize",
]
