"""Chatterjee's lookup-table memorization experiments as tidy CSV tables.

usage: bnnrepro lutnet TABLE --out FILE.csv [options]

TABLE is one of
  table1    memorization vs 1-NN, 5-NN, random forests, logistic regression, naive Bayes, a LeNet
            conv net and random guessing on Binary-{dataset}: train and test accuracy
  table2    per-layer statistics of the luts' accuracies (train and test) of one network
  table3    train and test accuracy against k, on real and on random labels
  pairwise  the 45 a-vs-b tasks (Table 4 / Figure 1): train and test accuracy per pair and k

The column schemas are documented in the bnnrepro.lutnet.experiments module.

examples:
  bnnrepro lutnet table3 --out results/lutnet/table3.csv --k 2 4 6 8 10 12 14 16
  bnnrepro lutnet table1 --out t1.csv --k 12 --train-size 20000 --train-eval-size 5000
  bnnrepro lutnet pairwise --out pairs.csv --k 2 8 14 --layers 2 5 --pairs 3-5 4-9
"""

from __future__ import annotations

import argparse
import re
import sys
import time

from bnnrepro.errors import ConfigError

TABLES = ("table1", "table2", "table3", "pairwise")
#: Default k per table: Table 1 used k = 12 on MNIST, Table 2 k = 8, Table 3 the sweep 2..16,
#: Figure 1 and Table 4 a few k (Table 4: k = 10).
DEFAULT_KS = {"table1": [12], "table2": [8], "table3": [2, 4, 6, 8, 10, 12, 14, 16], "pairwise": [8]}
_PAIR = re.compile(r"^(\d+)-(\d+)$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``bnnrepro lutnet``."""
    from bnnrepro.lutnet.experiments import TABLE1_METHODS

    paragraphs = __doc__.split("\n\n")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = "\n\n".join(paragraphs[:1] + paragraphs[2:4])  # title, tables, schemas
    parser.epilog = paragraphs[4]  # the examples
    parser.add_argument("table", choices=TABLES, metavar="TABLE", help=" | ".join(TABLES))
    parser.add_argument("--out", required=True, metavar="FILE", help="output CSV (written atomically)")
    parser.add_argument("--dataset", default="fashion_mnist",
                        help="fashion_mnist, mnist or cifar10 (default: fashion_mnist)")
    parser.add_argument("--data-dir", metavar="DIR", help="explicit data directory")
    parser.add_argument("--offline", action="store_true", help="fail instead of downloading data")
    parser.add_argument("--k", type=int, nargs="+", metavar="K",
                        help="inputs per lut (default: table1 12, table2 8, table3 2 4 .. 16, pairwise 8)")
    parser.add_argument("--layers", type=int, nargs="+", metavar="L", default=[5],
                        help="hidden lut layers; several for a depth sweep in table3/pairwise (default: 5)")
    parser.add_argument("--width", type=int, default=1024, help="luts per hidden layer (default: 1024)")
    parser.add_argument("--train-size", type=int, metavar="N",
                        help="random subset of the training examples (per pair for pairwise; default: all)")
    parser.add_argument("--test-size", type=int, metavar="N",
                        help="random subset of the test examples (default: all)")
    parser.add_argument("--train-eval-size", type=int, metavar="N",
                        help="table1: training examples on which training accuracy is measured (default: all)")
    parser.add_argument("--seed", type=int, nargs="+", default=[0], metavar="S",
                        help="network seed(s); table1 and table2 use the first (default: 0)")
    parser.add_argument("--data-seed", type=int, nargs="+", default=[0], metavar="S",
                        help="seed(s) of the subsets and the random labels; table1 and table2 use "
                             "the first (default: 0)")
    parser.add_argument("--labels", nargs="+", choices=("real", "random"), metavar="LABELS",
                        help="real and/or random training labels (default: table3 both, others real)")
    parser.add_argument("--pairs", nargs="+", metavar="A-B", help="pairwise: class pairs (default: all 45)")
    parser.add_argument("--methods", nargs="+", metavar="METHOD",
                        help=f"table1: methods (default: all: {', '.join(TABLE1_METHODS)})")
    parser.add_argument("--conv-epochs", type=int, default=3, help="table1: conv net epochs (default: 3)")
    parser.add_argument("--jobs", type=int, default=1, help="table1: processes for k-NN and random forests")
    parser.add_argument("--threads", type=int, default=1, help="threads of the lut network and the conv net (default: 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _parse_pairs(items: list[str] | None, num_classes: int) -> list[tuple[int, int]] | None:
    if not items:
        return None
    pairs = []
    for item in items:
        match = _PAIR.match(item)
        if not match:
            raise ConfigError(f"--pairs {item!r}: write a pair as A-B, e.g. 3-5")
        a, b = int(match.group(1)), int(match.group(2))
        if a == b or not (0 <= a < num_classes and 0 <= b < num_classes):
            raise ConfigError(f"--pairs {item}: need two different classes in 0..{num_classes - 1}")
        pairs.append((min(a, b), max(a, b)))
    return pairs


def _check(args: argparse.Namespace) -> None:
    """Reject bad settings with a message naming the option, before loading any data."""
    from bnnrepro.lutnet.network import MAX_K

    for name in ("width", "conv_epochs", "jobs", "threads", "train_size", "test_size", "train_eval_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    for k in args.k or []:
        if not 1 <= k <= MAX_K:
            raise ConfigError(f"--k {k}: the lut size must be in 1..{MAX_K}")
        if args.width < k:
            raise ConfigError(f"--k {k} needs --width >= {k} (luts read k distinct outputs of the "
                              f"previous layer), got --width {args.width}")
    if any(layers < 0 for layers in args.layers):
        raise ConfigError("--layers must be >= 0")
    if any(seed < 0 for seed in args.seed + args.data_seed):
        raise ConfigError("seeds must be non-negative")
    if args.table == "table2" and args.k and len(args.k) != 1:
        raise ConfigError("table2 describes one network: give a single --k")
    if args.table in ("table1", "table2") and len(args.layers) != 1:
        raise ConfigError(f"{args.table} uses one depth: give a single --layers")
    if args.table != "pairwise" and args.pairs:
        raise ConfigError("--pairs applies to the pairwise table only")
    if args.table != "table1" and (args.methods or args.train_eval_size):
        raise ConfigError("--methods and --train-eval-size apply to table1 only")
    if args.table in ("table1",) and args.labels and args.labels != ["real"]:
        raise ConfigError("table1 compares methods on real labels only")
    if args.table == "table2" and args.labels and len(args.labels) != 1:
        raise ConfigError("table2 describes one network: give a single --labels")


def run(args: argparse.Namespace) -> int:
    """Compute the table and write it to ``--out``; returns the exit status (0)."""
    from bnnrepro.data import get_spec, load_dataset
    from bnnrepro.io import write_csv
    from bnnrepro.lutnet import experiments

    _check(args)
    ks = args.k or DEFAULT_KS[args.table]
    pairs = _parse_pairs(args.pairs, len(get_spec(args.dataset).classes))
    raw = load_dataset(args.dataset, args.data_dir, download=not args.offline, quiet=args.quiet)
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    common = dict(train_size=args.train_size, test_size=args.test_size, n_threads=args.threads)
    t0 = time.perf_counter()
    if args.table == "table1":
        frame = experiments.table1(
            raw, methods=args.methods or experiments.TABLE1_METHODS, ks=ks, hidden_layers=args.layers[0],
            width=args.width, train_eval_size=args.train_eval_size, seed=args.seed[0], n_jobs=args.jobs,
            conv_epochs=args.conv_epochs, data_seed=args.data_seed[0], progress=progress, **common)
    elif args.table == "table2":
        frame = experiments.table2(raw, k=ks[0], hidden_layers=args.layers[0], width=args.width,
                                   seed=args.seed[0], data_seed=args.data_seed[0],
                                   labels=(args.labels or ["real"])[0], **common)
    elif args.table == "table3":
        frame = experiments.table3(raw, ks=ks, labels=args.labels or experiments.LABELS,
                                   hidden_layers=args.layers, width=args.width, seeds=args.seed,
                                   data_seeds=args.data_seed, progress=progress, **common)
    else:
        frame = experiments.pairwise(raw, ks=ks, pairs=pairs,
                                     labels=args.labels or ["real"], hidden_layers=args.layers,
                                     width=args.width, seeds=args.seed, data_seeds=args.data_seed,
                                     progress=progress, **common)
    write_csv(args.out, frame)
    if not args.quiet:
        print(f"{args.out}: {len(frame)} rows ({args.table}, {raw.name}) in "
              f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m bnnrepro.lutnet.cli``): bad settings exit with status 2."""
    from bnnrepro.errors import BnnreproError

    parser = argparse.ArgumentParser(prog="bnnrepro lutnet")
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except BnnreproError as exc:
        print(f"bnnrepro lutnet: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
