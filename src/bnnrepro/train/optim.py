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


class Adam:
    """Adam (Kingma & Ba 2015) with per-group learning rates: the update of
    ``torch.optim.Adam(fused=True)``, through the same kernel (``torch._fused_adam_``).

    Why not ``torch.optim.Adam`` itself: constructing any ``torch.optim`` optimizer imports
    ``torch._dynamo``, which takes 2.6 s per process on the 2-core reference machine; the workflow
    starts a fresh process for each of its ~100 short runs, so that import alone would cost
    minutes. The fused kernel makes one pass over each tensor (4x faster than the unfused
    elementwise ops for a 784x1024 layer). tests/test_train.py checks that the updates equal
    torch.optim.Adam's.

    ``param_groups`` is a list of dicts with ``params``, ``lr`` and any extra keys (``lr_scale``);
    ``state_dict`` / ``load_state_dict`` make checkpoints resumable.
    """

    def __init__(self, groups: list[dict], betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.param_groups = [dict(group, params=list(group["params"])) for group in groups]
        self.betas, self.eps = betas, eps
        self.state: dict[int, dict] = {}  # by position of the parameter over all groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        index = 0
        for group in self.param_groups:
            params, grads, avgs, avg_sqs, steps = [], [], [], [], []
            for p in group["params"]:
                if p.grad is not None:
                    state = self.state.get(index)
                    if state is None:
                        state = self.state[index] = {"step": torch.zeros((), dtype=torch.float32),
                                                     "exp_avg": torch.zeros_like(p),
                                                     "exp_avg_sq": torch.zeros_like(p)}
                    params.append(p)
                    grads.append(p.grad)
                    avgs.append(state["exp_avg"])
                    avg_sqs.append(state["exp_avg_sq"])
                    steps.append(state["step"])
                index += 1
            if not params:
                continue
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(params, grads, avgs, avg_sqs, [], steps, lr=group["lr"], beta1=self.betas[0],
                               beta2=self.betas[1], weight_decay=0.0, eps=self.eps, amsgrad=False, maximize=False)

    def state_dict(self) -> dict:
        groups = [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]
        return {"state": {i: dict(s) for i, s in self.state.items()}, "param_groups": groups,
                "betas": self.betas, "eps": self.eps}

    def load_state_dict(self, saved: dict) -> None:
        if len(saved["param_groups"]) != len(self.param_groups):
            raise ValueError("optimizer state has a different number of parameter groups")
        for group, values in zip(self.param_groups, saved["param_groups"]):
            group.update(values)
        self.betas, self.eps = tuple(saved["betas"]), saved["eps"]
        self.state = {int(i): dict(s) for i, s in saved["state"].items()}


def make_optimizer(model: nn.Module, lr: float, glorot_lr_scale: bool = True) -> Adam:
    """Adam with a ``lr_scale`` entry per parameter group (see :func:`set_learning_rate`)."""
    scaled = {id(layer.weight): layer for layer in binary_layers(model)}
    groups = []
    for layer in binary_layers(model):
        scale = layer.glorot_lr_scale if glorot_lr_scale else 1.0
        groups.append({"params": [layer.weight], "lr": lr * scale, "lr_scale": scale})
    rest = [p for p in model.parameters() if id(p) not in scaled]
    if rest:
        groups.append({"params": rest, "lr": lr, "lr_scale": 1.0})
    return Adam(groups)


def set_learning_rate(optimizer: Adam, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


class WeightClipper:
    """Clips the latent weights of binary layers to [-1, 1] in place (after each optimiser step)."""

    def __init__(self, model: nn.Module):
        self.weights = [layer.weight for layer in binary_layers(model)]

    @torch.no_grad()
    def __call__(self) -> None:
        for w in self.weights:  # one pass per tensor (a foreach min then max would make two)
            w.clamp_(-1.0, 1.0)


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
