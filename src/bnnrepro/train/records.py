"""Sealed run records: how a finished run proves its outputs are whole, and how readers check it.

When a run finishes, ``summary.json`` records the SHA-256 of each of its result files
(``metrics.csv``, ``timing.csv``, ``probe.csv``, ``model.pt``) and its fingerprint (settings and the
version of the training code): the run's *seal*. ``summary.json`` is itself sealed
(:mod:`bnnrepro.io`: ``summary.json.seal``), so an edited summary is noticed by every reader and by
the training loop, which trains such a run again instead of reusing it. A chunk of runs trained by
one job ends with a *manifest* (the job's output, sealed too) that lists its runs, the SHA-256 of
each ``summary.json`` and the training code's version. Every reader goes through
:func:`read_manifest` / :func:`verified_run`, so a truncated or edited result file is reported
naming the file and the fix, never silently used.

:func:`first_layer_weights` reads a run's saved model (``model.pt``) for analyses that look at its
weights, as numpy, after its seal verifies and without unpickling anything but tensors and plain
containers.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bnnrepro.errors import DataError
from bnnrepro.io import file_digest, torch_load, write_json
from bnnrepro.io import seal_problem as file_seal_problem

if TYPE_CHECKING:
    import numpy as np

SUMMARY = "summary.json"
#: Result files covered by a run's seal when they exist (the model too: analyses read its weights).
SEALED_FILES = ("metrics.csv", "timing.csv", "probe.csv", "model.pt")


def seal(folder: Path) -> dict[str, str]:
    """SHA-256 of each result file of the run in ``folder`` (for its summary.json)."""
    return {name: file_digest(folder / name) for name in SEALED_FILES if (folder / name).is_file()}


def read_summary(folder: str | os.PathLike) -> dict:
    """The run's summary.json; a missing or unreadable one is a DataError naming it."""
    path = Path(folder) / SUMMARY
    if not path.is_file():
        raise DataError(f"{path} is missing: the run did not finish")
    problem = file_seal_problem(path)
    if problem:
        raise DataError(problem)
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is corrupt (not valid JSON: {exc})") from None


def tag_columns(tags: Iterable[str]) -> dict[str, str]:
    """A run's condition tags (``key=value`` strings, the ``tags`` setting) as a mapping."""
    return dict(tag.split("=", 1) for tag in tags)


def seal_problem(folder: str | os.PathLike, summary: dict | None = None) -> str | None:
    """Why the run in ``folder`` is not whole (a missing or changed result file), or None."""
    folder = Path(folder)
    try:
        summary = summary if summary is not None else read_summary(folder)
    except DataError as exc:
        return str(exc)
    recorded = summary.get("outputs")
    if not isinstance(recorded, dict) or "metrics.csv" not in recorded:
        return f"{folder / SUMMARY} records no checksums of the run's outputs (written by an older version?)"
    for name, digest in recorded.items():
        path = folder / name
        if not path.is_file():
            return f"{path} is missing"
        if file_digest(path) != digest:
            return f"{path} is corrupt: its SHA-256 differs from the one recorded when the run finished"
        problem = file_seal_problem(path, check_inputs=False)
        if problem:
            return problem
    return None


def verified_run(folder: str | os.PathLike, fix: str = "") -> dict:
    """The summary of a finished run after checking its seal; a DataError naming the file otherwise."""
    fix = f"; {fix}" if fix else "; retrain the run (delete its folder and rerun)"
    try:
        summary = read_summary(folder)
    except DataError as exc:
        raise DataError(f"{exc}{fix}") from None
    problem = seal_problem(folder, summary)  # the summary read once
    if problem:
        raise DataError(problem + fix)
    return summary


def write_manifest(
    path: str | os.PathLike, folders: Sequence[str | os.PathLike], code_version: str | None = None, **info: Any
) -> dict:
    """Write the manifest of a chunk of finished runs (their folders and summary checksums, and the
    version of the code that trained them)."""
    runs = [{"folder": str(f), "summary_sha256": file_digest(Path(f) / SUMMARY)} for f in folders]
    manifest = {**info, "code_version": code_version, "runs": runs}
    write_json(path, manifest)
    return manifest


def read_manifest(path: str | os.PathLike) -> list[Path]:
    """The run folders of a chunk manifest, each verified (the manifest against its seal, each
    summary against the manifest, its result files against the summary's seal). Problems are
    DataErrors naming the file and the fix."""
    path = Path(path)
    fix = f"delete {path} and rerun the workflow (`snakemake --cores 8 all`): the job retrains what is not whole"
    if not path.is_file():
        raise DataError(f"{path} is missing; run the workflow first")
    problem = file_seal_problem(path)
    if problem:
        raise DataError(f"{problem}; {fix}")
    try:
        manifest = json.loads(path.read_text())
        entries = manifest["runs"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"{path} is corrupt ({exc}); {fix}") from None
    folders = []
    for entry in entries:
        try:
            folder, digest = Path(entry["folder"]), entry["summary_sha256"]
        except (KeyError, TypeError) as exc:
            raise DataError(f"{path} is corrupt (a run entry lacks {exc}); {fix}") from None
        summary = folder / SUMMARY
        if not summary.is_file() or file_digest(summary) != digest:
            state = "missing" if not summary.is_file() else "changed since the job finished"
            raise DataError(f"{summary} is {state}; {fix}")
        verified_run(folder, fix)
        folders.append(folder)
    return folders


def read_manifests(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """:func:`read_manifest` over several manifests, in order."""
    return [folder for path in paths for folder in read_manifest(path)]


def first_layer_weights(folder: str | os.PathLike) -> tuple[np.ndarray, tuple[int, ...]]:
    """The weights of a run's first dense or convolution layer ([units, ...], float32; the latent
    weights for a binarized layer) and the shape of one tile of it: the input image (a dense layer
    over the pixels), the kernel (a convolution), else one row of inputs. Read from the run's
    ``model.pt`` (spec, input shape, classes and state dict, as :func:`bnnrepro.train.loop.train`
    saves it) after its seal verifies, with ``weights_only``: tensors and plain containers only."""
    path = Path(folder) / "model.pt"
    if not path.is_file():
        raise DataError(
            f"{path} is missing: the family reads the first layer's weights from the saved model; "
            "delete the run's folder and its chunk manifest and rerun"
        )
    try:
        saved = torch_load(path)  # its seal checked, then weights-only
        state = saved["state_dict"]
        channels, height, width = saved["input_shape"]
    except (RuntimeError, KeyError, ValueError, TypeError, EOFError, pickle.UnpicklingError) as exc:
        raise DataError(
            f"{path} is not a model saved by `bnnrepro train` ({exc}); delete the run's folder and rerun"
        ) from None
    for name, tensor in state.items():
        if name.endswith("weight") and tensor.dim() in (2, 4):
            w = tensor.float().numpy()
            if w.ndim == 4:
                return w, tuple(w.shape[2:])
            if w.shape[1] == channels * height * width:
                return w, (height, width)
            return w, (1, w.shape[1])
    raise DataError(f"{path} has no dense or convolution weight")
