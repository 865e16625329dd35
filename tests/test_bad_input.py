"""Bad input, one table: command-line arguments, config files, data files and output paths.

Each case is what a user might type or have on disk, the exit status it must get (2: bad input) and
a fragment of the one line that names the problem. No case may end in a traceback or print more than
one line of error. The cases run in-process through :func:`bnnrepro.cli.main` (one import of torch
for all of them); the few that need a process of their own (a resource limit) run as subprocesses.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bnnrepro.cli import main
from conftest import ROOT


@dataclass(frozen=True)
class Case:
    id: str
    argv: Callable[[Path], list[str]]  # builds the files it needs under the test's folder
    fragment: str
    code: int = 2
    env: dict | None = None


def _file(tmp: Path, name: str, text: str = "x") -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _read_only_dir(tmp: Path) -> Path:
    """A folder nobody may write into: as root (who writes anywhere) one under /sys, which the
    kernel refuses to create (EPERM), else a folder of mode 0555."""
    if os.geteuid() == 0:
        return Path("/sys/bnnrepro-read-only")
    folder = tmp / "bnnrepro-read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def _yaml(tmp: Path, text: str) -> str:
    return str(_file(tmp, "bad.yaml", text))


def _finished_run(tmp: Path) -> Path:
    """A real finished run (tiny), sealed: its summary.json records metrics.csv's checksum."""
    out = tmp / "run"
    assert (
        main(
            [
                "train",
                "--out",
                str(out),
                "--train-size",
                "200",
                "--test-size",
                "100",
                "--hidden",
                "8",
                "--epochs",
                "1",
                "--batch-size",
                "100",
                "--no-progress",
            ]
        )
        == 0
    )
    return out


def _locked(tmp: Path) -> Path:
    """A run folder another process is writing: its lock is held (here by an open file of this
    process: flock locks belong to the open file, so the command's own attempt conflicts)."""
    import fcntl

    folder = tmp / "busy"
    folder.mkdir()
    handle = open(folder / ".lock", "a+")  # noqa: SIM115 -- held open until the session ends (_HELD), no `with`
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    _HELD.append(handle)  # kept open until the test session ends
    return folder


_HELD: list = []


def _truncated(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _truncated_metrics(tmp: Path) -> list[str]:
    from bnnrepro.train.records import write_manifest

    out = _finished_run(tmp)
    manifest = tmp / "manifest.json"
    write_manifest(manifest, [out])
    _truncated(out / "metrics.csv")
    return ["memorization", "tables", "--section", "{}", "--results", str(tmp), str(manifest)]


def _truncated_summary(tmp: Path) -> list[str]:
    out = _finished_run(tmp)
    _truncated(out / "summary.json")
    return [
        "train",
        "--out",
        str(out),
        "--train-size",
        "200",
        "--test-size",
        "100",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--batch-size",
        "100",
        "--no-progress",
    ]


def _truncated_checkpoint(tmp: Path) -> list[str]:
    out = tmp / "run"
    out.mkdir(parents=True)
    (out / "checkpoint.pt").write_bytes(b"PK\x03\x04 truncated zip")
    return [
        "train",
        "--out",
        str(out),
        "--train-size",
        "200",
        "--test-size",
        "100",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--batch-size",
        "100",
        "--no-progress",
    ]


def _corrupt_data(tmp: Path) -> list[str]:
    folder = tmp / "data" / "fashion_mnist"
    _file(folder, "train-labels-idx1-ubyte.gz", "not a gzip file")
    return ["data", "info", "fashion_mnist", "--data-dir", str(tmp / "data")]


# --- sealed result files: edited, unsealed, out of date ------------------------------------------


def _sealed(tmp: Path, relative: str, frame=None) -> Path:
    """A result file written (and sealed) as a job writes it."""
    import pandas as pd

    from bnnrepro.io import write_csv

    path = tmp / relative
    write_csv(path, frame if frame is not None else pd.DataFrame({"a": [1, 2, 3], "b": [0.81, 0.5, 0.2]}))
    return path


def _edited(tmp: Path, relative: str, frame=None) -> Path:
    """A sealed result file edited afterwards (a number changed, the seal left as it was)."""
    path = _sealed(tmp, relative, frame)
    path.write_text(path.read_text().replace("0.81", "0.01"))
    return path


def _rows_dropped(tmp: Path, relative: str) -> Path:
    path = _sealed(tmp, relative)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-2]))
    return path


def _unsealed(tmp: Path, relative: str) -> Path:
    path = _sealed(tmp, relative)
    (path.parent / (path.name + ".seal")).unlink()
    return path


def _stale(tmp: Path) -> Path:
    """claims.csv built from a table that has changed since (re-sealed by a later job)."""
    from bnnrepro.io import recording_inputs, verify, write_csv

    table = _sealed(tmp, "memorization/summary.csv")
    claims = tmp / "report" / "claims.csv"
    with recording_inputs():
        verify(table)
        import pandas as pd

        write_csv(claims, pd.DataFrame({"claim": ["x"], "verdict": ["held"]}))
    _sealed(tmp, "memorization/summary.csv", pd.DataFrame({"a": [9]}))
    return claims


def _edited_summary(tmp: Path) -> list[str]:
    """A finished run whose summary.json was edited (final error 0.0001), read through its chunk manifest."""
    import json

    from bnnrepro.train.records import write_manifest

    out = _finished_run(tmp)
    manifest = tmp / "memorization" / "fashion_mnist" / "chunks" / "c.json"
    write_manifest(manifest, [out])
    summary = json.loads((out / "summary.json").read_text())
    summary["final_error"]["train"] = 0.0001
    (out / "summary.json").write_text(json.dumps(summary))
    return ["memorization", "tables", "--section", "{}", "--results", str(tmp), str(manifest)]


def _edited_manifest(tmp: Path) -> list[str]:
    from bnnrepro.train.records import write_manifest

    out = _finished_run(tmp)
    manifest = tmp / "chunks.json"
    write_manifest(manifest, [out])
    manifest.write_text(manifest.read_text().replace('"runs"', '"runs" ', 1))
    return ["memorization", "tables", "--section", "{}", "--results", str(tmp), str(manifest)]


def _corrupt_cache_label(tmp: Path) -> list[str]:
    """A parsed-cache entry whose labels were changed together with its manifest's checksum (so the
    cache trusts it): class 99 among 10 classes."""
    import json

    import numpy as np

    from bnnrepro.data import load_dataset
    from bnnrepro.data.cache import entry_dir, forget_loaded
    from bnnrepro.data.registry import get_spec
    from bnnrepro.io import file_digest

    forget_loaded()  # arrays an earlier case loaded from another cache
    load_dataset("fashion_mnist", quiet=True)  # builds the entry in this test's cache
    folder = entry_dir(get_spec("fashion_mnist"))
    labels = np.load(folder / "y_train.npy")
    labels[::7] = 99
    np.save(folder / "y_train.npy", labels)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["arrays"]["y_train"]["sha256"] = file_digest(folder / "y_train.npy")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    forget_loaded()
    return ["train", "--out", str(tmp / "r"), *TRAIN]


def _folder(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def _tag_case(key: str) -> Callable[[Path], list[str]]:
    return lambda t: ["train", "--out", str(t / "r"), "--tags", f"{key}=0"]


def _runs_spec(tmp: Path, settings: dict) -> str:
    import json

    path = tmp / "chunk.json"
    path.write_text(json.dumps({"runs": [{"out": str(tmp / "r"), "name": "r", "settings": settings}]}))
    return str(path)


def _config(tmp: Path, text: str) -> list[str]:
    """`bnnrepro config check` of a preset merged over config.yaml (what the Snakefile checks)."""
    return ["config", "check", "--configfile", str(_file(tmp, "preset.yaml", text))]


def _data_one_level_too_deep(tmp: Path) -> list[str]:
    (tmp / "data" / "fashion_mnist").mkdir(parents=True)
    return _config(tmp, f"data_dir: {tmp / 'data' / 'fashion_mnist'}\n")


TRAIN = ["--train-size", "200", "--test-size", "100", "--hidden", "8", "--epochs", "1", "--no-progress"]

CASES = [
    # --- the command line -------------------------------------------------------------------------
    Case("unknown-command", lambda t: ["trian"], "did you mean 'train'?"),
    Case("family-without-action", lambda t: ["memorization"], "missing action; choose one of: tables"),
    Case("family-unknown-action", lambda t: ["memorization", "plot"], "unknown action 'plot'"),
    Case(
        "unknown-option",
        lambda t: ["train", "--out", str(t / "r"), "--no-such-option"],
        "unrecognized arguments: --no-such-option",
    ),
    Case("epochs-zero", lambda t: ["train", "--out", str(t / "r"), "--epochs", "0"], "epochs=0 must be >= 1"),
    Case("epochs-not-a-number", lambda t: ["train", "--out", str(t / "r"), "--epochs", "two"], "'two' is not an int"),
    Case("huge-seed", lambda t: ["train", "--out", str(t / "r"), "--seed", "99999999999999999999999"], "too large"),
    Case(
        "bad-label-mode", lambda t: ["train", "--out", str(t / "r"), "--labels", "random"], "invalid choice: 'random'"
    ),
    Case("dropout-out-of-range", lambda t: ["train", "--out", str(t / "r"), "--dropout", "1.5"], "dropout"),
    Case("pair-task-same-class", lambda t: ["train", "--out", str(t / "r"), "--task", "pair-3-3"], "pair-A-B"),
    Case(
        "subset-larger-than-dataset",
        lambda t: ["train", "--out", str(t / "r"), "--train-size", "70000"],
        "train_size=70000",
    ),
    Case(
        "diverging-learning-rate",
        lambda t: ["train", "--out", str(t / "r"), *TRAIN, "--lr-start", "1e30"],
        "diverged at epoch 1: the train loss is not finite; lower lr_start",
    ),
    Case(
        "run-folder-in-use", lambda t: ["train", "--out", str(_locked(t)), *TRAIN], "being written by another process"
    ),
    Case("no-out", lambda t: ["train", "--epochs", "1"], "--out DIR"),
    Case("empty-out", lambda t: ["train", "--out", "", "--epochs", "1"], "--out"),
    Case("runs-file-missing", lambda t: ["train", "--runs", str(t / "absent.json")], "absent.json: no such file"),
    Case(
        "runs-file-not-a-chunk",
        lambda t: ["train", "--runs", str(_file(t, "c.json", '{"runs": 3}'))],
        "not a chunk spec",
    ),
    Case(
        "run-config-missing",
        lambda t: ["train", "--out", str(t / "r"), "--config", str(t / "absent.yaml")],
        "absent.yaml",
    ),
    Case(
        "run-config-unknown-key",
        lambda t: ["train", "--out", str(t / "r"), "--config", _yaml(t, "epoch: 3\n")],
        "did you mean 'epochs'",
    ),
    Case(
        "run-config-yaml-exponent",
        lambda t: ["train", "--out", str(t / "r"), "--config", _yaml(t, "lr_start: 3e-3\n")],
        "3e-3",
    ),
    Case(
        "kernel-bench-huge-size",
        lambda t: ["kernels", "bench", "--out", str(t / "k.csv"), "--sizes", "1000000"],
        "--sizes",
    ),
    Case("kernel-bench-no-gpu", lambda t: ["kernels", "bench", "--out", str(t / "k.csv"), "--device", "cuda"], "cuda"),
    Case(
        "lookup-tables-bad-pair",
        lambda t: ["lookup_tables", "table", "pairwise", "--pairs", "3-3", "--out", str(t / "p.csv")],
        "3-3",
    ),
    Case("plan-configfile-missing", lambda t: ["plan", "--configfile", str(t / "absent.yaml")], "absent.yaml"),
    Case(
        "plan-configfile-yaml-error",
        lambda t: ["plan", "--configfile", _yaml(t, "memorization:\n  seeds: [0, 1\n  bad: : x\n")],
        "bad.yaml:3",
    ),
    Case(
        "plan-configfile-duplicate-key",
        lambda t: ["plan", "--configfile", _yaml(t, "results: a\nresults: b\n")],
        "duplicate key",
    ),
    Case(
        "plan-config-unknown-key",
        lambda t: ["plan", "--configfile", _yaml(t, "memorization: {seed: [1]}\n")],
        "did you mean 'seeds'",
    ),
    Case(
        "plan-config-bad-value",
        lambda t: ["plan", "--configfile", _yaml(t, "easy_examples: {repeats: ten}\n")],
        "easy_examples.repeats",
    ),
    Case(
        "plan-config-renamed-family",
        lambda t: ["plan", "--configfile", _yaml(t, "lutnet: {}\n")],
        "did you mean 'lookup_tables'",
    ),
    Case(
        "plan-config-pair-same-class",
        lambda t: ["plan", "--configfile", _yaml(t, "lookup_tables: {pairwise: {pairs: ['3-3']}}\n")],
        "3-3",
    ),
    # --- data -------------------------------------------------------------------------------------
    Case("unknown-dataset", lambda t: ["data", "fetch", "imagenet"], "imagenet"),
    Case("data-dir-missing", lambda t: ["data", "info", "--data-dir", str(t / "nowhere")], "nowhere"),
    Case(
        "train-data-dir-missing",
        lambda t: ["train", "--out", str(t / "r"), *TRAIN],
        "nowhere",
        env={"BNNREPRO_DATA": "/nonexistent/nowhere"},
    ),
    Case("corrupt-data-file", _corrupt_data, "train-labels-idx1-ubyte.gz"),
    Case(
        "train-data-dir-one-level-too-deep",
        lambda t: [
            "train",
            "--out",
            str(t / "r"),
            *TRAIN,
            "--data-dir",
            str(_folder(t / "data" / "fashion_mnist")),
        ],
        "looks like the fashion_mnist folder itself",
    ),
    Case(
        "train-on-corrupt-data",
        lambda t: (_corrupt_data(t), ["train", "--out", str(t / "r"), *TRAIN])[1],
        "train-labels-idx1-ubyte.gz",
        env={"BNNREPRO_DATA": "{tmp}/data"},
    ),
    # --- results and outputs ----------------------------------------------------------------------
    Case(
        "tables-input-missing",
        lambda t: ["memorization", "tables", "--section", "{}", "--results", str(t), str(t / "absent.json")],
        "absent.json",
    ),
    Case(
        "tables-bad-section-json",
        lambda t: ["memorization", "tables", "--section", "{not json", "--results", str(t)],
        "--section",
    ),
    Case("truncated-metrics", _truncated_metrics, "metrics.csv"),
    # a run folder's own truncated records are rebuilt (trained again), with a line naming the file
    Case("truncated-summary", _truncated_summary, "summary.json has changed since it was written", code=0),
    Case("truncated-checkpoint", _truncated_checkpoint, "checkpoint.pt has no seal", code=0),
    Case("out-is-a-file", lambda t: ["train", "--out", str(_file(t, "afile")), *TRAIN], "afile"),
    Case("out-under-a-file", lambda t: ["train", "--out", str(_file(t, "afile") / "run"), *TRAIN], "afile"),
    Case("out-read-only", lambda t: ["train", "--out", str(_read_only_dir(t) / "run"), *TRAIN], "bnnrepro-read-only"),
    Case(
        "bench-csv-read-only",
        lambda t: [
            "kernels",
            "bench",
            "--sizes",
            "64",
            "--batch",
            "1",
            "--repeats",
            "2",
            "--max-time",
            "0.01",
            "--out",
            str(_read_only_dir(t) / "k.csv"),
        ],
        "bnnrepro-read-only",
    ),
    Case(
        "lookup-csv-under-a-file",
        lambda t: [
            "lookup_tables",
            "table",
            "table2",
            "--k",
            "2",
            "--width",
            "8",
            "--layers",
            "1",
            "--out",
            str(_file(t, "afile") / "t.csv"),
        ],
        "afile",
    ),
    # --- sealed results: every reader verifies (issue 20) -----------------------------------------
    Case(
        "edited-family-table",
        lambda t: ["report", "check", str(_edited(t, "memorization/summary.csv"))],
        "summary.csv has changed since it was written",
    ),
    Case(
        "edited-kernel-blocks",
        lambda t: (
            _edited(t, "kernels/blocks.csv"),
            ["kernels", "tables", "--section", "{}", "--results", str(t), str(t / "kernels/blocks.csv")],
        )[1],
        "blocks.csv has changed since it was written",
    ),
    Case(
        "lookup-table-rows-dropped",
        lambda t: [
            "lookup_tables",
            "tables",
            "--section",
            "{}",
            "--results",
            str(t),
            *[str(_sealed(t, f"lookup_tables/fashion_mnist/{job}.csv")) for job in ("table1", "table2", "pairwise")],
            str(_rows_dropped(t, "lookup_tables/fashion_mnist/table3-random.csv")),
        ],
        "table3-random.csv has changed since it was written",
    ),
    Case(
        "edited-claims",
        lambda t: ["report", "check", str(_edited(t, "report/claims.csv"))],
        "claims.csv.seal); delete it and rerun the workflow",
    ),
    Case("unsealed-table", lambda t: ["report", "check", str(_unsealed(t, "kernels/products.csv"))], "has no seal"),
    Case("stale-claims", lambda t: ["report", "check", str(_stale(t))], "is out of date"),
    Case("edited-summary-json", _edited_summary, "summary.json is changed since the job finished; delete"),
    Case("edited-manifest", _edited_manifest, "chunks.json has changed since it was written"),
    Case("report-check-missing", lambda t: ["report", "check", str(t / "absent.csv")], "absent.csv is missing"),
    # --- tags may not overwrite what a run measures -------------------------------------------------
    *[
        Case(f"tag-overwrites-{key}", _tag_case(key), key)
        for key in ("error", "loss", "epoch", "split", "class", "n", "run")
    ],
    Case("tag-without-value", lambda t: ["train", "--out", str(t / "r"), "--tags", "error"], "KEY=VALUE"),
    # --- the twelve tracebacks of issue 20 ----------------------------------------------------------
    Case(
        "huge-seed-in-config-file",
        lambda t: ["train", "--out", str(t / "r"), "--config", _yaml(t, "seed: 99999999999999999999\n")],
        "too large",
    ),
    Case(
        "huge-seed-in-runs-spec",
        lambda t: ["train", "--runs", _runs_spec(t, {"seed": 10**20})],
        "too large",
    ),
    Case(
        "huge-seed-in-workflow-config",
        lambda t: _config(t, "memorization: {seeds: [99999999999999999999]}\n"),
        "maximum",
    ),
    Case(
        "huge-hidden-train",
        lambda t: ["train", "--out", str(t / "r"), "--hidden", "1000000000"],
        "choose smaller hidden",
    ),
    Case("huge-hidden-summary", lambda t: ["model", "summary", "--hidden", "100000000000"], "choose smaller hidden"),
    Case(
        "huge-hidden-workflow",
        lambda t: _config(t, "memorization: {settings: {hidden: [1000000]}}\n"),
        "execution.mem_mb_per_run",
    ),
    Case(
        "report-config-yaml-error",
        lambda t: ["report", "build", "--config", _yaml(t, "a: [1, 2\nb: 3\n"), "--results", str(t)],
        "bad.yaml:",
    ),
    Case(
        "report-config-a-list",
        lambda t: ["report", "build", "--config", _yaml(t, "- 1\n- 2\n"), "--results", str(t)],
        "must be a mapping",
    ),
    Case(
        "kernel-max-time-nan",
        lambda t: ["kernels", "bench", "--out", str(t / "k.csv"), "--max-time", "nan"],
        "--max-time",
    ),
    Case(
        "kernel-max-time-inf",
        lambda t: ["kernels", "bench", "--out", str(t / "k.csv"), "--max-time", "inf"],
        "--max-time",
    ),
    Case(
        "corrupt-parsed-cache-label",
        _corrupt_cache_label,
        "labels hold class 99, outside 0..9",
        env={"BNNREPRO_CACHE": "{tmp}/cache"},
    ),
    Case(
        "truncated-family-table",
        lambda t: ["report", "check", str(_rows_dropped(t, "lookup_tables/table3.csv"))],
        "table3.csv has changed since it was written",
    ),
    # --- the workflow's config, checked before any job (`bnnrepro config check`, as the Snakefile) ----
    Case("results-is-the-checkout", lambda t: _config(t, "results: .\n"), "would write into the checkout itself"),
    Case("results-in-src", lambda t: _config(t, "results: src\n"), "checkout's src/ folder"),
    Case("results-in-workflow", lambda t: _config(t, "results: workflow/out\n"), "checkout's workflow/ folder"),
    Case("results-above-checkout", lambda t: _config(t, "results: ..\n"), "a folder above the checkout"),
    Case("report-dir-in-tests", lambda t: _config(t, "report_dir: tests\n"), "checkout's tests/ folder"),
    Case("results-is-a-file", lambda t: _config(t, f"results: {_file(t, 'afile')}\n"), "is a file"),
    Case("results-equals-report-dir", lambda t: _config(t, "results: out\nreport_dir: out\n"), "same folder"),
    Case(
        "regularizer-shell-injection",
        lambda t: _config(t, "memorization: {regularizers: {'x`touch pwned3`': {}}}\n"),
        "cannot name files and run folders",
    ),
    Case(
        "regularizer-with-slash",
        lambda t: _config(t, "memorization: {regularizers: {'a/b': {}}}\n"),
        "cannot name files and run folders",
    ),
    Case(
        "regularization-name-with-space",
        lambda t: _config(t, "memorization: {grid: {regularization: ['no ne']}}\n"),
        "cannot name files and run folders",
    ),
    Case(
        "condition-regularization-injection",
        lambda t: _config(
            t,
            "memorization: {conditions: [{dataset: fashion_mnist, binarization: det, labels: randY, "
            "regularization: '$(touch pwned)'}]}\n",
        ),
        "cannot name files and run folders",
    ),
    Case(
        "variant-name-injection",
        lambda t: _config(t, "efficiency: {variant_settings: {'a;b': {mode: float}}}\n"),
        "cannot name files and run folders",
    ),
    Case("workflow-device-cuda-no-gpu", lambda t: _config(t, "execution: {device: cuda}\n"), "has no GPU"),
    Case(
        "run-device-cuda-no-gpu",
        lambda t: _config(t, "memorization: {settings: {device: cuda}}\n"),
        "asks for cuda but this machine has no GPU",
    ),
    Case("kernels-device-cuda-no-gpu", lambda t: _config(t, "kernels: {device: cuda}\n"), "kernels.device is cuda"),
    Case(
        "workflow-train-size-too-large",
        lambda t: _config(t, "memorization: {dataset_settings: {fashion_mnist: {train_size: 70000}}}\n"),
        "exceeds fashion_mnist's 60,000 training examples",
    ),
    Case(
        "workflow-train-plus-valid-too-large",
        lambda t: _config(
            t, "easy_examples: {dataset_settings: {fashion_mnist: {train_size: 59000, valid_size: 2000}}}\n"
        ),
        "train_size=59000 with valid_size=2000",
    ),
    Case(
        "workflow-test-size-too-large",
        lambda t: _config(t, "memorization: {dataset_settings: {fashion_mnist: {test_size: 20000}}}\n"),
        "test_size=20000 exceeds",
    ),
    Case("workflow-data-dir-missing", lambda t: _config(t, f"data_dir: {t / 'nowhere'}\n"), "does not exist"),
    Case("workflow-data-dir-one-level-too-deep", _data_one_level_too_deep, "point data_dir at the folder"),
    Case(
        "workflow-data-dir-empty",
        lambda t: _config(t, f"data_dir: {_folder(t / 'empty')}\n"),
        "bnnrepro data fetch fashion_mnist --data-dir",
    ),
    Case(
        "workflow-kernel-sizes-cannot-fit",
        lambda t: _config(t, "kernels: {sizes: [65536], batch: [65536]}\n"),
        "choose smaller kernels.sizes",
    ),
    Case("workflow-negative-seed", lambda t: _config(t, "memorization: {seeds: [-1]}\n"), "memorization.seeds[0]"),
    Case(
        "workflow-yaml-error-names-line",
        lambda t: _config(t, "memorization:\n  seeds: [1, 2\n  enabled: true\n"),
        "preset.yaml:3",
    ),
    Case("workflow-yaml-tab", lambda t: _config(t, "memorization:\n\tseeds: [1]\n"), "preset.yaml:2"),
    Case(
        "workflow-duplicate-key",
        lambda t: _config(t, "memorization:\n  enabled: true\n  enabled: false\n"),
        "preset.yaml:3: duplicate key 'enabled' (first given at line 2)",
    ),
    Case(
        "workflow-duplicate-top-key",
        lambda t: _config(t, "results: a\nresults: b\n"),
        "duplicate key 'results'",
    ),
    Case("workflow-config-a-list", lambda t: _config(t, "- results: a\n"), "must be a mapping"),
    Case(
        "workflow-configfile-missing",
        lambda t: ["config", "check", "--configfile", str(t / "absent.yaml")],
        "absent.yaml",
    ),
    Case("workflow-unknown-key", lambda t: _config(t, "memorization: {seed: [1]}\n"), "did you mean 'seeds'"),
    Case("workflow-bad-label-mode", lambda t: _config(t, "easy_examples: {labels: [random]}\n"), "random"),
    Case("workflow-empty-seeds", lambda t: _config(t, "memorization: {seeds: []}\n"), "the list is empty"),
    Case("workflow-exponent-as-text", lambda t: _config(t, "memorization: {settings: {lr_start: 3e-3}}\n"), "3e-3"),
    Case("workflow-renamed-family", lambda t: _config(t, "lutnet: {}\n"), "did you mean 'lookup_tables'"),
    Case("workflow-bad-dataset", lambda t: _config(t, "memorization: {datasets: [imagenet]}\n"), "imagenet"),
    Case("workflow-kernel-size-zero", lambda t: _config(t, "kernels: {sizes: [0]}\n"), "kernels.sizes[0]"),
    Case(
        "workflow-results-empty",
        lambda t: _config(t, "results: ''\n"),
        "results",
    ),
    Case(
        "workflow-pairs-same-class",
        lambda t: _config(t, "lookup_tables: {pairwise: {pairs: ['3-3']}}\n"),
        "3-3",
    ),
    # --- the command line, more -----------------------------------------------------------------------
    Case("report-check-no-file", lambda t: ["report", "check"], "the following arguments are required"),
    Case("config-unknown-action", lambda t: ["config", "lint"], "unknown action 'lint'"),
    Case("negative-seed", lambda t: ["train", "--out", str(t / "r"), "--seed", "-1"], "seed=-1 must be >= 0"),
    Case("lr-zero", lambda t: ["train", "--out", str(t / "r"), "--lr-start", "0"], "lr_start"),
    Case("hidden-zero", lambda t: ["train", "--out", str(t / "r"), "--hidden", "0"], "hidden sizes must be >= 1"),
    Case(
        "test-size-too-large",
        lambda t: ["train", "--out", str(t / "r"), *TRAIN[2:], "--train-size", "100", "--test-size", "20000"],
        "test_size=20000",
    ),
    Case(
        "hidden-with-cnn",
        lambda t: ["train", "--out", str(t / "r"), "--arch", "cifar10_cnn", "--hidden", "8"],
        "hidden applies to arch 'mlp' only",
    ),
    Case(
        "manifest-without-runs",
        lambda t: ["train", "--out", str(t / "r"), "--manifest", str(t / "m.json")],
        "--manifest goes with --runs",
    ),
    Case("runs-with-out", lambda t: ["train", "--runs", str(t / "c.json"), "--out", str(t / "r")], "drop --out"),
    Case("runs-spec-not-json", lambda t: ["train", "--runs", str(_file(t, "c.json", "{not json"))], "not a chunk spec"),
    Case(
        "runs-spec-unknown-setting",
        lambda t: ["train", "--runs", _runs_spec(t, {"epoch": 3})],
        "did you mean 'epochs'",
    ),
    Case("run-config-a-list", lambda t: ["train", "--out", str(t / "r"), "--config", _yaml(t, "- 1\n")], "bad.yaml"),
    Case(
        "kernel-repeats-one", lambda t: ["kernels", "bench", "--out", str(t / "k.csv"), "--repeats", "1"], "--repeats"
    ),
    Case(
        "kernel-max-time-negative",
        lambda t: ["kernels", "bench", "--out", str(t / "k.csv"), "--max-time", "-1"],
        "--max-time",
    ),
    Case("kernel-batch-zero", lambda t: ["kernels", "bench", "--out", str(t / "k.csv"), "--batch", "0"], "--batch"),
    Case(
        "tables-section-not-object",
        lambda t: ["memorization", "tables", "--section", "[1]", "--results", str(t)],
        "JSON object",
    ),
    Case(
        "report-config-missing",
        lambda t: ["report", "build", "--config", str(t / "none.yaml"), "--results", str(t)],
        "none.yaml",
    ),
    Case(
        "report-results-missing",
        lambda t: [
            "report",
            "build",
            "--config",
            str(_file(t, "c.yaml", "results: r\n")),
            "--results",
            str(t / "nowhere"),
        ],
        "nowhere",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_exit_2(case, tmp_path, capsys, monkeypatch):
    for key, value in (case.env or {}).items():
        monkeypatch.setenv(key, value.format(tmp=tmp_path))
    argv = case.argv(tmp_path)
    capsys.readouterr()  # drop what set-up printed
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code if isinstance(exc.code, int) else -1  # argparse exits with an int status
    finally:
        if case.env:  # data loaded from another cache (maybe damaged on purpose) stays out of later tests
            from bnnrepro.data.cache import forget_loaded

            forget_loaded()
    err = capsys.readouterr().err
    assert code == case.code, err
    assert case.fragment in err, err
    assert "Traceback" not in err
    if code == 0:  # rebuilt: the line naming the damaged file comes first, then the rebuild's progress
        return
    assert len(error_lines(err)) == 1, err


def test_there_are_at_least_90_cases():
    assert len(CASES) >= 90


def error_lines(stderr: str) -> list[str]:
    """The lines that report an error (progress lines of the work done before it are fine)."""
    return [line for line in stderr.splitlines() if "error:" in line]


def _child(args: list[str], limit_bytes: int | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    def limits():
        if limit_bytes is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "bnnrepro", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        preexec_fn=limits,
        timeout=300,
    )


def test_a_full_disk_is_one_line_naming_the_file(tmp_path):
    """No room for the outputs (a file-size limit: writes fail as on a full disk, with EFBIG)."""
    out = tmp_path / "run"
    proc = _child(["train", "--out", str(out), *TRAIN], limit_bytes=2000)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and str(out) in proc.stderr
    assert len(error_lines(proc.stderr)) == 1, proc.stderr
    assert not list(out.glob("*.tmp*"))  # nothing half-written left behind
