"""``bnnrepro plan``: what a config would cost, before running it.

Snakemake itself says which jobs ``snakemake --cores C all`` would run with the same config
arguments (a dry run in a subprocess, in the repository root where the Snakefile is; its job list
names each job's rule, outputs, log, benchmark file, threads and the reason it runs). Each job
that would run is then priced:

* **measured**: its own benchmark file (Snakemake's ``benchmark:`` TSV, column ``s`` = wall
  seconds) from an earlier run, when there is one and, for a training job, its settings did not
  change since (a training job whose params changed is modelled: its settings set its cost);
* **measured elsewhere** (not training): the same job's benchmark in another results folder of this
  checkout (another config's run of the same rule and wildcards: possibly other settings);
* **modelled** otherwise. A training chunk costs start-up x processes (one per job; one per run
  for a timed family, whose runs each start a fresh process) + set-up x runs (data, model, writing
  the results) plus, per run and epoch,

      steps x t_step + passes x t_example + MACs / rate

  with steps = n_train // batch_size minibatch steps, passes = 4 n_train + n_valid + n_test
  examples through the network (a training step costs about three forward passes; every epoch
  then evaluates the train, validation and test splits) and MACs = passes x the multiply-accumulates
  of one forward pass of one example (from the architecture). The three coefficients are fitted
  (non-negative least squares on relative errors) to the epoch times of the finished runs of
  earlier runs on this machine and device (their ``summary.json`` settings and ``timing.csv``);
  start-up and set-up likewise to what the finished jobs took beyond their epochs (job benchmark
  seconds - epoch seconds). Without measured runs: the stated defaults below. Any other job costs
  a stated default per kind.

Wall time for ``--cores C`` follows Snakemake's scheduler: a job holds its ``threads`` of the C
slots while it runs (a timed, ``exclusive`` job holds all of them, so it runs alone; a training
job holds as many slots per torch thread as C has per physical core), so the jobs take about

    max(the longest job, sum of seconds x threads / C)

seconds: a lower bound that ignores the order the dependencies impose. Per family it is the same
bound for the family's jobs alone; the total is over all jobs (less than the sum of the families:
they share the cores).

Nothing here imports torch or trains anything: the plan of the paper preset answers in seconds.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bnnrepro.errors import ConfigError
from bnnrepro.train.config import TrainConfig

if TYPE_CHECKING:
    from bnnrepro.families.base import Chunk

#: The checkout this package runs from (src/bnnrepro/workflow/plan.py -> the repository).
CHECKOUT = Path(__file__).resolve().parents[3]
#: Seconds of a job that is not training and has no benchmark anywhere, by kind of rule.
DEFAULT_SECONDS = {
    "tables": 10.0,
    "figures": 20.0,
    "report": 15.0,
    "data_fetch": 5.0,
    "resolved_config": 1.0,
    "compute": 120.0,
}
#: Training on a device without measured runs: the epoch model (seconds per minibatch step,
#: seconds per example pass, MAC/s; see the module docstring). CPU: fitted on a 2-core x86 machine
#: (AMD EPYC) to 95 runs of MLPs (25k-813k MACs per example, batch 50-5000, 1-2 threads); CUDA: a
#: guess for a recent GPU. Measured runs replace both.
DEFAULT_EPOCH_MODEL = {"cpu": (1.8e-3, 9.1e-6, 1.6e10), "cuda": (1.0e-3, 1.0e-7, 2.0e12)}
#: Seconds per process start (Python, torch) and per run set-up, without finished jobs to fit them.
DEFAULT_OVERHEAD = (6.0, 1.0)
#: bnnrepro train's defaults of the settings the model reads (TrainConfig imports no torch).
TRAIN_DEFAULTS = {
    name: getattr(TrainConfig(), name) for name in ("arch", "width", "epochs", "batch_size", "valid_size")
}
#: A training step costs about three forward passes (see the module docstring).
TRAIN_PASSES = 3

# ----------------------------------------------------------------------------------------------
# The jobs Snakemake would run


@dataclass
class Job:
    """One job of Snakemake's dry run."""

    rule: str
    outputs: list[str] = field(default_factory=list)
    log: str = ""
    benchmark: str = ""
    reason: str = ""
    wildcards: dict[str, str] = field(default_factory=dict)
    threads: int = 1
    resources: dict[str, str] = field(default_factory=dict)


_RULE_LINE = re.compile(r"^(?:local)?(?:rule|checkpoint) ([\w.-]+):\s*$")
_FIELD_LINE = re.compile(r"^\s{4}(\w+): (.*)$")


def _pairs(text: str) -> dict[str, str]:
    out = {}
    for item in text.split(", "):
        key, sep, value = item.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def parse_dry_run(text: str) -> list[Job]:
    """The jobs of Snakemake's dry-run output (``rule NAME:`` blocks of ``key: value`` lines)."""
    jobs: list[Job] = []
    current: Job | None = None
    for line in text.splitlines():
        match = _RULE_LINE.match(line)
        if match:
            current = Job(match.group(1))
            jobs.append(current)
            continue
        match = _FIELD_LINE.match(line) if current is not None else None
        if not match or current is None:
            current = None if not line.startswith(" ") else current
            continue
        key, value = match.groups()
        if key == "output":
            current.outputs = value.split(", ")
        elif key == "log":
            current.log = value.split(", ")[0]
        elif key == "benchmark":
            current.benchmark = value
        elif key == "reason":
            current.reason = value
        elif key == "wildcards":
            current.wildcards = _pairs(value)
        elif key == "threads":
            current.threads = int(value)
        elif key == "resources":
            current.resources = _pairs(value)
    return [job for job in jobs if job.rule != "all"]


def snakemake_error(stderr: str) -> str:
    """The one line that says what is wrong in a failed Snakemake run's output."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("invalid configuration") or ("Error:" in line and len(line) > 30):
            return line
    for i, line in enumerate(lines):
        if re.match(r"^\w*(Error|Exception)\b.*:?$", line) and i + 1 < len(lines):
            return f"{line.rstrip(':')}: {lines[i + 1]}"
    return lines[-1] if lines else "snakemake failed without a message"


def dry_run(root: Path, config_args: list[str], cores: int) -> list[Job]:
    """The jobs ``snakemake --cores CORES all CONFIG_ARGS`` would run (``--quiet host`` overrides the
    profile's ``quiet: rules``, so that the dry run lists every job). Not ``--summary``: it names
    no benchmark file, no threads, and its log column is empty for outputs never made, so a fresh
    config's outputs cannot be grouped into jobs."""
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--dry-run",
        "all",
        "--cores",
        str(cores),
        "--quiet",
        "host",
        *config_args,
    ]
    try:
        proc = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        raise ConfigError(
            "snakemake's dry run took over 10 minutes; is the results folder on a slow file system?"
        ) from None
    if proc.returncode != 0:
        raise ConfigError(f"snakemake cannot plan this config: {snakemake_error(proc.stderr + proc.stdout)}")
    return parse_dry_run(proc.stdout + "\n" + proc.stderr)


# ----------------------------------------------------------------------------------------------
# The config, as the Snakefile resolves it


def load_config(root: Path, configfiles: list[str], overrides: list[str]) -> dict:
    """config.yaml, extended by each ``--configfile`` and then the ``--config`` values, normalized and
    validated (schema defaults filled) as workflow/rules/common.smk does."""
    import yaml
    from snakemake.utils import update_config, validate

    from bnnrepro.workflow.config import normalize

    config = yaml.safe_load((root / "config.yaml").read_text()) or {}
    for path in configfiles:
        update_config(config, yaml.safe_load(Path(path).read_text()) or {})
    if overrides:
        from snakemake.cli import parse_config

        update_config(config, parse_config(overrides))
    normalize(config)
    validate(config, str(root / "workflow" / "schemas" / "config.schema.yaml"))
    return config


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
    """A finished run of an earlier workflow run: its epoch's features and measured seconds."""

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


def fit_epoch_model(runs: list[MeasuredRun], device: str) -> EpochModel:
    """The epoch model fitted to ``runs`` (non-negative least squares on relative errors), or the
    stated default for ``device`` with fewer than 3 runs."""
    if len(runs) < 3:
        step, example, rate = DEFAULT_EPOCH_MODEL.get(device, DEFAULT_EPOCH_MODEL["cpu"])
        return EpochModel(step, example, rate, f"the stated {device} defaults (no finished runs to fit)")
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
    """Training speed measured on this machine from earlier runs."""

    runs: list[MeasuredRun] = field(default_factory=list)
    overheads: list[tuple[int, int, float]] = field(
        default_factory=list
    )  # (processes, runs, seconds beyond the epochs)
    _models: dict[str, EpochModel] = field(default_factory=dict)

    @functools.cached_property
    def overhead(self) -> tuple[float, float]:
        """(seconds per process start, seconds per run set-up): fitted to the finished jobs (non-negative
        least squares on relative errors) when they vary in both, else the stated defaults."""
        jobs = [(p, r, s) for p, r, s in self.overheads if s > 0]
        if len(jobs) < 3:
            return DEFAULT_OVERHEAD
        import numpy as np
        from scipy.optimize import nnls

        x = np.array([[p, r] for p, r, _ in jobs], dtype=float)
        y = np.array([s for _, _, s in jobs])
        if np.linalg.matrix_rank(x) < 2:  # every job one process per run, or one run each: one number
            per = float(np.median(y / x[:, 0]))
            return per, 0.0
        coef, _ = nnls(x / y[:, None], np.ones(len(y)))
        return float(coef[0]), float(coef[1])

    def job_overhead(self, processes: int, runs: int) -> float:
        start, setup = self.overhead
        return start * processes + setup * runs

    def model(self, device: str) -> EpochModel:
        if device not in self._models:
            self._models[device] = fit_epoch_model([r for r in self.runs if r.device == device], device)
        return self._models[device]


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


def calibrate(results_folders: Iterable[Path]) -> Calibration:
    """Epoch times and overheads of the finished training jobs under ``results_folders``: every chunk
    manifest with a benchmark file (benchmarks/train/<family>/<dataset>/<chunk>.tsv), its runs'
    summary.json (settings, device, epochs) and timing.csv (seconds per epoch)."""
    from bnnrepro.families.registry import FAMILIES

    calibration = Calibration()
    seen: set[Path] = set()
    for results in results_folders:
        results = Path(results)
        if not results.is_dir() or results.resolve() in seen:
            continue
        seen.add(results.resolve())
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
    """A job that would run, its family and its estimated seconds."""

    job: Job
    family: str
    seconds: float
    source: str  # "measured" | "measured elsewhere" | "modelled"
    note: str = ""
    runs: int = 0  # training runs in the job

    @property
    def slots(self) -> int:
        return max(1, self.job.threads)


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
    return job.rule if job.rule in DEFAULT_SECONDS else "compute"


def _short_reason(reason: str) -> str:
    """Snakemake's reason without its file lists: "Params have changed since last execution; ..."."""
    parts = []
    for part in reason.split("; "):
        head = part.split(":")[0].strip()
        if head and head not in parts:
            parts.append(head)
    return "; ".join(parts)


def price(jobs: list[Job], config: Mapping, root: Path, history: list[Path]) -> tuple[list[Priced], Calibration]:
    """Seconds of every job (measured where a benchmark exists, else modelled)."""
    from bnnrepro.families.registry import FAMILIES

    results = root / config["results"]
    calibration = calibrate([results, *history])
    chunks: dict[tuple[str | None, str | None, str | None], Chunk] = {
        (f.name, c.dataset, c.name): c for f in FAMILIES.values() if f.enabled(config) for c in f.chunks(config)
    }
    device = _device(config.get("execution", {}).get("device", "cpu"))
    priced = []
    for job in jobs:
        family = family_of(job, FAMILIES)
        benchmark = root / job.benchmark if job.benchmark else None
        measured = _benchmark_seconds(benchmark) if benchmark else None
        chunk = (
            chunks.get((job.wildcards.get("family"), job.wildcards.get("dataset"), job.wildcards.get("chunk")))
            if job.rule == "train"
            else None
        )
        changed = "Params have changed" in job.reason
        if chunk is not None and (measured is None or changed):
            seconds, note = _model_chunk(chunk, calibration, device)
            priced.append(Priced(job, family, seconds, "modelled", note, len(chunk.runs)))
            continue
        if measured is not None:
            priced.append(
                Priced(
                    job,
                    family,
                    measured,
                    "measured",
                    "earlier settings" if changed else "",
                    len(chunk.runs) if chunk else 0,
                )
            )
            continue
        elsewhere = _elsewhere(job, results, history, root)
        if elsewhere is not None:
            priced.append(Priced(job, family, elsewhere[0], "measured elsewhere", f"in {elsewhere[1]}"))
            continue
        kind = _kind(job)
        priced.append(Priced(job, family, DEFAULT_SECONDS[kind], "modelled", f"default for {kind} jobs"))
    return priced, calibration


def _model_chunk(chunk: Chunk, calibration: Calibration, device: str) -> tuple[float, str]:
    seconds = calibration.job_overhead(len(chunk.runs) if chunk.isolate else 1, len(chunk.runs))
    sources = set()
    for run in chunk.runs:
        model = calibration.model(_device(run.settings.get("device", device)))
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
            return seconds, _display(folder, root)
    return None


# ----------------------------------------------------------------------------------------------
# Wall time and the summary


def wall_seconds(priced: list[Priced], cores: int) -> float:
    """max(longest job, sum of seconds x threads / cores): Snakemake's slots, dependencies ignored."""
    if not priced:
        return 0.0
    return max(max(p.seconds for p in priced), sum(p.seconds * min(p.slots, cores) for p in priced) / cores)


def duration(seconds: float) -> str:
    """4 s, 3 min 20 s, 2 h 05 min, 3 d 4 h."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    if seconds < 86400 * 2:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
    return f"{int(seconds // 86400)} d {int(seconds % 86400 // 3600)} h"


def _display(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve())) or "."
    except ValueError:
        return str(path)


def format_plan(
    priced: list[Priced], calibration: Calibration, cores: int, cpu_count: int, described: str, device: str
) -> str:
    """The plan as text: per family and in total, then what reruns and the model."""
    lines = [f"Plan of `snakemake --cores {cores} all{described}` on this machine ({cpu_count} cores):"]
    if not priced:
        lines.append("nothing to run: every output is up to date.")
        return "\n".join(lines)
    families = list(dict.fromkeys(p.family for p in priced))
    header = ("Family", "Jobs", "Runs", "Measured", "Modelled", "Job time", f"Wall time at --cores {cores}")
    rows = []
    for family in families + ["total"]:
        mine = [p for p in priced if family == "total" or p.family == family]
        measured = sum(1 for p in mine if p.source.startswith("measured"))
        rows.append(
            (
                family,
                str(len(mine)),
                str(sum(p.runs for p in mine) or ""),
                str(measured),
                str(len(mine) - measured),
                duration(sum(p.seconds for p in mine)),
                duration(wall_seconds(mine, cores)),
            )
        )
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for i, row in enumerate([header] + rows):
        if i == len(rows):
            lines.append("  ".join("-" * w for w in widths))
        lines.append(
            "  ".join(cell.ljust(w) if j == 0 else cell.rjust(w) for j, (cell, w) in enumerate(zip(row, widths)))
        )

    reruns = [p for p in priced if p.job.rule == "train" and not p.job.reason.startswith("Missing output")]
    new = [p for p in priced if p.job.rule == "train" and p.job.reason.startswith("Missing output")]
    lines.append("")
    lines.append(f"Training chunks: {len(new)} new (no output yet), {len(reruns)} would rerun.")
    for p in reruns:
        w = p.job.wildcards
        lines.append(
            f"  rerun {w.get('family')} {w.get('dataset')}/{w.get('chunk')} ({p.runs} runs, "
            f"{duration(p.seconds)}): {_short_reason(p.job.reason)}"
        )
    others = [p for p in priced if p.job.rule != "train" and not p.job.reason.startswith("Missing output")]
    if others:
        why: dict[str, list[str]] = {}
        for p in others:
            why.setdefault(_short_reason(p.job.reason), []).append(p.job.rule)
        for reason, rules in why.items():
            lines.append(f"  {len(rules)} other job(s) rerun ({', '.join(sorted(set(rules)))}): {reason}")

    lines.append("")
    lines.append("How the times are estimated:")
    by_source: dict[str, int] = {}
    for p in priced:
        by_source[p.source] = by_source.get(p.source, 0) + 1
    lines.append("  " + ", ".join(f"{n} job(s) {s}" for s, n in by_source.items()) + ".")
    lines.append("  measured: the job's own benchmark file from an earlier run (results/benchmarks/...).")
    model = calibration.model(device)
    fit = f", median error {100 * model.error:.0f}% on those runs" if model.error is not None else ""
    start, setup = calibration.overhead
    fitted = len(calibration.overheads)
    overhead_source = f"fitted to {fitted} finished jobs" if fitted >= 3 else "stated defaults"
    lines.append(
        f"  training, modelled: {start:.1f} s per process start + {setup:.1f} s per run ({overhead_source})"
        f" + per run and epoch steps x {1e3 * model.step:.2g} ms + example passes x {1e6 * model.example:.2g} us"
        f" + MACs / {model.rate / 1e9:.3g} GMAC/s: {model.source}{fit}. More finished runs (--history DIR) sharpen it."
    )
    defaults = sorted({p.note for p in priced if p.note.startswith("default for")})
    if defaults:
        lines.append(
            "  other jobs without a benchmark: stated defaults ("
            + ", ".join(f"{k} {v:g} s" for k, v in DEFAULT_SECONDS.items())
            + ")."
        )
    lines.append(
        f"  wall time: max(longest job, sum of job seconds x threads / {cores}); exclusive timed jobs "
        f"hold all {cores} slots (they run alone); dependencies are ignored (a lower bound)."
    )
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# The command


class Plan:
    """``bnnrepro plan``: estimate a config's wall time per family and say what would rerun."""

    help = "estimate a config's wall time per family and what would rerun"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.description = (
            "Estimate the time of `snakemake --cores N all` with these config arguments, per family and in total, "
            "and list the training chunks that would rerun and why. Snakemake's dry run says what would run; "
            "each job's time is its benchmark from an earlier run where there is one, else a model calibrated on "
            "the finished runs of this machine (the output says which). Nothing is trained."
        )
        parser.add_argument(
            "--configfile",
            nargs="+",
            action="extend",
            default=[],
            metavar="FILE",
            help="config files that extend config.yaml, as for snakemake",
        )
        parser.add_argument(
            "--config",
            nargs="+",
            action="extend",
            default=[],
            metavar="KEY=VALUE",
            help="config values, as for snakemake (e.g. results=/scratch/results)",
        )
        parser.add_argument(
            "--cores",
            type=_positive,
            default=8,
            metavar="N",
            help="the --cores of the snakemake run to plan (default: 8, as `make run`)",
        )
        parser.add_argument(
            "--history",
            action="append",
            default=[],
            metavar="DIR",
            help="another results folder whose finished runs calibrate the training model "
            "(always used: the config's results folder and every results* folder of the "
            "checkout)",
        )

    def run(self, args: argparse.Namespace) -> int:
        root = CHECKOUT
        if not (root / "Snakefile").is_file():
            raise ConfigError(f"no Snakefile in {root}: `bnnrepro plan` runs from the repository checkout")
        configfiles = []
        for path in args.configfile:
            if not Path(path).is_file():
                raise ConfigError(f"--configfile {path}: no such file")
            configfiles.append(str(Path(path).resolve()))
        for entry in args.config:
            if "=" not in entry:
                raise ConfigError(f"--config {entry!r}: give KEY=VALUE")
        history = []
        for folder in args.history:
            if not Path(folder).is_dir():
                raise ConfigError(f"--history {folder}: not a folder (give an earlier run's results folder)")
            history.append(Path(folder).resolve())
        history += sorted(p for p in root.glob("results*") if p.is_dir())

        config_args = (["--configfile", *configfiles] if configfiles else []) + (
            ["--config", *args.config] if args.config else []
        )
        started = time.perf_counter()
        jobs = dry_run(root, config_args, args.cores)
        config = load_config(root, configfiles, args.config)
        priced, calibration = price(jobs, config, root, history)
        device = _device(config.get("execution", {}).get("device", "cpu"))
        described = "".join(f" --configfile {_display(Path(p), root)}" for p in configfiles)
        described += "".join(f" --config {c}" for c in args.config)
        print(format_plan(priced, calibration, args.cores, os.cpu_count() or 1, described, device))
        print(f"(planned in {time.perf_counter() - started:.0f} s)")
        return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


command = Plan()
