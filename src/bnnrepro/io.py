"""Atomic file output: every file is written to a temporary name and renamed into place, so a
killed process never leaves a half-written file under the final name; files get the normal
permissions of the user's umask (0644 with the usual 022), not the 0600 of temporary files. A run
folder is locked while a process writes it."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success fsync it and rename it to ``path``.

    On an exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "it is a folder", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:  # a failed write (disk full): name the file
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def _umask() -> int:
    # os.umask can only be read by setting it; set it back at once.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def json_safe(obj: Any) -> Any:
    """``obj`` with NaN and infinite floats as None (JSON has no NaN; ``json.dumps`` would write an
    invalid ``NaN``)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted, valid JSON (NaN as null), atomically."""
    write_text(path, json.dumps(json_safe(obj), indent=2, sort_keys=True, default=str, allow_nan=False) + "\n")


def write_csv(path: str | os.PathLike, frame: Any, **kwargs: Any) -> None:
    """Write a pandas DataFrame as CSV atomically (no index, ``\\n`` line endings)."""
    kwargs.setdefault("index", False)
    with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
        frame.to_csv(handle, lineterminator="\n", **kwargs)


def torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to ``path`` atomically."""
    import torch

    with atomic_open(path, "wb") as handle:
        try:
            torch.save(obj, handle)
        except RuntimeError as exc:  # torch's writer reports a failed write (a full disk) as a RuntimeError
            raise OSError(
                errno.EIO, f"the write failed ({str(exc).splitlines()[0]}); is the disk full?", str(path)
            ) from exc


@contextlib.contextmanager
def run_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (a ``.lock`` file, flock) while a run writes it.

    A second process asking for it gets a ConfigError naming the folder (at once, no waiting). The
    lock goes with the process, so a killed run never leaves a stale lock."""
    import fcntl

    from bnnrepro.errors import ConfigError

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"{folder} is being written by another process (a run in progress); wait for it or choose another --out"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def file_digest(path: str | os.PathLike, algorithm: str = "sha256", chunk: int = 1 << 20) -> str:
    """Hex digest of a file's bytes."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


#: Columns that are always read as text: "true" (a label mode) must not become a boolean, and
#: class "all" mixes with class numbers.
TEXT_COLUMNS = ("class", "labels", "split", "dataset", "binarization", "regularization", "variant", "run")


def read_csv(path: str | os.PathLike, **kwargs: Any) -> pd.DataFrame:
    """pandas.read_csv with the project's text columns kept as strings."""
    import pandas as pd

    dtype = dict.fromkeys(TEXT_COLUMNS, str)
    dtype.update(kwargs.pop("dtype", {}))
    return pd.read_csv(path, dtype=dtype, keep_default_na=True, **kwargs)
