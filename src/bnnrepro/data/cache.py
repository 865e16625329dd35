"""The parsed-data cache: each dataset is parsed once into ``.npy`` arrays that later loads
memory-map, and stays loaded for the rest of the process.

Parsing the original files (gzip IDX, CIFAR-10's pickled tarball, SVHN's MATLAB files) takes from
half a second to many seconds; opening memory-mapped ``.npy`` files takes milliseconds, and every
process on the machine shares the same pages.

Layout: ``cache_dir()/parsed/<dataset>-<key>/`` holds ``x_train.npy``, ``y_train.npy``,
``x_test.npy``, ``y_test.npy`` (uint8 images N x C x H x W; labels in the smallest unsigned type
that holds them, uint8 for every registered dataset), ``manifest.json`` (dtype, shape, size and
SHA-256 of each array file) and ``verified.json`` (each file's size, modification time and inode
when its SHA-256 last matched the manifest).

Key: the first 16 hex digits of the SHA-256 of the cache format, the dataset name and the
published checksums of its source files. :func:`bnnrepro.data.load_dataset` verifies the source
files against those checksums before every load, so a different or changed source file fails
verification (or, with a registry of other checksums, gets another key): an entry is never reused
for other data. Bump :data:`CACHE_FORMAT` whenever a parser's output changes.

Verification on load: the manifest, each file's size, dtype and shape are checked every time; a
file's SHA-256 is recomputed only when its (size, mtime, inode) differs from the one remembered
in ``verified.json`` (the idea of :func:`bnnrepro.data.fetch.verify_file`'s memo). So a truncated
file is always caught, and a rewritten one whenever the write moved its mtime or replaced the file;
a change that keeps size, mtime and inode (silent disk corruption) is not, as for the source files.
A damaged entry is rebuilt from the source files.

Concurrency: an entry is written complete into a temporary folder next to it, then renamed into
place in one step. When several processes build the same entry at once, the first rename wins; the
others find the name taken, delete their own copy and open the winner's. A damaged entry is
renamed aside to a unique name before it is deleted, so no process ever sees half an entry.
Copies left by killed processes are deleted by the next build once they are an hour old. Entries
under other keys (older formats, other checksums) are never deleted automatically; deleting
``parsed/`` is always safe (it is rebuilt on the next load).

A cache folder that cannot be written (read-only, full disk) is not an error: each process parses
the source files in memory, and a :class:`DataCacheWarning` names the folder and the fix. (A
complete entry in a read-only folder is used as it is.)

Arrays handed out: images are read-only (memory-mapped, and shared by every load of the process;
the transforms copy before they change anything); labels are int64, read-only here (the loader
hands each caller its own writable copy).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from bnnrepro.data.fetch import cache_dir
from bnnrepro.data.registry import DatasetSpec
from bnnrepro.io import file_digest, write_json

#: Version of the entry layout and of the parsers' output; part of every key.
CACHE_FORMAT = 1
ARRAY_NAMES = ("x_train", "y_train", "x_test", "y_test")
MANIFEST = "manifest.json"
VERIFIED = "verified.json"

# Arrays already loaded in this process, by cache key (the key fixes the content).
_loaded: dict[str, dict[str, np.ndarray]] = {}
_loaded_lock = threading.Lock()


class DataCacheWarning(UserWarning):
    """The parsed-data cache could not be used; the source files are parsed on every load instead."""


class DamagedEntry(Exception):
    """A cache entry that exists but does not match its manifest (the message says how)."""


def cache_key(spec: DatasetSpec) -> str:
    """16 hex digits identifying the parsed content of ``spec``'s (verified) source files."""
    identity = {
        "format": CACHE_FORMAT,
        "dataset": spec.name,
        "files": [[f.name, f.md5, f.content_sha256] for f in spec.files],
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def entry_dir(spec: DatasetSpec) -> Path:
    """The folder of ``spec``'s cache entry (which may not exist yet)."""
    return cache_dir() / "parsed" / f"{spec.name}-{cache_key(spec)}"


def forget_loaded() -> None:
    """Drop the arrays this process has loaded (the next load opens the cache entry again)."""
    with _loaded_lock:
        _loaded.clear()


def load_arrays(spec: DatasetSpec, paths: dict[str, Path], *, quiet: bool = False) -> dict[str, np.ndarray]:
    """``spec``'s arrays (see the module docstring), from the process, the cache entry, or parsed
    from ``paths`` (its verified source files, by file name) and cached."""
    key = cache_key(spec)
    with _loaded_lock:
        if key not in _loaded:
            _loaded[key] = _load_uncached(spec, key, paths, quiet)
        return _loaded[key]


def _load_uncached(spec: DatasetSpec, key: str, paths: dict[str, Path], quiet: bool) -> dict[str, np.ndarray]:
    folder = entry_dir(spec)
    try:
        return _handed_out(open_entry(folder, key))
    except FileNotFoundError:
        pass  # not built yet
    except DamagedEntry as exc:
        if not quiet:
            print(
                f"parsed-data cache {folder} is damaged ({exc}); rebuilding it from the source files", file=sys.stderr
            )
        with contextlib.suppress(OSError):
            _discard(folder)
    parsed = spec.parse(paths)
    try:
        write_entry(folder, key, parsed)
        return _handed_out(open_entry(folder, key))
    except OSError as exc:
        problem = f"cannot write the parsed-data cache {folder} ({exc})"
    except DamagedEntry as exc:
        problem = f"the parsed-data cache {folder} does not verify right after it was written ({exc})"
    warnings.warn(
        f"{problem}; parsing the source files in every process instead (slower). "
        "Point $BNNREPRO_CACHE at a writable folder to fix this.",
        DataCacheWarning,
        stacklevel=3,
    )
    return _handed_out(parsed)


def _handed_out(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Plain read-only arrays: images as they are (views, no copy), labels as int64."""
    out = {}
    for name, array in arrays.items():
        array = np.asarray(array, dtype=np.int64) if name.startswith("y_") else np.asarray(array)
        if array.flags.writeable:
            array = array.view()  # a read-only view leaves a caller's own array writable
            array.flags.writeable = False
        out[name] = array
    return out


def _file_identity(stat: os.stat_result) -> dict[str, int]:
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}


def open_entry(folder: Path, key: str) -> dict[str, np.ndarray]:
    """The memory-mapped arrays of the entry ``folder``, verified against its manifest.

    Raises FileNotFoundError if there is no entry, :class:`DamagedEntry` if it does not verify."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        if folder.exists():
            raise DamagedEntry(f"{MANIFEST} is missing") from None
        raise
    except (OSError, ValueError) as exc:
        raise DamagedEntry(f"{MANIFEST} is unreadable: {exc}") from exc
    try:
        memo = json.loads((folder / VERIFIED).read_text())
    except (OSError, ValueError):
        memo = {}
    if not isinstance(memo, dict):
        memo = {}
    try:
        if manifest["format"] != CACHE_FORMAT or manifest["key"] != key:
            raise DamagedEntry(f"{MANIFEST} is for format {manifest['format']}, key {manifest['key']}")
        arrays, rehashed = {}, False
        for name in ARRAY_NAMES:
            expected = manifest["arrays"][name]
            path = folder / f"{name}.npy"
            stat = path.stat()
            if stat.st_size != expected["bytes"]:
                raise DamagedEntry(f"{path.name} has {stat.st_size} bytes, the manifest says {expected['bytes']}")
            identity = _file_identity(stat)
            if memo.get(path.name) != identity:
                digest = file_digest(path, "sha256")
                if digest != expected["sha256"]:
                    raise DamagedEntry(f"{path.name} has SHA-256 {digest}, the manifest says {expected['sha256']}")
                memo[path.name] = identity
                rehashed = True
            array = np.load(path, mmap_mode="r", allow_pickle=False)
            if array.dtype != np.dtype(expected["dtype"]) or list(array.shape) != expected["shape"]:
                raise DamagedEntry(
                    f"{path.name} holds {array.dtype} {array.shape}, the manifest says "
                    f"{expected['dtype']} {tuple(expected['shape'])}"
                )
            arrays[name] = array
    except FileNotFoundError as exc:  # a file of the entry, or the entry itself, went away
        raise DamagedEntry(f"{exc.filename} is missing") from exc
    except (KeyError, TypeError, ValueError) as exc:  # a manifest or .npy header of the wrong shape
        raise DamagedEntry(f"inconsistent entry ({type(exc).__name__}: {exc})") from exc
    if rehashed:
        with contextlib.suppress(OSError):  # a read-only cache just verifies again next time
            write_json(folder / VERIFIED, memo)
    return arrays


def write_entry(folder: Path, key: str, arrays: dict[str, np.ndarray]) -> bool:
    """Write ``arrays`` as the entry ``folder`` (atomically, see the module docstring).

    Returns True if this call installed the entry, False if another process had installed one
    first (that one is kept). Raises OSError if the cache folder cannot be written."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    _sweep_leftovers(folder)
    # A unique name made with os.mkdir (not mkdtemp's 0700), so the entry gets the umask's
    # permissions and a cache shared by several users stays readable.
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    tmp.mkdir()
    try:
        manifest: dict[str, Any] = {"format": CACHE_FORMAT, "key": key, "arrays": {}}
        memo = {}
        for name in ARRAY_NAMES:
            array = _stored(name, arrays[name])
            path = tmp / f"{name}.npy"
            with open(path, "wb") as handle:
                np.save(handle, array, allow_pickle=False)
                handle.flush()
                os.fsync(handle.fileno())
            stat = path.stat()
            manifest["arrays"][name] = {
                "dtype": array.dtype.str,
                "shape": list(array.shape),
                "bytes": stat.st_size,
                "sha256": file_digest(path, "sha256"),
            }
            memo[path.name] = _file_identity(stat)  # a rename keeps size, mtime and inode
        # Plain writes: the whole folder appears at once when it is renamed into place.
        (tmp / VERIFIED).write_text(json.dumps(memo, indent=2, sort_keys=True) + "\n")
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return _install(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already if it was installed


def _stored(name: str, array: np.ndarray) -> np.ndarray:
    """The array as stored: images must be uint8; labels take the smallest unsigned type."""
    if name.startswith("x_"):
        if array.dtype != np.uint8:
            raise TypeError(f"{name}: the cache stores uint8 images, the parser gave {array.dtype}")
        return array
    if len(array) and array.min() < 0:
        raise ValueError(f"{name}: negative labels cannot be cached")
    return array.astype(np.min_scalar_type(int(array.max()) if len(array) else 0))


def _install(tmp: Path, folder: Path) -> bool:
    try:
        os.rename(tmp, folder)  # fails if another process has installed the entry meanwhile
        return True
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            return False
        raise


def _sweep_leftovers(folder: Path, min_age_s: float = 3600) -> None:
    """Delete temporary and discarded copies of ``folder`` left by killed processes (only old
    ones: a build in progress elsewhere is minutes old at most)."""
    now = time.time()
    for leftover in folder.parent.glob(f".{folder.name}.*"):
        with contextlib.suppress(OSError):
            if leftover.suffix in (".tmp", ".stale") and now - leftover.stat().st_mtime > min_age_s:
                shutil.rmtree(leftover)


def _discard(folder: Path) -> None:
    """Rename a damaged entry aside, then delete it (files mapped by a running process stay valid)."""
    aside = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".stale", dir=folder.parent))
    try:
        os.rename(folder, aside / folder.name)
    except FileNotFoundError:
        pass  # another process has discarded it already
    finally:
        shutil.rmtree(aside, ignore_errors=True)
