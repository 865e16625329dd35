"""The dataset registry: canonical files, their checksums, parsers and offline sources.

Checksums: ``md5`` is the published checksum of each file as distributed (what a download must
match). Debian's ``dataset-fashion-mnist`` package recompresses the gzip files, so their MD5s differ
from the canonical ones; for those files ``content_sha256`` (the SHA-256 of the decompressed bytes)
verifies a copy whatever its compression. A local file is accepted if either checksum matches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bnnrepro.data import parsers


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset distribution."""

    name: str
    url: str
    md5: str
    size: int | None = None
    content_sha256: str | None = None


@dataclass(frozen=True)
class RawDataset:
    """A dataset as parsed from its files: uint8 images (N, C, H, W) and int64 labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        channels, height, width = self.x_train.shape[1:]
        return channels, height, width


@dataclass(frozen=True)
class DatasetSpec:
    """Everything bnnrepro knows about one dataset."""

    name: str
    title: str
    #: How the report and figures name the dataset (``title`` may add detail).
    short_title: str
    homepage: str
    files: tuple[RemoteFile, ...]
    parse: Callable[[dict[str, Path]], dict[str, np.ndarray]]
    classes: tuple[str, ...]
    image_shape: tuple[int, int, int]
    train_size: int
    test_size: int
    system_dirs: tuple[str, ...] = field(default_factory=tuple)
    system_package: str | None = None

    def file(self, name: str) -> RemoteFile:
        for remote in self.files:
            if remote.name == name:
                return remote
        raise KeyError(name)


def _parse_idx_dataset(paths: dict[str, Path]) -> dict[str, np.ndarray]:
    x_train, y_train = parsers.parse_idx_pair(paths["train-images-idx3-ubyte.gz"], paths["train-labels-idx1-ubyte.gz"])
    x_test, y_test = parsers.parse_idx_pair(paths["t10k-images-idx3-ubyte.gz"], paths["t10k-labels-idx1-ubyte.gz"])
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _parse_cifar10(paths: dict[str, Path]) -> dict[str, np.ndarray]:
    return parsers.parse_cifar10(paths["cifar-10-python.tar.gz"])


def _parse_svhn(paths: dict[str, Path]) -> dict[str, np.ndarray]:
    x_train, y_train = parsers.parse_svhn_mat(paths["train_32x32.mat"])
    x_test, y_test = parsers.parse_svhn_mat(paths["test_32x32.mat"])
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"

FASHION_MNIST = DatasetSpec(
    name="fashion_mnist",
    title="Fashion-MNIST",
    short_title="Fashion-MNIST",
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    files=(
        RemoteFile(
            "train-images-idx3-ubyte.gz",
            _FASHION_URL + "train-images-idx3-ubyte.gz",
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            26421880,
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        ),
        RemoteFile(
            "train-labels-idx1-ubyte.gz",
            _FASHION_URL + "train-labels-idx1-ubyte.gz",
            "25c81989df183df01b3e8a0aad5dffbe",
            29515,
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        ),
        RemoteFile(
            "t10k-images-idx3-ubyte.gz",
            _FASHION_URL + "t10k-images-idx3-ubyte.gz",
            "bef4ecab320f06d8554ea6380940ec79",
            4422102,
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        ),
        RemoteFile(
            "t10k-labels-idx1-ubyte.gz",
            _FASHION_URL + "t10k-labels-idx1-ubyte.gz",
            "bb300cfdad3c16e7a12a480ee83cd310",
            5148,
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
    ),
    parse=_parse_idx_dataset,
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    image_shape=(1, 28, 28),
    train_size=60000,
    test_size=10000,
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    system_package="dataset-fashion-mnist",
)

MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    short_title="MNIST",
    homepage="http://yann.lecun.com/exdb/mnist/",
    files=(
        RemoteFile(
            "train-images-idx3-ubyte.gz",
            _MNIST_URL + "train-images-idx3-ubyte.gz",
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            9912422,
        ),
        RemoteFile(
            "train-labels-idx1-ubyte.gz",
            _MNIST_URL + "train-labels-idx1-ubyte.gz",
            "d53e105ee54ea40749a09fcbcd1e9432",
            28881,
        ),
        RemoteFile(
            "t10k-images-idx3-ubyte.gz",
            _MNIST_URL + "t10k-images-idx3-ubyte.gz",
            "9fb629c4189551a2d022fa330f9573f3",
            1648877,
        ),
        RemoteFile(
            "t10k-labels-idx1-ubyte.gz",
            _MNIST_URL + "t10k-labels-idx1-ubyte.gz",
            "ec29112dd5afa0611ce80d1b7f02629c",
            4542,
        ),
    ),
    parse=_parse_idx_dataset,
    classes=tuple(str(d) for d in range(10)),
    image_shape=(1, 28, 28),
    train_size=60000,
    test_size=10000,
)

CIFAR10 = DatasetSpec(
    name="cifar10",
    title="CIFAR-10",
    short_title="CIFAR-10",
    homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
    files=(
        RemoteFile(
            "cifar-10-python.tar.gz",
            "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
            "c58f30108f718f92721af3b95e74349a",
            170498071,
        ),
    ),
    parse=_parse_cifar10,
    classes=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    image_shape=(3, 32, 32),
    train_size=50000,
    test_size=10000,
)

SVHN = DatasetSpec(
    name="svhn",
    title="SVHN (cropped digits, without the 'extra' set)",
    short_title="SVHN",
    homepage="http://ufldl.stanford.edu/housenumbers/",
    files=(
        RemoteFile(
            "train_32x32.mat",
            "http://ufldl.stanford.edu/housenumbers/train_32x32.mat",
            "e26dedcc434d2e4c54c9b2d4a06d8373",
            182040794,
        ),
        RemoteFile(
            "test_32x32.mat",
            "http://ufldl.stanford.edu/housenumbers/test_32x32.mat",
            "eb5a983be6a315427106f1b164d9cef3",
            64275384,
        ),
    ),
    parse=_parse_svhn,
    classes=tuple(str(d) for d in range(10)),
    image_shape=(3, 32, 32),
    train_size=73257,
    test_size=26032,
)

DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (FASHION_MNIST, MNIST, CIFAR10, SVHN)}


def get_spec(name: str) -> DatasetSpec:
    """The registered :class:`DatasetSpec` called ``name``."""
    from bnnrepro.errors import ConfigError

    try:
        return DATASETS[name]
    except KeyError:
        raise ConfigError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}") from None
