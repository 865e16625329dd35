"""Easy examples family: its tables, aggregated from the runs (the ``tables`` step), and the names and
labels its figures, report section and claims share.

Per condition the R runs give a 0/1 matrix X[r, i]: run r got probe example i right. The question
(Arpit et al. 2017) is whether some examples are easier than others. "Examples right in >= 50% of
the runs" does not answer it: that count is mostly a function of the mean accuracy (with every
example equally hard, mean accuracy 0.55 and R = 100, about 865 of 1000 pass). The test here is the
over-dispersion of the per-example counts c_i = Σ_r X[r, i] against "every example equally hard",
with a null that keeps each run's own accuracy
(:func:`~bnnrepro.families.easy_examples.overdispersion.overdispersion`): the between-example
variance σ² of the probability of being right, its interval over runs, the permutation p-value and
the smallest σ² this R detects.

Tables (under results/easy_examples/):

* ``examples.csv``: per condition and probe example: its label, the runs, the runs that got it right;
* ``runs.csv``: per run: its seed, accuracy on the probe examples, final train and test error;
* ``summary.csv``: per condition: R, examples, mean accuracy, σ̂² with its interval, the SD of p,
  the permutation p-value, the minimum detectable σ², the count of examples right in >= ``at_least``
  of the runs with its null expectation and 95% range and its plain Binomial(R, p̄) expectation;
* ``histogram.csv``: per condition and k = 0..R: the examples right in k runs, the null's mean and
  95% band of that number, its exact null expectation and Binomial(R, p̄).

"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from bnnrepro.errors import DataError
from bnnrepro.families.easy_examples.declaration import CONDITION, NAME, tables
from bnnrepro.families.easy_examples.overdispersion import overdispersion
from bnnrepro.families.reporting import Context
from bnnrepro.io import read_csv, write_csv
from bnnrepro.train.records import read_manifests, read_summary, tag_columns

LABEL_ORDER = ["true", "randY", "randX"]
BIN_ORDER = ["det", "stoch"]
PERMUTATION_SEED = 0  # the permutation test is seeded: the same runs give the same tables


def collect(run_folders: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The probe results of the runs, long (one row per run and probe example), and one row per run."""
    if not run_folders:
        raise DataError("no easy-example runs given")
    probes, run_rows = [], []
    for folder in run_folders:
        summary = read_summary(folder)
        cfg = summary["config"]
        tags = tag_columns(cfg.get("tags", []))
        condition = {
            "dataset": cfg["dataset"],
            "binarization": tags.get("binarization", cfg["binarization"]),
            "labels": cfg["labels"],
        }
        path = Path(folder) / "probe.csv"
        if not path.is_file():
            raise DataError(f"{path} is missing: the run was trained without probe_size; retrain it with the workflow")
        probe = read_csv(path)
        run = summary.get("run") or Path(folder).name
        probes.append(probe[["example", "label", "correct"]].assign(**condition, run=run, seed=int(cfg["seed"])))
        final = summary.get("final_error", {})
        run_rows.append(
            {
                **condition,
                "run": run,
                "seed": int(cfg["seed"]),
                "probe_accuracy": float(probe["correct"].mean()),
                "final_train_error": final.get("train", np.nan),
                "final_test_error": final.get("test", np.nan),
            }
        )
    return pd.concat(probes, ignore_index=True), pd.DataFrame(run_rows)


def correct_matrix(probes: pd.DataFrame, label: str = "") -> tuple[np.ndarray, pd.DataFrame]:
    """The 0/1 matrix [run, example] of one condition (runs by seed, examples by id) and the probe
    examples (id, label). Every run must have probed the same examples, each seed once."""
    where = f" ({label})" if label else ""
    seeds = probes.groupby("run")["seed"].first()
    if seeds.duplicated().any():
        raise DataError(
            f"easy examples{where}: several runs share seed {int(seeds[seeds.duplicated()].iloc[0])}; "
            "each run must have its own seed (rerun the workflow's runs)"
        )
    sets = probes.groupby("run")["example"].apply(lambda s: tuple(sorted(s)))
    if sets.nunique() != 1:
        raise DataError(
            f"easy examples{where}: the runs probed different examples (different train_size, "
            "probe_size or probe_seed?); retrain them with the same settings"
        )
    matrix = probes.pivot(index="run", columns="example", values="correct")
    matrix = matrix.loc[seeds.sort_values().index]
    examples = probes.drop_duplicates("example").set_index("example").loc[matrix.columns, ["label"]].reset_index()
    return matrix.to_numpy(dtype=np.int64), examples


def summarize_condition(matrix: np.ndarray, permutations: int, at_least: float) -> tuple[dict, pd.DataFrame]:
    """The over-dispersion analysis of one condition: its summary row and its histogram."""
    result = overdispersion(matrix, permutations=permutations, seed=PERMUTATION_SEED, at_least=at_least)
    row = result.summary()
    sd_low, sd_high = _sqrt_interval(result.sigma2.low, result.sigma2.high)
    row.update(
        sd_of_p_low=sd_low,
        sd_of_p_high=sd_high,
        run_accuracy_min=float(result.run_accuracy.min()),
        run_accuracy_max=float(result.run_accuracy.max()),
    )
    return row, result.histogram


def make_tables(context: Context, inputs: list[str]) -> None:
    section = context.section(NAME)
    probes, run_table = collect(read_manifests(inputs))
    permutations = int(section.get("permutations", 2000))
    at_least = float(section.get("at_least", 0.5))
    summary_rows, histograms, examples = [], [], []
    for key, group in probes.groupby(list(CONDITION), sort=False):
        condition = dict(zip(CONDITION, key))
        matrix, probe_examples = correct_matrix(group, "/".join(key))
        row, histogram = summarize_condition(matrix, permutations, at_least)
        summary_rows.append({**condition, **row})
        histograms.append(histogram.assign(**condition))
        counts = matrix.sum(axis=0)
        examples.append(
            probe_examples.assign(**condition, runs=matrix.shape[0], correct=counts, fraction=counts / matrix.shape[0])
        )
    paths = tables(context.config)
    first = list(CONDITION)
    write_csv(context.results / paths["examples"], _columns_first(pd.concat(examples, ignore_index=True), first))
    write_csv(context.results / paths["runs"], run_table.sort_values(first + ["seed"], kind="stable"))
    write_csv(context.results / paths["summary"], _columns_first(pd.DataFrame(summary_rows), first))
    write_csv(context.results / paths["histogram"], _columns_first(pd.concat(histograms, ignore_index=True), first))


def _columns_first(frame: pd.DataFrame, first: list[str]) -> pd.DataFrame:
    return frame[first + [c for c in frame.columns if c not in first]]


def _sqrt_interval(low: float, high: float) -> tuple[float, float]:
    """The interval of √σ² from that of σ² (√ is increasing; a negative end becomes 0)."""

    def root(value: float) -> float:
        return math.nan if math.isnan(value) else math.sqrt(max(value, 0.0))

    return root(low), root(high)
