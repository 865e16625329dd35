"""A short measured probe of this machine's training speed, for a plan without finished runs.

Three training jobs of small multilayer perceptrons (6 runs of 2 epochs over a few thousand
examples: hidden sizes 32-1024, batches 20-500, so that the epoch model's three coefficients and
the per-process and per-run overheads are all identifiable) run through ``bnnrepro train --runs``
exactly as the workflow's training jobs do, on the device the config trains on. Their folders,
manifests and benchmark files are laid out like a workflow's results (``results-probe/``), so
that :func:`bnnrepro.workflow.plan.cost.calibrate` reads them like any earlier run. A convolutional
model's speed is extrapolated from MLPs (multiply-accumulates are counted the same way); finished
runs of the config itself calibrate better, and replace the probe as they accumulate.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bnnrepro.errors import ConfigError
from bnnrepro.io import write_text

#: The probe's jobs: (hidden units, batch size, training examples) of each run.
PROBE_JOBS = (
    ((32, 50, 1000),),
    ((256, 100, 2000), (1024, 200, 1000)),
    ((64, 500, 4000), (512, 20, 500), (128, 50, 2000)),
)
FOLDER = "results-probe"


def probe_runs(folder: Path, device: str, dataset: str) -> list[tuple[str, str]]:
    """The probe's chunks as (name, spec) pairs, ``spec`` a JSON chunk spec (the workflow's format)."""
    chunks: list[tuple[str, str]] = []
    for i, job in enumerate(PROBE_JOBS):
        runs = []
        for hidden, batch, train in job:
            name = f"mlp{hidden}-b{batch}-n{train}"
            settings = {
                "arch": "mlp",
                "hidden": [hidden],
                "batch_size": batch,
                "train_size": train,
                "test_size": 500,
                "epochs": 2,
                "dataset": dataset,
                "device": device,
                "seed": 0,
                "save_model": False,
            }
            runs.append({"out": str(folder / "probe" / dataset / name), "name": name, "settings": settings})
        chunks.append((f"job{i}", json.dumps({"isolate": False, "runs": runs})))
    return chunks


def run_probe(root: Path, device: str, dataset: str = "fashion_mnist", threads: int = 1) -> Path:
    """Train the probe into ``root/results-probe`` (its runs finished already are kept) and return
    the folder; a failure is one line naming the job's log."""
    folder = root / FOLDER
    for name, spec in probe_runs(folder, device, dataset):
        manifest = folder / "probe" / dataset / "chunks" / f"{name}.json"
        log = folder / "logs" / "probe" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "bnnrepro", "train", "--runs", "-", "--manifest", str(manifest)]
        command += ["--threads", str(threads), "--no-progress"]
        started = time.perf_counter()
        with open(log, "w") as handle:
            proc = subprocess.run(command, input=spec, text=True, stdout=handle, stderr=subprocess.STDOUT, cwd=root)
        if proc.returncode:
            raise ConfigError(f"the probe's training job {name} failed; its log: {log}")
        seconds = time.perf_counter() - started
        write_text(folder / "benchmarks" / "train" / "probe" / dataset / f"{name}.tsv", f"s\n{seconds:.4f}\n")
    return folder
