"""Binary dense and convolution layers.

A layer holds real-valued *latent* weights. In the forward pass its ``kernel_quantizer``
binarizes them and its ``input_quantizer`` binarizes the incoming activations (larq's split):

=================  ===================  ====================
mode               input_quantizer      kernel_quantizer
=================  ===================  ====================
``binarynet``      sign (None on the    sign / stochastic
                   first layer)
``binaryconnect``  None (real inputs)   sign / stochastic
``float``          None                 None
=================  ===================  ====================

Layers with a kernel quantizer are *binary layers*: their latent weights are initialised
Uniform(-1, 1), get the Glorot learning-rate scale and are clipped to [-1, 1] after each step
(see :mod:`bnnrepro.train.optim`).

In eval mode a layer whose inputs and weights are both +-1 can compute its product with the
xnor-popcount kernel instead of a float matmul (exactly equal), through the kernels' public
inference interface: the layer prepares (and caches) its packed weights and calls
:func:`bnnrepro.kernels.packed_linear` / :func:`~bnnrepro.kernels.packed_conv2d` with the backend
:func:`bnnrepro.kernels.inference_backend` picks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from bnnrepro import kernels
from bnnrepro.nn.quantizers import Quantizer, activation_quantizer, weight_quantizer
from bnnrepro.nn.spec import MODES


class QuantLayerMixin:
    """Shared logic of :class:`BinaryLinear` and :class:`BinaryConv2d`."""

    input_quantizer: Quantizer | None
    kernel_quantizer: Quantizer | None
    # Provided by the torch layer the mixin is combined with.
    weight: torch.Tensor
    training: bool

    def _init_quantized(self, input_quantizer: Quantizer | None, kernel_quantizer: Quantizer | None) -> None:
        self.input_quantizer = input_quantizer
        self.kernel_quantizer = kernel_quantizer
        if kernel_quantizer is not None:
            # BinaryNet: latent weights ~ Uniform(-H, H) with H = 1.
            nn.init.uniform_(self.weight, -1.0, 1.0)

    @property
    def is_binary(self) -> bool:
        """True if the weights are binarized in training (a *binary layer*)."""
        return self.kernel_quantizer is not None

    @property
    def fan_in_out(self) -> tuple[int, int]:
        w = self.weight
        receptive = math.prod(w.shape[2:]) if w.dim() > 2 else 1
        return w.shape[1] * receptive, w.shape[0] * receptive

    @property
    def glorot_lr_scale(self) -> float:
        """BinaryNet's per-layer learning-rate scale: 1 / sqrt(1.5 / (fan_in + fan_out))."""
        fan_in, fan_out = self.fan_in_out
        return 1.0 / math.sqrt(1.5 / (fan_in + fan_out))

    @property
    def binary_weights_at_eval(self) -> bool:
        return self.kernel_quantizer is not None and self.kernel_quantizer.binary_at_eval

    @property
    def xnor_eligible(self) -> bool:
        """True if, in eval mode, both operands are exactly +-1 (xnor-popcount applies)."""
        return (
            self.input_quantizer is not None
            and self.input_quantizer.pm1_at_eval
            and self.kernel_quantizer is not None
            and self.kernel_quantizer.pm1_at_eval
        )

    def quantized_weight(self) -> torch.Tensor:
        w = self.weight
        if self.kernel_quantizer is None:
            return w
        if self.training or torch.is_grad_enabled():
            return self.kernel_quantizer(w)
        # Inference: binarizing all weights on every call dominates small batches (a 784x1024
        # sign per image), so keep the quantized copy until the weights change.
        key = (-1 if w.is_inference() else w._version, w.data_ptr(), id(self.kernel_quantizer))
        cached = self.__dict__.get("_eval_weight")
        if cached is None or cached[0] != key:
            cached = (key, self.kernel_quantizer(w))
            self.__dict__["_eval_weight"] = cached
        return cached[1]

    def quantized_input(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.input_quantizer is None else self.input_quantizer(x)

    def _needs_grad(self, x: torch.Tensor) -> bool:
        return torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad)

    def _prepared_weight(self, prepare: Callable[[torch.Tensor], Any]) -> Any:
        """The +-1 weights prepared for the packed kernels by ``prepare`` (a kernels class), kept
        until the weights change (keyed on the weight's version counter and storage)."""
        w = self.weight
        # Inference tensors (made under torch.inference_mode) have no version counter; they cannot
        # be modified outside inference mode, so their storage identifies them.
        key = (-1 if w.is_inference() else w._version, w.data_ptr(), w.device, w.dtype, id(self.kernel_quantizer))
        cached = self.__dict__.get("_packed_weight")
        if cached is None or cached[0] != key:
            with torch.no_grad():
                cached = (key, prepare(self.quantized_weight()))
            self.__dict__["_packed_weight"] = cached
        return cached[1]

    def clear_packed_weight(self) -> None:
        """Drop the prepared weights (needed only after editing ``weight.data`` in eval mode)."""
        self.__dict__.pop("_packed_weight", None)


class BinaryLinear(QuantLayerMixin, nn.Linear):
    """Dense layer with optional input and kernel quantizers (see the module docstring)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        input_quantizer: Quantizer | None = None,
        kernel_quantizer: Quantizer | None = None,
    ):
        nn.Linear.__init__(self, in_features, out_features, bias=bias)
        self._init_quantized(input_quantizer, kernel_quantizer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.clear_packed_weight()  # weights change every step
            return F.linear(self.quantized_input(x), self.quantized_weight(), self.bias)
        qx = self.quantized_input(x)
        if not self.xnor_eligible:
            return F.linear(qx, self.quantized_weight(), self.bias)
        # Inference on +-1 operands: the exact product, packed or float, then the bias (so that
        # every backend gives the same bits; see bnnrepro.kernels.dispatch).
        rows = x.numel() // max(1, x.shape[-1])
        backend = kernels.inference_backend(
            x.device, shape=(rows, self.out_features, self.in_features), needs_grad=self._needs_grad(x)
        )
        if backend == "float":
            out = F.linear(qx, self.quantized_weight())
            return out if self.bias is None else out + self.bias
        return kernels.packed_linear(qx, self._prepared_weight(kernels.PackedLinearWeight), self.bias, backend=backend)


class BinaryConv2d(QuantLayerMixin, nn.Conv2d):
    """2-d convolution with optional input and kernel quantizers. Zero padding is applied after
    the input quantizer, so a padded position contributes 0 (not +-1), as in the original code."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        bias: bool = True,
        *,
        input_quantizer: Quantizer | None = None,
        kernel_quantizer: Quantizer | None = None,
    ):
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=bias)
        self._init_quantized(input_quantizer, kernel_quantizer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.clear_packed_weight()
            return self._conv_forward(self.quantized_input(x), self.quantized_weight(), self.bias)
        qx = self.quantized_input(x)
        if not self.xnor_eligible:
            return self._conv_forward(qx, self.quantized_weight(), self.bias)
        backend = kernels.inference_backend(x.device, needs_grad=self._needs_grad(x))
        padding = self.padding  # conv_supported refuses a padding given by name ("same"), as this check does
        if (
            backend != "float"
            and isinstance(padding, tuple)
            and kernels.conv_supported(self.groups, self.dilation, padding, self.padding_mode)
        ):
            return kernels.packed_conv2d(
                qx,
                self._prepared_weight(kernels.PackedConvWeight),
                self.bias,
                stride=tuple(self.stride),
                padding=padding,
                backend=backend,
            )
        out = self._conv_forward(qx, self.quantized_weight(), None)
        return out if self.bias is None else out + self.bias.view(-1, 1, 1)


def layer_quantizers(
    mode: str,
    binarization: str = "det",
    *,
    first: bool = False,
    activation: str = "sign",
    stochastic_eval: str = "real",
) -> tuple[Quantizer | None, Quantizer | None]:
    """(input_quantizer, kernel_quantizer) of one layer for ``mode`` (see the module docstring)."""
    if mode == "float":
        return None, None
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    kernel = weight_quantizer(binarization, stochastic_eval)
    if mode == "binaryconnect" or first:
        return None, kernel
    return activation_quantizer(activation), kernel


def binary_layers(model: nn.Module) -> list[QuantLayerMixin]:
    """All layers of ``model`` with binarized weights, in module order."""
    return [m for m in model.modules() if isinstance(m, QuantLayerMixin) and m.is_binary]


def clear_packed_cache(model: nn.Module) -> None:
    """Drop the prepared packed weights of every layer of ``model`` (after editing weights
    through ``.data`` in eval mode; training-mode forwards drop them anyway)."""
    for m in model.modules():
        if isinstance(m, QuantLayerMixin):
            m.clear_packed_weight()
