"""Packed export of a trained model: binary weights as bits, everything else as float tensors.

File format (``torch.save`` of plain containers, loadable with ``weights_only=True``)::

    {"format": "bnnrepro-packed", "version": 1,
     "spec": {ModelSpec fields}, "input_shape": [C, H, W], "num_classes": int,
     "packed": {"<layer>.weight": {"bits": int32 [O, ceil(K / 32)], "shape": [O, ...]}},
     "tensors": {"<name>": float tensor, ...},        # the rest of the state dict
     "metadata": {...}}                                # free-form, JSON-like

A weight is packed when its layer's weights are +-1 at inference
(``QuantLayerMixin.binary_weights_at_eval``), flattened to ``[O, K]`` with ``K = C * kh * kw``
for convolutions and packed 32 per int32 word (:func:`bnnrepro.kernels.packing.pack_bits`):
exactly the bytes :func:`bnnrepro.nn.summarize` reports as ``packed_bytes`` (BatchNorm's
``num_batches_tracked`` counters are not stored: they play no part in inference). Loading
rebuilds the model from its spec and sets each packed weight to its +-1 values; since the kernel
quantizer maps +-1 to itself, the loaded model's eval outputs equal the original's bit for bit.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from bnnrepro.io import torch_load, torch_save
from bnnrepro.kernels.packing import pack_bits, unpack_bits

if TYPE_CHECKING:
    import numpy as np

    from bnnrepro.kernels.cpu import CpuPackedWeight
    from bnnrepro.nn.layers import BinaryLinear
    from bnnrepro.nn.spec import ModelSpec

#: A layer's computation after its integer product, on float32 rows (:func:`_unit_function`).
UnitFunction = Callable[[torch.Tensor], torch.Tensor]

FORMAT = "bnnrepro-packed"
VERSION = 1
_SKIPPED_BUFFERS = ("num_batches_tracked",)


@dataclass
class PackedModel:
    """A model loaded by :func:`load_packed` (in eval mode) with what it was built from."""

    model: nn.Sequential
    spec: Any
    input_shape: tuple[int, ...]
    num_classes: int
    metadata: dict = field(default_factory=dict)


def _binary_weight_names(model: nn.Module) -> set[str]:
    from bnnrepro.nn.layers import QuantLayerMixin

    return {
        f"{name}.weight" if name else "weight"
        for name, m in model.named_modules()
        if isinstance(m, QuantLayerMixin) and m.binary_weights_at_eval
    }


def _spec_dict(spec: ModelSpec) -> dict:
    if not dataclasses.is_dataclass(spec):
        raise TypeError(f"spec must be the ModelSpec the model was built from, not {type(spec).__name__}")
    return {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}


def packed_state(model: nn.Module) -> tuple[dict, dict]:
    """``(packed, tensors)``: the binary weights as packed bits and the other state as is.

    A binary weight is stored as its eval-time values, ``kernel_quantizer(W)`` (``sign(W)``).
    """
    binary = _binary_weight_names(model)
    modules = dict(model.named_modules())
    packed, tensors = {}, {}
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if name.rsplit(".", 1)[-1] in _SKIPPED_BUFFERS:
                continue
            if name in binary:
                layer = modules[name.rsplit(".", 1)[0]] if "." in name else model
                quantizer = layer.kernel_quantizer
                assert isinstance(quantizer, nn.Module)  # the name is a binary layer's weight
                was_training = quantizer.training
                quantizer.eval()
                try:
                    values = quantizer(value)
                finally:
                    quantizer.train(was_training)
                packed[name] = {
                    "bits": pack_bits(values.reshape(values.shape[0], -1), strict=True).cpu(),
                    "shape": list(values.shape),
                }
            else:
                tensors[name] = value.detach().cpu().clone()
    return packed, tensors


def payload_bytes(packed: dict, tensors: dict) -> int:
    """Bytes of the stored tensors (bits + floats), to compare with ``summarize(model).packed_bytes``."""
    return sum(p["bits"].numel() * p["bits"].element_size() for p in packed.values()) + sum(
        t.numel() * t.element_size() for t in tensors.values()
    )


def save_packed(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    spec: ModelSpec,
    input_shape: Sequence[int],
    num_classes: int,
    metadata: dict | None = None,
) -> int:
    """Write ``model`` (built by ``build_model(spec, input_shape, num_classes)``) to ``path`` atomically.

    Returns the payload size in bytes (see :func:`payload_bytes`). Raises ``ValueError`` if the
    model's parameter shapes do not match a fresh ``build_model`` of the spec.
    """
    from bnnrepro.nn.models import build_model

    spec_fields = _spec_dict(spec)
    reference = build_model(spec, tuple(input_shape), int(num_classes)).state_dict()
    state = model.state_dict()
    mismatch = sorted(set(reference) ^ set(state)) or [k for k in reference if reference[k].shape != state[k].shape]
    if mismatch:
        raise ValueError(
            f"the model does not match build_model(spec, {tuple(input_shape)}, {num_classes}): "
            f"first differing entries {mismatch[:3]}; pass the spec, input shape and class "
            "count it was built with"
        )
    packed, tensors = packed_state(model)
    blob = {
        "format": FORMAT,
        "version": VERSION,
        "spec": spec_fields,
        "input_shape": list(input_shape),
        "num_classes": int(num_classes),
        "packed": packed,
        "tensors": tensors,
        "metadata": dict(metadata or {}),
    }
    torch_save(blob, path)
    return payload_bytes(packed, tensors)


def load_packed(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> PackedModel:
    """Rebuild the model saved by :func:`save_packed`, in eval mode, on ``map_location``."""
    from bnnrepro.nn.models import ModelSpec, build_model

    blob = torch_load(path, map_location="cpu")  # its seal checked, read weights-only
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{path} is not a packed bnnrepro model (no {FORMAT!r} header); write it with save_packed")
    if blob.get("version") != VERSION:
        raise ValueError(f"{path} has packed format version {blob.get('version')}, this code reads {VERSION}")
    spec_fields = dict(blob["spec"])
    for name in ("hidden", "dropout"):
        if isinstance(spec_fields.get(name), list):
            spec_fields[name] = tuple(spec_fields[name])
    spec = ModelSpec(**spec_fields)
    input_shape, num_classes = tuple(blob["input_shape"]), int(blob["num_classes"])
    model = build_model(spec, input_shape, num_classes)
    state = dict(blob["tensors"])
    for name, entry in blob["packed"].items():
        shape = tuple(entry["shape"])
        k = math.prod(shape[1:])
        state[name] = unpack_bits(entry["bits"], k).reshape(shape)
    result = model.load_state_dict(state, strict=False)
    unexpected = list(result.unexpected_keys)
    missing = [k for k in result.missing_keys if k.rsplit(".", 1)[-1] not in _SKIPPED_BUFFERS]
    if missing or unexpected:
        raise ValueError(f"{path} does not match its spec: missing {missing[:3]}, unexpected {unexpected[:3]}")
    model.to(map_location).eval()
    return PackedModel(model, spec, input_shape, num_classes, dict(blob.get("metadata", {})))


# --- fused packed inference --------------------------------------------------------------------


@dataclass
class SignLayer:
    """A hidden binary layer fused with its BatchNorm and the next layer's sign: packed bits in,
    packed bits out. Unit ``n`` outputs -1 iff ``(c >= thresholds[n]) != invert[n]``, with ``c`` the
    number of mismatching bits between the input and the unit's weights (dot product ``K - 2c``)."""

    weight: Any  # bnnrepro.kernels.cpu.CpuPackedWeight
    thresholds: Any  # numpy int64 [N]
    invert: Any  # numpy bool [N]


#: Rows of the threshold grid evaluated at once (memory: this many x units floats).
_GRID_ROWS = 1024


def _unit_function(modules: list[nn.Module], bias: torch.Tensor | None) -> UnitFunction:
    """``g(p) = modules(p + bias)`` on float32 rows: the float model's computation after an exact
    integer product ``p`` (BinaryLinear adds its bias after the product on every backend)."""

    def g(products: torch.Tensor) -> torch.Tensor:
        out = products if bias is None else products + bias
        for module in modules:
            out = module(out)
        return out

    return g


@torch.no_grad()
def sign_thresholds(k: int, g: UnitFunction, units: int) -> tuple[np.ndarray, np.ndarray]:
    """``(thresholds, invert)`` reproducing ``g(K - 2c) < 0`` (a -1 output after the sign) for every
    mismatch count ``c`` in ``0..K``, computed by evaluating ``g`` itself on every count, so that the
    fused layer agrees with the float model bit for bit.

    Every step of ``g`` (adding the bias, BatchNorm's affine map, which is ``x * scale + shift`` per
    unit) is monotone in its input under round-to-nearest, non-decreasing or non-increasing with
    the sign of the BatchNorm scale; so the counts that give -1 are a prefix or a suffix of
    ``0..K``, described by one integer and one flag. ``ValueError`` if a unit's are not (a
    non-monotone unit function, e.g. NaN statistics)."""
    import numpy as np

    negatives = torch.zeros(units, dtype=torch.int32)  # counts c with a -1 output
    changes = torch.zeros(units, dtype=torch.int32)  # places where the output flips along c
    first: torch.Tensor | None = None  # the output signs at c = 0
    previous: torch.Tensor | None = None
    for start in range(0, k + 1, _GRID_ROWS):
        counts = torch.arange(start, min(k + 1, start + _GRID_ROWS), dtype=torch.float32)
        products = (k - 2 * counts).unsqueeze(1).expand(-1, units).contiguous()
        negative = (g(products) < 0).to(torch.int32)
        if first is None:
            first = negative[0].bool()
        else:
            changes += negative[0] != previous
        changes += (negative[1:] != negative[:-1]).sum(0, dtype=torch.int32)
        negatives += negative.sum(0, dtype=torch.int32)
        previous = negative[-1]
    if first is None:
        raise ValueError(f"a layer of {k} inputs has no products to threshold")
    bad = (changes > 1).nonzero()
    if len(bad):
        raise ValueError(
            f"unit {int(bad[0, 0])}: its sign is not monotone in the product; the layer cannot be fused "
            "(check the BatchNorm statistics for NaN)"
        )
    # The -1 counts are a suffix c >= t (t = K + 1 - negatives; none: t = K + 1, all: t = 0) or,
    # when the output starts at -1 and flips, a prefix c < t (t = negatives), stored with invert.
    invert = first & (changes == 1)
    thresholds = torch.where(invert, negatives, k + 1 - negatives)
    return thresholds.numpy().astype(np.int64), invert.numpy().astype(np.bool_)


class FusedBinaryMLP:
    """A BinaryNet MLP (:func:`bnnrepro.nn.build_model` in ``binarynet`` mode) for packed CPU inference.

    * first layer (real pixels): the model's own float modules (Flatten, dense, BatchNorm), then the
      signs packed 64 per word;
    * hidden binary layers: :class:`SignLayer` (bits in, bits out, one integer threshold per unit);
    * last layer: the exact integer product, then the model's own bias and BatchNorm in float.

    The outputs equal the float model's in eval mode bit for bit: the first and last layers run the
    same float operations on the same values, and the thresholds reproduce every hidden sign
    (:func:`sign_thresholds`). Build it with :func:`fuse_binary_mlp`.
    """

    def __init__(
        self, front: list[nn.Module], hidden: list[SignLayer], last_weight: CpuPackedWeight, last_tail: UnitFunction
    ):
        self.front, self.hidden, self.last_weight, self.last_tail = front, hidden, last_weight, last_tail

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        from bnnrepro.kernels.cpu import pack_rows, products64, sign_layer64

        for module in self.front:
            x = module(x)
        bits = pack_rows(x)
        for layer in self.hidden:
            bits = sign_layer64(bits, layer.weight, layer.thresholds, layer.invert)
        products = torch.from_numpy(products64(bits, self.last_weight.bits, self.last_weight.k))
        return self.last_tail(products.to(torch.float32))

    @property
    def binary_layers(self) -> int:
        return len(self.hidden) + 1


def fuse_binary_mlp(model: nn.Module) -> FusedBinaryMLP:
    """The :class:`FusedBinaryMLP` of a BinaryNet MLP (eval mode, CPU). ``ValueError`` naming the
    obstacle for anything else: a convolution, a real activation between layers (binaryconnect or
    float modes), a {0, 1} activation, real weights at inference."""
    from bnnrepro.kernels.cpu import CpuPackedWeight
    from bnnrepro.nn.layers import BinaryLinear

    allowed = (nn.Flatten, nn.Dropout, BinaryLinear, nn.BatchNorm1d)
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"cannot fuse a {type(model).__name__}: the packed MLP takes a Sequential of layers")
    modules = list(model.eval().cpu())
    for module in modules:
        if not isinstance(module, allowed):
            raise ValueError(
                f"cannot fuse {type(module).__name__}: the packed MLP takes Flatten, Dropout, BinaryLinear and "
                "BatchNorm1d (a BinaryNet MLP)"
            )
    binary = {i: m for i, m in enumerate(modules) if isinstance(m, BinaryLinear)}
    linear = list(binary)
    if len(linear) < 2:
        raise ValueError("a packed MLP needs at least two dense layers (real input, binary products after it)")
    for i in linear:
        if not binary[i].binary_weights_at_eval:
            raise ValueError(f"layer {i} has real weights at inference; only binary-weight MLPs can be packed")
    for i in linear[1:]:
        if not binary[i].xnor_eligible:
            raise ValueError(f"layer {i} does not see +-1 inputs and weights at inference; it cannot be packed")

    def weight_of(layer: BinaryLinear) -> CpuPackedWeight:
        return CpuPackedWeight(layer.quantized_weight().detach().float())

    def bias_of(layer: BinaryLinear) -> torch.Tensor | None:
        return None if layer.bias is None else layer.bias.detach().float()

    hidden: list[SignLayer] = []
    for here, nxt in itertools.pairwise(linear[1:]):
        layer = binary[here]
        g = _unit_function(modules[here + 1 : nxt], bias_of(layer))
        thresholds, invert = sign_thresholds(layer.in_features, g, layer.out_features)
        hidden.append(SignLayer(weight_of(layer), thresholds, invert))
    last = binary[linear[-1]]
    tail = _unit_function(modules[linear[-1] + 1 :], bias_of(last))
    return FusedBinaryMLP(modules[: linear[1]], hidden, weight_of(last), tail)


__all__ = [
    "FORMAT",
    "VERSION",
    "FusedBinaryMLP",
    "PackedModel",
    "SignLayer",
    "fuse_binary_mlp",
    "load_packed",
    "packed_state",
    "payload_bytes",
    "save_packed",
    "sign_thresholds",
]
