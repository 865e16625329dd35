"""Finding, verifying and downloading dataset files.

Look-up order for each file of a dataset (the first place that has the file wins):

1. an explicit data directory: the ``data_dir`` argument, else the ``BNNREPRO_DATA`` variable
   (it must exist: a missing one is a ConfigError, never a silent fall-back to the other places);
2. the project cache (``BNNREPRO_CACHE``, else ``resources/`` of the source checkout, else
   ``~/.cache/bnnrepro``);
3. the system dataset folder of a Debian package (Fashion-MNIST: ``dataset-fashion-mnist``);
4. a download from the canonical URL into the data directory (if given) or the cache.

A file that is found is verified (MD5 of the file as published, or SHA-256 of its decompressed
content); a mismatch is an error that names the file, the expected checksum and the fix. Downloads
go to a temporary name and are renamed only once verified, so nothing half-written is ever left.
:func:`file_status` reports every file (found where, verified or corrupt) without raising.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bnnrepro.data.parsers import read_maybe_gzip
from bnnrepro.data.registry import DatasetSpec, RemoteFile
from bnnrepro.errors import ConfigError, DataError
from bnnrepro.io import file_digest

if TYPE_CHECKING:
    from tqdm import tqdm

DOWNLOAD_TIMEOUT_S = 60


def project_root() -> Path | None:
    """The source checkout this package runs from (the folder with pyproject.toml), if any."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "pyproject.toml").is_file() and (root / "src" / "bnnrepro").is_dir() else None


def cache_dir() -> Path:
    """Where downloads are cached when no explicit data directory is given."""
    if os.environ.get("BNNREPRO_CACHE"):
        return Path(os.environ["BNNREPRO_CACHE"]).expanduser()
    root = project_root()
    return root / "resources" if root else Path.home() / ".cache" / "bnnrepro"


def explicit_data_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The explicit data directory: the argument, else ``$BNNREPRO_DATA``, else None.

    One that is not an existing directory raises ConfigError: a mistyped path must not quietly
    fall back to the cache or the system copy."""
    if data_dir:
        path, origin = Path(data_dir).expanduser(), "--data-dir / data_dir"
    elif os.environ.get("BNNREPRO_DATA"):
        path, origin = Path(os.environ["BNNREPRO_DATA"]).expanduser(), "$BNNREPRO_DATA"
    else:
        return None
    if not path.is_dir():
        what = "is not a directory" if path.exists() else "does not exist"
        raise ConfigError(
            f"data directory {path} (from {origin}) {what}: create it (with one folder per "
            f"dataset, e.g. {path / 'fashion_mnist'}) or drop {origin} to use the cache and "
            "system copies"
        )
    return path


def candidate_dirs(spec: DatasetSpec, data_dir: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """(kind, folder) pairs searched for the files of ``spec``, in look-up order."""
    explicit = explicit_data_dir(data_dir)
    if explicit is not None:  # only there: a folder one level off must not quietly use another copy
        return [("data dir", explicit / spec.name)]
    dirs: list[tuple[str, Path]] = []
    dirs.append(("cache", cache_dir() / spec.name))
    dirs.extend(("system", Path(d)) for d in spec.system_dirs)
    return dirs


def download_dir(spec: DatasetSpec, data_dir: str | os.PathLike | None = None) -> Path:
    explicit = explicit_data_dir(data_dir)
    return (explicit if explicit is not None else cache_dir()) / spec.name


def _memo_path(path: Path) -> Path:
    key = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:20]
    return cache_dir() / ".verified" / f"{key}.json"


def _memo_key(path: Path, remote: RemoteFile) -> dict:
    stat = path.stat()
    return {
        "path": str(path.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "md5": remote.md5,
        "content_sha256": remote.content_sha256,
    }


def verify_file(path: Path, remote: RemoteFile) -> str | None:
    """None if ``path`` matches ``remote``'s published checksums, else a description of the mismatch.

    A successful verification is remembered (keyed on the file's path, size and modification
    time) so that the many runs of a workflow do not hash the same files again and again."""
    import json

    memo = _memo_path(path)
    key = _memo_key(path, remote)
    with contextlib.suppress(OSError, ValueError):
        if json.loads(memo.read_text()) == key:
            return None
    mismatch = _verify_file(path, remote)
    if mismatch is None:
        with contextlib.suppress(OSError):
            from bnnrepro.io import write_json

            write_json(memo, key)
    return mismatch


def _verify_file(path: Path, remote: RemoteFile) -> str | None:
    md5 = file_digest(path, "md5")
    if md5 == remote.md5:
        return None
    if remote.content_sha256 is not None:
        try:
            content = hashlib.sha256(read_maybe_gzip(path)).hexdigest()
        except DataError:  # a damaged gzip stream: report the mismatch like any other
            return f"MD5 {md5} (expected {remote.md5}), and it is not a valid gzip file"
        if content == remote.content_sha256:
            return None
        return (
            f"MD5 {md5} (expected {remote.md5}) and decompressed SHA-256 {content} (expected {remote.content_sha256})"
        )
    return f"MD5 {md5} (expected {remote.md5})"


@dataclass(frozen=True)
class LocatedFile:
    remote: RemoteFile
    path: Path
    source: str  # "data dir", "cache", "system" or "download"


@dataclass(frozen=True)
class FileStatus:
    """What :func:`file_status` found for one file of a dataset."""

    name: str
    state: str  # "verified", "unverified" (found, not checked), "missing" or "corrupt"
    path: Path | None  # where it was found; for "missing", where a download would put it
    source: str | None  # "data dir", "cache" or "system"; None if missing
    problem: str = ""  # for "corrupt": the mismatch and the fix

    @property
    def ok(self) -> bool:
        return self.state in ("verified", "unverified")

    def describe(self) -> str:
        """One line for ``bnnrepro data info``."""
        if self.state == "missing":
            return f"missing (download to {self.path})"
        if self.state == "corrupt":
            return f"CORRUPT ({self.source}): {self.problem}"
        return f"{self.source}: {self.path}" + (" (verified)" if self.state == "verified" else "")


def _fix_hint(spec: DatasetSpec, path: Path) -> str:
    return (
        f"Delete {path} and run `bnnrepro data fetch {spec.name}` to download it again, "
        f"or put a good copy of {path.name} (from {spec.homepage}) in its place."
    )


def _find(remote: RemoteFile, dirs: list[tuple[str, Path]]) -> LocatedFile | None:
    """The first copy of ``remote`` in ``dirs`` (unverified), or None."""
    for kind, folder in dirs:
        path = folder / remote.name
        if path.is_file():
            return LocatedFile(remote, path, kind)
    return None


def _corruption(spec: DatasetSpec, located: LocatedFile) -> str | None:
    """None if ``located`` verifies, else the user's message: what is wrong and the fix."""
    mismatch = verify_file(located.path, located.remote)
    if mismatch is None:
        return None
    return (
        f"{spec.title} file {located.path} is corrupt or not the published version: {mismatch}. "
        f"{_fix_hint(spec, located.path)}"
    )


def locate(
    spec: DatasetSpec, data_dir: str | os.PathLike | None = None, *, verify: bool = True
) -> dict[str, LocatedFile | None]:
    """Find each file of ``spec`` locally (no download). Verified unless ``verify`` is False.

    A file that exists but fails verification raises :class:`DataError`.
    """
    dirs = candidate_dirs(spec, data_dir)
    found: dict[str, LocatedFile | None] = {}
    for remote in spec.files:
        found[remote.name] = located = _find(remote, dirs)
        if verify and located is not None:
            problem = _corruption(spec, located)
            if problem:
                raise DataError(problem)
    return found


def file_status(
    spec: DatasetSpec, data_dir: str | os.PathLike | None = None, *, verify: bool = True
) -> list[FileStatus]:
    """The status of every file of ``spec``, in registry order (verified unless ``verify`` is
    False). Unlike :func:`locate`, a corrupt file does not raise: it gets state "corrupt" and the
    message :func:`locate` would raise, so ``bnnrepro data info`` can report every file and then
    exit non-zero."""
    dirs = candidate_dirs(spec, data_dir)
    statuses = []
    for remote in spec.files:
        located = _find(remote, dirs)
        if located is None:
            statuses.append(FileStatus(remote.name, "missing", download_dir(spec, data_dir) / remote.name, None))
            continue
        problem = _corruption(spec, located) if verify else None
        state = "corrupt" if problem else ("verified" if verify else "unverified")
        statuses.append(FileStatus(remote.name, state, located.path, located.source, problem or ""))
    return statuses


def _progress(total: int | None, desc: str, quiet: bool) -> tqdm:
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        disable=quiet or not sys.stderr.isatty(),
        leave=False,
    )


def download_file(remote: RemoteFile, dest: Path, *, quiet: bool = False) -> None:
    """Download ``remote`` to ``dest`` (verified, atomic). Raises DataError on any failure."""
    import urllib.error  # here, not at the top: most processes never download
    import urllib.request

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.part")
    if not quiet:
        print(f"downloading {remote.url} -> {dest}", file=sys.stderr)
    try:
        request = urllib.request.Request(remote.url, headers={"User-Agent": "bnnrepro"})
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or remote.size
            with _progress(total, remote.name, quiet) as bar:
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
                    bar.update(len(block))
        md5 = file_digest(part, "md5")
        if md5 != remote.md5:
            raise DataError(
                f"downloaded {remote.url} but its MD5 is {md5}, expected {remote.md5}; "
                "the server sent something else (a proxy page?). Try again later, or "
                f"download it by hand into {dest.parent}."
            )
        os.replace(part, dest)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise DataError(
            f"cannot download {remote.url} ({exc}). Without network access, put {remote.name} "
            f"(MD5 {remote.md5}) into {dest.parent} or into $BNNREPRO_DATA/<dataset>/."
        ) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()


def fetch(
    spec: DatasetSpec, data_dir: str | os.PathLike | None = None, *, download: bool = True, quiet: bool = False
) -> dict[str, LocatedFile]:
    """Every file of ``spec``, located and verified, downloading what is missing if allowed."""
    found = locate(spec, data_dir)
    missing = [name for name, loc in found.items() if loc is None]
    explicit = explicit_data_dir(data_dir)
    if missing and explicit is not None and explicit.name == spec.name:
        raise DataError(
            f"data directory {explicit} looks like the {spec.name} folder itself: datasets are looked for in "
            f"DIR/{spec.name}/; give its parent ({explicit.parent}) instead"
        )
    if missing and not download:
        where = ", ".join(str(d) for _, d in candidate_dirs(spec, data_dir))
        hint = (
            f" On Debian, `apt-get install {spec.system_package}` provides them offline." if spec.system_package else ""
        )
        raise DataError(
            f"{spec.title}: {', '.join(missing)} not found (looked in {where}). "
            f"Run `bnnrepro data fetch {spec.name}` to download.{hint}"
        )
    located = {name: loc for name, loc in found.items() if loc is not None}
    target = download_dir(spec, data_dir)
    for name in missing:
        remote = spec.file(name)
        download_file(remote, target / name, quiet=quiet)
        located[name] = LocatedFile(remote, target / name, "download")
    return {name: located[name] for name in found}  # in the order of the spec's files
