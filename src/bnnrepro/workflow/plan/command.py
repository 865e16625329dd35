"""``bnnrepro plan``: what a config would cost, before running it.

Snakemake's dry run says which jobs would run (:mod:`bnnrepro.workflow.plan.dryrun`); each is
priced by :mod:`bnnrepro.workflow.plan.cost` from this machine's own measurements (or a short
probe, ``--probe``); the plan prints the time per family and in total, the runs each training job
would train (not its chunk: finished runs are skipped), what changed for a job that reruns, the
hardware the estimate rests on, and the exact command that runs what was planned.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bnnrepro.errors import ConfigError
from bnnrepro.io import write_json
from bnnrepro.workflow.config import load_yaml
from bnnrepro.workflow.plan import cost
from bnnrepro.workflow.plan.cost import Calibration, Priced, display, duration, wall_seconds
from bnnrepro.workflow.plan.dryrun import config_args, dry_run, load_config, snakemake_command


def _time(priced: list[Priced], cores: int, total: bool = False) -> str:
    """The wall time of these jobs; "unknown" or "> N" when some cannot be priced."""
    seconds = wall_seconds(priced, cores) if not total else sum(p.seconds for p in priced if p.known)
    if all(p.known for p in priced):
        return duration(seconds)
    return f"> {duration(seconds)}" if seconds > 0 else "unknown"


def format_plan(
    priced: list[Priced],
    calibration: Calibration,
    cores: int,
    command: str,
    device: str,
    hardware: str,
) -> str:
    """The plan as text: per family and in total, then what reruns and why, then the model."""
    lines = [f"Plan of `{command}`", f"  on this machine: {hardware}; the config trains on {device}."]
    if not priced:
        lines.append("Nothing to run: every output is up to date.")
        return "\n".join(lines)
    families = list(dict.fromkeys(p.family for p in priced))
    header = ("Family", "Jobs", "New runs", "Measured", "Modelled", "Job time", f"Wall time at --cores {cores}")
    rows = []
    for family in families + ["total"]:
        mine = [p for p in priced if family == "total" or p.family == family]
        measured = sum(1 for p in mine if p.source.startswith("measured"))
        train = [p for p in mine if p.job.rule == "train"]
        rows.append(
            (
                family,
                str(len(mine)),
                f"{sum(p.runs for p in train)} of {sum(p.chunk_runs for p in train)}" if train else "",
                str(measured),
                str(len(mine) - measured),
                _time(mine, cores, total=True),
                _time(mine, cores),
            )
        )
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for i, row in enumerate([header] + rows):
        if i == len(rows):
            lines.append("  ".join("-" * w for w in widths))
        lines.append(
            "  ".join(cell.ljust(w) if j == 0 else cell.rjust(w) for j, (cell, w) in enumerate(zip(row, widths)))
        )

    train = [p for p in priced if p.job.rule == "train"]
    new = [p for p in train if p.job.reason.startswith("Missing output")]
    reruns = [p for p in train if not p.job.reason.startswith("Missing output")]
    lines.append("")
    lines.append(
        f"Training: {sum(p.runs for p in train)} runs to train in {len(train)} jobs ({len(new)} new, "
        f"{len(reruns)} rerun); {sum(p.chunk_runs - p.runs for p in train)} runs of those jobs are finished "
        "and skipped."
    )
    for p in reruns:
        w = p.job.wildcards
        lines.append(
            f"  rerun {w.get('family')} {w.get('dataset')}/{w.get('chunk')} ({p.runs} of {p.chunk_runs} runs to "
            f"train, {duration(p.seconds) if p.known else 'time unknown'}): {cost.short_reason(p.job.reason)}"
        )
        for change in p.changes:
            lines.append(f"      {change}")
    others = [p for p in priced if p.job.rule != "train" and not p.job.reason.startswith("Missing output")]
    if others:
        why: dict[str, list[str]] = {}
        for p in others:
            why.setdefault(cost.short_reason(p.job.reason), []).append(p.job.rule)
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
    if model is None:
        finished_here = sum(1 for r in calibration.runs if r.device == device)
        lines.append(
            f"  training: UNKNOWN. This machine has {finished_here} finished {device} run(s) (at least {cost.MIN_RUNS} "
            f"are needed to fit the epoch model). Measure: `bnnrepro plan --probe ...` (about a minute: 6 small "
            f"runs on {device}), or plan on the machine that will train, after a small run there "
            "(e.g. the ci preset)."
        )
    else:
        fit = f", median error {100 * model.error:.0f}% on those runs" if model.error is not None else ""
        overhead = calibration.overhead
        said = (
            f"{overhead[0]:.1f} s per process start + {overhead[1]:.1f} s per run (fitted to "
            f"{len(calibration.overheads)} finished jobs)"
            if overhead
            else "no process start-up (no finished job measured it)"
        )
        lines.append(
            f"  training, modelled for the runs not yet finished: {said} + per run and epoch steps x "
            f"{1e3 * model.step:.2g} ms + example passes x {1e6 * model.example:.2g} us + MACs / "
            f"{model.rate / 1e9:.3g} GMAC/s: {model.source}{fit}. The estimate assumes this machine's speed "
            f"({hardware}); more finished runs (--history DIR) sharpen it."
        )
    guessed = sorted({p.note for p in priced if p.source == "guessed"})
    if guessed:
        lines.append(f"  guessed (no job of the kind measured on this machine yet): {'; '.join(guessed)}.")
    lines.append(
        f"  wall time: max(longest job, sum of job seconds x threads / {cores}); exclusive timed jobs "
        f"hold all {cores} slots (they run alone); dependencies are ignored (a lower bound)."
    )
    lines.append("")
    lines.append(f"Run exactly this: {command}")
    return "\n".join(lines)


def estimate(priced: list[Priced], cores: int, command: str, hardware: str, device: str) -> dict:
    """The plan as data: wall seconds per family and in total (None: some job cannot be priced)."""

    def wall(jobs: list[Priced]) -> float | None:
        return wall_seconds(jobs, cores) if all(p.known for p in jobs) else None

    families = sorted({p.family for p in priced})
    return {
        "command": command,
        "cores": cores,
        "hardware": hardware,
        "device": device,
        "wall_seconds": wall(priced),
        "families": {f: wall([p for p in priced if p.family == f]) for f in families},
        "runs_to_train": sum(p.runs for p in priced if p.job.rule == "train"),
        "jobs": len(priced),
    }


class Plan:
    """``bnnrepro plan``: estimate a config's wall time per family and say what would rerun."""

    help = "estimate a config's wall time per family and what would rerun"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.description = (
            "Estimate the time of `snakemake --cores N all` with these config arguments, per family and in total, "
            "and list the training runs that would train and why a job reruns (the parameter that changed). "
            "Snakemake's dry run says what would run; each job's time is its benchmark from an earlier run where "
            "there is one, else a model calibrated on this machine's finished runs (or --probe): without either, "
            "the training time is reported unknown. Prints the command that runs exactly the plan."
        )
        snakemake_options = {  # passed on to snakemake as they are
            "--configfile": ("FILE", "config files that extend config.yaml"),
            "--config": ("KEY=VALUE", "config values (e.g. results=/scratch/results)"),
        }
        for flag, (metavar, what) in snakemake_options.items():
            parser.add_argument(
                flag, nargs="+", action="extend", default=[], metavar=metavar, help=f"{what}, as for snakemake"
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
            "(always used: the config's results folder and every results* folder of the checkout)",
        )
        parser.add_argument(
            "--json",
            metavar="FILE",
            help="also write the estimate as JSON: seconds per family and in total (null: unknown), runs, the command",
        )
        parser.add_argument(
            "--probe",
            action="store_true",
            help="first measure this machine's training speed: 6 small runs (about a minute) into results-probe/",
        )

    def run(self, args: argparse.Namespace) -> int:
        root = cost.CHECKOUT
        if not (root / "Snakefile").is_file():
            raise ConfigError(f"no Snakefile in {root}: `bnnrepro plan` runs from the repository checkout")
        configfiles = []
        for path in args.configfile:
            if not Path(path).is_file():
                raise ConfigError(f"--configfile {path}: no such file")
            load_yaml(path)  # a YAML error or a duplicate key: one line naming the file and line
            configfiles.append(str(Path(path).resolve()))
        for entry in args.config:
            if "=" not in entry:
                raise ConfigError(f"--config {entry!r}: give KEY=VALUE")
        history = []
        for folder in args.history:
            if not Path(folder).is_dir():
                raise ConfigError(f"--history {folder}: not a folder (give an earlier run's results folder)")
            history.append(Path(folder).resolve())

        started = time.perf_counter()
        jobs = dry_run(root, config_args(configfiles, args.config), args.cores)  # first: its errors are one line
        config = load_config(root, configfiles, args.config)
        device = cost._device(config.get("execution", {}).get("device", "cpu"))
        if args.probe:
            from bnnrepro.workflow.plan.probe import run_probe

            print(f"probing this machine's training speed on {device} (6 small runs)...", flush=True)
            run_probe(root, device)
        history += sorted(p for p in root.glob("results*") if p.is_dir())
        from bnnrepro.workflow.codeversion import code_version

        priced, calibration = cost.price(jobs, config, root, history, code_version("bnnrepro.train.command"))
        shown = [display(Path(p), Path.cwd()) for p in configfiles]
        command = snakemake_command(args.cores, shown, args.config)
        print(format_plan(priced, calibration, args.cores, command, device, cost.machine()))
        if args.json:
            write_json(args.json, estimate(priced, args.cores, command, cost.machine(), device))
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
