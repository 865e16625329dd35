"""Experiment families: each module turns a family's run results into tables and figures.

Their CLI commands (called by the Snakemake rules) are listed in :data:`COMMANDS` and loaded
lazily by :mod:`bnnrepro.cli`: (command path, "module:object" with ``add_arguments``/``run``, help).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Command:
    """One CLI command of an experiment module."""

    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


_E = "bnnrepro.experiments."
COMMANDS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("memorization", "aggregate"), _E + "memorization:aggregate", "learning curves and summary table of memorization runs"),
    (("memorization", "plot"), _E + "memorization:plot", "class-wise and overlay figures of memorization runs"),
    (("easy-examples", "aggregate"), _E + "easy_examples:aggregate", "per-example correctness over one-epoch runs"),
    (("easy-examples", "plot"), _E + "easy_examples:plot", "histogram of easy examples vs the binomial"),
    (("efficiency", "inference"), _E + "efficiency:inference", "inference latency/throughput and size of a trained run"),
    (("efficiency", "aggregate"), _E + "efficiency:aggregate", "time, memory and accuracy table of efficiency runs"),
    (("efficiency", "plot"), _E + "efficiency:plot", "figures of the efficiency study"),
    (("binaryconnect", "aggregate"), _E + "binaryconnect:aggregate", "test error, training time and weight statistics"),
    (("binaryconnect", "plot"), _E + "binaryconnect:plot", "curves, first-layer features and weight histograms"),
    (("kernels", "plot"), _E + "kernels:plot", "speedup figure of the kernel benchmark"),
    (("lutnet-plot",), _E + "lookup_tables:plot", "figures of the lookup-table tables"),
)
