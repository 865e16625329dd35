"""Memorization family: its tables, aggregated from the runs (the ``tables`` step), and the names and
labels its figures, report section and claims share.

Tables (under results/memorization/):

* ``curves.csv``: every run's learning curves (one row per epoch, split, class and run);
* ``summary.csv``: per run, the final train/test error, the lowest train error, the class-wise
  spread of the final train error and the first epoch the train error falls below each threshold;
* ``conditions.csv``: per condition, the mean over seeds of those numbers with a 95% t-interval
  (the seed is the unit of replication).

"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bnnrepro import stats
from bnnrepro.errors import DataError
from bnnrepro.families.memorization.declaration import CONDITION, NAME, tables
from bnnrepro.families.reporting import Context
from bnnrepro.io import read_csv, write_csv
from bnnrepro.train.records import read_manifests

LABEL_ORDER = ["true", "randY", "randX"]
BIN_ORDER = ["det", "stoch"]


def collect(run_folders: list[Path]) -> pd.DataFrame:
    """The concatenated metrics of memorization runs (each row carries its condition as columns)."""
    if not run_folders:
        raise DataError("no memorization runs given")
    curves = pd.concat([read_csv(folder / "metrics.csv") for folder in run_folders], ignore_index=True)
    missing = [c for c in CONDITION if c not in curves.columns]
    if missing:
        raise DataError(f"the runs' metrics lack the condition columns {missing}; were they trained by the workflow?")
    return curves


def summarize(curves: pd.DataFrame, thresholds: list[float]) -> pd.DataFrame:
    """One row per run: final errors, lowest train error, class spread, epochs to each threshold."""
    rows = []
    for (_, run), group in curves.groupby(["dataset", "run"], sort=False):  # names repeat across datasets
        first = group.iloc[0]
        overall = group[group["class"] == "all"]
        train = overall[overall["split"] == "train"].set_index("epoch")["error"].sort_index()
        test = overall[overall["split"] == "test"].set_index("epoch")["error"].sort_index()
        last = int(train.index.max())
        classwise = group[(group["class"] != "all") & (group["split"] == "train") & (group["epoch"] == last)]["error"]
        row = {key: first[key] for key in CONDITION}
        row.update(
            run=run,
            seed=int(first["seed"]),
            epochs=last,
            final_train_error=float(train.iloc[-1]),
            final_test_error=float(test.iloc[-1]),
            min_train_error=float(train.min()),
            final_train_error_class_min=float(classwise.min()),
            final_train_error_class_max=float(classwise.max()),
        )
        for threshold in thresholds:
            below = train[train < threshold]
            row[f"epoch_train_below_{threshold:g}"] = int(below.index[0]) if len(below) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def by_condition(summary: pd.DataFrame) -> pd.DataFrame:
    """Per condition: seeds, the mean of every per-run number, and 95% t-intervals over seeds of
    the final train and test errors."""
    rows = []
    numeric = [
        c for c in summary.columns if c not in CONDITION + ("run", "seed") and pd.api.types.is_numeric_dtype(summary[c])
    ]
    for key, group in summary.groupby(list(CONDITION), sort=False):
        row = dict(zip(CONDITION, key), seeds=int(group["seed"].nunique()))
        row.update({c: float(group[c].mean()) for c in numeric})
        for col, short in (("final_train_error", "train_error"), ("final_test_error", "test_error")):
            est = stats.bounded(stats.mean_interval(group[col], unit="seeds"))
            row[f"{short}_low"], row[f"{short}_high"] = est.low, est.high
        rows.append(row)
    return pd.DataFrame(rows)


def make_tables(context: Context, inputs: list[str]) -> None:
    section = context.section(NAME)
    curves = collect(read_manifests(inputs))
    summary = summarize(curves, section.get("thresholds", [0.5, 0.1, 0.05]))
    paths = tables(context.config)
    write_csv(context.results / paths["curves"], curves)
    write_csv(context.results / paths["summary"], summary)
    write_csv(context.results / paths["conditions"], by_condition(summary))
