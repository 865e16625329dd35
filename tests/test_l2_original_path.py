"""The original code's L2 path, emulated literally: the penalty is in the loss, the gradients are
taken w.r.t. the binarized weights. Whether it changes training is measured, not assumed."""

from __future__ import annotations

import torch

from bnnrepro.nn.models import build_model
from bnnrepro.train.config import TrainConfig
from bnnrepro.train.loop import _train_epoch
from bnnrepro.train.optim import BinarizedWeightGradients, l2_weights, make_optimizer, pm1_targets


def _train(l2: float, gradient: str, steps_seed: int = 0) -> torch.nn.Module:
    cfg = TrainConfig(arch="mlp", hidden=[32], batch_size=16, l2=l2, l2_gradient=gradient, seed=0)
    torch.manual_seed(0)
    model = build_model(cfg.model_spec(), (1, 8, 8), 4)
    optimizer = make_optimizer(model, 0.01)
    g = torch.Generator().manual_seed(steps_seed)
    x = torch.randn(64, 1, 8, 8, generator=g)
    y = torch.randint(0, 4, (64,), generator=g)
    penalised = l2_weights(model) if l2 else []
    original = BinarizedWeightGradients(model) if l2 and gradient == "binarized" else None
    for _ in range(3):
        _train_epoch(
            model, optimizer, x, pm1_targets(y, 4), cfg, torch.Generator().manual_seed(1), penalised, None, original
        )
    return model


def _weights(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_original_path_is_inert_by_measurement_and_the_intended_path_is_not():
    none = _weights(_train(0.0, "latent"))
    original = _weights(_train(0.05, "binarized"))
    intended = _weights(_train(0.05, "latent"))
    assert all(torch.equal(a, b) for a, b in zip(none, original))
    assert not all(torch.equal(a, b) for a, b in zip(none, intended))


def test_the_penalty_reaches_the_loss_but_not_the_applied_gradient():
    cfg = TrainConfig(arch="mlp", hidden=[16], l2=1.0, l2_gradient="binarized")
    torch.manual_seed(0)
    model = build_model(cfg.model_spec(), (1, 4, 4), 3)
    hooks = BinarizedWeightGradients(model)
    assert hooks.layers, "the MLP has binary layers"
    x = torch.randn(8, 1, 4, 4)
    out = model(x)
    penalty = sum(w.square().sum() for w in l2_weights(model))
    (out.sum() + penalty).backward()
    layer = hooks.layers[0]
    assert layer.weight.grad is not None
    with_penalty = layer.weight.grad.clone()
    hooks.apply()
    replaced = layer.weight.grad
    assert replaced is not None
    # the latent gradient now lacks 2 * l2 * W, exactly the penalty's part
    torch.testing.assert_close(with_penalty - replaced, 2 * layer.weight.detach())
    hooks.remove()
