"""Atomic, sealed file output and verified input.

Every file is written to a temporary name and renamed into place, so a killed process never leaves a
half-written file under the final name; files get the normal permissions of the user's umask (0644
with the usual 022), not the 0600 of temporary files. A run folder is locked while a process writes
it.

**Seals.** Every file written here (:func:`write_text`, :func:`write_json`, :func:`write_csv`,
:func:`torch_save`) gets a *seal*: a sidecar ``NAME.seal`` (JSON) with the SHA-256 of its bytes and
the SHA-256 of every file this process had read through :func:`verify` before writing it (what it was
built from; paths relative to the sealed file, so a results folder can move). Every reader goes
through :func:`verify` (:func:`read_csv`, :func:`read_json`, :func:`read_text` do): a file whose
bytes differ from its seal, that has no seal, or that was built from a file that has changed since,
is a :class:`~bnnrepro.errors.DataError` naming the file and the fix (delete it and rerun the
workflow: the job that writes it runs again), never a silently used number.
"""

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


def write_text(path: str | os.PathLike, text: str, seal: bool = True) -> None:
    """Write ``text`` to ``path`` atomically, sealed."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    if seal:
        write_seal(path)


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


def write_json(path: str | os.PathLike, obj: Any, seal: bool = True) -> None:
    """Write ``obj`` as indented, key-sorted, valid JSON (NaN as null), atomically, sealed."""
    write_text(path, json.dumps(json_safe(obj), indent=2, sort_keys=True, default=str, allow_nan=False) + "\n", seal)


def write_csv(path: str | os.PathLike, frame: Any, seal: bool = True, **kwargs: Any) -> None:
    """Write a pandas DataFrame as CSV atomically (no index, ``\\n`` line endings), sealed."""
    kwargs.setdefault("index", False)
    with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
        frame.to_csv(handle, lineterminator="\n", **kwargs)
    if seal:
        write_seal(path)


def torch_save(obj: Any, path: str | os.PathLike, seal: bool = True) -> None:
    """``torch.save`` to ``path`` atomically, sealed (read it back with :func:`torch_load`: tensors
    and plain containers only, never a pickled object)."""
    import torch

    with atomic_open(path, "wb") as handle:
        try:
            torch.save(obj, handle)
        except RuntimeError as exc:  # torch's writer reports a failed write (a full disk) as a RuntimeError
            raise OSError(
                errno.EIO, f"the write failed ({str(exc).splitlines()[0]}); is the disk full?", str(path)
            ) from exc
    if seal:
        write_seal(path)


def torch_load(path: str | os.PathLike, map_location: Any = "cpu") -> Any:
    """A file written by :func:`torch_save`, after :func:`verify`, loaded with ``weights_only=True``:
    torch's restricted unpickler, which builds tensors, numbers, strings and plain containers and
    refuses any other object, so a crafted file cannot run code. Anything else is a DataError."""
    import pickle

    import torch

    from bnnrepro.errors import DataError

    verify(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, ValueError, EOFError, pickle.UnpicklingError, AttributeError, TypeError) as exc:
        raise DataError(
            f"{path} is not a bnnrepro tensor file ({str(exc).splitlines()[0][:120]}); {REBUILD_FIX}"
        ) from None


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


def hold_lock(folder: str | os.PathLike, name: str, busy: str) -> IO:
    """Take an exclusive lock (flock on ``folder/name``) for as long as the returned file stays
    open (a process's lifetime: it goes with the process, so a killed one leaves no stale lock); a
    ConfigError with the message ``busy`` when another process holds it."""
    import fcntl

    from bnnrepro.errors import ConfigError

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / name, "a+")  # noqa: SIM115 (kept open: the lock lives as long as it)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ConfigError(busy) from None
    return handle


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
    """A sealed CSV, verified (:func:`verify`), read by pandas.read_csv with the project's text
    columns kept as strings."""
    import pandas as pd

    verify(path)
    dtype = dict.fromkeys(TEXT_COLUMNS, str)
    dtype.update(kwargs.pop("dtype", {}))
    return pd.read_csv(path, dtype=dtype, keep_default_na=True, **kwargs)


# --- seals ---------------------------------------------------------------------------------------

SEAL_SUFFIX = ".seal"
#: The fix every seal problem suggests: the workflow reruns the job whose output is missing.
REBUILD_FIX = "delete it and rerun the workflow (`snakemake --cores 8 all`): the job that writes it runs again"
#: Files read through :func:`verify` (absolute path -> SHA-256) inside :func:`recording_inputs`
#: (a command of the CLI: one workflow job): the inputs of whatever it seals next. Outside it (a
#: library call, a test) seals record no inputs.
_READS: dict[str, str] = {}
_RECORDING: list[bool] = []


@contextlib.contextmanager
def recording_inputs() -> Iterator[None]:
    """Record the files read (and verified) from here on as the inputs of the files sealed next."""
    _READS.clear()
    _RECORDING.append(True)
    try:
        yield
    finally:
        _RECORDING.pop()
        _READS.clear()


def seal_path(path: str | os.PathLike) -> Path:
    """The sidecar that seals ``path`` (``NAME.seal`` beside it)."""
    path = Path(path)
    return path.with_name(path.name + SEAL_SUFFIX)


def reset_reads() -> None:
    """Forget the files read so far (a new command starts: its outputs are built from its own reads)."""
    _READS.clear()


def note_read(path: str | os.PathLike, digest: str) -> None:
    """Record that this process used ``path`` (with these bytes) to build what it writes next."""
    if _RECORDING:
        _READS[os.path.abspath(path)] = digest


def write_seal(path: str | os.PathLike) -> dict:
    """Seal ``path``: its SHA-256 and the SHA-256 of every file read so far (its inputs)."""
    path = Path(path)
    _READS.pop(os.path.abspath(path), None)  # rewritten by this process: its old bytes are no input
    here = os.path.abspath(path.parent)
    inputs = {os.path.relpath(source, here): digest for source, digest in sorted(_READS.items())}
    record = {"sha256": file_digest(path), "size": path.stat().st_size, "inputs": inputs}
    with atomic_open(seal_path(path), "w", encoding="utf-8", newline="") as handle:
        handle.write(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return record


def remove_sealed(path: str | os.PathLike) -> None:
    """Delete a file and its seal (those that exist)."""
    for target in (Path(path), seal_path(path)):
        with contextlib.suppress(FileNotFoundError):
            target.unlink()


def seal_problem(path: str | os.PathLike, check_inputs: bool = True) -> str | None:
    """Why ``path`` cannot be trusted (missing, unsealed, changed since it was written, or built from
    a file that has changed since), or None; the digest checked is recorded as read."""
    path = Path(path)
    if not path.is_file():
        return f"{path} is missing"
    try:
        record = json.loads(seal_path(path).read_text(encoding="utf-8"))
        expected, inputs = record["sha256"], record.get("inputs", {})
        assert isinstance(expected, str) and isinstance(inputs, dict)
    except FileNotFoundError:
        return f"{path} has no seal ({seal_path(path).name}: it was not written by this version of bnnrepro)"
    except (ValueError, KeyError, TypeError, AssertionError, UnicodeDecodeError):
        return f"{seal_path(path)} is corrupt"
    digest = file_digest(path)
    if digest != expected:
        return f"{path} has changed since it was written (its SHA-256 differs from the one in {seal_path(path).name})"
    if check_inputs:
        for relative, recorded in inputs.items():
            source = path.parent / relative
            if source.is_file() and file_digest(source) != recorded:
                changed = os.path.normpath(source)
                return f"{path} is out of date: {changed} has changed since {path.name} was built from it"
    note_read(path, digest)
    return None


def verify(path: str | os.PathLike, fix: str = REBUILD_FIX) -> None:
    """Raise a DataError naming ``path`` and the fix unless its seal verifies (:func:`seal_problem`)."""
    from bnnrepro.errors import DataError

    problem = seal_problem(path)
    if problem:
        raise DataError(f"{problem}; {fix}")


def read_text(path: str | os.PathLike) -> str:
    """The text of a sealed file, verified."""
    verify(path)
    return Path(path).read_text(encoding="utf-8")


def read_json(path: str | os.PathLike) -> Any:
    """A sealed JSON file, verified."""
    from bnnrepro.errors import DataError

    text = read_text(path)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); {REBUILD_FIX}") from None
