"""The cost model of ``bnnrepro plan``: what each job Snakemake would run costs on this machine.

Each job that would run is priced:

* **measured**: its own benchmark file (Snakemake's ``benchmark:`` TSV, column ``s`` = wall
  seconds) from an earlier run, when there is one and, for a training job, nothing in it changed;
* **measured elsewhere** (not training): the same job's benchmark in another results folder of this
  checkout (another config's run of the same rule and wildcards: possibly other settings), else
  the median of this machine's benchmarks of the same kind of job (tables, figures, ...);
* **modelled** (training). A training job runs only the runs of its chunk that are not finished
  (a run's folder is keyed by its settings; a finished run of the same code version is skipped
  inside the job), so it costs start-up x processes (one per job; one per new run for a timed
  family, whose runs each start a fresh process) + set-up x new runs plus, per new run and epoch,

      steps x t_step + passes x t_example + MACs / rate

  with steps = n_train // batch_size minibatch steps, passes = 4 n_train + n_valid + n_test
  examples through the network (a training step costs about three forward passes; every epoch
  then evaluates the train, validation and test splits) and MACs = passes x the multiply-accumulates
  of one forward pass of one example (from the architecture). The three coefficients are fitted
  (non-negative least squares on relative errors) to the epoch times of finished runs on this
  machine and device (their ``summary.json`` settings and ``timing.csv``: earlier workflow runs, or
  the short probe of :mod:`bnnrepro.workflow.plan.probe`); start-up and set-up likewise to what
  the finished jobs took beyond their epochs (job benchmark seconds - epoch seconds).

There are no stated defaults for training: without at least 3 finished runs on the device the
config trains on, a training job's time is **unknown** and the plan says so (and how to measure).

Wall time for ``--cores C`` follows Snakemake's scheduler: a job holds its ``threads`` of the C
slots while it runs (a timed, ``exclusive`` job holds all of them, so it runs alone), so the jobs
take about

    max(the longest job, sum of seconds x threads / C)

seconds: a lower bound that ignores the order the dependencies impose.

Nothing here imports torch or trains anything: the plan of the paper preset answers in seconds.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import os
import platform
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bnnrepro.train.config import TrainConfig
from bnnrepro.workflow.plan.dryrun import Job

if TYPE_CHECKING:  # annotations only; price() imports the families' registry when it runs
    from bnnrepro.families.base import Chunk, Run

#: The checkout this package runs from (src/bnnrepro/workflow/plan/cost.py -> the repository).
CHECKOUT = Path(__file__).resolve().parents[4]
#: A guess, said as one, for a job that is not training and has no benchmark of its kind anywhere
#: on this machine (the first run of a fresh checkout): seconds by kind of rule.
GUESSED_SECONDS = {
    "tables": 10.0,
    "figures": 20.0,
    "report": 15.0,
    "data_fetch": 5.0,
    "resolved_config": 1.0,
    "compute": 120.0,
}
#: The fewest finished runs the epoch model is fitted to (three coefficients).
MIN_RUNS = 3
#: bnnrepro train's defaults of the settings the model reads (TrainConfig imports no torch).
TRAIN_DEFAULTS = {
    name: getattr(TrainConfig(), name) for name in ("arch", "width", "epochs", "batch_size", "valid_size")
}
#: A training step costs about three forward passes (see the module docstring).
TRAIN_PASSES = 3


def machine() -> str:
    """This machine in words: its CPU model and logical cores."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model or platform.processor() or platform.machine()}, {os.cpu_count() or 1} logical cores"


# ----------------------------------------------------------------------------------------------
# The training model


def architectures() -> dict[str, tuple[tuple[int, ...], tuple]]:
    """arch -> (hidden dense sizes, conv channels with "M" for a 2x2 pool) at width 1."""
    from bnnrepro.nn.spec import ARCHITECTURES

    return {name: (a.dense, a.conv) for name, a in ARCHITECTURES.items()}


def forward_macs(settings: Mapping[str, Any], image_shape: tuple[int, int, int], classes: int = 10) -> int:
    """Multiply-accumulates of one forward pass of one example through the model of ``settings``
    (3x3 same-padded convolutions, 2x2 pools, dense layers; BatchNorm and activations left out)."""
    arch = settings.get("arch") or TRAIN_DEFAULTS["arch"]
    dense, conv = architectures()[arch]
    width = float(settings.get("width") or TRAIN_DEFAULTS["width"])
    hidden = settings.get("hidden")
    if hidden and arch == "mlp":
        dense = tuple(hidden)

    def scaled(n: int) -> int:
        return max(1, round(n * width))

    channels, height, width_px = image_shape
    macs = 0
    for i, c in enumerate(conv):
        if c == "M":
            continue
        c = scaled(c)
        macs += height * width_px * channels * c * 9
        channels = c
        if i + 1 < len(conv) and conv[i + 1] == "M":
            height, width_px = height // 2, width_px // 2
    features = channels * height * width_px
    for units in [scaled(n) for n in dense] + [classes]:
        macs += features * units
        features = units
    return macs


def examples(settings: Mapping[str, Any], dataset: str) -> dict[str, int]:
    """Training, validation and test examples of a run (``train_size`` None: all but the validation
    split; ``test_size`` None: the whole test set)."""
    from bnnrepro.data.registry import DATASETS

    spec = DATASETS[dataset]
    valid = int(settings.get("valid_size") or 0)
    train = settings.get("train_size") or spec.train_size - valid
    test = settings.get("test_size") or spec.test_size
    return {"train": int(train), "valid": valid, "test": int(test)}


def epoch_features(settings: Mapping[str, Any], dataset: str) -> tuple[float, float, float]:
    """(minibatch steps, example passes, MACs) of one epoch: the training steps and the evaluation
    of every split."""
    from bnnrepro.data.registry import DATASETS

    spec = DATASETS[dataset]
    n = examples(settings, dataset)
    steps = max(1, n["train"] // int(settings.get("batch_size") or TRAIN_DEFAULTS["batch_size"]))
    passes = TRAIN_PASSES * n["train"] + n["train"] + n["valid"] + n["test"]
    return float(steps), float(passes), float(passes) * forward_macs(settings, spec.image_shape, len(spec.classes))


@dataclass(frozen=True)
class MeasuredRun:
    """A finished run on this machine: its epoch's features and measured seconds."""

    folder: str
    device: str
    features: tuple[float, float, float]  # (steps, passes, MACs) per epoch
    seconds_per_epoch: float


@dataclass(frozen=True)
class EpochModel:
    """Seconds of an epoch = steps x step + passes x example + MACs / rate."""

    step: float
    example: float
    rate: float
    source: str
    error: float | None = None  # median |predicted / measured - 1| over the runs it was fitted to

    def seconds(self, features: tuple[float, float, float]) -> float:
        steps, passes, macs = features
        return steps * self.step + passes * self.example + (macs / self.rate if math.isfinite(self.rate) else 0.0)


def fit_epoch_model(runs: list[MeasuredRun], device: str) -> EpochModel | None:
    """The epoch model fitted to ``runs`` (non-negative least squares on relative errors), or None
    with fewer than :data:`MIN_RUNS` runs: then the time of training is unknown."""
    if len(runs) < MIN_RUNS:
        return None
    import numpy as np
    from scipy.optimize import nnls

    x = np.array([r.features for r in runs], dtype=float)
    y = np.array([r.seconds_per_epoch for r in runs], dtype=float)
    scale = x.max(axis=0)
    scale[scale == 0] = 1.0
    coef, _ = nnls(x / scale / y[:, None], np.ones(len(y)))
    coef = coef / scale
    error = float(np.median(np.abs(x @ coef / y - 1)))
    return EpochModel(
        float(coef[0]),
        float(coef[1]),
        1.0 / coef[2] if coef[2] > 0 else math.inf,
        f"fitted to {len(runs)} finished runs on this machine ({device})",
        error,
    )


@dataclass
class Calibration:
    """Training speed measured on this machine: finished runs, what their jobs took beyond the
    epochs, and the benchmark seconds of the other jobs by kind."""

    runs: list[MeasuredRun] = field(default_factory=list)
    overheads: list[tuple[int, int, float]] = field(
        default_factory=list
    )  # (processes, runs, seconds beyond the epochs)
    kinds: dict[str, list[float]] = field(default_factory=dict)  # kind of job -> benchmark seconds
    _models: dict[str, EpochModel | None] = field(default_factory=dict)

    @functools.cached_property
    def overhead(self) -> tuple[float, float] | None:
        """(seconds per process start, seconds per run set-up): fitted to the finished jobs (non-negative
        least squares on relative errors) when they vary in both, one number per process when they
        do not, None without finished jobs."""
        jobs = [(p, r, s) for p, r, s in self.overheads if s > 0]
        if not jobs:
            return None
        import numpy as np
        from scipy.optimize import nnls

        x = np.array([[p, r] for p, r, _ in jobs], dtype=float)
        y = np.array([s for _, _, s in jobs])
        if len(jobs) < 3 or np.linalg.matrix_rank(x) < 2:  # one number: seconds per process
            return float(np.median(y / x[:, 0])), 0.0
        coef, _ = nnls(x / y[:, None], np.ones(len(y)))
        return float(coef[0]), float(coef[1])

    def job_overhead(self, processes: int, runs: int) -> float:
        """Seconds a job spends beyond its epochs (0 when nothing was measured: said in the plan)."""
        start, setup = self.overhead or (0.0, 0.0)
        return start * processes + setup * runs

    def model(self, device: str) -> EpochModel | None:
        if device not in self._models:
            self._models[device] = fit_epoch_model([r for r in self.runs if r.device == device], device)
        return self._models[device]

    def kind_seconds(self, kind: str) -> float | None:
        seconds = self.kinds.get(kind)
        return statistics.median(seconds) if seconds else None


def _device(name: str) -> str:
    return "cuda" if str(name).startswith("cuda") else "cpu"


def _timing_seconds(folder: Path) -> tuple[float, int] | None:
    """(seconds, epochs) of a finished run's timing.csv (every epoch, resumed ones too)."""
    try:
        with open(folder / "timing.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        return (sum(float(r["epoch_seconds"]) for r in rows), len(rows)) if rows else None
    except (OSError, KeyError, ValueError):
        return None


def _benchmark_seconds(path: Path) -> float | None:
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        return float(rows[0]["s"]) if rows else None
    except (OSError, KeyError, ValueError, IndexError):
        return None


def _benchmark_kind(path: Path) -> str:
    """The kind of job of a benchmark file: tables, figures, report, data_fetch or compute."""
    if path.stem in ("tables", "figures", "report"):
        return path.stem
    if path.parent.name == "data":
        return "data_fetch"
    return "compute"


def calibrate(results_folders: Iterable[Path]) -> Calibration:
    """Epoch times and overheads of the finished training jobs under ``results_folders``: every chunk
    manifest with a benchmark file (benchmarks/train/<family>/<dataset>/<chunk>.tsv), its runs'
    summary.json (settings, device, epochs) and timing.csv (seconds per epoch); and every other
    benchmark file's seconds by kind of job."""
    from bnnrepro.families.registry import FAMILIES

    calibration = Calibration()
    seen: set[Path] = set()
    for results in results_folders:
        results = Path(results)
        if not results.is_dir() or results.resolve() in seen:
            continue
        seen.add(results.resolve())
        for bench in sorted((results / "benchmarks").rglob("*.tsv")):
            if "train" not in bench.relative_to(results / "benchmarks").parts[:1]:
                seconds = _benchmark_seconds(bench)
                if seconds is not None:
                    calibration.kinds.setdefault(_benchmark_kind(bench), []).append(seconds)
        for manifest in sorted(results.glob("*/*/chunks/*.json")):
            family, dataset = manifest.parts[-4], manifest.parts[-3]
            job_seconds = _benchmark_seconds(
                results / "benchmarks" / "train" / family / dataset / f"{manifest.stem}.tsv"
            )
            try:
                listed = json.loads(manifest.read_text())["runs"]
            except (OSError, ValueError, KeyError, TypeError):
                continue
            epoch_seconds, whole = 0.0, 0  # runs this job trained from the first epoch
            for entry in listed:
                folder = Path(entry.get("folder", ""))
                if not (folder / "summary.json").is_file():  # moved results folder: the run beside the manifest
                    folder = manifest.parent.parent / folder.name
                timing = _timing_seconds(folder)
                try:
                    summary = json.loads((folder / "summary.json").read_text())
                    features = epoch_features(summary["config"], dataset)
                except (OSError, ValueError, KeyError, TypeError):
                    continue
                if timing is None:
                    continue
                device = _device(summary.get("environment", {}).get("device", "cpu"))
                calibration.runs.append(MeasuredRun(str(folder), device, features, timing[0] / timing[1]))
                if not summary.get("resumed_after_epoch"):
                    epoch_seconds += timing[0]
                    whole += 1
            if job_seconds is not None and whole == len(listed) and whole:
                timed = family in FAMILIES and FAMILIES[family].timed  # a fresh process per run
                calibration.overheads.append((whole if timed else 1, whole, max(0.0, job_seconds - epoch_seconds)))
    return calibration


# ----------------------------------------------------------------------------------------------
# Pricing


@dataclass
class Priced:
    """A job that would run, its family and its estimated seconds (NaN: unknown)."""

    job: Job
    family: str
    seconds: float
    source: str  # "measured" | "measured elsewhere" | "modelled" | "guessed" | "unknown"
    note: str = ""
    runs: int = 0  # training runs the job trains (its chunk's runs that are not finished)
    chunk_runs: int = 0  # training runs in the job's chunk
    changes: list[str] = field(default_factory=list)  # for a rerun: what changed

    @property
    def slots(self) -> int:
        return max(1, self.job.threads)

    @property
    def known(self) -> bool:
        return not math.isnan(self.seconds)


def family_of(job: Job, families: Iterable[str]) -> str:
    """The family of a job: from its log path (logs/train/<family>/..., logs/<family>/...), else
    its rule name (<family>_...), else "workflow" (data, config, report)."""
    names = sorted(families, key=len, reverse=True)
    parts = Path(job.log).parts
    if "logs" in parts:
        after = parts[parts.index("logs") + 1 :]
        if after[:1] == ("train",):
            after = after[1:]
        if after and after[0] in names:
            return after[0]
    if job.wildcards.get("family") in names:
        return job.wildcards["family"]
    for name in names:
        if job.rule == name or job.rule.startswith(name + "_"):
            return name
    return "workflow"


def _kind(job: Job) -> str:
    for kind in ("tables", "figures"):
        if job.rule.endswith("_" + kind):
            return kind
    return job.rule if job.rule in GUESSED_SECONDS else "compute"


def short_reason(reason: str) -> str:
    """Snakemake's reason without its file lists: "Params have changed since last execution; ..."."""
    parts = []
    for part in reason.split("; "):
        head = part.split(":")[0].strip()
        if head and head not in parts:
            parts.append(head)
    return "; ".join(parts)


def finished(folder: Path, code: str | None) -> bool:
    """Whether a run's folder holds a finished run of this code version (the training job skips it;
    its folder is keyed by its settings, so the settings are the run's)."""
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError):
        return False
    fingerprint = str(summary.get("fingerprint", ""))
    return code is None or fingerprint.endswith(f"-{code}")


def pending_runs(chunk: Chunk, results: str, root: Path, code: str | None) -> list[Run]:
    """The runs of ``chunk`` its job would train (the others are finished and skipped)."""
    return [run for run in chunk.runs if not finished(root / run.folder(results), code)]


def price(
    jobs: list[Job], config: Mapping, root: Path, history: list[Path], code: str | None = None
) -> tuple[list[Priced], Calibration]:
    """Seconds of every job (measured where a benchmark exists, else modelled; NaN: unknown).
    ``code``: the training code version the jobs pass (a finished run of another is trained again)."""
    from bnnrepro.families.registry import FAMILIES
    from bnnrepro.workflow.plan.dryrun import recorded_params, train_changes

    results = root / config["results"]
    calibration = calibrate([results, *history])
    chunks = {(f.name, c.dataset, c.name): c for f in FAMILIES.values() if f.enabled(config) for c in f.chunks(config)}
    device = _device(config.get("execution", {}).get("device", "cpu"))
    priced = []
    for job in jobs:
        family = family_of(job, FAMILIES)
        benchmark = root / job.benchmark if job.benchmark else None
        measured = _benchmark_seconds(benchmark) if benchmark else None
        chunk = (
            chunks.get(
                (job.wildcards.get("family", ""), job.wildcards.get("dataset", ""), job.wildcards.get("chunk", ""))
            )
            if job.rule == "train"
            else None
        )
        if chunk is not None:
            pending = pending_runs(chunk, config["results"], root, code)
            seconds, note = model_chunk(chunk, pending, calibration, device)
            changes = []
            if "Params have changed" in job.reason and job.outputs:
                changes = train_changes(
                    recorded_params(root, job.outputs[0]), chunk.spec(config["results"]), code or ""
                )
            source = "modelled" if math.isfinite(seconds) else "unknown"
            priced.append(Priced(job, family, seconds, source, note, len(pending), len(chunk.runs), changes))
            continue
        if measured is not None:
            priced.append(Priced(job, family, measured, "measured"))
            continue
        elsewhere = _elsewhere(job, results, history, root)
        if elsewhere is not None:
            priced.append(Priced(job, family, elsewhere[0], "measured elsewhere", f"in {elsewhere[1]}"))
            continue
        kind = _kind(job)
        median = calibration.kind_seconds(kind)
        if median is not None:
            priced.append(Priced(job, family, median, "measured elsewhere", f"median of this machine's {kind} jobs"))
            continue
        priced.append(Priced(job, family, GUESSED_SECONDS[kind], "guessed", f"a guess for {kind} jobs"))
    return priced, calibration


def model_chunk(chunk: Chunk, pending: list[Run], calibration: Calibration, device: str) -> tuple[float, str]:
    """Seconds of a training job that trains ``pending`` of its chunk's runs (NaN: no model for
    their device) and where the model comes from."""
    processes = len(pending) if chunk.isolate else 1
    seconds = calibration.job_overhead(processes, len(pending))
    sources = set()
    for run in pending:
        run_device = _device(run.settings.get("device", device))
        model = calibration.model(run_device)
        if model is None:
            return math.nan, f"no finished {run_device} runs on this machine to calibrate"
        epochs = int(run.settings.get("epochs") or TRAIN_DEFAULTS["epochs"])
        seconds += epochs * model.seconds(epoch_features(run.settings, run.dataset))
        sources.add(model.source)
    return seconds, "; ".join(sorted(sources))


def _elsewhere(job: Job, results: Path, history: list[Path], root: Path) -> tuple[float, str] | None:
    """The same job's benchmark in another results folder (not for training: its settings differ)."""
    if not job.benchmark or job.rule == "train":
        return None
    try:
        relative = (root / job.benchmark).resolve().relative_to(results.resolve())
    except ValueError:
        return None
    for folder in history:
        if folder.resolve() == results.resolve():
            continue
        seconds = _benchmark_seconds(folder / relative)
        if seconds is not None:
            return seconds, display(folder, root)
    return None


# ----------------------------------------------------------------------------------------------
# Wall time


def wall_seconds(priced: list[Priced], cores: int) -> float:
    """max(longest job, sum of seconds x threads / cores) over the jobs of known seconds:
    Snakemake's slots, dependencies ignored."""
    known = [p for p in priced if p.known]
    if not known:
        return 0.0
    return max(max(p.seconds for p in known), sum(p.seconds * min(p.slots, cores) for p in known) / cores)


def duration(seconds: float) -> str:
    """4 s, 3 min 20 s, 2 h 05 min, 3 d 4 h."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    if seconds < 86400 * 2:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
    return f"{int(seconds // 86400)} d {int(seconds % 86400 // 3600)} h"


def display(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve())) or "."
    except ValueError:
        return str(path)
