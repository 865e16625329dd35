"""Lookup-table family: tables, figures, report section and claims (declaration in ``__init__``,
compute jobs in :mod:`~bnnrepro.families.lookup_tables.compute`).

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

import numpy as np
import pandas as pd
from scipy import stats as sps

from bnnrepro import stats
from bnnrepro.errors import DataError
from bnnrepro.families import figures as style
from bnnrepro.families.lookup_tables.declaration import (
    NAME,
    _part,
    dataset_name,
    figures,
    network_size,
    part_enabled,
    tables,
)
from bnnrepro.families.reporting import (
    Claim,
    ClaimResult,
    Col,
    Context,
    Glance,
    Section,
    Table,
    interval_column,
    not_run,
)
from bnnrepro.families.sources import canonical, cite, paper_vs_ours
from bnnrepro.io import read_csv, write_csv

#: sources.yaml files Chatterjee's published numbers under this family key.
SOURCES_KEY = "lutnet"
#: The paper's dataset shown beside ours where the paper has no numbers for ours (Fashion-MNIST has
#: MNIST's image size and split sizes).
PAPER_COUNTERPART = {"fashion_mnist": "mnist"}
#: Order of the condition values in a paper-like layout.
VALUE_ORDER = {"real": 0, "random": 1, "train": 0, "test": 1}
#: The methods in the order of the paper's Table 1 (best first on Binary-MNIST), then CIFAR-10's extra.
METHOD_ORDER = [
    "conv_net",
    "5-nn",
    "1-nn",
    "random_forest_10",
    "memorization",
    "random_forest_300",
    "logistic_regression",
    "naive_bayes",
    "random_guess",
]
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
SPLITS = ("train", "test")
LABELS = ("real", "random")
CHANCE = 0.5  # every task here is binary with balanced test classes
UNITS = {"real": ("seed", "seeds"), "random": ("data_seed", "label draws")}


# --- tables ----------------------------------------------------------------------------------------


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


def _mirrors_merged(table3: pd.DataFrame) -> pd.DataFrame:
    """The mirror of a draw (``random_mirror``: its complement, same data seed) counted with the draw:
    a draw and its mirror are one repeat (their mean cancels most of the draw-to-draw spread)."""
    return table3.assign(labels=table3["labels"].replace({"random_mirror": "random"}))


def per_repeat(table3: pd.DataFrame) -> pd.DataFrame:
    """One accuracy per (dataset, labels, k, split, repeat): the repeat is the network seed for real
    labels and the label draw (with its mirror) for random labels (averaging over whatever else
    varies within it)."""
    table3 = _mirrors_merged(table3)
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
    for (dataset, labels, k, split), group in per_repeat(table3).groupby(
        ["dataset", "labels", "k", "split"], sort=True
    ):
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
    """Per random-label draw (with its mirror, when run): its agreement with the true labels and its
    mean train and test accuracy over k (and over its networks)."""
    # the draw's own agreement (its mirror's is 1 minus it; the pair's is 1/2 by construction)
    own = table3[table3["labels"] == "random"].groupby(["dataset", "data_seed"])["label_agreement"].first()
    table3 = _mirrors_merged(table3)
    rows = table3[table3["labels"] == "random"]
    if len(own):
        rows = rows.assign(
            label_agreement=[own.get((d, s), np.nan) for d, s in zip(rows["dataset"], rows["data_seed"])]
        )
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


# --- figures ---------------------------------------------------------------------------------------


def plot_table1(table: pd.DataFrame, dataset: str, path: Path) -> None:
    import matplotlib.pyplot as plt

    style.setup()
    data = table[table["dataset"] == dataset].copy()
    data["name"] = [
        METHOD_NAMES.get(m, m) + (f", k = {int(k)}" if m == "memorization" else "")
        for m, k in zip(data["method"], data["k"])
    ]
    order = data[data["split"] == "test"].sort_values("accuracy", ascending=False)["name"].tolist()
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(order) + 1.2))
    y = np.arange(len(order))
    for offset, split, colour in ((-0.2, "train", "#4477aa"), (0.2, "test", "#ee6677")):
        values = data[data["split"] == split].set_index("name")["accuracy"].reindex(order)
        ax.barh(y + offset, 100 * values, height=0.38, color=colour, label=split)
    ax.set_yticks(y, order)
    ax.invert_yaxis()
    ax.axvline(100 * CHANCE, color="0.4", ls=":", lw=1)
    ax.set_xlim(40, 101)
    ax.set_xlabel("accuracy (%)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"Binary-{dataset_name(dataset)}: memorization vs standard methods")
    style.save(fig, path)


def plot_table2(table: pd.DataFrame, dataset: str, path: Path) -> None:
    import matplotlib.pyplot as plt

    style.setup()
    data = table[table["dataset"] == dataset]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for split, colour in (("train", "#4477aa"), ("test", "#ee6677")):
        rows = data[data["split"] == split].sort_values("layer")
        ax.plot(rows["layer"], 100 * rows["mean"], marker="o", color=colour, label=f"{split}: mean")
        ax.fill_between(
            rows["layer"],
            100 * rows["min"],
            100 * rows["max"],
            color=colour,
            alpha=0.15,
            lw=0,
            label=f"{split}: range over the luts",
        )
    ax.axhline(100 * CHANCE, color="0.4", ls=":", lw=1)
    ax.set_xlabel("layer (0 = input bits, last = output lut)")
    ax.set_ylabel("accuracy of the layer's luts (%)")
    style.integer_axis(ax)
    ax.legend(fontsize=8)
    ax.set_title(f"Layer-by-layer accuracy, k = {int(data['k'].iloc[0])}, Binary-{dataset_name(dataset)}")
    style.save(fig, path)


def plot_table3(summary: pd.DataFrame, dataset: str, path: Path) -> None:
    import matplotlib.pyplot as plt

    style.setup()
    data = summary[summary["dataset"] == dataset]
    colours = style.palette("labels", list(LABELS))
    fig, ax = plt.subplots(figsize=(6.6, 4.3))
    for labels in LABELS:
        for split, dash in (("train", "-"), ("test", "--")):
            rows = data[(data["labels"] == labels) & (data["split"] == split)].sort_values("k")
            if rows.empty:
                continue
            unit = rows["unit"].iloc[0]
            ax.plot(
                rows["k"],
                100 * rows["accuracy"],
                dash,
                marker="o",
                color=colours[labels],
                label=f"{labels} labels, {split} ({int(rows['repeats'].max())} {unit})",
            )
            ax.fill_between(
                rows["k"],
                100 * rows["low"].fillna(rows["accuracy"]),
                100 * rows["high"].fillna(rows["accuracy"]),
                color=colours[labels],
                alpha=0.15,
                lw=0,
            )
    ax.axhline(100 * CHANCE, color="0.4", ls=":", lw=1)
    ax.set_xlabel("k (inputs per lookup table)")
    ax.set_ylabel("accuracy (%)")
    ax.set_xticks(sorted(data["k"].unique()))
    ax.legend(fontsize=8)
    ax.set_title(f"Binary-{dataset_name(dataset)}: accuracy against k (band: 95% interval)")
    style.save(fig, path)


def plot_random_draws(draws: pd.DataFrame, table3: pd.DataFrame, dataset: str, tolerance: float, path: Path) -> None:
    """One point per random-label draw: its test accuracy (mean over k, bar: range over k) against
    its agreement with the true labels; at the right, the mean over draws with its 95% interval."""
    import matplotlib.pyplot as plt

    style.setup()
    data = draws[draws["dataset"] == dataset]
    per_k = table3[(table3["dataset"] == dataset) & (table3["labels"] == "random") & (table3["split"] == "test")]
    spread = per_k.groupby("data_seed")["accuracy"].agg(["min", "max"]).reindex(data["data_seed"])
    x = 100 * (data["label_agreement"].to_numpy() - 0.5)
    reach = max(float(np.abs(x).max()) if len(x) else 0.0, 0.1) * 1.15
    fig, ax = plt.subplots(figsize=(6.8, 4.2))
    ax.axhspan(
        100 * (CHANCE - tolerance),
        100 * (CHANCE + tolerance),
        color="#c7e9c0",
        lw=0,
        label=f"chance +- {100 * tolerance:g} points",
    )
    ax.axhline(100 * CHANCE, color="0.4", ls=":", lw=1)
    ax.axvline(0, color="0.6", lw=0.8)
    ax.vlines(
        x,
        100 * spread["min"].to_numpy(),
        100 * spread["max"].to_numpy(),
        color="#d95f02",
        alpha=0.5,
        lw=1.5,
        label="range over k",
    )
    ax.scatter(x, 100 * data["test_accuracy"], color="#d95f02", zorder=3, label="one draw: mean over k")
    if len(data) >= 2:
        est = stats.mean_interval(data["test_accuracy"], unit="label draws")
        where = 1.3 * reach
        low, high = (est.low, est.high) if est.has_interval else (est.estimate, est.estimate)
        ax.errorbar(
            [where],
            [100 * est.estimate],
            yerr=[[100 * (est.estimate - low)], [100 * (high - est.estimate)]],
            fmt="s",
            color="#222222",
            capsize=4,
            label=f"mean of {len(data)} draws, 95% interval",
        )
        ax.set_xlim(-reach, 1.5 * reach)
    ax.set_xlabel("agreement of the draw's random labels with the true labels, minus 50% (points)")
    ax.set_ylabel("test accuracy after training on random labels (%)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"Random-label draws, Binary-{dataset_name(dataset)}")
    style.save(fig, path)


def pair_matrix(pairs: pd.DataFrame, k: int) -> tuple[np.ndarray, list[str]]:
    """Class x class matrix at one k: train accuracy below the diagonal, test accuracy above (mean
    over seeds), as the paper's Table 4."""
    data = pairs[(pairs["k"] == k) & (pairs["labels"] == "real")]
    if data.empty:
        raise DataError(f"no pairwise results for k = {k}")
    names = {}
    for row in data.itertuples():
        names[row.class_a], names[row.class_b] = row.name_a, row.name_b
    n = max(names) + 1
    matrix = np.full((n, n), np.nan)
    for (a, b, split), value in data.groupby(["class_a", "class_b", "split"])["accuracy"].mean().items():
        if split == "train":
            matrix[b, a] = value
        else:
            matrix[a, b] = value
    return matrix, [str(names.get(i, i)) for i in range(n)]


def matrix_k(ks) -> int:
    """The k of the pairwise matrix: the paper's (10) when it was run, else the largest."""
    ks = sorted(int(k) for k in ks)
    return 10 if 10 in ks else ks[-1]


def plot_pairwise(pairs: pd.DataFrame, dataset: str, path: Path) -> None:
    import matplotlib.pyplot as plt
    import seaborn as sns

    style.setup()
    data = pairs[pairs["dataset"] == dataset]
    k = matrix_k(data["k"].unique())
    matrix, names = pair_matrix(data, k)
    fig, axes = plt.subplots(1, 2, figsize=(15, 6), gridspec_kw={"width_ratios": [1.15, 1]})
    sns.heatmap(
        100 * matrix,
        annot=True,
        fmt=".0f",
        cmap="viridis",
        vmin=50,
        vmax=100,
        ax=axes[0],
        xticklabels=names,
        yticklabels=names,
        cbar_kws={"label": "accuracy (%)"},
        annot_kws={"size": 7},
    )
    axes[0].set_title(f"Pairwise tasks, k = {k}: train (below the diagonal), test (above)")
    gaps = fits(data[data["labels"] == "real"])
    gaps["gap_points"] = 100 * gaps["gap"]
    sns.boxplot(data=gaps, x="k", y="gap_points", ax=axes[1], color="#88ccee", fliersize=0)
    sns.stripplot(data=gaps, x="k", y="gap_points", ax=axes[1], color="0.25", size=2.5, alpha=0.6)
    axes[1].set_xlabel("k (inputs per lookup table)")
    axes[1].set_ylabel("generalization gap (train - test accuracy, points)")
    axes[1].set_title(
        f"Gap against k over {gaps.groupby(['class_a', 'class_b']).ngroups} pairs x {gaps['seed'].nunique()} seed(s)"
    )
    fig.tight_layout()
    style.save(fig, path)


def make_figures(context: Context) -> None:
    paths = tables(context.config)

    def table(name: str) -> pd.DataFrame:
        return context.csv(paths[name])

    tolerance = float(context.thresholds.get("lut_chance_tolerance", 0.02))
    for spec in figures(context.config):
        path, dataset = context.report_dir / spec.path, spec.params["dataset"]
        if spec.kind == "table1":
            plot_table1(table("table1"), dataset, path)
        elif spec.kind == "table2":
            plot_table2(table("table2"), dataset, path)
        elif spec.kind == "table3":
            plot_table3(table("table3_summary"), dataset, path)
        elif spec.kind == "random_draws":
            plot_random_draws(table("random_draws"), table("table3"), dataset, tolerance, path)
        else:
            plot_pairwise(table("pairwise"), dataset, path)


# --- paper vs ours ---------------------------------------------------------------------------------


def _key(value) -> str:
    """A condition value as text ("" for missing), so that published and our keys match."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else canonical(value)


def paper_dataset(dataset: str, published) -> str:
    """The paper's dataset to show beside ours: ours, else its counterpart, else the paper's first."""
    available = list(dict.fromkeys(published))
    for candidate in (dataset, PAPER_COUNTERPART.get(dataset)):
        if candidate in available:
            return candidate
    return available[0] if available else dataset


def paper_beside_ours(
    ours: pd.DataFrame, table: str, index: list[str], spread: list[str], metric: str = "accuracy"
) -> tuple[pd.DataFrame, dict[str, Col], list[str], str]:
    """The paper's table ``table`` laid out as the paper does: one row per ``index`` value, one
    column per ``spread`` value (e.g. labels x split), for the paper and for this run, and the
    difference where the dataset is the same.

    ``ours`` holds one dataset, one row per condition with ``metric``. The paper's numbers are
    those of that dataset when the paper has it, else those of its counterpart
    (:data:`PAPER_COUNTERPART`) or of the paper's first dataset, beside ours, not subtracted.
    Returns (frame, its columns, footnotes, the paper's dataset shown)."""
    dataset = str(ours["dataset"].iloc[0])
    conditions = index + spread
    published, notes = paper_vs_ours(
        SOURCES_KEY, ours.assign(table=table), conditions, {metric: metric}, only={"table": table}
    )
    shown = paper_dataset(dataset, published["paper_dataset"])
    same = shown == dataset
    published = published[published["paper_dataset"] == shown]
    combos = {tuple(_key(row[c]) for c in spread) for frame in (ours, published) for _, row in frame.iterrows()}
    combos = sorted(combos, key=lambda combo: [(VALUE_ORDER.get(v, len(VALUE_ORDER)), v) for v in combo])
    what = {combo: " ".join(v for v in combo if v) for combo in combos}
    columns: dict[str, Col] = {c: Col(c.replace("_", " ").capitalize()) for c in index}
    columns.update({f"paper|{what[c]}": Col(f"Paper: {what[c]}", "pct") for c in combos})
    columns.update({f"ours|{what[c]}": Col(f"This run: {what[c]}", "pct") for c in combos})
    if same:
        columns.update({f"diff|{what[c]}": Col(f"Difference: {what[c]}", "pp") for c in combos})
    rows: dict[tuple, dict] = {}

    def put(values, column: str, value: float) -> None:
        key = tuple(_key(values[c]) for c in index)
        rows.setdefault(key, dict(zip(index, key)))[column] = value

    for _, entry in published.iterrows():
        put(entry, f"paper|{what[tuple(_key(entry[c]) for c in spread)]}", float(entry["paper"]))
    for _, mine in ours.iterrows():
        put(mine, f"ours|{what[tuple(_key(mine[c]) for c in spread)]}", float(mine[metric]))
    frame = pd.DataFrame(list(rows.values()), columns=list(columns))
    if same:
        for combo in combos:
            frame[f"diff|{what[combo]}"] = frame[f"ours|{what[combo]}"] - frame[f"paper|{what[combo]}"]
    return frame, columns, notes, shown


# --- report section --------------------------------------------------------------------------------


def _table1_section(context: Context, dataset: str) -> list[Table]:
    paths = tables(context.config)
    t1 = context.csv(paths["table1"])
    t1 = t1[t1["dataset"] == dataset]
    ours = t1.groupby(["dataset", "method", "k", "split"], dropna=False, as_index=False)["accuracy"].mean()
    frame, columns, notes, shown = paper_beside_ours(ours, "table1", ["method", "k"], ["split"])
    sizes = {
        (method, _key(k)): n for (method, k), n in t1.groupby(["method", "k"], dropna=False)["n_train"].first().items()
    }
    frame["examples"] = [sizes.get((m, k), np.nan) for m, k in zip(frame["method"], frame["k"])]
    order = {m: i for i, m in enumerate(METHOD_ORDER)}
    frame = (
        frame.assign(
            _order=frame["method"].map(order).fillna(len(order)), _k=pd.to_numeric(frame["k"], errors="coerce")
        )
        .sort_values(["_order", "_k"])
        .reset_index(drop=True)
    )
    frame["method"] = frame["method"].map(lambda m: METHOD_NAMES.get(m, m))
    columns = {
        "method": Col("Method"),
        "k": Col("k"),
        "examples": Col("Training examples (this run)", "int"),
        **{c: col for c, col in columns.items() if c not in ("method", "k")},
    }
    frame = frame[list(columns)]
    part = _part(context.config, "table1")
    return [
        Table(
            f"Table 1: memorization vs standard methods, paper (Binary-{dataset_name(shown)}) and this run "
            f"(Binary-{dataset_name(dataset)})",
            frame,
            columns,
            note=f"Test accuracy on {part.get('test_size') or 'all'} test examples for every method; the baselines' "
            f"train accuracy on {part.get('train_eval_size') or 'all'} of their training examples, the lut "
            "networks' on all of theirs. The paper's memorization rows are at its k (MNIST 12, CIFAR-10 10); "
            "a difference only where the dataset is the same.",
            csv=paths["table1"],
            footnotes=notes,
            keep_constant=("k",),
        )
    ]


def _table2_section(context: Context, dataset: str) -> list[Table]:
    paths = tables(context.config)
    t2 = context.csv(paths["table2"])
    t2 = t2[t2["dataset"] == dataset]
    train = t2[t2["split"] == "train"].set_index("layer")
    test = t2[t2["split"] == "test"].set_index("layer")
    published, notes = paper_vs_ours(
        SOURCES_KEY,
        train.reset_index().assign(table="table2"),
        ["layer", "split"],
        {"mean": "mean", "std": "std", "min": "min", "max": "max"},
        only={"table": "table2"},
    )
    shown = paper_dataset(dataset, published["paper_dataset"])
    paper = published[published["paper_dataset"] == shown].pivot_table(
        index="layer", columns="metric", values="paper", aggfunc="first"
    )
    paper.index = paper.index.astype(int)
    layers = sorted(set(train.index) | set(paper.index))
    frame = pd.DataFrame({"layer": layers})
    frame["count"] = [train["count"].get(layer, np.nan) for layer in layers]
    for metric in ("mean", "std", "min", "max"):
        frame[f"paper_{metric}"] = [paper[metric].get(layer, np.nan) if metric in paper else np.nan for layer in layers]
        frame[f"ours_{metric}"] = [train[metric].get(layer, np.nan) for layer in layers]
    frame["paper_range"] = interval_column(frame, "paper_min", "paper_max")
    frame["ours_range"] = interval_column(frame, "ours_min", "ours_max")
    frame["test_mean"] = [test["mean"].get(layer, np.nan) for layer in layers]
    columns = {
        "layer": Col("Layer", "int"),
        "count": Col("Luts (this run)", "int"),
        "paper_mean": Col("Paper: mean", "pct"),
        "paper_std": Col("Paper: SD", "pct2"),
        "paper_range": Col("Paper: range", "interval_pct"),
        "ours_mean": Col("This run: mean", "pct"),
        "ours_std": Col("This run: SD", "pct2"),
        "ours_range": Col("This run: range", "interval_pct"),
        "test_mean": Col("This run: test mean", "pct"),
    }
    if shown == dataset:
        frame["difference"] = frame["ours_mean"] - frame["paper_mean"]
        columns["difference"] = Col("Difference: mean", "pp")
    k = int(t2["k"].iloc[0])
    return [
        Table(
            f"Table 2: layer-by-layer training accuracy of the luts, paper (Binary-{dataset_name(shown)}) and "
            f"this run (Binary-{dataset_name(dataset)}, k = {k})",
            frame[list(columns)],
            columns,
            note="Accuracy of each lut of a layer on the training set (layer 0: each input bit as a predictor of "
            "the label; the last layer: the output lut); SD over the luts of the layer. The paper's network "
            "has 5 hidden layers (its layer 6 is the output lut).",
            csv=paths["table2"],
            footnotes=notes,
        )
    ]


def _table3_section(context: Context, dataset: str) -> list[Table]:
    paths = tables(context.config)
    summary = context.csv(paths["table3_summary"])
    summary = summary[summary["dataset"] == dataset]
    out = []
    wide = pd.DataFrame({"k": sorted(summary["k"].unique())})
    columns = {"k": Col("k", "int")}
    for labels in LABELS:
        for split in SPLITS:
            rows = summary[(summary["labels"] == labels) & (summary["split"] == split)].set_index("k")
            if rows.empty:
                continue
            unit = rows["unit"].iloc[0]
            wide[f"{labels}_{split}"] = wide["k"].map(rows["accuracy"])
            wide[f"{labels}_{split}_ci"] = list(zip(wide["k"].map(rows["low"]), wide["k"].map(rows["high"])))
            columns[f"{labels}_{split}"] = Col(f"{labels.capitalize()} labels: {split}", "pct")
            columns[f"{labels}_{split}_ci"] = Col("95% CI", "interval_pct")
    repeats = "; ".join(
        f"{labels} labels: {int(g['repeats'].max())} {g['unit'].iloc[0]}" for labels, g in summary.groupby("labels")
    )
    out.append(
        Table(
            f"Table 3 (this run): accuracy against k, Binary-{dataset_name(dataset)}",
            wide,
            columns,
            note=f"Mean over the repeats with its 95% t-interval ({repeats}); each random-label draw is fitted by "
            "its own network. Test accuracy is measured against the true test labels.",
            csv=paths["table3_summary"],
        )
    )
    ours = summary[["dataset", "k", "labels", "split", "accuracy"]]
    # One row per k and label kind (train | test side by side): the paper's layout with the paper's,
    # this run's and their difference's columns would be too wide to read.
    frame, columns, notes, shown = paper_beside_ours(ours, "table3", ["k", "labels"], ["split"])
    frame["k"] = frame["k"].astype(int)
    frame = (
        frame.assign(_labels=frame["labels"].map(VALUE_ORDER))
        .sort_values(["k", "_labels"])
        .drop(columns="_labels")
        .reset_index(drop=True)
    )
    columns.update(k=Col("k", "int"), labels=Col("Labels"))
    out.append(
        Table(
            f"Table 3: accuracy against k, paper (Binary-{dataset_name(shown)}) and this run "
            f"(Binary-{dataset_name(dataset)})",
            frame,
            columns,
            note="Means of this run as in the table above; a difference only where the dataset is the same.",
            footnotes=notes,
        )
    )
    if "random_draws" in paths:
        draws = context.csv(paths["random_draws"])
        out.append(
            Table(
                f"Random-label draws, Binary-{dataset_name(dataset)}: test accuracy by the draw's agreement "
                "with the true labels",
                draw_groups(draws[draws["dataset"] == dataset]),
                {
                    "group": Col("Which draws"),
                    "draws": Col("Draws", "int"),
                    "agreement": Col("Agreement with the true labels (range)", "interval_pct"),
                    "test_accuracy": Col("Test accuracy (mean over k)", "pct"),
                    "test_ci": Col("95% CI over draws", "interval_pct"),
                    "test_range": Col("Range over draws", "interval_pct"),
                },
                note="Each draw of random labels agrees with the true labels on about half of the training "
                "examples, by chance a little more or less; the networks pick up that faint agreement, "
                "which moves the draw's test accuracy away from 50% the same way at every k. Every "
                "draw is in the CSV and the figure below.",
                csv=paths["random_draws"],
            )
        )
    return out


def draw_groups(draws: pd.DataFrame) -> pd.DataFrame:
    """The random-label draws that agree with the true labels on more than half of the training
    examples, on half or less, and all of them: their test accuracy (mean over k) with its
    95% t-interval over draws and its range."""
    groups = [
        ("agreeing on more than half", draws[draws["label_agreement"] > 0.5]),
        ("agreeing on half or less", draws[draws["label_agreement"] <= 0.5]),
        ("all", draws),
    ]
    rows = []
    for name, group in groups:
        if group.empty:
            continue
        est = stats.mean_interval(group["test_accuracy"], unit="label draws")
        rows.append(
            dict(
                group=name,
                draws=len(group),
                agreement=(group["label_agreement"].min(), group["label_agreement"].max()),
                test_accuracy=est.estimate,
                test_ci=(est.low, est.high),
                test_range=(group["test_accuracy"].min(), group["test_accuracy"].max()),
            )
        )
    return pd.DataFrame(rows)


def _pairwise_section(context: Context, dataset: str) -> list[Table]:
    paths = tables(context.config)
    gap = context.csv(paths["pairwise_gap"])
    gap = gap[gap["dataset"] == dataset].copy()
    gap["gap_ci"] = interval_column(gap, "gap_low", "gap_high")
    out = [
        Table(
            f"Pairwise tasks (Figure 1): the generalization gap against k, class pairs of {dataset_name(dataset)}",
            gap[["k", "pairs", "repeats", "train_accuracy", "test_accuracy", "gap", "gap_ci"]],
            {
                "k": Col("k", "int"),
                "pairs": Col("Pairs", "int"),
                "repeats": Col("Pairs x seeds", "int"),
                "train_accuracy": Col("Train accuracy", "pct"),
                "test_accuracy": Col("Test accuracy", "pct"),
                "gap": Col("Gap (train - test)", "pp"),
                "gap_ci": Col("Gap, 95% CI over pairs x seeds", "interval_pct"),
            },
            note="Means over the pairs and network seeds; the interval takes each pair x seed as one repeat.",
            csv=paths["pairwise_gap"],
        )
    ]
    pairs = context.csv(paths["pairwise"])
    pairs = pairs[(pairs["dataset"] == dataset) & (pairs["labels"] == "real")]
    per_pair = pairs.groupby(["class_a", "class_b", "k", "split"], as_index=False)["accuracy"].mean()
    k = matrix_k(per_pair["k"].unique())
    ours = per_pair[per_pair["k"] == k]
    published, notes = paper_vs_ours(
        SOURCES_KEY,
        ours.assign(table="pairwise", dataset=dataset),
        ["k", "class_a", "class_b", "split"],
        {"accuracy": "accuracy"},
        only={"table": "pairwise"},
    )
    shown = paper_dataset(dataset, published["paper_dataset"])
    published = published[published["paper_dataset"] == shown]
    paper_k = ", ".join(sorted(set(published["k"].map(canonical)), key=int))
    rows = []
    for split in SPLITS:
        paper = published[published["split"].map(canonical) == split]
        mine = ours[ours["split"] == split]["accuracy"]
        rows.append(
            dict(
                split=split,
                paper_pairs=len(paper),
                paper_mean=paper["paper"].mean(),
                paper_range=(paper["paper"].min(), paper["paper"].max()),
                ours_pairs=len(mine),
                ours_mean=mine.mean(),
                ours_range=(mine.min(), mine.max()),
            )
        )
    frame = pd.DataFrame(rows)
    columns = {
        "split": Col("Split"),
        "paper_pairs": Col("Paper: pairs", "int"),
        "paper_mean": Col("Paper: mean over pairs", "pct"),
        "paper_range": Col("Paper: range", "interval_pct"),
        "ours_pairs": Col("This run: pairs", "int"),
        "ours_mean": Col("This run: mean over pairs", "pct"),
        "ours_range": Col("This run: range", "interval_pct"),
    }
    if shown == dataset:
        frame["difference"] = frame["ours_mean"] - frame["paper_mean"]
        columns["difference"] = Col("Difference: mean", "pp")
    out.append(
        Table(
            f"Table 4: pairwise tasks, paper ({dataset_name(shown)}, k = {paper_k}) and this run "
            f"({dataset_name(dataset)}, k = {k})",
            frame,
            columns,
            note="Mean and range over the class pairs (each pair's accuracy a mean over seeds); the matrix of "
            "every pair is in the figure below.",
            footnotes=notes,
        )
    )
    return out


def compact(values) -> str:
    """Integers as runs: [0, 1, 2, 3, 7] -> "0-3, 7"."""
    values = sorted(int(v) for v in values)
    runs: list[list[int]] = []
    for value in values:
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def settings_text(config) -> str:
    section = config.get(NAME, {})
    draws = section.get("data_seeds", [])
    parts = [
        f"network seeds {compact(section.get('seeds', []))}; {len(draws)} random-label draws (data seeds "
        f"{compact(draws)})"
    ]
    if part_enabled(config, "table1"):
        t1 = _part(config, "table1")
        layers, width = network_size(config, "table1")
        parts.append(
            f"Table 1: k {t1.get('k')}, {layers} x {width} luts on {t1.get('memorization_train_size') or 'all'} "
            f"training examples; baselines on {t1.get('train_size') or 'all'} (conv net {t1.get('conv_epochs', 3)} "
            f"epochs); test on {t1.get('test_size') or 'all'}"
        )
    if part_enabled(config, "table2"):
        layers, width = network_size(config, "table2")
        parts.append(f"Table 2: k {_part(config, 'table2').get('k')}, {layers} x {width} luts")
    if part_enabled(config, "table3"):
        t3 = _part(config, "table3")
        layers, width = network_size(config, "table3")
        parts.append(
            f"Table 3: k {t3.get('k')}, {layers} x {width} luts, {t3.get('train_size') or 'all'} training "
            "examples; real labels: one network per seed; random labels: one network per draw"
        )
    if part_enabled(config, "pairwise"):
        pw = _part(config, "pairwise")
        layers, width = network_size(config, "pairwise")
        parts.append(
            f"pairwise: k {pw.get('k')}, {layers} x {width} luts, pairs {pw.get('pairs') or 'all 45'}, "
            f"seeds {compact(pw.get('seeds') or section.get('seeds', []))}"
        )
    return "; ".join(parts) + "."


def models_text(config) -> str:
    """The networks of the enabled tables, e.g. "5 x 1024 luts (Tables 1, 2); 3 x 128 (Table 3, pairs)"."""
    names = {"table1": "Table 1", "table2": "Table 2", "table3": "Table 3", "pairwise": "pairs"}
    sizes: dict[tuple[int, int], list[str]] = {}
    for table, name in names.items():
        if part_enabled(config, table):
            sizes.setdefault(network_size(config, table), []).append(name)
    return "; ".join(f"{layers} x {width} luts ({', '.join(which)})" for (layers, width), which in sizes.items())


def examples_text(context: Context, dataset: str) -> str:
    """The lut networks' training examples (the baselines' are in Table 1)."""
    counts = set()
    for table in ("table1", "table3"):
        if part_enabled(context.config, table):
            rows = context.csv(tables(context.config)[table])
            counts |= set(rows.loc[(rows["dataset"] == dataset) & (rows["method"] == "memorization"), "n_train"])
    return " / ".join(f"{int(n):,}" for n in sorted(counts)) or "not run"


def repeats_text(config) -> str:
    section = config.get(NAME, {})
    parts = [f"{len(section.get('seeds', []))} network seeds"]
    if part_enabled(config, "table3") and "random" in _part(config, "table3").get("labels", LABELS):
        parts.append(f"{len(section.get('data_seeds', []))} random-label draws")
    if part_enabled(config, "pairwise"):
        pw = _part(config, "pairwise")
        pair_seeds = pw.get("seeds") or section.get("seeds", [])
        parts.append(f"{len(pw.get('pairs') or range(45))} pairs x {len(pair_seeds)} seeds")
    return ", ".join(parts)


def section(context: Context) -> Section:
    config = context.config
    fam = context.section(NAME)
    result = Section(
        NAME.replace("_", "-"),
        "Networks of lookup tables trained by memorization",
        f"<p>{cite('chatterjee2018')} builds layers of k-input lookup tables (luts) wired at random; each lut "
        "memorizes, for every pattern of its k input bits, the class most often seen with it in the training set "
        "(ties and unseen patterns broken at random), layer by layer, and a final lut predicts. There is no "
        "gradient and no search: one pass over the data. The paper finds that such pure memorization generalizes "
        "well above chance on Binary-MNIST (classes 0-4 vs 5-9, 1-bit pixels) and Binary-CIFAR-10 (Tables 1-3), "
        "generalizes less as k grows (Table 3, Figure 1), fits random labels worse than real ones (Table 3), and "
        "that each layer's luts are more accurate than the layer before (Table 2).</p>"
        "<p>Here on the datasets of this config. Where they differ from the paper's, the paper's numbers are shown "
        "beside ours for the shape of the results, not subtracted. Random-label test accuracy is measured against "
        "the true test labels: chance is 50%.</p>",
    )
    result.settings = settings_text(config)
    for dataset in fam.get("datasets", []):
        if part_enabled(config, "table1"):
            result.tables += _table1_section(context, dataset)
        if part_enabled(config, "table2"):
            result.tables += _table2_section(context, dataset)
        if part_enabled(config, "table3"):
            result.tables += _table3_section(context, dataset)
        if part_enabled(config, "pairwise"):
            result.tables += _pairwise_section(context, dataset)
    data_of = {
        "table1": "table1",
        "table2": "table2",
        "table3": "table3_summary",
        "random_draws": "random_draws",
        "pairwise": "pairwise",
    }
    paths = tables(config)
    for spec in figures(config):
        result.figures.append(context.figure(spec, paths.get(data_of[spec.kind])))
    result.glance.append(
        Glance(
            NAME,
            "paper",
            "Binary-MNIST, Binary-CIFAR-10 and their class pairs",
            "5 hidden layers x 1024 luts + 1 output lut, k = 2-16",
            "60,000 / 50,000 (all)",
            "one pass (memorization)",
            "one network per setting",
            "not stated",
        )
    )
    for dataset in fam.get("datasets", []):
        result.glance.append(
            Glance(
                NAME,
                "this run",
                f"Binary-{dataset_name(dataset)}",
                models_text(config),
                examples_text(context, dataset),
                "one pass (memorization)",
                repeats_text(config),
                "",
            )
        )
    return result


# --- claims ----------------------------------------------------------------------------------------


def _result(
    scope: str, est, verdict: tuple[str, str], threshold: str, detail: str = "", unit: str = "pct"
) -> ClaimResult:
    return ClaimResult(scope, verdict[0], est, threshold, f"{verdict[1]}{'; ' + detail if detail else ''}", unit)


def _table3(context: Context) -> pd.DataFrame | None:
    if not context.enabled(NAME) or not part_enabled(context.config, "table3"):
        return None
    return context.csv(tables(context.config)["table3"])


def _combine(per_k: list[tuple[int, object, tuple[str, str]]]) -> tuple[str, list[int]]:
    """The verdict of a claim that must hold at every k: did not hold if it fails at some k,
    inconclusive if it is undecided at some k, held if it holds at all. Returns it and the ks
    that decide it."""
    for verdict in ("did not hold", "inconclusive"):
        ks = [k for k, _, v in per_k if v[0] == verdict]
        if ks:
            return verdict, ks
    return "held", [k for k, _, _ in per_k]


def _table3_repeats(context: Context, threshold: str):
    """(Table 3, its accuracy per repeat, "not run" results when the config has no Table 3)."""
    table3 = _table3(context)
    if table3 is None:
        return None, None, [not_run("", "Table 3 is not run in this config", threshold)]
    return table3, per_repeat(table3), None


def _above_chance(context: Context) -> list[ClaimResult]:
    margin = context.thresholds["lut_above_chance"]
    threshold = f"> {100 * (CHANCE + margin):g}% at every k"
    table3, repeats, skipped = _table3_repeats(context, threshold)
    if skipped:
        return skipped
    out = []
    for dataset in dict.fromkeys(table3["dataset"]):
        test = repeats[(repeats["dataset"] == dataset) & (repeats["labels"] == "real") & (repeats["split"] == "test")]
        if test.empty:
            out.append(not_run(dataset, "Table 3 has no real-label runs in this config", threshold))
            continue
        per_k = []
        for k, group in test.groupby("k", sort=True):
            est = stats.bounded(stats.mean_interval(group["accuracy"], unit="seeds"))
            per_k.append((int(k), est, stats.verdict_above(est, CHANCE + margin)))
        verdict, deciding = _combine(per_k)
        k, est, reason = min(per_k, key=lambda item: item[1].low if item[1].has_interval else item[1].estimate)
        if verdict != "held":
            k, est, reason = next(item for item in per_k if item[0] == deciding[0])
        detail = (
            f"real-label test accuracy at k = {k} (the lowest); over k = {', '.join(str(i[0]) for i in per_k)}: "
            f"{100 * min(i[1].estimate for i in per_k):.1f}-{100 * max(i[1].estimate for i in per_k):.1f}%"
        )
        if verdict != "held":
            detail += f"; {verdict} at k = {', '.join(map(str, deciding))}"
        out.append(ClaimResult(dataset, verdict, est, threshold, f"{reason[1]}; {detail}", "pct"))
    return out


def _gap_grows(context: Context) -> list[ClaimResult]:
    slope_threshold = context.thresholds["lut_gap_slope"]
    threshold = f"slope > {100 * slope_threshold:g} points per unit of k"
    out = []
    config = context.config
    if not context.enabled(NAME):
        return [not_run("", f"the {NAME} family is disabled", threshold)]
    sources = []
    if part_enabled(config, "pairwise"):
        pairs = fits(context.csv(tables(config)["pairwise"]))
        pairs = pairs[pairs["labels"] == "real"]
        pairs["group"] = (
            pairs["class_a"].astype(str) + "-" + pairs["class_b"].astype(str) + "/s" + pairs["seed"].astype(str)
        )
        sources.append(("pairs", pairs, "pairs x seeds", "pairwise tasks, each pair x seed one repeat"))
    if part_enabled(config, "table3"):
        real = fits(_table3(context))
        real = real[real["labels"] == "real"].copy()
        real["group"] = real["seed"].astype(str)
        sources.append(("Table 3", real, "seeds", "Binary task, real labels, each network seed one repeat"))
    if not sources:
        return [not_run("", "neither the pairwise tasks nor Table 3 are run in this config", threshold)]
    for name, frame, unit, what in sources:
        for dataset in dict.fromkeys(frame["dataset"]):
            rows = frame[frame["dataset"] == dataset]
            scope = f"{dataset} ({name})"
            if rows["k"].nunique() < 2:
                out.append(not_run(scope, f"{name}: needs at least two values of k for a slope", threshold))
                continue
            est = stats.slope_interval(rows["k"], rows["gap"], rows["group"], unit=unit)
            by_k = rows.groupby("k")["gap"].mean()
            detail = (
                f"least-squares slope of the train-test gap on k within each repeat ({what}); mean gap "
                + ", ".join(f"k={int(k)}: {100 * g:.1f}" for k, g in by_k.items())
                + " points"
            )
            out.append(_result(scope, est, stats.verdict_above(est, slope_threshold), threshold, detail, unit="pp"))
    return out


def welch_difference(a, b, unit: str) -> stats.Estimate:
    """Difference of the means of two independent samples, mean(a) - mean(b), with Welch's
    t-interval: se² = s_a²/n_a + s_b²/n_b, df by Welch-Satterthwaite (scipy's ``ttest_ind``);
    no interval with fewer than two values on a side; zero spread on both sides gives the point."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    difference = float(a.mean() - b.mean())
    repeats = int(min(a.size, b.size))
    if repeats < 2:
        return stats.Estimate(difference, np.nan, np.nan, repeats, f"no interval: {a.size} and {b.size} {unit}")
    method = f"difference of means, Welch t-interval over {a.size} and {b.size} {unit}"
    if a.std() == 0 and b.std() == 0:
        return stats.Estimate(difference, difference, difference, repeats, method)
    ci = sps.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    return stats.Estimate(difference, float(ci.low), float(ci.high), repeats, method)


def _random_harder(context: Context) -> list[ClaimResult]:
    saturated = context.thresholds["lut_saturated"]
    threshold = f"real - random train accuracy > 0 wherever the real-label fit is below {100 * saturated:g}%"
    table3, repeats, skipped = _table3_repeats(context, threshold)
    if skipped:
        return skipped
    out = []
    for dataset in dict.fromkeys(table3["dataset"]):
        train = repeats[(repeats["dataset"] == dataset) & (repeats["split"] == "train")]
        if set(train["labels"]) != set(LABELS):
            out.append(not_run(dataset, "Table 3 needs both real and random labels", threshold))
            continue
        per_k, ties = [], []
        for k, group in train.groupby("k", sort=True):
            real = group.loc[group["labels"] == "real", "accuracy"]
            random = group.loc[group["labels"] == "random", "accuracy"]
            if real.empty or random.empty:
                continue
            est = welch_difference(real, random, "seeds and label draws")
            verdict = stats.verdict_above(est, 0.0)
            if real.mean() >= saturated and verdict[0] != "held":
                ties.append(int(k))  # the real-label fit is saturated: equal (or unresolved) counts as a tie
                continue
            per_k.append((int(k), est, verdict))
        tie_text = (
            f"ties (real labels fitted to >= {100 * saturated:g}%) at k = {', '.join(map(str, ties))}"
            if ties
            else "no ties"
        )
        if not per_k:
            out.append(
                ClaimResult(
                    dataset,
                    "inconclusive",
                    None,
                    threshold,
                    f"every k is a saturated tie: nothing shows random labels to be harder; {tie_text}",
                )
            )
            continue
        verdict, deciding = _combine(per_k)
        # The smallest difference among the ks that decide the verdict.
        k, est, reason = min((item for item in per_k if item[0] in deciding), key=lambda item: item[1].estimate)
        by_verdict = "; ".join(
            f"{v} at k = {', '.join(str(i[0]) for i in per_k if i[2][0] == v)}"
            for v in ("held", "inconclusive", "did not hold")
            if any(i[2][0] == v for i in per_k)
        )
        detail = (
            f"real minus random train accuracy at k = {k} ({100 * est.estimate:+.1f} points); {by_verdict}; {tie_text}"
        )
        out.append(ClaimResult(dataset, verdict, est, threshold, f"{reason[1]}; {detail}", "pp"))
    return out


def _random_test_at_chance(context: Context) -> list[ClaimResult]:
    tolerance = context.thresholds["lut_chance_tolerance"]
    threshold = f"within {100 * (CHANCE - tolerance):g}-{100 * (CHANCE + tolerance):g}%"
    paths = tables(context.config)
    if not context.enabled(NAME) or "random_draws" not in paths:
        return [not_run("", "Table 3 with random labels is not run in this config", threshold)]
    draws = context.csv(paths["random_draws"])
    out = []
    for dataset in dict.fromkeys(draws["dataset"]):
        rows = draws[draws["dataset"] == dataset]
        est = stats.bounded(stats.mean_interval(rows["test_accuracy"], unit="label draws"))
        detail = (
            f"per draw: test accuracy (true test labels) averaged over k = {int(rows['ks'].max())} values; draws "
            f"range {100 * rows['test_accuracy'].min():.1f}-{100 * rows['test_accuracy'].max():.1f}%"
        )
        if len(rows) >= 3 and rows["label_agreement"].std() > 0:
            r = float(np.corrcoef(rows["label_agreement"], rows["test_accuracy"])[0, 1])
            detail += (
                f"; correlation with the draw's agreement with the true labels r = {r:.2f} (agreement "
                f"{100 * rows['label_agreement'].min():.2f}-{100 * rows['label_agreement'].max():.2f}%)"
            )
        out.append(
            _result(dataset, est, stats.verdict_within(est, CHANCE - tolerance, CHANCE + tolerance), threshold, detail)
        )
    return out


CLAIMS = [
    Claim(
        "lut-above-chance",
        "Networks of lookup tables trained by pure memorization generalize above chance.",
        cite("chatterjee2018", "Sec. 3, Tables 1 and 3"),
        NAME,
        _above_chance,
        "table3",
    ),
    Claim(
        "lut-gap-grows-with-k",
        "Lookup-table networks generalize less as k grows: the train-test gap widens.",
        cite("chatterjee2018", "Table 3, Figure 1"),
        NAME,
        _gap_grows,
        "pairwise",
    ),
    Claim(
        "lut-random-harder",
        "Lookup-table networks fit random labels worse than real ones.",
        cite("chatterjee2018", "Table 3"),
        NAME,
        _random_harder,
        "table3",
        caveat="Where both label kinds are fitted to saturation (large k) they tie; ties count as equal.",
    ),
    Claim(
        "lut-random-test-at-chance",
        "After training on random labels, test accuracy is at chance.",
        cite("chatterjee2018", "Table 3"),
        NAME,
        _random_test_at_chance,
        "random_draws",
        caveat="Each draw of random labels is one repeat; its test accuracy follows how often the draw happens to "
        "agree with the true labels, so single draws land well away from 50%.",
    ),
]
