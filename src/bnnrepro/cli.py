"""The ``bnnrepro`` command line.

Every subcommand turns bad input into a one-line message and exit status 2 (bad data: 1), never a
traceback. The Snakemake workflow calls these same commands.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import MISSING, fields

from bnnrepro import __version__
from bnnrepro.errors import BnnreproError, ConfigError

EPILOG_TRAIN = """\
examples:
  bnnrepro train --out results/demo --epochs 1
      one epoch of the default deterministic BNN (784-1024-10 MLP) on Fashion-MNIST
  bnnrepro train --labels randY --train-size 5000 --epochs 50 --out results/randY
      memorize 5,000 random labels
  bnnrepro train --config run.yaml --seed 3 --out results/run-s3
      settings from a YAML file (keys as below, with underscores), overridden by options

Outputs in --out: metrics.csv (class-wise train/valid/test error per epoch), timing.csv,
summary.json, model.pt; a killed run resumes from checkpoint.pt when started again.
"""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the error format of the rest of the CLI (message + hint, exit 2)."""

    def error(self, message: str):
        # No usage dump: `train` has dozens of options; the hint points to the full help.
        self.exit(2, f"{self.prog}: error: {message}\n(run `{self.prog} --help` for the options)\n")


def _add_train_options(parser: argparse.ArgumentParser) -> None:
    from bnnrepro.train.config import TrainConfig, field_type

    groups: dict[str, argparse._ArgumentGroup] = {}
    for f in fields(TrainConfig):
        meta = f.metadata
        group = groups.setdefault(meta["group"], parser.add_argument_group(f"{meta['group']} settings"))
        scalar, is_list, _ = field_type(f)
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        help_text = f"{meta['help']} (default: {default})"
        flag = "--" + f.name.replace("_", "-")
        kwargs = dict(dest=f.name, default=argparse.SUPPRESS, help=help_text)
        if scalar is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
            continue
        if meta.get("choices"):
            kwargs["choices"] = meta["choices"]
        if is_list:
            kwargs["nargs"] = "+"
        group.add_argument(flag, type=scalar, metavar=scalar.__name__.upper() if not meta.get("choices") else None,
                           **kwargs)


def _cmd_train(args: argparse.Namespace) -> int:
    from bnnrepro.train import TrainConfig, train

    settings = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    cfg = (TrainConfig.from_yaml(args.config, settings) if args.config
           else TrainConfig.from_dict(settings, "command line")).validate()
    result = train(cfg, args.out, run_name=args.name, progress=args.progress)
    final = result.summary["final_error"]
    print(f"{result.out_dir}: final error " + ", ".join(f"{k} {v:.4f}" for k, v in final.items()))
    return 0


def _cmd_data_fetch(args: argparse.Namespace) -> int:
    from bnnrepro.data import fetch, get_spec

    names = list(args.names) if args.names else []
    if not names:
        raise ConfigError("name at least one dataset, e.g. `bnnrepro data fetch fashion_mnist`")
    for name in names:
        spec = get_spec(name)
        files = fetch(spec, args.data_dir, download=not args.offline, quiet=args.quiet)
        for located in files.values():
            if not args.quiet:
                print(f"{spec.name}: {located.path} ({located.source}, verified)")
    return 0


def _cmd_data_info(args: argparse.Namespace) -> int:
    from bnnrepro.data import DATASETS, locate
    from bnnrepro.data.fetch import candidate_dirs, download_dir
    from bnnrepro.errors import DataError

    names = args.names or list(DATASETS)
    for name in names:
        from bnnrepro.data import get_spec

        spec = get_spec(name)
        print(f"{spec.name}: {spec.title} ({spec.train_size:,} train / {spec.test_size:,} test, "
              f"{'x'.join(map(str, spec.image_shape))}) <{spec.homepage}>")
        print("  looked for in: " + ", ".join(f"{kind} {d}" for kind, d in candidate_dirs(spec, args.data_dir)))
        try:
            found = locate(spec, args.data_dir, verify=not args.no_verify)
        except DataError as exc:
            print(f"  CORRUPT: {exc}")
            continue
        for fname, loc in found.items():
            status = f"{loc.source}: {loc.path}" if loc else f"missing (download to {download_dir(spec, args.data_dir)})"
            print(f"  {fname:<28} {status}")
    return 0


def _cmd_model_summary(args: argparse.Namespace) -> int:
    from bnnrepro.data import get_spec
    from bnnrepro.nn import build_model, summarize
    from bnnrepro.train import TrainConfig

    settings = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    cfg = TrainConfig.from_dict(settings, "command line").validate()
    spec = get_spec(cfg.dataset)
    num_classes = 2 if cfg.task != "multiclass" else len(spec.classes)
    model = build_model(cfg.model_spec(), spec.image_shape, num_classes)
    print(summarize(model).format())
    return 0


def _cmd_bench_train(args: argparse.Namespace) -> int:
    from bnnrepro.bench import run_train_benchmark

    return run_train_benchmark(args)


#: Commands implemented in their own modules, loaded only when called (keeps `bnnrepro --help`
#: fast and avoids importing triton or scikit-learn for unrelated commands). Each module has
#: ``add_arguments(parser)`` and ``run(args) -> int`` (or "module:object" for an object that has
#: them); the entry is (command path, module, help).
LAZY_COMMANDS: list[tuple[tuple[str, ...], str, str]] = [
    (("bench", "kernel"), "bnnrepro.kernels.bench", "xnor-popcount GEMM vs torch matmul, tidy CSV"),
    (("schema",), "bnnrepro.schema", "regenerate workflow/schemas/train_settings.schema.yaml"),
    (("report", "build"), "bnnrepro.report.build", "render report/index.html from the result files"),
    (("lutnet",), "bnnrepro.lutnet.cli", "networks of lookup tables trained by memorization (Chatterjee 2018)"),
]


def _lazy_parser(sub, name: str, module: str, help_text: str) -> None:
    p = sub.add_parser(name, help=help_text, add_help=False)
    p.set_defaults(func=None, lazy_module=module, lazy_prog=f"{p.prog}")


def _run_lazy(module_name: str, prog: str, argv: list[str]) -> int:
    import importlib

    module_path, _, attr = module_name.partition(":")
    module = importlib.import_module(module_path)
    doc = (module.__doc__ or "").strip()
    if attr:  # several commands in one module: an object with add_arguments / run
        module = getattr(module, attr)
    parser = ArgumentParser(prog=prog, description=doc.split("\n\n")[0] if doc else None)
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(argv)) or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="bnnrepro",
        description="Regenerate, check and extend the study of memorization in binarized neural "
                    "networks. The whole study runs with `snakemake --cores 8 all`; these commands "
                    "are its building blocks.",
    )
    parser.add_argument("--version", action="version", version=f"bnnrepro {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    sub.required = True

    p = sub.add_parser("train", help="train one run and write its metrics",
                       description="Train one BNN (or float) run; every setting is an option or a YAML key.",
                       epilog=EPILOG_TRAIN, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", metavar="FILE", help="YAML file of settings (options given here override it)")
    p.add_argument("--out", required=True, metavar="DIR", help="run directory for the outputs")
    p.add_argument("--name", metavar="NAME", help="run name written in the metrics (default: the --out folder's name)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: when stderr is a terminal), else one log line per epoch")
    _add_train_options(p)
    p.set_defaults(func=_cmd_train)

    data = sub.add_parser("data", help="fetch and inspect datasets").add_subparsers(
        dest="data_command", metavar="ACTION", parser_class=ArgumentParser)
    data.required = True
    p = data.add_parser("fetch", help="locate, verify and (if missing) download datasets")
    p.add_argument("names", nargs="*", metavar="NAME", help="fashion_mnist, mnist, cifar10 or svhn")
    p.add_argument("--data-dir", help="explicit data directory (default: $BNNREPRO_DATA, then the cache)")
    p.add_argument("--offline", action="store_true", help="only look locally; fail instead of downloading")
    p.add_argument("--quiet", action="store_true", help="no output except errors")
    p.set_defaults(func=_cmd_data_fetch)
    p = data.add_parser("info", help="where each dataset's files are and whether they verify")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--data-dir")
    p.add_argument("--no-verify", action="store_true", help="skip checksum verification (faster)")
    p.set_defaults(func=_cmd_data_info)

    p = sub.add_parser("summary", help="binary vs float parameters and packed size of a model",
                       description="Print the layer-by-layer summary of the model that `train` would build.")
    _add_train_options(p)
    p.set_defaults(func=_cmd_model_summary)

    bench = sub.add_parser("bench", help="speed benchmarks").add_subparsers(
        dest="bench_command", metavar="BENCHMARK", parser_class=ArgumentParser)
    bench.required = True
    p = bench.add_parser("train", help="seconds per training epoch: BNN vs float MLP")
    from bnnrepro.bench import add_train_benchmark_arguments

    add_train_benchmark_arguments(p)
    p.set_defaults(func=_cmd_bench_train)
    groups = {"bench": bench}
    for path, module, help_text in LAZY_COMMANDS + _experiment_commands():
        parent = sub
        for i, part in enumerate(path[:-1]):
            if part not in groups:
                groups[part] = sub.add_parser(part, help=f"{part} commands").add_subparsers(
                    dest=f"{part}_command", metavar="ACTION", parser_class=ArgumentParser)
                groups[part].required = True
            parent = groups[part]
        _lazy_parser(parent, path[-1], module, help_text)
    return parser


def _experiment_commands():
    from bnnrepro.experiments import COMMANDS

    return list(COMMANDS)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    try:
        if getattr(args, "lazy_module", None):
            return _run_lazy(args.lazy_module, args.lazy_prog, extra)
        if extra:
            prog = " ".join(["bnnrepro"] + [v for k, v in sorted(vars(args).items())
                                            if k.endswith("command") and isinstance(v, str)])
            ArgumentParser(prog=prog).error(f"unrecognized arguments: {' '.join(extra)}")
        return int(args.func(args) or 0)
    except BnnreproError as exc:
        print(f"bnnrepro: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except FileNotFoundError as exc:  # an input path given on the command line that is not there
        print(f"bnnrepro: error: no such file: {exc.filename}; check the path (or run the step that "
              "writes it first)", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"bnnrepro: interrupted{': ' + str(exc) if str(exc) else ''}", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
