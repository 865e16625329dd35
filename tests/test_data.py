"""Datasets: parsers of the original formats, verified look-up, download, transforms."""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import os
import subprocess
import sys
import threading
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bnnrepro.data import (
    DATASETS,
    DataCacheWarning,
    cache,
    file_status,
    forget_loaded,
    load_dataset,
    prepare_data,
    transforms,
)
from bnnrepro.data.fetch import fetch, locate
from bnnrepro.data.parsers import parse_idx
from bnnrepro.data.registry import CIFAR10, FASHION_MNIST, MNIST, SVHN
from bnnrepro.errors import ConfigError, DataError
from conftest import (
    FASHION_SYSTEM_DIR,
    ROOT,
    idx_bytes,
    run_cli,
    spec_for_files,
    write_cifar10_archive,
    write_idx_dataset,
    write_svhn_mat,
)


@pytest.fixture(autouse=True)
def fresh_process_state():
    """Each test starts as a new process would: nothing loaded yet."""
    forget_loaded()
    yield
    forget_loaded()


def test_registry_has_the_four_datasets_with_canonical_checksums():
    assert set(DATASETS) == {"fashion_mnist", "mnist", "cifar10", "svhn"}
    assert CIFAR10.files[0].md5 == "c58f30108f718f92721af3b95e74349a"
    assert MNIST.file("train-images-idx3-ubyte.gz").md5 == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert SVHN.file("test_32x32.mat").md5 == "eb5a983be6a315427106f1b164d9cef3"
    for spec in DATASETS.values():
        for f in spec.files:
            assert f.url.startswith("http") and f.url.endswith(f.name) and len(f.md5) == 32


def test_parse_idx_reads_shape_and_values():
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(idx_bytes(array)), array)


@pytest.mark.parametrize("damage", ["truncate", "magic"])
def test_parse_idx_rejects_damaged_files(damage):
    data = idx_bytes(np.zeros((2, 28, 28), np.uint8))
    data = data[:-5] if damage == "truncate" else b"\x01" + data[1:]
    with pytest.raises(DataError, match="<bytes>"):
        parse_idx(data)


def test_idx_dataset_loads_through_the_data_dir(tmp_path, isolated_cache):
    folder = tmp_path / "data" / "mnist"
    arrays = write_idx_dataset(folder)
    spec = spec_for_files(MNIST, folder)
    raw = load_dataset(spec, tmp_path / "data", download=False)
    assert raw.x_train.shape == (60, 1, 28, 28) and raw.x_test.shape == (20, 1, 28, 28)
    np.testing.assert_array_equal(raw.x_train[:, 0], arrays["x_train"])
    np.testing.assert_array_equal(raw.y_test, arrays["y_test"])
    assert raw.y_train.dtype == np.int64
    found = locate(spec, tmp_path / "data")
    assert {getattr(loc, "source", None) for loc in found.values()} == {"data dir"}


def test_env_var_data_dir_is_used(tmp_path, isolated_cache, monkeypatch):
    folder = tmp_path / "env" / "mnist"
    write_idx_dataset(folder)
    monkeypatch.setenv("BNNREPRO_DATA", str(tmp_path / "env"))
    spec = spec_for_files(MNIST, folder)
    assert load_dataset(spec, download=False).x_train.shape[0] == 60


def test_recompressed_gzip_verifies_by_content(tmp_path, isolated_cache):
    """Debian recompresses Fashion-MNIST: a different gzip of the same bytes must verify."""
    folder = tmp_path / "mnist"
    write_idx_dataset(folder)
    name = "t10k-labels-idx1-ubyte.gz"
    content = gzip.decompress((folder / name).read_bytes())
    spec = spec_for_files(MNIST, folder)
    import hashlib

    remote = replace(spec.file(name), content_sha256=hashlib.sha256(content).hexdigest())
    spec = replace(spec, files=tuple(remote if f.name == name else f for f in spec.files))
    (folder / name).write_bytes(gzip.compress(content, compresslevel=1, mtime=12345))  # other bytes, same content
    assert load_dataset(spec, tmp_path, download=False).y_test.shape == (20,)


def test_corrupt_file_is_a_clear_error(tmp_path, isolated_cache):
    folder = tmp_path / "mnist"
    write_idx_dataset(folder)
    spec = spec_for_files(MNIST, folder)
    bad = folder / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-3])
    with pytest.raises(DataError) as info:
        load_dataset(spec, tmp_path, download=False)
    message = str(info.value)
    assert str(bad) in message and spec.file(bad.name).md5 in message
    assert "bnnrepro data fetch mnist" in message


def test_missing_files_offline_name_the_fix(tmp_path, isolated_cache):
    with pytest.raises(DataError, match="bnnrepro data fetch cifar10"):
        fetch(CIFAR10, tmp_path, download=False)


def test_cifar10_archive_parses(tmp_path, isolated_cache):
    folder = tmp_path / "cifar10"
    folder.mkdir()
    batches = write_cifar10_archive(folder / "cifar-10-python.tar.gz")
    raw = load_dataset(spec_for_files(CIFAR10, folder), tmp_path, download=False)
    assert raw.x_train.shape == (35, 3, 32, 32) and raw.x_test.shape == (7, 3, 32, 32)
    data, labels = batches["data_batch_2"]
    np.testing.assert_array_equal(raw.x_train[7:14].reshape(7, -1), data)
    np.testing.assert_array_equal(raw.y_train[7:14], labels)
    # Channel-major layout: the first 1024 bytes of a row are the red plane.
    np.testing.assert_array_equal(raw.x_test[0, 0].ravel(), batches["test_batch"][0][0, :1024])


def test_svhn_mat_parses_and_maps_label_10_to_0(tmp_path, isolated_cache):
    folder = tmp_path / "svhn"
    folder.mkdir()
    x, y = write_svhn_mat(folder / "train_32x32.mat", n=11)
    write_svhn_mat(folder / "test_32x32.mat", n=5, seed=1)
    raw = load_dataset(spec_for_files(SVHN, folder), tmp_path, download=False)
    assert raw.x_train.shape == (11, 3, 32, 32)
    np.testing.assert_array_equal(raw.x_train[4], x[:, :, :, 4].transpose(2, 0, 1))
    expected = y.ravel().astype(np.int64) % 10
    np.testing.assert_array_equal(raw.y_train, expected)
    assert raw.y_train[9] == 0  # the file said 10


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def http_server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_download_verifies_and_caches(tmp_path, isolated_cache, http_server):
    served, url = http_server
    write_idx_dataset(served)
    spec = spec_for_files(MNIST, served)
    spec = replace(spec, files=tuple(replace(f, url=url + f.name) for f in spec.files))
    raw = load_dataset(spec, quiet=True)
    assert raw.x_train.shape[0] == 60
    cached = sorted(p.name for p in (isolated_cache / "mnist").iterdir())
    assert cached == sorted(f.name for f in spec.files)  # no .part leftovers
    assert {getattr(loc, "source", None) for loc in locate(spec).values()} == {"cache"}


def test_bad_download_leaves_nothing_behind(tmp_path, isolated_cache, http_server):
    served, url = http_server
    write_idx_dataset(served)
    spec = spec_for_files(MNIST, served)
    spec = replace(spec, files=tuple(replace(f, url=url + f.name) for f in spec.files))
    (served / "train-images-idx3-ubyte.gz").write_bytes(b"<html>proxy error</html>")
    with pytest.raises(DataError, match="MD5"):
        load_dataset(spec, quiet=True)
    leftovers = list((isolated_cache / "mnist").glob("*train-images*"))
    assert leftovers == []


def test_unreachable_url_is_a_clear_error(tmp_path, isolated_cache):
    spec = replace(MNIST, files=tuple(replace(f, url="http://127.0.0.1:9/" + f.name) for f in MNIST.files))
    with pytest.raises(DataError, match="cannot download"):
        fetch(spec, quiet=True)


# --- parsed-data cache and explicit data directories ----------------------------------------


def _small_dataset(kind: str, root: Path, seed: int = 0):
    """A spec for small files of ``kind`` in their original format, written under ``root``."""
    if kind == "idx":
        write_idx_dataset(root / "mnist", seed=seed)
        return spec_for_files(MNIST, root / "mnist")
    folder = root / kind
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "cifar10":
        write_cifar10_archive(folder / "cifar-10-python.tar.gz", seed=seed)
        return spec_for_files(CIFAR10, folder)
    write_svhn_mat(folder / "train_32x32.mat", n=11, seed=seed)
    write_svhn_mat(folder / "test_32x32.mat", n=5, seed=seed + 1)
    return spec_for_files(SVHN, folder)


def _counting_parses(spec):
    """``spec`` with a parser that records each call."""
    calls = []

    def parse(paths):
        calls.append(sorted(paths))
        return spec.parse(paths)

    return replace(spec, parse=parse), calls


def _parsed(spec, root: Path) -> dict[str, np.ndarray]:
    return spec.parse({f.name: root / spec.name / f.name for f in spec.files})


def _assert_equal_to_parsed(raw, expected):
    for name in cache.ARRAY_NAMES:
        got = getattr(raw, name)
        np.testing.assert_array_equal(got, expected[name])
        assert got.dtype == (np.uint8 if name.startswith("x_") else np.int64)


@pytest.mark.parametrize("kind", ["idx", "cifar10", "svhn"])
def test_cache_is_built_once_then_memory_mapped(tmp_path, isolated_cache, kind):
    plain = _small_dataset(kind, tmp_path)
    spec, calls = _counting_parses(plain)
    first = load_dataset(spec, tmp_path, download=False)
    entry = cache.entry_dir(spec)
    assert entry.parent == isolated_cache / "parsed" and entry.name.startswith(f"{spec.name}-")
    assert sorted(p.name for p in entry.iterdir()) == [
        "manifest.json",
        "verified.json",
        "x_test.npy",
        "x_train.npy",
        "y_test.npy",
        "y_train.npy",
    ]
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]  # no temporary folders left
    expected = _parsed(plain, tmp_path)
    _assert_equal_to_parsed(first, expected)

    forget_loaded()  # as a new process: the entry is opened, not parsed again
    again = load_dataset(spec, tmp_path, download=False)
    assert len(calls) == 1
    _assert_equal_to_parsed(again, expected)
    assert isinstance(again.x_train.base, np.memmap) and not again.x_train.flags.writeable
    assert np.load(entry / "y_train.npy").dtype == np.uint8

    # In the same process the images are the arrays already loaded; the labels are the caller's own.
    third = load_dataset(spec, tmp_path, download=False)
    assert third.x_train is again.x_train and third.x_test is again.x_test
    assert third.y_train is not again.y_train and third.y_train.flags.writeable
    third.y_train[:] = 0
    np.testing.assert_array_equal(load_dataset(spec, tmp_path, download=False).y_train, expected["y_train"])
    assert len(calls) == 1


def test_a_changed_source_file_gets_a_new_key(tmp_path, isolated_cache):
    old_spec = _small_dataset("idx", tmp_path, seed=0)
    load_dataset(old_spec, tmp_path, download=False)
    new_spec = _small_dataset("idx", tmp_path, seed=1)  # other images in the same files
    assert cache.cache_key(new_spec) != cache.cache_key(old_spec)
    raw = load_dataset(new_spec, tmp_path, download=False)
    _assert_equal_to_parsed(raw, _parsed(new_spec, tmp_path))
    assert len(list((isolated_cache / "parsed").iterdir())) == 2
    # The old checksums no longer match the files: an error, never the old entry.
    forget_loaded()
    with pytest.raises(DataError, match="corrupt or not the published version"):
        load_dataset(old_spec, tmp_path, download=False)


def _flip_byte(path: Path) -> None:
    """Change one byte in place (same size, same inode), as a disk error or a stray write would."""
    stat = path.stat()
    with open(path, "r+b") as handle:
        handle.seek(stat.st_size - 1)
        last = handle.read(1)
        handle.seek(stat.st_size - 1)
        handle.write(bytes([last[0] ^ 0xFF]))


def _damage(entry: Path, how: str) -> None:
    target = entry / "x_train.npy"
    if how == "truncated":
        target.write_bytes(target.read_bytes()[:-100])
    elif how == "byte changed later":
        stat = target.stat()
        _flip_byte(target)
        # A real corruption comes long after the build; the file clock ticks only every few ms,
        # so show the later modification time explicitly.
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    elif how == "byte changed, no memo":
        _flip_byte(target)
        (entry / "verified.json").unlink()
    elif how == "file missing":
        (entry / "y_test.npy").unlink()
    elif how == "manifest garbled":
        (entry / "manifest.json").write_text('{"format": 1, "arr')
    elif how == "header garbled":
        data = bytearray(target.read_bytes())
        data[10:20] = b"#" * 10  # inside the .npy header's dict: same size, same mtime
        target.write_bytes(bytes(data))
        (entry / "verified.json").unlink()


@pytest.mark.parametrize(
    "how",
    ["truncated", "byte changed later", "byte changed, no memo", "file missing", "manifest garbled", "header garbled"],
)
def test_damaged_cache_entry_is_detected_and_rebuilt(tmp_path, isolated_cache, capsys, how):
    plain = _small_dataset("idx", tmp_path)
    spec, calls = _counting_parses(plain)
    load_dataset(spec, tmp_path, download=False)
    entry = cache.entry_dir(spec)
    _damage(entry, how)
    forget_loaded()
    with pytest.raises(cache.DamagedEntry):
        cache.open_entry(entry, cache.cache_key(spec))
    raw = load_dataset(spec, tmp_path, download=False)
    assert len(calls) == 2 and "is damaged" in capsys.readouterr().err
    _assert_equal_to_parsed(raw, _parsed(plain, tmp_path))
    cache.open_entry(entry, cache.cache_key(spec))  # verifies again
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]  # the damaged copy is gone


def test_an_unchanged_entry_is_not_hashed_again(tmp_path, isolated_cache, monkeypatch):
    spec = _small_dataset("idx", tmp_path)
    load_dataset(spec, tmp_path, download=False)
    hashed = []
    monkeypatch.setattr(cache, "file_digest", lambda path, algorithm: hashed.append(path))
    cache.open_entry(cache.entry_dir(spec), cache.cache_key(spec))
    assert hashed == []  # the memo written with the entry vouches for every file


def test_the_loser_of_a_build_race_keeps_the_winners_entry(tmp_path, isolated_cache):
    spec = _small_dataset("idx", tmp_path)
    load_dataset(spec, tmp_path, download=False)
    entry, key = cache.entry_dir(spec), cache.cache_key(spec)
    before = {p.name: p.stat().st_ino for p in entry.iterdir()}
    assert cache.write_entry(entry, key, _parsed(spec, tmp_path)) is False
    assert {p.name: p.stat().st_ino for p in entry.iterdir()} == before
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]


def test_leftovers_of_killed_builds_are_swept_when_old(tmp_path, isolated_cache):
    spec = _small_dataset("idx", tmp_path)
    entry = cache.entry_dir(spec)
    entry.parent.mkdir(parents=True)
    old, recent = entry.with_name(f".{entry.name}.1.aa.tmp"), entry.with_name(f".{entry.name}.2.bb.stale")
    for leftover in (old, recent):
        leftover.mkdir()
        (leftover / "x_train.npy").write_bytes(b"half")
    os.utime(old, (0, 0))
    load_dataset(spec, tmp_path, download=False)
    assert sorted(p.name for p in entry.parent.iterdir()) == sorted([entry.name, recent.name])


_RACE = r"""
import json, sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, sys.argv[1])
from conftest import spec_for_files
from bnnrepro.data import cache, load_dataset
from bnnrepro.data.registry import MNIST

data, barrier, me, others = Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], int(sys.argv[5])
install, outcome = cache._install, []

def install_once_everyone_has_built(tmp, folder):
    # Every process has written its complete copy before any renames it into place.
    (barrier / me).touch()
    deadline = time.monotonic() + 120
    while len(list(barrier.iterdir())) < others and time.monotonic() < deadline:
        time.sleep(0.01)
    outcome.append(install(tmp, folder))
    return outcome[-1]

cache._install = install_once_everyone_has_built
raw = load_dataset(spec_for_files(MNIST, data / "mnist"), data, download=False, quiet=True)
print(json.dumps({"installed": outcome, "x_sum": int(raw.x_train.sum(dtype=np.int64)),
                  "y_sum": int(raw.y_test.sum())}))
"""


def test_processes_building_the_same_entry_at_once_all_succeed(tmp_path, isolated_cache):
    spec = _small_dataset("idx", tmp_path)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    script = tmp_path / "race.py"
    script.write_text(_RACE)
    n = 2
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(ROOT / "tests"), str(tmp_path), str(barrier), str(i), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    # One process installed its copy; the others found the name taken and kept that one.
    assert sorted(r["installed"] for r in results) == [[False]] * (n - 1) + [[True]]
    expected = _parsed(spec, tmp_path)
    for r in results:
        assert (r["x_sum"], r["y_sum"]) == (int(expected["x_train"].sum(dtype=np.int64)), int(expected["y_test"].sum()))
    entry = cache.entry_dir(spec)
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]
    cache.open_entry(entry, cache.cache_key(spec))


def test_unwritable_cache_location_falls_back_to_parsing_with_a_warning(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("BNNREPRO_CACHE", str(blocker / "cache"))  # cannot be created, even by root
    monkeypatch.delenv("BNNREPRO_DATA", raising=False)
    spec = _small_dataset("idx", tmp_path)
    with pytest.warns(DataCacheWarning, match=r"cannot write the parsed-data cache .*\$BNNREPRO_CACHE"):
        raw = load_dataset(spec, tmp_path, download=False)
    _assert_equal_to_parsed(raw, _parsed(spec, tmp_path))
    assert not raw.x_train.flags.writeable  # the same behaviour as with a cache


def test_a_complete_entry_in_a_read_only_folder_is_used(tmp_path, isolated_cache, monkeypatch):
    plain = _small_dataset("idx", tmp_path)
    load_dataset(plain, tmp_path, download=False)
    (cache.entry_dir(plain) / "verified.json").unlink()  # so the load must hash and remember

    def read_only(path, obj):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(cache, "write_json", read_only)  # root ignores chmod, so simulate it
    spec, calls = _counting_parses(plain)
    forget_loaded()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataCacheWarning)
        raw = load_dataset(spec, tmp_path, download=False)
    assert calls == [] and isinstance(raw.x_train.base, np.memmap)


@pytest.mark.parametrize("how", ["argument", "environment", "a file"])
def test_missing_explicit_data_dir_is_a_one_line_config_error(tmp_path, isolated_cache, monkeypatch, how):
    spec = _small_dataset("idx", tmp_path / "data")
    missing = tmp_path / "typo"
    if how == "a file":
        missing.write_text("")
    if how == "environment":
        monkeypatch.setenv("BNNREPRO_DATA", str(missing))
    with pytest.raises(ConfigError) as info:
        load_dataset(spec, None if how == "environment" else missing, download=False)
    message = str(info.value)
    assert "\n" not in message and str(missing) in message and "create it" in message
    assert ("$BNNREPRO_DATA" if how == "environment" else "--data-dir") in message


def _data_command(name: str, *argv: str) -> int:
    """Run ``bnnrepro data NAME ARGV`` in this process, as :mod:`bnnrepro.cli` does."""
    import argparse

    from bnnrepro.data import commands

    command = getattr(commands, name)
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return command.run(parser.parse_args(list(argv)))


@pytest.mark.parametrize("name", ["info", "fetch"])
def test_data_commands_reject_a_missing_data_dir(tmp_path, isolated_cache, capsys, name):
    with pytest.raises(ConfigError, match="does not exist") as info:
        _data_command(name, "mnist", "--data-dir", str(tmp_path / "typo"))
    assert "\n" not in str(info.value) and str(tmp_path / "typo") in str(info.value)
    assert capsys.readouterr().out == ""  # the error comes before any output


def test_missing_data_dir_on_the_command_line(tmp_path):
    proc = run_cli("data", "info", "mnist", "--data-dir", str(tmp_path / "typo"))
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and str(tmp_path / "typo") in proc.stderr


def test_file_status_reports_every_file(tmp_path, isolated_cache):
    spec = _small_dataset("idx", tmp_path)
    folder = tmp_path / "mnist"
    bad = folder / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-3])
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    status = {s.name: s for s in file_status(spec, tmp_path)}
    assert [status[f.name].state for f in spec.files] == ["verified", "corrupt", "missing", "verified"]
    assert str(bad) in status[bad.name].problem and "bnnrepro data fetch mnist" in status[bad.name].problem
    assert status[bad.name].describe().startswith("CORRUPT")
    assert status["t10k-images-idx3-ubyte.gz"].path == isolated_cache.parent / "mnist" / "t10k-images-idx3-ubyte.gz"
    assert [s.ok for s in file_status(spec, tmp_path, verify=False)] == [True, True, False, True]
    with pytest.raises(DataError):
        locate(spec, tmp_path)
    # A file that may also verify by content (Debian's recompressed copies), but whose gzip is cut.
    by_content = replace(spec.file(bad.name), content_sha256="0" * 64)
    spec = replace(spec, files=tuple(by_content if f.name == bad.name else f for f in spec.files))
    status = {s.name: s for s in file_status(spec, tmp_path)}
    assert status[bad.name].state == "corrupt" and "not a valid gzip file" in status[bad.name].problem


def test_data_info_exits_non_zero_on_a_corrupt_file(tmp_path, isolated_cache, capsys, monkeypatch):
    spec = _small_dataset("idx", tmp_path / "data")
    monkeypatch.setitem(DATASETS, "mnist", spec)  # the command looks datasets up by name
    data_dir = str(tmp_path / "data")
    assert _data_command("info", "mnist", "--data-dir", data_dir) == 0
    out = capsys.readouterr().out
    assert out.count("(verified)") == 4 and "parsed cache:" in out
    bad = tmp_path / "data" / "mnist" / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-3])
    assert _data_command("info", "mnist", "--data-dir", data_dir) == 2
    captured = capsys.readouterr()
    assert "CORRUPT" in captured.out and str(bad) in captured.err
    assert _data_command("info", "mnist", "--data-dir", data_dir, "--no-verify") == 0


def test_import_is_light():
    code = "import sys, bnnrepro.data; print(sorted({'torch', 'scipy', 'urllib.request'} & set(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


# --- transforms -------------------------------------------------------------------------------


def test_random_labels_are_seeded_and_uniform():
    y = np.zeros(20000, np.int64)
    a, b = transforms.randomize_labels(y, 10, 3), transforms.randomize_labels(y, 10, 3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, transforms.randomize_labels(y, 10, 4))
    counts = np.bincount(a, minlength=10)
    assert counts.min() > 1800 and counts.max() < 2200


def test_gaussian_inputs_have_the_original_variance():
    x = transforms.gaussian_inputs((20000, 1, 4, 4), seed=0)
    assert abs(x.mean()) < 0.01 and abs(x.var() - 0.1) < 0.005
    np.testing.assert_array_equal(x, transforms.gaussian_inputs((20000, 1, 4, 4), seed=0))


def test_scale_inputs_maps_to_minus_one_one():
    x = transforms.scale_inputs(np.array([0, 255, 51], np.uint8))
    np.testing.assert_allclose(x, [-1.0, 1.0, 51 * 2 / 255 - 1], rtol=0, atol=1e-7)


def test_tasks_binary_and_pairwise():
    y = np.arange(10)
    np.testing.assert_array_equal(transforms.binary_task_labels(y), [0] * 5 + [1] * 5)
    x = np.arange(10)[:, None]
    xp, yp = transforms.pairwise_task(x, y, 3, 7)
    np.testing.assert_array_equal(xp.ravel(), [3, 7])
    np.testing.assert_array_equal(yp, [0, 1])


def test_prepare_data_splits_and_transforms(tmp_path, isolated_cache):
    folder = tmp_path / "mnist"
    write_idx_dataset(folder, n_train=100, n_test=30)
    raw = load_dataset(spec_for_files(MNIST, folder), tmp_path, download=False)
    data = prepare_data(raw, train_size=40, valid_size=20, test_size=10, labels="randY", data_seed=1)
    assert data.valid is not None and data.test is not None
    assert (len(data.train), len(data.valid), len(data.test)) == (40, 20, 10)
    # The raw images are read-only memory maps; the tensors must be copies the run may change.
    assert not raw.x_train.flags.writeable
    for part in (data.train, data.valid, data.test):
        for source in (raw.x_train, raw.x_test, raw.y_train, raw.y_test):
            assert not np.may_share_memory(part.x.numpy(), source)
            assert not np.may_share_memory(part.y.numpy(), source)
    assert data.train.index.max() < 80  # the last 20 are the validation set
    np.testing.assert_array_equal(data.valid.index, np.arange(80, 100))
    # validation and test keep their true labels
    np.testing.assert_array_equal(data.valid.y.numpy(), raw.y_train[80:])
    randx = prepare_data(raw, train_size=40, labels="randX", data_seed=1)
    assert randx.train.x.std() < 0.5 and randx.test.x.min() == -1.0
    pair = prepare_data(raw, task="pair-2-5")
    assert set(pair.train.y.tolist()) == {0, 1} and pair.classes == ("2", "5")
    with pytest.raises(ConfigError, match="train_size"):
        prepare_data(raw, train_size=1000)
    with pytest.raises(ConfigError, match="labels"):
        prepare_data(raw, labels="shuffled")


def test_real_fashion_mnist(fashion_mnist):
    """The real files (Debian package or canonical download) parse into the published dataset."""
    raw = fashion_mnist
    assert raw.x_train.shape == (60000, 1, 28, 28) and raw.x_test.shape == (10000, 1, 28, 28)
    assert np.bincount(raw.y_train).tolist() == [6000] * 10
    assert np.bincount(raw.y_test).tolist() == [1000] * 10
    assert raw.y_train[:5].tolist() == [9, 0, 0, 3, 0]  # published first labels
    located = locate(FASHION_MNIST)
    assert all(loc is not None for loc in located.values())
    if FASHION_SYSTEM_DIR.is_dir():
        assert {getattr(loc, "source", None) for loc in located.values()} <= {"system", "cache", "data dir"}
