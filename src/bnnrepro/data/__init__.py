"""Datasets: registry, verified local look-up and download, parsers of the original formats,
and the seeded transforms of the experiments (randY, randX, subsets, binary and pairwise tasks).

>>> from bnnrepro.data import load_dataset, prepare_data
>>> raw = load_dataset("fashion_mnist")             # doctest: +SKIP
>>> data = prepare_data(raw, train_size=1000, labels="randY", data_seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import os

from bnnrepro.data.fetch import fetch, locate
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
    "DATASETS", "DatasetSpec", "LABEL_MODES", "PreparedData", "RANDX_VARIANCE", "RawDataset",
    "RemoteFile", "Split", "binary_task_labels", "fetch", "gaussian_inputs", "get_spec",
    "load_dataset", "locate", "pairwise_task", "parse_task", "prepare_data", "randomize_labels",
    "scale_inputs", "subset_indices", "threshold_bits",
]


def load_dataset(name: str | DatasetSpec, data_dir: str | os.PathLike | None = None, *,
                 download: bool = True, quiet: bool = False) -> RawDataset:
    """Locate (or download), verify and parse a dataset. See :mod:`bnnrepro.data.fetch` for the
    look-up order. ``name`` may also be a :class:`DatasetSpec` (tests use specs of small files)."""
    spec = name if isinstance(name, DatasetSpec) else get_spec(name)
    files = fetch(spec, data_dir, download=download, quiet=quiet)
    arrays = spec.parse({fname: loc.path for fname, loc in files.items()})
    return RawDataset(spec.name, arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"],
                      spec.classes)
