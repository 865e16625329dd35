"""The one training loop of every experiment.

Outputs in the run directory (each written atomically):

``metrics.csv``   tidy learning curves: one row per (epoch, split, class) with error, loss, LR and the
                  run's main settings. Deterministic: the same config and seed on CPU (same thread
                  count) give a byte-identical file, resumed or not.
``timing.csv``    the measured cost of each epoch (train / eval seconds, RSS, peak RSS, CUDA peak).
                  Kept apart from metrics.csv because measurements differ from run to run.
``summary.json``  final errors, total time, model size, config, versions, hardware, and the SHA-256
                  of the files above (the run's seal, :mod:`bnnrepro.train.records`). Written
                  last: a summary whose seal verifies means the run is complete.
``model.pt``      the final model (spec + state dict), unless ``save_model`` is False.
``probe.csv``     per-example correctness of the fixed probe examples (``probe_size`` > 0).
``checkpoint.pt`` state after a finished epoch (at most every ``checkpoint_every`` seconds) while
                  the run is in progress; a restarted run (after kill -9, say) resumes from it.
                  Removed when the run completes. Read weights-only after its seal verifies.
``*.seal``        the seal of each file above (:mod:`bnnrepro.io`): its SHA-256 and its inputs'.
``.lock``         held (flock) while a process writes the folder: a second run into the same
                  folder stops with a message instead of sharing the checkpoint.
``progress.csv``  metrics rows so far, for watching a long run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import psutil
import torch
import torch.nn.functional as F

import bnnrepro
from bnnrepro.data import PreparedData, Split, load_dataset, prepare_data
from bnnrepro.errors import BnnreproError, DataError
from bnnrepro.io import read_csv, remove_sealed, reset_reads, run_lock, torch_load, torch_save, write_csv, write_json
from bnnrepro.nn.models import build_model
from bnnrepro.nn.summary import summarize
from bnnrepro.train.config import TrainConfig
from bnnrepro.train.metrics import error_rows, loss_value, predict
from bnnrepro.train.optim import (
    BinarizedWeightGradients,
    LatentWeightOptimizer,
    l2_weights,
    make_optimizer,
    pm1_targets,
    set_learning_rate,
    squared_hinge,
)
from bnnrepro.train.records import SUMMARY, read_summary, seal, seal_problem

if TYPE_CHECKING:
    from tqdm import tqdm

    from bnnrepro.nn.spec import ModelSpec

#: Settings copied into every metrics row, so that concatenated runs stay self-describing.
ROW_SETTINGS = (
    "dataset",
    "task",
    "labels",
    "arch",
    "width",
    "mode",
    "binarization",
    "dropout",
    "l2",
    "loss",
    "epochs",
    "batch_size",
    "lr_start",
    "lr_end",
    "train_size",
    "seed",
    "data_seed",
)

CHECKPOINT = "checkpoint.pt"


class TrainingDiverged(BnnreproError):
    """The loss became NaN or infinite: the run stops instead of writing meaningless metrics."""

    exit_code = 2  # the settings (the learning rate, most often) are what to change


@dataclass
class RunResult:
    out_dir: Path
    metrics: pd.DataFrame
    timing: pd.DataFrame
    summary: dict
    resumed_from: int  # epochs already done when this call started (0: fresh start)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from bnnrepro.errors import ConfigError

        raise ConfigError("device=cuda was asked for but torch sees no CUDA device; use --device cpu or auto")
    return torch.device(name)


def _settings_columns(cfg: TrainConfig, run_name: str) -> dict:
    values = {"run": run_name, **cfg.tag_columns()}
    for key in ROW_SETTINGS:
        value = getattr(cfg, key)
        # "loss" is the measured loss of each row; the setting goes in "loss_function".
        values["loss_function" if key == "loss" else key] = (
            " ".join(str(v) for v in value) if isinstance(value, list) else value
        )
    return values


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _rng_state(generator: torch.Generator, device: torch.device) -> dict:
    state = {"torch": torch.get_rng_state(), "order": generator.get_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict, generator: torch.Generator, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    generator.set_state(state["order"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def _progress(total: int, initial: int, enabled: bool, desc: str) -> tqdm:
    """A bar over the minibatches of all epochs (so that a one-epoch run, or a long epoch, moves)."""
    from tqdm import tqdm

    return tqdm(
        total=total, initial=initial, unit="batch", desc=desc, disable=not enabled, dynamic_ncols=True, mininterval=0.5
    )


def train(
    cfg: TrainConfig,
    out_dir: str | os.PathLike,
    *,
    run_name: str | None = None,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
    stop_after_epoch: int | None = None,
    code_version: str | None = None,
) -> RunResult:
    """Train one run described by ``cfg`` into ``out_dir`` (resuming if a checkpoint is there).

    ``progress``: a tqdm bar (default: when stderr is a terminal); otherwise one log line per
    epoch. ``stop_after_epoch`` stops after that many epochs as if killed (for tests).
    ``code_version``: the version of the code that trains (the workflow passes its rule's, derived
    from the modules the command imports). A finished run or a checkpoint of another version is not
    reused: when Snakemake reruns a job because its code changed, the runs are trained again.
    """
    cfg.validate()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run_name = run_name or out.name
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    if progress is None:
        progress = sys.stderr.isatty()
    fingerprint = cfg.fingerprint() if not code_version else f"{cfg.fingerprint()}-{code_version}"

    with run_lock(out):
        done = _completed(out, fingerprint, log)
        if done is not None:
            log(f"{run_name}: already complete ({out / 'metrics.csv'})")
            return done
        # A run is built from its data and settings: not from the runs trained before it, nor from
        # the earlier outputs of this folder that were just checked and found stale.
        reset_reads()
        return _train_locked(cfg, out, run_name, progress, log, stop_after_epoch, fingerprint)


def _read_checkpoint(path: Path, device: torch.device, run_name: str, log: Callable[[str], None]) -> dict | None:
    """The saved state of an unfinished run, or None (with a line naming the file) when the file is
    truncated, corrupt, unsealed or not a checkpoint of ours: the run then starts again from its
    first epoch, as if there were none. The file is checked against its seal before it is read, and
    read with torch's restricted unpickler (tensors and plain values only): whatever a crafted file
    holds, reading it runs no code."""
    try:
        ckpt = torch_load(path, map_location=device)
        if not isinstance(ckpt, dict) or not {"fingerprint", "epoch", "model", "optimizer", "rng", "records"} <= set(
            ckpt
        ):
            raise DataError(f"{path} is not a checkpoint")
        ckpt.update(json.loads(ckpt.pop("records")))  # the rows and timing so far, as JSON text
        return ckpt
    except (DataError, ValueError, TypeError) as exc:
        log(f"{run_name}: {str(exc).splitlines()[0][:200]}; starting the run afresh")
        return None


def _json_value(value: Any) -> Any:
    """A numpy scalar as its Python value (for the checkpoint's JSON records)."""
    return value.item() if hasattr(value, "item") else str(value)


def _train_locked(
    cfg: TrainConfig,
    out: Path,
    run_name: str,
    progress: bool,
    log: Callable[[str], None],
    stop_after_epoch: int | None,
    fingerprint: str,
) -> RunResult:

    if cfg.threads:
        # Never more threads than cores: oversubscribed OpenMP threads spin and slow everything.
        torch.set_num_threads(min(cfg.threads, os.cpu_count() or cfg.threads))
    device = resolve_device(cfg.device)
    raw = load_dataset(cfg.dataset, cfg.data_dir, quiet=not progress)
    data = prepare_data(
        raw,
        train_size=cfg.train_size,
        valid_size=cfg.valid_size,
        test_size=cfg.test_size,
        labels=cfg.labels,
        randx_variance=cfg.randx_variance,
        task=cfg.task,
        data_seed=cfg.data_seed,
    )
    num_classes = data.num_classes
    every_split = {"train": data.train, "valid": data.valid, "test": data.test}
    splits = {k: v for k, v in every_split.items() if v is not None}
    _check_labels(cfg.dataset, splits, num_classes)

    torch.manual_seed(cfg.seed)
    order = torch.Generator().manual_seed(cfg.seed)
    spec = cfg.model_spec()
    model = build_model(spec, data.input_shape, num_classes).to(device)
    optimizer = make_optimizer(model, cfg.lr_start, cfg.glorot_lr_scale, cfg.optimizer, clip_weights=cfg.clip_weights)
    # l2_gradient "binarized" is the original code's path: the penalty is in the loss, but the
    # gradients applied to the latent weights are taken with respect to the binarized ones.
    penalised = l2_weights(model, cfg.l2_scope) if cfg.l2 else []
    original_path = BinarizedWeightGradients(model) if cfg.l2 and cfg.l2_gradient == "binarized" else None

    x_train = data.train.x.to(device)
    y_train = data.train.y.to(device)
    t_train = pm1_targets(y_train, num_classes) if cfg.loss == "squared_hinge" else y_train

    rows: list[dict] = []
    timing: list[dict] = []
    start_epoch = 0
    ckpt_path = out / CHECKPOINT
    ckpt = _read_checkpoint(ckpt_path, device, run_name, log) if ckpt_path.is_file() else None
    if ckpt is not None:
        if ckpt.get("fingerprint") == fingerprint:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            _set_rng_state(ckpt["rng"], order, device)
            rows, timing, start_epoch = ckpt["rows"], ckpt["timing"], ckpt["epoch"]
            log(f"{run_name}: resuming after epoch {start_epoch} of {cfg.epochs}")
        else:
            log(f"{run_name}: ignoring a checkpoint of different settings; starting afresh")
    settings = _settings_columns(cfg, run_name)
    process = psutil.Process()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    last_checkpoint = time.perf_counter()
    steps = max(1, len(x_train) // cfg.batch_size)
    with _progress(cfg.epochs * steps, start_epoch * steps, progress, run_name) as bar:
        for epoch in range(start_epoch, cfg.epochs):
            lr = cfg.lr_at(epoch)
            set_learning_rate(optimizer, lr)
            t0 = time.perf_counter()
            _train_epoch(
                model,
                optimizer,
                x_train,
                t_train,
                cfg,
                order,
                penalised,
                bar.update if progress else None,
                original_path,
            )
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            t1 = time.perf_counter()
            epoch_rows = _evaluate(model, splits, cfg, num_classes, device)
            t2 = time.perf_counter()
            for row in epoch_rows:
                row.update(epoch=epoch + 1, lr=lr)
                rows.append({**row, **settings})
            timing.append(
                {
                    "run": run_name,
                    "epoch": epoch + 1,
                    "train_seconds": t1 - t0,
                    "eval_seconds": t2 - t1,
                    "epoch_seconds": t2 - t0,
                    "rss_mb": process.memory_info().rss / 2**20,
                    "peak_rss_mb": _peak_rss_mb(),
                    "cuda_peak_mb": torch.cuda.max_memory_allocated(device) / 2**20
                    if device.type == "cuda"
                    else np.nan,
                }
            )
            _check_finite(epoch_rows, cfg, run_name, epoch + 1)
            if epoch + 1 < cfg.epochs and time.perf_counter() - last_checkpoint >= cfg.checkpoint_every:
                # At most every `checkpoint_every` seconds: a checkpoint of the weights and the Adam
                # state costs more than a short epoch. Resuming from any epoch gives the same result.
                torch_save(
                    {
                        "fingerprint": fingerprint,
                        "epoch": epoch + 1,
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "rng": _rng_state(order, device),
                        # plain JSON text, not pickled objects: the checkpoint is read weights-only
                        "records": json.dumps({"rows": rows, "timing": timing}, default=_json_value),
                    },
                    ckpt_path,
                )
                write_csv(out / "progress.csv", _metrics_frame(rows))
                last_checkpoint = time.perf_counter()
            errs = {r["split"]: r["error"] for r in epoch_rows if r["class"] == "all"}
            message = " ".join(f"{k} {v:.4f}" for k, v in errs.items())
            bar.set_postfix_str(f"epoch {epoch + 1}/{cfg.epochs}: {message}")
            if not progress:
                log(f"{run_name}: epoch {epoch + 1}/{cfg.epochs} lr {lr:.3g} error {message} ({t2 - t0:.2f} s)")
            if stop_after_epoch is not None and epoch + 1 >= stop_after_epoch and epoch + 1 < cfg.epochs:
                raise KeyboardInterrupt(f"stopped after epoch {epoch + 1} as asked")

    return _finish(out, cfg, run_name, model, data, rows, timing, start_epoch, fingerprint, device)


def _train_epoch(
    model: torch.nn.Module,
    optimizer: LatentWeightOptimizer,
    x: torch.Tensor,
    targets: torch.Tensor,
    cfg: TrainConfig,
    order: torch.Generator,
    penalised: list[torch.Tensor],
    on_step: Callable[[], object] | None = None,
    original_path: BinarizedWeightGradients | None = None,
) -> None:
    """One epoch of minibatch steps in the order of a fresh permutation drawn from ``order``; the
    optimizer's step includes the clipping of latent weights. ``penalised``: the latent weights of
    the L2 term l2 * Σ W²; ``original_path``: take the binary layers' gradients w.r.t. their
    binarized weights (the original code's path) instead of the latent ones."""
    model.train()
    n, bs = len(x), cfg.batch_size
    perm = torch.randperm(n, generator=order).to(x.device)
    steps = max(1, n // bs)  # the last partial batch is dropped, as in the original code
    squared = cfg.loss == "squared_hinge"
    for step in range(steps):
        idx = perm[step * bs : (step + 1) * bs]
        out = model(x.index_select(0, idx))
        target = targets.index_select(0, idx)
        loss = squared_hinge(out, target) if squared else F.cross_entropy(out, target)
        if penalised:
            loss = loss + cfg.l2 * torch.stack([w.square().sum() for w in penalised]).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if original_path is not None:
            original_path.apply()
        optimizer.step()
        if on_step is not None:
            on_step()


def _evaluate(
    model: torch.nn.Module, splits: Mapping[str, Split], cfg: TrainConfig, num_classes: int, device: torch.device
) -> list[dict]:
    rows = []
    with _evaluation_mode(model, sampled=cfg.stochastic_eval == "sample"), torch.no_grad():
        for name, split in splits.items():
            outputs = predict(model, split.x, cfg.eval_batch_size, device)
            loss = loss_value(outputs, split.y, cfg.loss, num_classes)
            for row in error_rows(outputs, split.y, num_classes):
                rows.append({"split": name, **row, "loss": loss})
    return rows


@contextlib.contextmanager
def _evaluation_mode(model: torch.nn.Module, sampled: bool) -> Iterator[None]:
    """Eval mode; or, ``sampled``, the original SVHN stochastic script's evaluation
    (``get_output(deterministic=False)``): the layers as in training (stochastic weights sampled,
    dropout on) and batch norm with the batch's statistics, its running averages left unchanged."""
    if not sampled:
        model.eval()
        yield
        return
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, m.num_batches_tracked.clone() if m.num_batches_tracked is not None else None) for m in norms]
    model.train()
    for m in norms:
        m.momentum = 0.0  # running = (1 - 0) * running + 0 * batch: unchanged
    try:
        yield
    finally:
        for m, (momentum, tracked) in zip(norms, saved):
            m.momentum = momentum
            if tracked is not None and m.num_batches_tracked is not None:
                m.num_batches_tracked.copy_(tracked)
        model.eval()


def _metrics_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    first = ["run", "epoch", "split", "class", "error", "loss", "lr", "n"]
    return frame[first + [c for c in frame.columns if c not in first]]


def _completed(out: Path, fingerprint: str, log: Callable[[str], None]) -> RunResult | None:
    """The finished run in ``out`` if it was made with these settings and its outputs are whole."""
    if not (out / SUMMARY).is_file():
        return None
    try:
        info = read_summary(out)
    except DataError as exc:
        log(f"{out}: {exc}; training it again")
        return None
    if info.get("fingerprint") != fingerprint:
        log(f"{out}: finished with other settings or another code version; training it again")
        return None
    problem = seal_problem(out, info)
    if problem:
        log(f"{out}: {problem}; training it again")
        return None
    timing = read_csv(out / "timing.csv") if (out / "timing.csv").is_file() else pd.DataFrame()
    return RunResult(out, read_csv(out / "metrics.csv"), timing, info, info["epochs_done"])


def _check_labels(dataset: str, splits: dict, num_classes: int) -> None:
    """Labels outside 0..classes-1 mean damaged data (a parsed-cache file edited after its check):
    one line naming the cache and the fix, not an error deep inside the loss."""
    for name, split in splits.items():
        if len(split.y) and (int(split.y.min()) < 0 or int(split.y.max()) >= num_classes):
            from bnnrepro.data.cache import entry_dir
            from bnnrepro.data.registry import get_spec

            bad = int(split.y.max()) if int(split.y.max()) >= num_classes else int(split.y.min())
            raise DataError(
                f"the {dataset} {name} labels hold class {bad}, outside 0..{num_classes - 1}: the dataset's parsed "
                f"cache is damaged; delete {entry_dir(get_spec(dataset))} (it is rebuilt from the verified files)"
            )


def _check_finite(epoch_rows: list[dict], cfg: TrainConfig, run_name: str, epoch: int) -> None:
    """Stop a diverging run with a clear message (a NaN loss would otherwise fill the metrics)."""
    bad = [r["split"] for r in epoch_rows if r["class"] == "all" and not np.isfinite(r["loss"])]
    if bad:
        raise TrainingDiverged(
            f"run {run_name} diverged at epoch {epoch}: the {bad[0]} loss is not finite; "
            f"lower lr_start (now {cfg.lr_start:g}) or check the data"
        )


def _probe(model: torch.nn.Module, data: PreparedData, cfg: TrainConfig, device: torch.device) -> pd.DataFrame:
    rng = np.random.default_rng([cfg.probe_seed, 0x70726F6265])
    size = min(cfg.probe_size, len(data.train))
    positions = np.sort(rng.choice(len(data.train), size=size, replace=False))
    model.eval()
    outputs = predict(model, data.train.x[positions], cfg.eval_batch_size, device)
    labels = data.train.y[positions]
    predicted = outputs.argmax(1)
    return pd.DataFrame(
        {
            "example": data.train.index[positions],
            "position": positions,
            "label": labels.numpy(),
            "predicted": predicted.numpy(),
            "correct": (predicted == labels).numpy().astype(int),
        }
    )


def _finish(
    out: Path,
    cfg: TrainConfig,
    run_name: str,
    model: torch.nn.Module,
    data: PreparedData,
    rows: list[dict],
    timing: list[dict],
    start_epoch: int,
    fingerprint: str,
    device: torch.device,
) -> RunResult:
    metrics = _metrics_frame(rows)
    timing_frame = pd.DataFrame(timing)
    final = metrics[(metrics["epoch"] == cfg.epochs) & (metrics["class"] == "all")]
    model_summary = summarize(model)
    summary = {
        "run": run_name,
        "fingerprint": fingerprint,
        "epochs_done": cfg.epochs,
        "final_error": {r.split: r.error for r in final.itertuples()},
        "final_loss": {r.split: r.loss for r in final.itertuples()},
        "train_seconds_total": float(timing_frame["train_seconds"].sum()),
        "seconds_per_epoch_mean": float(timing_frame["train_seconds"].mean()),
        "peak_rss_mb": float(timing_frame["peak_rss_mb"].max()),
        "cuda_peak_mb": float(timing_frame["cuda_peak_mb"].max()),
        "binary_params": model_summary.binary_params,
        "float_params": model_summary.float_params,
        "fp32_bytes": model_summary.fp32_bytes,
        "packed_bytes": model_summary.packed_bytes,
        "resumed_after_epoch": start_epoch,
        "config": cfg.to_dict(),
        "environment": environment(device),
        "train_examples": len(data.train),
        "test_examples": len(data.test),
    }
    if cfg.save_model:
        torch_save(
            {
                "spec": dataclasses.asdict(cfg.model_spec()),
                "input_shape": list(data.input_shape),
                "num_classes": data.num_classes,
                "classes": list(data.classes),
                "state_dict": model.state_dict(),
            },
            out / "model.pt",
        )
    if cfg.probe_size:
        write_csv(out / "probe.csv", _probe(model, data, cfg, device))
    write_csv(out / "timing.csv", timing_frame)
    write_csv(out / "metrics.csv", metrics)
    summary["outputs"] = seal(out)
    write_json(out / SUMMARY, summary)  # last: its seal marks the run complete
    remove_sealed(out / CHECKPOINT)
    remove_sealed(out / "progress.csv")
    return RunResult(out, metrics, timing_frame, summary, start_epoch)


def environment(device: torch.device | None = None) -> dict:
    """Versions and hardware, for provenance."""
    env = {
        "bnnrepro": bnnrepro.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device) if device is not None else None,
    }
    if device is not None and device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    return env


def saved_spec(saved: dict) -> ModelSpec:
    """The :class:`~bnnrepro.nn.models.ModelSpec` stored in a ``model.pt`` dictionary."""
    from bnnrepro.nn.models import ModelSpec

    values = dict(saved["spec"])
    values["hidden"] = tuple(values["hidden"]) if values.get("hidden") else None
    values["dropout"] = tuple(values.get("dropout") or ())
    return ModelSpec(**values)


def load_saved_model(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """The dictionary a ``model.pt`` holds (spec, input shape, classes, state dict), after checking
    its seal, read weights-only (no code runs whatever the file holds); a DataError otherwise."""
    saved = torch_load(path, map_location)
    if not isinstance(saved, dict) or not {"spec", "input_shape", "num_classes", "state_dict"} <= set(saved):
        raise DataError(f"{path} is not a bnnrepro model file; delete the run folder and rerun the workflow")
    return saved


def load_model(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild a model saved as ``model.pt`` by :func:`train` (in eval mode)."""
    saved = load_saved_model(path, map_location)
    model = build_model(saved_spec(saved), tuple(saved["input_shape"]), saved["num_classes"])
    model.load_state_dict(saved["state_dict"])
    return model.eval()
