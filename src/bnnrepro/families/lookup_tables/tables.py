"""Lookup-table family: its tables, aggregated from the runs (the ``tables`` step), and the names and
labels its figures, report section and claims share.

Tables (under results/lookup_tables/), from the compute jobs' CSVs (column schemas: the compute
module):

* ``table1.csv``, ``table2.csv``, ``table3.csv``, ``pairwise.csv``: the jobs' rows, every dataset;
* ``table3_summary.csv``: per dataset, labels, k and split, the mean accuracy over the repeats with
  its 95% t-interval; the repeat is the network seed for real labels and the label draw for random
  labels (one network per draw);
* ``random_draws.csv``: per random-label draw, how often its labels agree with the true ones and
  the mean over k of its train and test accuracy (the unit of the random-label test claim);
* ``pairwise_gap.csv``: per dataset and k, the generalization gap (train minus test accuracy) over
  the pairs x seeds, with its 95% t-interval.

"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bnnrepro import stats
from bnnrepro.errors import DataError
from bnnrepro.families.base import key_parts
from bnnrepro.families.lookup_tables.declaration import NAME, tables
from bnnrepro.families.reporting import Context
from bnnrepro.io import read_csv, write_csv

#: sources.yaml files Chatterjee's published numbers under this family key.
SOURCES_KEY = "lutnet"
#: Order of the condition values in a paper-like layout.
VALUE_ORDER = {"real": 0, "random": 1, "train": 0, "test": 1}
METHOD_NAMES = {
    "conv_net": "conv net (LeNet)",
    "5-nn": "5-NN",
    "1-nn": "1-NN",
    "random_forest_10": "random forest (10 trees)",
    "random_forest_300": "random forest (300 trees)",
    "memorization": "memorization (luts)",
    "logistic_regression": "logistic regression",
    "naive_bayes": "naive Bayes",
    "random_guess": "random guess",
}
LABELS = ("real", "random")
CHANCE = 0.5  # every task here is binary with balanced test classes
UNITS = {"real": ("seed", "seeds"), "random": ("data_seed", "label draws")}


def _job_outputs(inputs: list[str]) -> dict[str, list[Path]]:
    """The compute jobs' CSVs by table: ``<dataset>/<job>.csv`` with job table1, table2,
    table3-real / table3-random (both table3) or pairwise."""
    out: dict[str, list[Path]] = {}
    for path in map(Path, inputs):
        if path.suffix != ".csv":
            raise DataError(f"{path}: the {NAME} tables step reads the CSVs of its compute jobs, not this file")
        table = path.stem.split("-")[0]
        if table not in ("table1", "table2", "table3", "pairwise"):
            raise DataError(
                f"{path}: not a {NAME} job output (expected table1, table2, table3-real, table3-random "
                "or pairwise .csv)"
            )
        out.setdefault(table, []).append(path)
    return out


def _concat(paths: list[Path]) -> pd.DataFrame:
    frame = pd.concat([read_csv(p) for p in sorted(paths)], ignore_index=True)
    for col in ("k", "hidden_layers", "width"):
        if col in frame:
            frame[col] = frame[col].astype("Int64")  # integers, empty for the baselines
    return frame


def _without_mirrors(table3: pd.DataFrame) -> pd.DataFrame:
    """Table 3 without the ``random_mirror`` fits: a draw's complement is not a draw of its own (the
    two test accuracies sum to ~1, so their mean is 1/2 by symmetry); each draw is one repeat."""
    return table3[table3["labels"] != "random_mirror"]


def per_repeat(table3: pd.DataFrame) -> pd.DataFrame:
    """One accuracy per (dataset, labels, k, split, repeat): the repeat is the network seed for real
    labels and the label draw for random labels (averaging over whatever else varies within it;
    mirrors, when run, are left out)."""
    table3 = _without_mirrors(table3)
    parts = []
    for labels, (unit, _) in UNITS.items():
        rows = table3[table3["labels"] == labels]
        if rows.empty:
            continue
        part = rows.groupby(["dataset", "labels", "k", "split", unit], as_index=False)["accuracy"].mean()
        parts.append(part.rename(columns={unit: "repeat"}))
    if not parts:
        raise DataError("the Table 3 results hold neither real nor random labels")
    return pd.concat(parts, ignore_index=True)


def summarize_table3(table3: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, labels, k and split: repeats, their unit, mean accuracy with its 95% t-interval,
    and the range over the repeats."""
    rows = []
    for key, group in per_repeat(table3).groupby(["dataset", "labels", "k", "split"], sort=True):
        dataset, labels, k, split = key_parts(key)
        unit = UNITS[labels][1]
        est = stats.mean_interval(group["accuracy"], unit=unit)
        rows.append(
            dict(
                dataset=dataset,
                labels=labels,
                k=int(k),
                split=split,
                repeats=est.repeats,
                unit=unit,
                accuracy=est.estimate,
                low=est.low,
                high=est.high,
                min=float(group["accuracy"].min()),
                max=float(group["accuracy"].max()),
            )
        )
    return pd.DataFrame(rows)


def random_draws(table3: pd.DataFrame) -> pd.DataFrame:
    """Per random-label draw (its own network; mirrors left out): its agreement with the true labels
    and its mean train and test accuracy over k (and over its networks)."""
    table3 = _without_mirrors(table3)
    rows = table3[table3["labels"] == "random"]
    if rows.empty:
        return pd.DataFrame(
            columns=["dataset", "data_seed", "label_agreement", "ks", "train_accuracy", "test_accuracy"]
        )
    wide = rows.pivot_table(index=["dataset", "data_seed", "k"], columns="split", values="accuracy").reset_index()
    agreement = rows.groupby(["dataset", "data_seed"])["label_agreement"].first()
    out = (
        wide.groupby(["dataset", "data_seed"])
        .agg(ks=("k", "nunique"), train_accuracy=("train", "mean"), test_accuracy=("test", "mean"))
        .reset_index()
    )
    out.insert(2, "label_agreement", [agreement.loc[(d, s)] for d, s in zip(out["dataset"], out["data_seed"])])
    return out


def fits(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per fit of a Table 1 / Table 3 / pairwise table (the compute module's schema), with
    ``train_accuracy``, ``test_accuracy`` and ``gap = train_accuracy - test_accuracy``."""
    keys = [c for c in frame.columns if c not in ("split", "n_eval", "accuracy", "fit_seconds")]
    # A merge (not a pivot) because it matches empty keys (k of the baselines) with each other.
    train = frame.loc[frame["split"] == "train", keys + ["accuracy"]]
    test = frame.loc[frame["split"] == "test", keys + ["accuracy"]]
    wide = train.merge(test, on=keys, suffixes=("_train", "_test"))
    wide = wide.rename(columns={"accuracy_train": "train_accuracy", "accuracy_test": "test_accuracy"})
    wide["gap"] = wide["train_accuracy"] - wide["test_accuracy"]
    return wide.reset_index(drop=True)


def summarize_gap(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and k: the mean train, test accuracy and gap over pairs x seeds, with the gap's
    95% t-interval (each pair x seed is one repeat)."""
    rows = []
    for (dataset, k), group in fits(pairs).groupby(["dataset", "k"], sort=True):
        est = stats.mean_interval(group["gap"], unit="pairs x seeds")
        n_pairs = group[["class_a", "class_b"]].drop_duplicates().shape[0]
        rows.append(
            dict(
                dataset=dataset,
                k=int(k),
                repeats=est.repeats,
                pairs=n_pairs,
                train_accuracy=float(group["train_accuracy"].mean()),
                test_accuracy=float(group["test_accuracy"].mean()),
                gap=est.estimate,
                gap_low=est.low,
                gap_high=est.high,
                gap_min=float(group["gap"].min()),
                gap_max=float(group["gap"].max()),
            )
        )
    return pd.DataFrame(rows)


def make_tables(context: Context, inputs: list[str]) -> None:
    paths = tables(context.config)
    found = _job_outputs(inputs)
    for table in ("table1", "table2", "table3", "pairwise"):
        if table in paths and table not in found:
            raise DataError(f"no {table} results among the inputs of the {NAME} tables step; run its compute jobs")
        if table not in found:
            continue
        frame = _concat(found[table])
        write_csv(context.results / paths[table], frame)
        if table == "table3":
            write_csv(context.results / paths["table3_summary"], summarize_table3(frame))
            if "random_draws" in paths:
                write_csv(context.results / paths["random_draws"], random_draws(frame))
        if table == "pairwise":
            write_csv(context.results / paths["pairwise_gap"], summarize_gap(frame))
