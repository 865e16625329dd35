"""The standard learners Chatterjee compares memorization with (his Table 1).

Every baseline is built by :func:`make_baseline` and has ``fit(x, y)`` / ``predict(x)`` on
``(examples, features)`` bit arrays (the same thresholded inputs as the lut network):

============================ =================================================================
name                         model
============================ =================================================================
``1-nn``, ``5-nn``           ``KNeighborsClassifier`` (Euclidean = sqrt(Hamming) on bits, brute force)
``random_forest_10``, ``_300`` ``RandomForestClassifier`` with 10 / 300 trees (sklearn defaults)
``logistic_regression``      ``LogisticRegression`` (L2, C = 1, lbfgs, up to 1000 iterations)
``naive_bayes``              ``BernoulliNB`` (Bernoulli likelihood per bit, Laplace smoothing)
``conv_net``                 :class:`LeNetClassifier`, a LeNet-5-style CNN trained with Adam
``random_guess``             uniform random labels (``DummyClassifier(strategy="uniform")``)
============================ =================================================================

The paper names the methods but not their settings; these are library defaults, seeded.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from bnnrepro.errors import ConfigError

#: Baseline names, in the order of the paper's Table 1 (best first on Binary-MNIST).
BASELINES = (
    "conv_net",
    "5-nn",
    "1-nn",
    "random_forest_10",
    "random_forest_300",
    "logistic_regression",
    "naive_bayes",
    "random_guess",
)


class LeNetClassifier:
    """A small LeNet-5-style convolutional net for bit images, CPU-sized.

    conv 5x5 (6, padding 2) - ReLU - max-pool 2 - conv 5x5 (16) - ReLU - max-pool 2 - FC 120 - ReLU
    - FC 84 - ReLU - FC ``classes``; cross-entropy, Adam, mini-batches. Inputs are the {0, 1} bits
    reshaped to ``image_shape`` (C, H, W). Seeded: initialisation and batch order come from
    ``seed``; on CPU the result is deterministic for a fixed thread count. ``threads`` is torch's
    intra-op thread count during fit and predict (restored afterwards); ``None`` keeps torch's.
    One thread is the default: this net's small convolutions gain little from a second thread,
    and lose a lot when other processes compete for the cores.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        *,
        epochs: int = 3,
        batch_size: int = 128,
        lr: float = 1e-3,
        seed: int = 0,
        threads: int | None = 1,
    ) -> None:
        if epochs < 1 or batch_size < 1 or lr <= 0 or (threads is not None and threads < 1):
            raise ConfigError(
                f"conv_net needs epochs >= 1, batch_size >= 1, lr > 0 and threads >= 1, "
                f"got epochs={epochs}, batch_size={batch_size}, lr={lr}, threads={threads}"
            )
        self.image_shape = tuple(image_shape)
        self.epochs, self.batch_size, self.lr, self.seed = epochs, batch_size, lr, seed
        self.threads = threads

    @contextlib.contextmanager
    def _torch_threads(self) -> Iterator[None]:
        previous = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            torch.set_num_threads(previous)

    def _build(self, num_classes: int) -> nn.Module:
        channels, height, width = self.image_shape
        features = nn.Sequential(
            nn.Conv2d(channels, 6, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        flat = 16 * ((height // 2 - 4) // 2) * ((width // 2 - 4) // 2)
        if flat <= 0:
            raise ConfigError(f"conv_net needs images of at least 12x12 pixels, got {self.image_shape}")
        return nn.Sequential(
            features, nn.Linear(flat, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes)
        )

    def _images(self, x: np.ndarray) -> torch.Tensor:
        if x.shape[1] != math.prod(self.image_shape):
            raise ValueError(
                f"conv_net expects {math.prod(self.image_shape)} bits per example "
                f"(image shape {self.image_shape}), got {x.shape[1]}"
            )
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).view(-1, *self.image_shape)

    def fit(self, x: np.ndarray, y: np.ndarray) -> LeNetClassifier:
        with self._torch_threads():
            return self._fit(x, y)

    def _fit(self, x: np.ndarray, y: np.ndarray) -> LeNetClassifier:
        images, labels = self._images(x), torch.from_numpy(np.asarray(y, dtype=np.int64))
        self.num_classes_ = max(2, int(labels.max()) + 1)
        with torch.random.fork_rng():  # seed the initialisation without touching global state
            torch.manual_seed(self.seed)
            self.model_ = self._build(self.num_classes_)
        order_rng = torch.Generator().manual_seed(self.seed)
        optimizer = torch.optim.Adam(self.model_.parameters(), lr=self.lr)
        loss_fn = nn.CrossEntropyLoss()
        self.model_.train()
        for _ in range(self.epochs):
            order = torch.randperm(len(labels), generator=order_rng)
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                optimizer.zero_grad(set_to_none=True)
                loss_fn(self.model_(images[batch]), labels[batch]).backward()
                optimizer.step()
        self.model_.eval()
        return self

    @torch.no_grad()
    def predict(self, x: np.ndarray) -> np.ndarray:
        with self._torch_threads():
            return self._predict(x)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        images = self._images(x)
        out = [self.model_(images[s : s + 4096]).argmax(1) for s in range(0, len(images), 4096)]
        return torch.cat(out).numpy().astype(np.int64) if out else np.empty(0, np.int64)


def make_baseline(
    name: str,
    *,
    seed: int = 0,
    image_shape: tuple[int, int, int] | None = None,
    n_jobs: int = 1,
    conv_epochs: int = 3,
    threads: int | None = 1,
) -> Any:
    """A fresh, unfitted baseline ``name`` (one of :data:`BASELINES`).

    ``n_jobs`` is the number of processes for k-NN and random forests; ``image_shape`` (C, H, W)
    is required by ``conv_net``; ``conv_epochs`` is its number of training epochs and ``threads``
    its torch thread count.
    """
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import BernoulliNB
    from sklearn.neighbors import KNeighborsClassifier

    if name in ("1-nn", "5-nn"):
        return KNeighborsClassifier(n_neighbors=int(name[0]), algorithm="brute", n_jobs=n_jobs)
    if name in ("random_forest_10", "random_forest_300"):
        return RandomForestClassifier(n_estimators=int(name.rsplit("_", 1)[1]), random_state=seed, n_jobs=n_jobs)
    if name == "logistic_regression":
        return LogisticRegression(max_iter=1000)
    if name == "naive_bayes":
        return BernoulliNB()
    if name == "random_guess":
        return DummyClassifier(strategy="uniform", random_state=seed)
    if name == "conv_net":
        if image_shape is None:
            raise ConfigError("conv_net needs the image shape (channels, height, width)")
        return LeNetClassifier(image_shape, epochs=conv_epochs, seed=seed, threads=threads)
    raise ConfigError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
