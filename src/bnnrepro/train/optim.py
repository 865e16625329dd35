"""Optimiser, learning-rate schedule, weight clipping and losses of the BinaryNet recipe.

* Adam with one parameter group per binary layer's weight, whose learning rate is scaled by the
  layer's Glorot factor 1 / sqrt(1.5 / (fan_in + fan_out)) ("W_LR_scale" of the original code,
  which scaled the Adam *step* of W: identical to scaling its learning rate). Biases, BatchNorm
  and real-valued layers use the plain learning rate.
* Geometric decay per epoch from ``lr_start`` to ``lr_end``.
* Latent binary weights clipped to [-1, 1] after every step.
* L2 on the latent weights. The original penalty had no effect (its gradient was taken with respect
  to the binarized weights); here the penalty's gradient reaches the latent weights, as intended.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bnnrepro.nn.layers import BinaryLinear, binary_layers


def make_optimizer(model: nn.Module, lr: float, glorot_lr_scale: bool = True) -> torch.optim.Adam:
    """Adam with a ``lr_scale`` entry per parameter group (see :func:`set_learning_rate`)."""
    scaled = {id(layer.weight): layer for layer in binary_layers(model)}
    groups = []
    for layer in binary_layers(model):
        scale = layer.glorot_lr_scale if glorot_lr_scale else 1.0
        groups.append({"params": [layer.weight], "lr": lr * scale, "lr_scale": scale})
    rest = [p for p in model.parameters() if id(p) not in scaled]
    if rest:
        groups.append({"params": rest, "lr": lr, "lr_scale": 1.0})
    # foreach: one fused kernel call per group instead of one per tensor (fewer Python round trips).
    return torch.optim.Adam(groups, lr=lr, foreach=True)


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


class WeightClipper:
    """Clips the latent weights of binary layers to [-1, 1] in place (after each optimiser step)."""

    def __init__(self, model: nn.Module):
        self.weights = [layer.weight for layer in binary_layers(model)]

    @torch.no_grad()
    def __call__(self) -> None:
        if self.weights:
            torch._foreach_clamp_min_(self.weights, -1.0)
            torch._foreach_clamp_max_(self.weights, 1.0)


def l2_weights(model: nn.Module, scope: str = "dense") -> list[torch.Tensor]:
    """Latent weights the L2 penalty applies to: binary dense layers ('dense', as the original
    scripts) or all binary layers ('all'). Models without binary layers use their real weights."""
    layers = binary_layers(model)
    if not layers:  # float model: penalise its ordinary weights
        layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if scope == "dense":
        layers = [m for m in layers if isinstance(m, (BinaryLinear, nn.Linear))]
    return [m.weight for m in layers]


def squared_hinge(output: torch.Tensor, target_pm1: torch.Tensor) -> torch.Tensor:
    """BinaryNet's loss: ``mean(max(0, 1 - t * y) ** 2)`` over batch and classes, t in {-1, +1}."""
    return F.relu(1.0 - target_pm1 * output).square().mean()


def pm1_targets(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """One-hot targets mapped to +-1 (the squared hinge's targets)."""
    return F.one_hot(labels, num_classes).float().mul_(2.0).sub_(1.0)
