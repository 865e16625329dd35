"""``bnnrepro train``: train one run from options, or a chunk of runs from a JSON spec.

One run: every :class:`~bnnrepro.train.config.TrainConfig` setting is an option (``--lr-start``) or
a key of a ``--config`` YAML file. A chunk (``--runs FILE``, ``-`` for standard input; what the
workflow's training jobs run): ``{"isolate": bool, "runs": [{"out": DIR, "name": NAME,
"settings": {...}}, ...]}``. The runs train one after another in this process (the dataset is loaded
once), or each in a fresh process when ``isolate`` (so that each measures its own peak memory);
runs already complete are skipped, a killed one resumes from its checkpoint. ``--manifest`` then
records the finished runs (:mod:`bnnrepro.train.records`): the job's output.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from bnnrepro.errors import ConfigError

EPILOG = """\
examples:
  bnnrepro train --out results/demo --epochs 1
      one epoch of the default deterministic BNN (784-1024-10 MLP) on Fashion-MNIST
  bnnrepro train --labels randY --train-size 5000 --epochs 50 --out results/randY
      memorize 5,000 random labels
  bnnrepro train --config run.yaml --seed 3 --out results/run-s3
      settings from a YAML file (keys as below, with underscores), overridden by options
  bnnrepro train --runs chunk.json --manifest results/chunk.json
      the runs of a chunk spec, one after another (what the workflow runs)

Outputs in --out: metrics.csv (class-wise train/valid/test error per epoch), timing.csv,
summary.json (with the checksums of the outputs), model.pt; a killed run resumes from
checkpoint.pt when started again.
"""


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """One option per TrainConfig setting, grouped, with its default (once)."""
    from bnnrepro.train.config import TrainConfig, field_type

    groups: dict[str, argparse._ArgumentGroup] = {}
    for f in fields(TrainConfig):
        meta = f.metadata
        group = groups.setdefault(meta["group"], parser.add_argument_group(f"{meta['group']} settings"))
        scalar, is_list, _ = field_type(f)
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        help_text = meta["help"] if "default" in meta["help"] else f"{meta['help']} (default: {default})"
        flag = "--" + f.name.replace("_", "-")
        kwargs: dict[str, Any] = dict(dest=f.name, default=argparse.SUPPRESS, help=help_text.replace("%", "%%"))
        if scalar is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
            continue
        if meta.get("choices"):
            kwargs["choices"] = meta["choices"]
        if is_list:
            kwargs["nargs"] = "+"
        group.add_argument(
            flag,
            type=_typed(scalar, flag),
            metavar=scalar.__name__.upper() if not meta.get("choices") else None,
            **kwargs,
        )


def _typed(scalar: type, flag: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = scalar(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'an' if scalar is int else 'a'} {scalar.__name__}"
            ) from None
        if scalar is int and abs(value) > 2**62:
            raise argparse.ArgumentTypeError(f"{text} is too large")
        return value

    parse.__name__ = scalar.__name__
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Train one BNN (or float) run, or a chunk of runs; every setting is an option or a YAML key."
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--config", metavar="FILE", help="YAML file of settings (options given here override it)")
    parser.add_argument("--out", metavar="DIR", help="run folder for the outputs (one run)")
    parser.add_argument(
        "--name", metavar="NAME", help="run name written in the metrics (default: the --out folder's name)"
    )
    parser.add_argument("--runs", metavar="FILE", help="a chunk spec (JSON; - for standard input) instead of one run")
    parser.add_argument("--manifest", metavar="FILE", help="with --runs: write the manifest of the finished runs here")
    parser.add_argument(
        "--code-version",
        metavar="HASH",
        help="the version of the code that trains (the workflow passes its rule's): a finished run or "
        "checkpoint of another version is trained again",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: when standard error is a terminal), else one log line per epoch",
    )
    add_train_options(parser)


def _settings_from_options(args: argparse.Namespace) -> dict:
    from bnnrepro.train.config import TrainConfig

    return {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}


def _read_spec(source: str) -> dict:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
        spec = json.loads(text)
        runs = spec["runs"]
        assert isinstance(runs, list) and all(isinstance(r, dict) and {"out", "settings"} <= set(r) for r in runs)
    except FileNotFoundError:
        raise ConfigError(f"--runs {source}: no such file") from None
    except (json.JSONDecodeError, KeyError, AssertionError, TypeError) as exc:
        raise ConfigError(
            f"--runs {source}: not a chunk spec ({str(exc) or 'runs must be a list of {out, name, settings}'}); "
            "see `bnnrepro train --help`"
        ) from None
    return spec


def _run_isolated(run: dict, overrides: dict, progress: bool | None, code_version: str | None) -> None:
    """Train one run in a fresh Python process (its own peak memory, no state from earlier runs)."""
    settings = {**run["settings"], **overrides}
    spec = json.dumps({"isolate": False, "runs": [{**run, "settings": settings}]})
    command = [sys.executable, "-m", "bnnrepro", "train", "--runs", "-"]
    if code_version:
        command += ["--code-version", code_version]
    if progress is not None:
        command.append("--progress" if progress else "--no-progress")
    proc = subprocess.run(command, input=spec, text=True)
    if proc.returncode:
        raise ConfigError(f"run {run['out']} failed (exit status {proc.returncode}); its log is above")


def run_chunk(
    spec: dict, overrides: dict, manifest: str | None, progress: bool | None, code_version: str | None = None
) -> int:
    from bnnrepro.train.config import TrainConfig
    from bnnrepro.train.records import write_manifest

    runs = spec["runs"]
    configs = []
    for run in runs:  # validate every run before training any
        settings = {**run["settings"], **overrides}
        configs.append(TrainConfig.from_dict(settings, f"run {run['out']}").validate().check_fits())
    t0 = time.perf_counter()
    for run, cfg in zip(runs, configs):
        if spec.get("isolate"):
            _run_isolated(run, overrides, progress, code_version)
        else:
            from bnnrepro.train.loop import train

            train(cfg, run["out"], run_name=run.get("name"), progress=progress, code_version=code_version)
    if manifest:
        from bnnrepro.io import reset_reads

        reset_reads()  # the manifest records its runs' summaries by checksum itself
        write_manifest(manifest, [run["out"] for run in runs], code_version=code_version)
    print(f"{len(runs)} run(s) done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    from bnnrepro.train.config import TrainConfig

    options = _settings_from_options(args)
    if args.runs:
        if args.out or args.config or args.name:
            raise ConfigError("--runs gives every run's folder, name and settings: drop --out, --name and --config")
        return run_chunk(_read_spec(args.runs), options, args.manifest, args.progress, args.code_version)
    if args.manifest:
        raise ConfigError("--manifest goes with --runs")
    if args.out is None:
        raise ConfigError("say where the run goes: --out DIR (or give a chunk with --runs FILE)")
    if not args.out.strip():
        raise ConfigError("--out is empty; name the run's folder, e.g. --out results/demo")
    cfg = (
        (TrainConfig.from_yaml(args.config, options) if args.config else TrainConfig.from_dict(options, "command line"))
        .validate()
        .check_fits()
    )
    from bnnrepro.train.loop import train

    result = train(cfg, args.out, run_name=args.name, progress=args.progress, code_version=args.code_version)
    final = result.summary["final_error"]
    print(f"{result.out_dir}: final error " + ", ".join(f"{k} {v:.4f}" for k, v in final.items()))
    return 0
