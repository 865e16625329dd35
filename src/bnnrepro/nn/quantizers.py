"""Binarization functions (autograd) and the quantizer modules built on them.

The split follows larq: a *quantizer* maps real values to their quantized form and defines the
gradient that flows back (a straight-through estimator, STE); layers take an ``input_quantizer``
and a ``kernel_quantizer``. All quantizers here produce +-1 (or {0, 1} for ``BinarySigmoid``).

Conventions of BinaryNet (Courbariaux et al. 2016) and its Theano code:

* deterministic binarization is ``sign`` with sign(0) = +1;
* stochastic binarization draws +1 with probability ``hard_sigmoid(x) = clip((x + 1) / 2, 0, 1)``
  (fresh noise on every forward pass);
* for activations the STE passes the gradient where |x| <= 1 and zeroes it elsewhere
  (the gradient of hard tanh);
* for weights the gradient with respect to the binarized weights is applied to the latent real
  weights unchanged (they are clipped to [-1, 1] after each step, so no cut-off is needed).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from bnnrepro.kernels.packing import sign_pm1


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """``clip((x + 1) / 2, 0, 1)``."""
    return ((x + 1.0) * 0.5).clamp_(0.0, 1.0)


class SignSTE(torch.autograd.Function):
    """Forward ``sign(x)`` with sign(0) = +1. Backward: ``grad * (|x| <= clip_value)``.

    ``clip_value = inf`` gives the identity STE used for weights.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, clip_value: float) -> torch.Tensor:
        if math.isfinite(clip_value):
            ctx.save_for_backward(x)
        ctx.clip_value = clip_value
        return sign_pm1(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        if not math.isfinite(ctx.clip_value):
            return grad, None
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= ctx.clip_value).to(grad.dtype), None


class StochasticSignSTE(torch.autograd.Function):
    """Forward: +1 with probability ``hard_sigmoid(x)``, else -1 (uses the global torch RNG).
    Backward: as :class:`SignSTE`."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, clip_value: float) -> torch.Tensor:
        if math.isfinite(clip_value):
            ctx.save_for_backward(x)
        ctx.clip_value = clip_value
        # +1 iff u < p for u ~ U[0, 1): sign(u - p) is -1 there, so negate; u == p gives -1.
        return sign_pm1(torch.rand_like(x).sub_(hard_sigmoid(x))).neg_()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return SignSTE.backward(ctx, grad)


class BinarySigmoidSTE(torch.autograd.Function):
    """Forward: 1 if x >= 0 else 0 (``round(hard_sigmoid(x))`` of the original code's
    "sigmoid" activations). Backward: the gradient of hard_sigmoid, ``0.5 * grad * (|x| <= 1)``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1.0).to(grad.dtype) * 0.5


def ste_sign(x: torch.Tensor, clip_value: float = 1.0) -> torch.Tensor:
    """Deterministic sign with the clipped straight-through estimator."""
    return SignSTE.apply(x, clip_value)


def stochastic_sign(x: torch.Tensor, clip_value: float = math.inf) -> torch.Tensor:
    """Stochastic (hard-sigmoid Bernoulli) binarization to +-1."""
    return StochasticSignSTE.apply(x, clip_value)


class Quantizer(nn.Module):
    """Base class. ``pm1_at_eval`` is True when the output in eval mode is exactly +-1, so a layer
    whose input and kernel quantizers both have it can run on the xnor-popcount kernel."""

    pm1_at_eval: bool = True
    #: True if the quantizer changes the values at eval time (False: identity at eval).
    binary_at_eval: bool = True


class SteSign(Quantizer):
    """Deterministic sign activation, STE cut off at ``|x| > clip_value``."""

    def __init__(self, clip_value: float = 1.0):
        super().__init__()
        self.clip_value = clip_value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return SignSTE.apply(x, self.clip_value)

    def extra_repr(self) -> str:
        return f"clip_value={self.clip_value}"


class SignWeight(Quantizer):
    """Deterministic weight binarization: sign(W), gradient passed to W unchanged."""

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return SignSTE.apply(w, math.inf)


class StochasticSignWeight(Quantizer):
    """Stochastic weight binarization (resampled on every forward pass in training).

    At eval time the original code used the real-valued weights (``eval_weights="real"``);
    ``eval_weights="sign"`` uses sign(W) instead, which makes the layer fully binary at inference.
    """

    def __init__(self, eval_weights: str = "real"):
        super().__init__()
        if eval_weights not in ("real", "sign"):
            raise ValueError(f"eval_weights must be 'real' or 'sign', not {eval_weights!r}")
        self.eval_weights = eval_weights
        self.pm1_at_eval = self.binary_at_eval = eval_weights == "sign"

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        if self.training:
            return StochasticSignSTE.apply(w, math.inf)
        if self.eval_weights == "sign":
            return SignSTE.apply(w, math.inf)
        return w

    def extra_repr(self) -> str:
        return f"eval_weights={self.eval_weights!r}"


class BinarySigmoid(Quantizer):
    """{0, 1} activation of the original memorization scripts' stochastic variants."""

    pm1_at_eval = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return BinarySigmoidSTE.apply(x)


ACTIVATION_QUANTIZERS = {"sign": SteSign, "binary_sigmoid": BinarySigmoid}
BINARIZATIONS = ("det", "stoch")


def weight_quantizer(binarization: str, stochastic_eval: str = "real") -> Quantizer:
    """The kernel quantizer for ``binarization`` in {'det', 'stoch'}."""
    if binarization == "det":
        return SignWeight()
    if binarization == "stoch":
        return StochasticSignWeight(stochastic_eval)
    raise ValueError(f"binarization must be one of {BINARIZATIONS}, not {binarization!r}")


def activation_quantizer(name: str) -> Quantizer:
    """The input quantizer of a binary layer: 'sign' (+-1) or 'binary_sigmoid' ({0, 1})."""
    try:
        return ACTIVATION_QUANTIZERS[name]()
    except KeyError:
        raise ValueError(f"activation must be one of {tuple(ACTIVATION_QUANTIZERS)}, not {name!r}") from None
