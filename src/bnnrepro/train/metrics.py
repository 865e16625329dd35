"""Per-epoch evaluation: overall and class-wise error of each split, and the loss.

Rows are tidy (long format): one row per (epoch, split, class) with ``class = "all"`` for the
whole split. Errors are computed against the labels of the split as the run sees them: for randY
the training rows use the random labels the model was trained on, the test rows the true labels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bnnrepro.train.optim import pm1_targets, squared_hinge


@torch.inference_mode()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int, device: torch.device) -> torch.Tensor:
    """Model outputs for all of ``x`` (eval mode must be set by the caller)."""
    outs = [model(x[i : i + batch_size].to(device, non_blocking=True)) for i in range(0, len(x), batch_size)]
    return torch.cat(outs).float().cpu()


def loss_value(outputs: torch.Tensor, labels: torch.Tensor, loss: str, num_classes: int) -> float:
    if loss == "squared_hinge":
        return float(squared_hinge(outputs, pm1_targets(labels, num_classes)))
    return float(F.cross_entropy(outputs, labels))


def error_rows(outputs: torch.Tensor, labels: torch.Tensor, num_classes: int) -> list[dict]:
    """One row for the whole split (class 'all') and one per class: error and example count."""
    wrong = (outputs.argmax(1) != labels).to(torch.float64)
    n_class = torch.bincount(labels, minlength=num_classes).to(torch.float64)
    wrong_class = torch.bincount(labels, weights=wrong, minlength=num_classes)
    rows = [{"class": "all", "error": float(wrong.mean()) if len(wrong) else float("nan"), "n": len(labels)}]
    for c in range(num_classes):
        n = int(n_class[c])
        rows.append({"class": str(c), "error": float(wrong_class[c] / n) if n else float("nan"), "n": n})
    return rows
