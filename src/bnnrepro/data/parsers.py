"""Parsers for the original distribution formats of the datasets.

Each parser reads the files exactly as their authors distribute them and returns uint8 images in
NCHW layout and int64 labels. They validate structure (magic numbers, sizes, label ranges) and
raise :class:`~bnnrepro.errors.DataError` naming the file on any inconsistency.
"""

from __future__ import annotations

import gzip
import pickle
import tarfile
from pathlib import Path

import numpy as np

from bnnrepro.errors import DataError

# IDX type codes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT").
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_maybe_gzip(path: str | Path) -> bytes:
    """The decompressed bytes of ``path`` (gzip-compressed or not, judged by its magic bytes)."""
    path = Path(path)
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: not a valid gzip file ({exc}). Delete it and fetch it again.") from exc
    return data


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse an IDX file (MNIST / Fashion-MNIST format) into an array of its declared shape."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{source}: not an IDX file (magic bytes {data[:4]!r}, expected 00 00 <type> <ndim>).")
    type_code, ndim = data[2], data[3]
    if type_code not in _IDX_DTYPES:
        raise DataError(f"{source}: unknown IDX data type 0x{type_code:02x}.")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{source}: truncated IDX header.")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise DataError(
            f"{source}: IDX size mismatch: header declares shape {shape} ({expected} bytes), "
            f"file has {len(data)} bytes. The file is truncated or corrupt: delete it and fetch it again."
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def parse_idx_pair(images: Path, labels: Path, num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 1, H, W) uint8 and labels (N,) int64 from an IDX image file and label file."""
    x = parse_idx(read_maybe_gzip(images), str(images))
    y = parse_idx(read_maybe_gzip(labels), str(labels))
    if x.ndim != 3 or x.dtype != np.uint8:
        raise DataError(f"{images}: expected a 3-d uint8 IDX array (N, H, W), found {x.dtype} {x.shape}.")
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"{labels}: expected {len(x)} labels to match {images.name}, found shape {y.shape}.")
    _check_labels(y, num_classes, labels)
    return x[:, None, :, :], y.astype(np.int64)


def _check_labels(y: np.ndarray, num_classes: int, source: Path | str) -> None:
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        raise DataError(f"{source}: labels outside 0..{num_classes - 1} (found {y.min()}..{y.max()}).")


CIFAR10_MEMBERS = tuple(f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)) + (
    "cifar-10-batches-py/test_batch",
)


def _load_cifar_batch(raw: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    # The archive is verified against its published MD5 before it is unpickled.
    batch = pickle.loads(raw, encoding="bytes")
    try:
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (KeyError, TypeError) as exc:
        raise DataError(f"{source}: not a CIFAR-10 python batch (missing b'data' or b'labels').") from exc
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise DataError(f"{source}: expected data (N, 3072) and N labels, found {data.shape} and {labels.shape}.")
    return data.reshape(-1, 3, 32, 32), labels


def parse_cifar10(archive: Path) -> dict[str, np.ndarray]:
    """Parse ``cifar-10-python.tar.gz``: 5 training batches and the test batch (pickled dicts)."""
    batches: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in CIFAR10_MEMBERS:
                try:
                    handle = tar.extractfile(member)
                except KeyError:
                    handle = None
                if handle is None:
                    raise DataError(f"{archive}: member {member} is missing; the archive is incomplete.")
                batches[member] = _load_cifar_batch(handle.read(), f"{archive}:{member}")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"{archive}: cannot read the tar.gz archive ({exc}). Delete it and fetch it again.") from exc
    train = [batches[m] for m in CIFAR10_MEMBERS[:5]]
    x_test, y_test = batches[CIFAR10_MEMBERS[5]]
    out = {
        "x_train": np.concatenate([b[0] for b in train]),
        "y_train": np.concatenate([b[1] for b in train]),
        "x_test": x_test,
        "y_test": y_test,
    }
    _check_labels(out["y_train"], 10, archive)
    _check_labels(out["y_test"], 10, archive)
    return out


def parse_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse an SVHN ``*_32x32.mat`` file (MATLAB v5): X (32, 32, 3, N), y (N, 1), label 10 = digit 0."""
    from scipy.io import loadmat

    try:
        mat = loadmat(path)
    except Exception as exc:  # scipy raises several types for a broken file
        raise DataError(f"{path}: cannot read the MATLAB file ({exc}). Delete it and fetch it again.") from exc
    if "X" not in mat or "y" not in mat:
        raise DataError(
            f"{path}: expected variables 'X' and 'y', found {sorted(k for k in mat if not k.startswith('__'))}."
        )
    x, y = mat["X"], np.asarray(mat["y"]).reshape(-1).astype(np.int64)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
        raise DataError(f"{path}: expected X of shape (32, 32, 3, N) with N = {len(y)}, found {x.shape}.")
    if len(y) and (y.min() < 1 or y.max() > 10):
        raise DataError(f"{path}: SVHN labels must be 1..10 (10 = digit 0), found {y.min()}..{y.max()}.")
    y[y == 10] = 0
    return np.ascontiguousarray(x.transpose(3, 2, 0, 1)).astype(np.uint8), y
