"""The settings of one training run, their defaults, documentation and validation.

One flat dataclass, so that every setting is at once a CLI option (``--lr-start``), a YAML key
(``lr_start``), a column of the metrics file and a Snakemake ``params:`` value. Each field's
metadata holds its help text and, where it applies, its allowed values.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from bnnrepro.data.prepare import LABEL_MODES, parse_task
from bnnrepro.data.registry import DATASETS
from bnnrepro.errors import ConfigError
from bnnrepro.nn.spec import ACTIVATIONS, ARCHITECTURES, BINARIZATIONS, FLOAT_ACTIVATIONS, MODES, ModelSpec

LOSSES = ("squared_hinge", "cross_entropy")
OPTIMIZERS = ("adam", "sgd")
DEVICES = ("auto", "cpu", "cuda")


def setting(
    default: Any,
    help: str,
    *,
    choices: Sequence[str] | None = None,
    group: str = "training",
    minimum: float | None = None,
) -> Any:
    """A dataclass field with CLI/YAML metadata."""
    meta = {"help": help, "choices": choices, "group": group, "minimum": minimum}
    if isinstance(default, list):
        return field(default_factory=functools.partial(list, default), metadata=meta)
    return field(default=default, metadata=meta)


#: The largest integer a setting may hold (a seed goes to torch and numpy as a signed 64-bit integer).
MAX_INT = 2**63 - 1
#: Columns of metrics.csv that a run measures (or names it by): a tag may not overwrite them.
MEASURED_COLUMNS = ("run", "epoch", "split", "class", "error", "loss", "lr", "n", "loss_function")


@dataclass
class TrainConfig:
    """All settings of one training run (see ``bnnrepro train --help`` for each)."""

    # data
    dataset: str = setting("fashion_mnist", "dataset to train on", choices=tuple(DATASETS), group="data")
    data_dir: str | None = setting(
        None, "explicit data directory (else $BNNREPRO_DATA, the cache, system folders, download)", group="data"
    )
    task: str = setting("multiclass", "'multiclass', 'binary' (classes 0-4 vs 5-9) or 'pair-A-B'", group="data")
    labels: str = setting(
        "true",
        "true labels, randY (uniform random labels) or randX (Gaussian inputs)",
        choices=LABEL_MODES,
        group="data",
    )
    randx_variance: float = setting(
        0.1, "variance of randX's Gaussian inputs (original: N(0, 0.1))", group="data", minimum=0.0
    )
    train_size: int | None = setting(
        None, "random subset of the training set (default: all of it)", group="data", minimum=1
    )
    valid_size: int = setting(0, "hold out the last N training examples for validation", group="data", minimum=0)
    test_size: int | None = setting(None, "random subset of the test set (default: all of it)", group="data", minimum=1)
    data_seed: int = setting(
        0, "seed of random labels, randX noise and subsets (separate from --seed)", group="data", minimum=0
    )
    # model
    arch: str = setting("mlp", "architecture", choices=tuple(ARCHITECTURES), group="model")
    hidden: list[int] = setting([], "hidden layer sizes of arch 'mlp' (default 1024)", group="model")
    width: float = setting(
        1.0, "width multiplier of all hidden layers (CPU-sized variants)", group="model", minimum=0.0
    )
    mode: str = setting(
        "binarynet",
        "binarynet (binary weights and activations), binaryconnect (weights only) or float",
        choices=MODES,
        group="model",
    )
    binarization: str = setting(
        "det", "deterministic sign or stochastic hard-sigmoid binarization", choices=BINARIZATIONS, group="model"
    )
    activation: str = setting(
        "sign", "binary activation of binarynet hidden layers", choices=ACTIVATIONS, group="model"
    )
    float_activation: str = setting(
        "relu", "activation of binaryconnect / float hidden layers", choices=FLOAT_ACTIVATIONS, group="model"
    )
    stochastic_eval: str = setting(
        "real",
        "evaluation of stochastic layers: real (the real-valued weights, as the CIFAR-10 scripts), sign (fully"
        " binary), or sample (sampled binary weights and batch-statistics batch norm, as the SVHN stochastic"
        " script's deterministic=False)",
        choices=("real", "sign", "sample"),
        group="model",
    )
    # regularization
    dropout: list[float] = setting(
        [], "dropout rate(s) after the hidden dense layers (one value, or one per layer)", group="regularization"
    )
    input_dropout: float = setting(0.0, "dropout rate on the input of MLPs", group="regularization", minimum=0.0)
    l2: float = setting(
        0.0,
        "L2 coefficient: l2 * sum(W^2) over latent weights (applied to them, as intended)",
        group="regularization",
        minimum=0.0,
    )
    l2_scope: str = setting(
        "dense",
        "layers the L2 penalty covers: dense (original) or all binary layers",
        choices=("dense", "all"),
        group="regularization",
    )
    l2_gradient: str = setting(
        "latent",
        "where the L2 penalty's gradient goes: latent (the latent weights, as intended) or binarized (as the"
        " original code: the penalty is in the loss, but every gradient is taken w.r.t. the binarized weights"
        " and applied to the latent ones)",
        choices=("latent", "binarized"),
        group="regularization",
    )
    # optimisation
    loss: str = setting("squared_hinge", "squared hinge (BinaryNet) or cross-entropy", choices=LOSSES)
    optimizer: str = setting("adam", "adam (BinaryNet) or sgd (plain SGD, no momentum)", choices=OPTIMIZERS)
    epochs: int = setting(10, "number of epochs", minimum=1)
    batch_size: int = setting(100, "minibatch size (the last partial batch is dropped, as the original)", minimum=1)
    lr_start: float = setting(1e-3, "learning rate of the first epoch", minimum=0.0)
    lr_end: float = setting(1e-4, "learning rate after the last epoch (geometric decay per epoch)", minimum=0.0)
    glorot_lr_scale: bool = setting(True, "scale binary weights' learning rate by 1/sqrt(1.5/(fan_in+fan_out))")
    clip_weights: bool = setting(True, "clip latent binary weights to [-1, 1] after each step")
    seed: int = setting(0, "seed of initialisation, data order, dropout and stochastic binarization", minimum=0)
    # execution
    device: str = setting("auto", "cpu, cuda, or auto (cuda when available)", choices=DEVICES, group="execution")
    threads: int | None = setting(None, "torch CPU threads (default: torch's choice)", group="execution", minimum=1)
    eval_batch_size: int = setting(5000, "batch size of evaluation passes", group="execution", minimum=1)
    probe_size: int = setting(
        0, "record per-example correctness of N fixed training examples after training", group="execution", minimum=0
    )
    probe_seed: int = setting(0, "seed choosing the probe examples (fixed across runs)", group="execution", minimum=0)
    save_model: bool = setting(True, "save the final model (model.pt)", group="execution")
    checkpoint_every: float = setting(
        30.0,
        "seconds between checkpoints (a killed run resumes from the last; 0: every epoch)",
        group="execution",
        minimum=0.0,
    )
    tags: list[str] = setting(
        [], "KEY=VALUE labels added as columns to the metrics (e.g. regularization=dropout)", group="execution"
    )

    # ---------------------------------------------------------------------------------------
    def validate(self) -> TrainConfig:
        """Raise :class:`ConfigError` naming the first invalid setting; return self."""
        for f in fields(self):
            value = getattr(self, f.name)
            meta = f.metadata
            if value is None:
                continue
            if meta.get("choices") and value not in meta["choices"]:
                raise ConfigError(
                    f"{f.name}={value!r} is not allowed; choose one of: {', '.join(map(str, meta['choices']))}"
                )
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
                raise ConfigError(f"{f.name}={value} is too large (at most 2**63 - 1)")
            if isinstance(value, list) and any(isinstance(v, int) and abs(v) > MAX_INT for v in value):
                raise ConfigError(f"{f.name}={value} holds a number too large (at most 2**63 - 1)")
            is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if (
                meta.get("minimum") is not None
                and is_number
                and (value < meta["minimum"] or (isinstance(value, float) and not math.isfinite(value)))
            ):
                raise ConfigError(f"{f.name}={value!r} must be >= {meta['minimum']}")
        parse_task(self.task)
        if self.width == 0:
            raise ConfigError("width must be > 0")
        if any(not 0.0 <= p < 1.0 for p in self.dropout) or not 0.0 <= self.input_dropout < 1.0:
            raise ConfigError(
                f"dropout rates must be in [0, 1): dropout={self.dropout}, input_dropout={self.input_dropout}"
            )
        if any(h < 1 for h in self.hidden):
            raise ConfigError(f"hidden sizes must be >= 1, got {self.hidden}")
        if self.hidden and self.arch != "mlp":
            raise ConfigError(
                f"hidden applies to arch 'mlp' only (arch is {self.arch!r}); use width to scale {self.arch}"
            )
        for tag in self.tags:
            key, sep, _ = tag.partition("=")
            if not sep or not key.isidentifier():
                raise ConfigError(f"tag {tag!r} must look like KEY=VALUE with KEY a plain name")
            if key in MEASURED_COLUMNS:
                raise ConfigError(
                    f"tag {tag!r} would overwrite the measured column {key!r} of metrics.csv; "
                    f"choose another KEY (not one of: {', '.join(MEASURED_COLUMNS)})"
                )
        if self.lr_start <= 0 or self.lr_end <= 0:
            raise ConfigError("lr_start and lr_end must be > 0")
        try:
            self.model_spec().dropout_rates()
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return self

    def tag_columns(self) -> dict[str, str]:
        from bnnrepro.train.records import tag_columns

        return tag_columns(self.tags)

    def model_spec(self) -> ModelSpec:
        try:
            return ModelSpec(
                arch=self.arch,
                mode=self.mode,
                binarization=self.binarization,
                width=self.width,
                hidden=tuple(self.hidden) or None,
                dropout=tuple(self.dropout),
                input_dropout=self.input_dropout,
                activation=self.activation,
                float_activation=self.float_activation,
                # "sample" evaluates in training mode (bnnrepro.train.loop); the layers keep real weights
                stochastic_eval="real" if self.stochastic_eval == "sample" else self.stochastic_eval,
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    def training_bytes(self) -> int | None:
        """Memory of an MLP's weights while training (fp32 weights, gradients and Adam's two
        moments: 16 bytes a parameter), from the dataset's image size; None for other architectures."""
        if self.arch != "mlp" or not self.hidden:
            return None
        from bnnrepro.data.registry import get_spec

        spec = get_spec(self.dataset)
        classes = len(spec.classes) if self.task == "multiclass" else 2
        sizes = [math.prod(spec.image_shape), *self.hidden, classes]
        return 16 * sum(a * b + b for a, b in itertools.pairwise(sizes))

    def check_fits(self, available: int | None = None, where: str = "free on this machine") -> TrainConfig:
        """Refuse a model whose weights cannot fit in ``available`` bytes (default: this machine's
        free memory) before allocating it; return self."""
        need = self.training_bytes()
        if need is None:
            return self
        if available is None:
            import psutil

            available = psutil.virtual_memory().available
        if need > 0.8 * available:
            raise ConfigError(
                f"hidden={self.hidden} needs about {need / 2**30:,.1f} GiB for its weights while training, more "
                f"than the {available / 2**30:,.1f} GiB {where}; choose smaller hidden sizes"
            )
        return self

    def lr_at(self, epoch: int) -> float:
        """Learning rate of 0-based ``epoch``: lr_start * (lr_end / lr_start) ** (epoch / epochs)."""
        return self.lr_start * (self.lr_end / self.lr_start) ** (epoch / self.epochs)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        """Hash of every setting that changes the result (a checkpoint of another config is not resumed)."""
        ignored = ("data_dir", "eval_batch_size", "save_model", "checkpoint_every")
        relevant = {k: v for k, v in self.to_dict().items() if k not in ignored}
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> TrainConfig:
        """Build from a mapping, rejecting unknown keys and values of the wrong type."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            import difflib

            close = {name: difflib.get_close_matches(name, list(known), n=1) for name in unknown}
            hints = "".join(f" (did you mean {close[name][0]!r}?)" for name in unknown if close[name])
            raise ConfigError(
                f"{source}: unknown setting(s) {', '.join(unknown)}{hints}; known settings: {', '.join(known)}"
            )
        kwargs = {name: coerce(known[name], value, source) for name, value in values.items()}
        return cls(**kwargs)

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
        import yaml

        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from None
        if not isinstance(values, dict):
            raise ConfigError(f"{path} must contain a mapping of setting: value, found {type(values).__name__}")
        values.update(overrides or {})
        return cls.from_dict(values, str(path))


def field_type(f: dataclasses.Field) -> tuple[type, bool, bool]:
    """(scalar type, is_list, optional) of a TrainConfig field, from its annotation string."""
    ann = str(f.type).replace(" ", "")
    optional = ann.endswith("|None")
    ann = ann.removesuffix("|None")
    is_list = ann.startswith("list[")
    name = ann[5:-1] if is_list else ann
    return {"int": int, "float": float, "str": str, "bool": bool}[name], is_list, optional


def coerce(f: dataclasses.Field, value: Any, source: str = "config") -> Any:
    """Check (and where lossless, convert) ``value`` to the type of field ``f``."""
    scalar, is_list, optional = field_type(f)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{source}: {f.name} cannot be empty (expected {_type_name(scalar, is_list)})")

    def one(v: Any) -> Any:
        if scalar is bool:
            if isinstance(v, bool):
                return v
        elif scalar is float:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return float(v)
        elif scalar is int:
            if isinstance(v, int) and not isinstance(v, bool):
                return v
            if isinstance(v, float) and v.is_integer():
                return int(v)
        elif isinstance(v, str):
            return v
        raise ConfigError(f"{source}: {f.name}={value!r} has the wrong type; expected {_type_name(scalar, is_list)}")

    if is_list:
        return [one(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    return one(value)


def _type_name(scalar: type, is_list: bool) -> str:
    return f"a list of {scalar.__name__}" if is_list else scalar.__name__
