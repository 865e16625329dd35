"""Datasets: registry, verified local look-up and download, parsers of the original formats, the
parsed-data cache, and the seeded transforms of the experiments (randY, randX, subsets, binary and
pairwise tasks).

>>> from bnnrepro.data import load_dataset, prepare_data
>>> raw = load_dataset("fashion_mnist")             # doctest: +SKIP
>>> data = prepare_data(raw, train_size=1000, labels="randY", data_seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import os

from bnnrepro.data.cache import DataCacheWarning, forget_loaded, load_arrays
from bnnrepro.data.fetch import FileStatus, fetch, file_status, locate
from bnnrepro.data.prepare import LABEL_MODES, PreparedData, Split, parse_task, prepare_data
from bnnrepro.data.registry import DATASETS, DatasetSpec, RawDataset, RemoteFile, get_spec
from bnnrepro.data.transforms import (
    RANDX_VARIANCE,
    binary_task_labels,
    gaussian_inputs,
    pairwise_task,
    randomize_labels,
    scale_inputs,
    subset_indices,
    threshold_bits,
)

__all__ = [
    "DATASETS",
    "LABEL_MODES",
    "RANDX_VARIANCE",
    "DataCacheWarning",
    "DatasetSpec",
    "FileStatus",
    "PreparedData",
    "RawDataset",
    "RemoteFile",
    "Split",
    "binary_task_labels",
    "fetch",
    "file_status",
    "forget_loaded",
    "gaussian_inputs",
    "get_spec",
    "load_dataset",
    "locate",
    "pairwise_task",
    "parse_task",
    "prepare_data",
    "randomize_labels",
    "scale_inputs",
    "subset_indices",
    "threshold_bits",
]


def load_dataset(
    name: str | DatasetSpec, data_dir: str | os.PathLike | None = None, *, download: bool = True, quiet: bool = False
) -> RawDataset:
    """Locate (or download), verify and load a dataset. See :mod:`bnnrepro.data.fetch` for the
    look-up order. ``name`` may also be a :class:`DatasetSpec` (tests use specs of small files).

    The source files are located and verified on every call (cheap: verification is memoized).
    The arrays come from the parsed-data cache (:mod:`bnnrepro.data.cache`): parsed once,
    memory-mapped, and kept for the rest of the process, so a second call returns the same image
    arrays. Images are read-only; the labels are the caller's own int64 copy.
    """
    spec = name if isinstance(name, DatasetSpec) else get_spec(name)
    files = fetch(spec, data_dir, download=download, quiet=quiet)
    arrays = load_arrays(spec, {fname: loc.path for fname, loc in files.items()}, quiet=quiet)
    # Labels are tiny: a fresh writable copy per call keeps one run's edits out of the next run.
    return RawDataset(
        spec.name, arrays["x_train"], arrays["y_train"].copy(), arrays["x_test"], arrays["y_test"].copy(), spec.classes
    )
