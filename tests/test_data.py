"""Datasets: parsers of the original formats, verified look-up, download, transforms."""

from __future__ import annotations

import functools
import gzip
import http.server
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bnnrepro.data import DATASETS, load_dataset, prepare_data, transforms
from bnnrepro.data.fetch import fetch, locate
from bnnrepro.data.parsers import parse_idx
from bnnrepro.data.registry import CIFAR10, FASHION_MNIST, MNIST, SVHN
from bnnrepro.errors import ConfigError, DataError
from conftest import (FASHION_SYSTEM_DIR, idx_bytes, spec_for_files, write_cifar10_archive,
                      write_idx_dataset, write_svhn_mat)


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
    assert {loc.source for loc in found.values()} == {"data dir"}


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
    assert {loc.source for loc in locate(spec).values()} == {"cache"}


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
    assert (len(data.train), len(data.valid), len(data.test)) == (40, 20, 10)
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
        assert {loc.source for loc in located.values()} <= {"system", "cache", "data dir"}
