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
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from bnnrepro.io import torch_load, torch_save
from bnnrepro.kernels.packing import pack_bits, unpack_bits

if TYPE_CHECKING:
    from bnnrepro.nn.spec import ModelSpec

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


__all__ = ["FORMAT", "VERSION", "PackedModel", "load_packed", "packed_state", "payload_bytes", "save_packed"]
