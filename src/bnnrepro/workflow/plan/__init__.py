"""``bnnrepro plan``: what a config would cost on this machine, before running it.

* :mod:`.dryrun`: the jobs Snakemake would run, what changed for a job that reruns, and the exact
  command that runs the plan;
* :mod:`.cost`: the cost model, calibrated on this machine's finished runs (or :mod:`.probe`);
* :mod:`.command`: the command-line verb.
"""

from bnnrepro.workflow.plan.command import Plan, command, format_plan
from bnnrepro.workflow.plan.cost import (
    CHECKOUT,
    GUESSED_SECONDS,
    MIN_RUNS,
    TRAIN_DEFAULTS,
    Calibration,
    EpochModel,
    MeasuredRun,
    Priced,
    architectures,
    calibrate,
    duration,
    epoch_features,
    examples,
    family_of,
    finished,
    fit_epoch_model,
    forward_macs,
    model_chunk,
    pending_runs,
    price,
    wall_seconds,
)
from bnnrepro.workflow.plan.dryrun import (
    Job,
    changed_settings,
    config_args,
    dry_run,
    load_config,
    parse_dry_run,
    recorded_params,
    snakemake_command,
    snakemake_error,
    train_changes,
)

__all__ = [
    "CHECKOUT",
    "GUESSED_SECONDS",
    "MIN_RUNS",
    "TRAIN_DEFAULTS",
    "Calibration",
    "EpochModel",
    "Job",
    "MeasuredRun",
    "Plan",
    "Priced",
    "architectures",
    "calibrate",
    "changed_settings",
    "command",
    "config_args",
    "dry_run",
    "duration",
    "epoch_features",
    "examples",
    "family_of",
    "finished",
    "fit_epoch_model",
    "format_plan",
    "forward_macs",
    "load_config",
    "model_chunk",
    "parse_dry_run",
    "pending_runs",
    "price",
    "recorded_params",
    "snakemake_command",
    "snakemake_error",
    "train_changes",
    "wall_seconds",
]
