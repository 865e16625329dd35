"""Training: the run configuration, the one training loop, optimiser pieces and metrics."""

from bnnrepro.train.config import TrainConfig
from bnnrepro.train.loop import RunResult, environment, load_model, train

__all__ = ["RunResult", "TrainConfig", "environment", "load_model", "train"]
