"""Training: the run configuration, the one training loop, optimiser pieces, metrics, and the
sealed records of finished runs.

The names below are imported on first use, so that reading run records
(:mod:`bnnrepro.train.records`) or the settings (:mod:`bnnrepro.train.config`) does not import torch.
Type checkers see them through the ``TYPE_CHECKING`` imports, which never run.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bnnrepro.train.config import TrainConfig
    from bnnrepro.train.loop import RunResult, environment, load_model, train

_LAZY = {
    "TrainConfig": "bnnrepro.train.config",
    "RunResult": "bnnrepro.train.loop",
    "environment": "bnnrepro.train.loop",
    "load_model": "bnnrepro.train.loop",
    "train": "bnnrepro.train.loop",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["RunResult", "TrainConfig", "environment", "load_model", "train"]
