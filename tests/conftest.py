"""Shared fixtures: small files in the datasets' original formats, and the real Fashion-MNIST."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import struct
import subprocess
import sys
import tarfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file (big-endian header) of a uint8 array, as in the MNIST distribution."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx_dataset(folder: Path, n_train: int = 60, n_test: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    """Four gzip IDX files in MNIST's exact format; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(n_test) % 10).astype(np.uint8),
    }
    names = {
        "x_train": "train-images-idx3-ubyte.gz",
        "y_train": "train-labels-idx1-ubyte.gz",
        "x_test": "t10k-images-idx3-ubyte.gz",
        "y_test": "t10k-labels-idx1-ubyte.gz",
    }
    for key, name in names.items():
        (folder / name).write_bytes(gzip.compress(idx_bytes(arrays[key]), mtime=0))
    return arrays


def write_cifar10_archive(path: Path, per_batch: int = 7, seed: int = 0) -> dict[str, tuple[np.ndarray, list[int]]]:
    """cifar-10-python.tar.gz with the original layout: pickled dicts with bytes keys."""
    rng = np.random.default_rng(seed)
    batches = {}
    with tarfile.open(path, "w:gz") as tar:

        def add(name: str, obj) -> None:
            raw = pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))

        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
            labels = [int(v) for v in rng.integers(0, 10, per_batch)]
            batches[name] = (data, labels)
            add(
                name,
                {b"batch_label": name.encode(), b"labels": labels, b"data": data, b"filenames": [b"x.png"] * per_batch},
            )
        add("batches.meta", {b"label_names": [b"airplane"] * 10, b"num_cases_per_batch": per_batch})
    return batches


def write_svhn_mat(path: Path, n: int = 9, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An SVHN *_32x32.mat file: X (32, 32, 3, N) uint8, y (N, 1) with 10 for digit 0."""
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
    y = (np.arange(n) % 10 + 1).astype(np.uint8).reshape(n, 1)  # 1..10
    savemat(path, {"X": x, "y": y})
    return x, y


def spec_for_files(spec, folder: Path):
    """A copy of a registry spec whose checksums are those of the test files in ``folder``."""
    files = tuple(replace(f, md5=md5(folder / f.name), content_sha256=None) for f in spec.files)
    return replace(spec, files=files, system_dirs=())


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """An empty project cache and no explicit data dir, so tests never touch resources/."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("BNNREPRO_CACHE", str(cache))
    monkeypatch.delenv("BNNREPRO_DATA", raising=False)
    return cache


@pytest.fixture(scope="session")
def fashion_mnist():
    """The real Fashion-MNIST. CI installs it (Debian package or download); a missing copy is an
    error, not a skip, so that the tests on real data always run."""
    from bnnrepro.data import load_dataset

    return load_dataset("fashion_mnist", download=False, quiet=True)


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 300):
    """Run ``python -m bnnrepro ARGS`` in a subprocess; returns the CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bnnrepro", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=timeout,
    )


def snakemake(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run Snakemake on the project's workflow (in the repository root)."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def ci_run(tmp_path_factory):
    """The ci preset end to end into a temporary folder, once per test session.

    Returns (folder, the config arguments that point Snakemake at it)."""
    base = tmp_path_factory.mktemp("ci")
    args = [
        "--configfile",
        "workflow/configs/ci.yaml",
        "--config",
        f"results={base / 'results'}",
        f"report_dir={base / 'report'}",
    ]
    proc = snakemake("--cores", "2", "all", *args)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return base, args
