"""Single-epoch "easy examples" (paper Fig 5, after Arpit et al. 2017).

R runs per condition train exactly one epoch from different random initialisations and data
orders (seeds 0..R-1) on the same data; each records, for the same fixed probe examples, whether
it classifies them correctly (``probe.csv``). Per example we count the runs that got it right.

If all examples were equally hard (as for randX, where inputs are noise), the count of each example
would follow Binomial(R, p) with p the mean accuracy; real data instead has *easy* examples that
almost every run gets right and hard ones that few do, so its distribution is much wider. The
paper's headline: with deterministic binarization about 600 of 1000 examples were correct in at
least 50% of the runs.

Outputs: ``examples.csv`` (per example and condition: runs, correct, fraction) and ``summary.csv``
(per condition: runs, mean accuracy, examples correct in >= 50% of runs, the same number expected
under the binomial, the variance ratio of the counts to the binomial's, and a chi-square test
against the binomial).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from bnnrepro.errors import ConfigError
from bnnrepro.experiments import Command
from bnnrepro.io import read_csv, write_csv

CONDITION = ["dataset", "binarization", "labels"]
LABEL_ORDER = ["true", "randY", "randX"]


def collect(probe_files: list[str | Path]) -> pd.DataFrame:
    """Per example and condition: number of runs, number correct, fraction correct.

    Each probe.csv sits in a run directory whose summary.json gives the condition."""
    import json

    frames = []
    for path in probe_files:
        path = Path(path)
        info = json.loads((path.parent / "summary.json").read_text())
        cfg = info["config"]
        tags = dict(t.split("=", 1) for t in cfg.get("tags", []))
        probe = pd.read_csv(path)
        probe["dataset"], probe["labels"] = cfg["dataset"], cfg["labels"]
        probe["binarization"] = tags.get("binarization", cfg["binarization"] if cfg["mode"] != "float" else "float")
        probe["seed"] = cfg["seed"]
        frames.append(probe)
    if not frames:
        raise ConfigError("no probe files given")
    runs = pd.concat(frames, ignore_index=True)
    examples = (runs.groupby(CONDITION + ["example", "label"], as_index=False)
                .agg(runs=("seed", "nunique"), correct=("correct", "sum")))
    examples["fraction"] = examples["correct"] / examples["runs"]
    return examples


def summarize(examples: pd.DataFrame, at_least: float = 0.5) -> pd.DataFrame:
    rows = []
    for key, group in examples.groupby(CONDITION, sort=False):
        runs = int(group["runs"].max())
        counts = group["correct"].to_numpy()
        p = counts.mean() / runs
        n = len(counts)
        k_min = int(np.ceil(at_least * runs))
        expected_easy = n * stats.binom.sf(k_min - 1, runs, p)
        observed = np.bincount(counts, minlength=runs + 1)
        expected = n * stats.binom.pmf(np.arange(runs + 1), runs, p)
        chi2, pvalue = _chi_square(observed, expected)
        binom_var = runs * p * (1 - p)
        rows.append({**dict(zip(CONDITION, key)), "runs": runs, "examples": n, "mean_accuracy": p,
                     f"examples_correct_ge_{at_least:g}": int((counts >= k_min).sum()),
                     "expected_under_binomial": expected_easy,
                     "variance_ratio": counts.var() / binom_var if binom_var > 0 else np.nan,
                     "chi2": chi2, "chi2_pvalue": pvalue})
    return pd.DataFrame(rows)


def _chi_square(observed: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    """Chi-square goodness of fit after pooling bins with expected count < 5."""
    obs_bins, exp_bins, o_acc, e_acc = [], [], 0.0, 0.0
    for o, e in zip(observed, expected):
        o_acc, e_acc = o_acc + o, e_acc + e
        if e_acc >= 5:
            obs_bins.append(o_acc)
            exp_bins.append(e_acc)
            o_acc = e_acc = 0.0
    if obs_bins:
        obs_bins[-1] += o_acc
        exp_bins[-1] += e_acc
    if len(obs_bins) < 2:
        return float("nan"), float("nan")
    chi2 = float(sum((o - e) ** 2 / e for o, e in zip(obs_bins, exp_bins)))
    return chi2, float(stats.chi2.sf(chi2, len(obs_bins) - 2))  # one parameter (p) estimated


def plot_histogram(examples: pd.DataFrame, path: Path, dataset: str) -> None:
    """Histogram of 'runs in which the example was correct' per condition, with Binomial(R, p)."""
    import matplotlib.pyplot as plt

    from bnnrepro import plots

    plots.setup()
    data = examples[examples["dataset"] == dataset]
    if data.empty:
        raise ConfigError(f"no easy-example results for {dataset}")
    conditions = [(b, lab) for b in sorted(data["binarization"].unique())
                  for lab in LABEL_ORDER if ((data["binarization"] == b) & (data["labels"] == lab)).any()]
    colours = plots.palette("labels", [c[1] for c in conditions])
    fig, axes = plt.subplots(1, len(conditions), figsize=(4.2 * len(conditions), 3.4), sharey=True, squeeze=False)
    for ax, (b, lab) in zip(axes[0], conditions):
        group = data[(data["binarization"] == b) & (data["labels"] == lab)]
        runs = int(group["runs"].max())
        counts = group["correct"].to_numpy()
        k = np.arange(runs + 1)
        observed = np.bincount(counts, minlength=runs + 1)
        p = counts.mean() / runs
        ax.bar(k, observed, width=0.85, color=colours[lab], alpha=0.8, label="observed")
        ax.plot(k, len(counts) * stats.binom.pmf(k, runs, p), "k.-", lw=1, ms=4, label=f"Binomial({runs}, {p:.2f})")
        easy = int((counts >= np.ceil(0.5 * runs)).sum())
        ax.axvline(np.ceil(0.5 * runs) - 0.5, color="0.4", ls=":", lw=1)
        ax.set_title(f"{b}, {lab}: {easy}/{len(counts)} correct in >= 50% of runs", fontsize=9)
        ax.set_xlabel(f"runs (of {runs}) correct on the example")
        ax.legend(fontsize=8, loc="upper center")
    axes[0, 0].set_ylabel("examples")
    fig.suptitle(f"One epoch from {runs} random initialisations, {dataset}", y=1.03)
    plots.save(fig, path)


def add_aggregate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("probes", nargs="+", help="probe.csv files of one-epoch runs")
    parser.add_argument("--examples", required=True, help="output: per-example CSV")
    parser.add_argument("--summary", required=True, help="output: per-condition summary CSV")
    parser.add_argument("--at-least", type=float, default=0.5, help="fraction of runs that makes an example easy")


def run_aggregate(args: argparse.Namespace) -> int:
    examples = collect(args.probes)
    write_csv(args.examples, examples)
    write_csv(args.summary, summarize(examples, args.at_least))
    return 0


def add_plot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--examples", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--out", required=True)


def run_plot(args: argparse.Namespace) -> int:
    plot_histogram(read_csv(args.examples), Path(args.out), args.dataset)
    return 0




aggregate = Command(add_aggregate_arguments, run_aggregate)
plot = Command(add_plot_arguments, run_plot)
