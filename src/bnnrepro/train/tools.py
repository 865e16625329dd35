"""``bnnrepro model summary`` and ``bnnrepro model bench``: look at a model before training it, and
time a training epoch of the BNN against the float MLP (command objects for :mod:`bnnrepro.cli`)."""

from __future__ import annotations

import argparse


class Summary:
    """``bnnrepro model summary [TRAIN OPTIONS]``: the layer-by-layer summary of the model that
    ``bnnrepro train`` would build with the same options (binary vs float parameters, packed size)."""

    help = "binary vs float parameters and packed size of a model"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from bnnrepro.train.command import add_train_options

        parser.description = "Print the layer-by-layer summary of the model that `bnnrepro train` would build."
        add_train_options(parser)

    def run(self, args: argparse.Namespace) -> int:
        from dataclasses import fields

        from bnnrepro.data.registry import get_spec
        from bnnrepro.nn.models import build_model
        from bnnrepro.nn.summary import summarize
        from bnnrepro.train.config import TrainConfig

        settings = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
        cfg = TrainConfig.from_dict(settings, "command line").validate().check_fits()
        spec = get_spec(cfg.dataset)
        num_classes = len(spec.classes) if cfg.task == "multiclass" else 2
        model = build_model(cfg.model_spec(), spec.image_shape, num_classes)
        print(summarize(model).format())
        return 0


class Bench:
    """``bnnrepro model bench``: seconds per training epoch of the deterministic and stochastic BNN
    against the float MLP of the same shape, interleaved rounds in one process (tidy CSV)."""

    help = "seconds per training epoch: BNN vs float MLP, interleaved"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from bnnrepro.train.bench import add_train_benchmark_arguments

        parser.description = (
            "Seconds per training epoch of the BNN (deterministic, stochastic) and the float MLP "
            "of the same shape, interleaved rounds in one process; a tidy CSV and the median ratios."
        )
        add_train_benchmark_arguments(parser)

    def run(self, args: argparse.Namespace) -> int:
        from bnnrepro.train.bench import run_train_benchmark

        return run_train_benchmark(args)


summary = Summary()
bench = Bench()
