"""Lookup-table family: its section of the report (text, tables, figures and glance rows), read from its
tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from bnnrepro import stats
from bnnrepro.families.base import count, key_parts
from bnnrepro.families.lookup_tables.declaration import (
    NAME,
    _part,
    dataset_name,
    figures,
    network_size,
    part_enabled,
    tables,
)
from bnnrepro.families.lookup_tables.figures import matrix_k
from bnnrepro.families.lookup_tables.layout import condition_key, paper_beside_ours, paper_dataset
from bnnrepro.families.lookup_tables.tables import LABELS, METHOD_NAMES, SOURCES_KEY, VALUE_ORDER
from bnnrepro.families.reporting import Col, Context, Glance, Section, Table, interval_column, paper_glance
from bnnrepro.families.sources import canonical, cite, paper_vs_ours

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
SPLITS = ("train", "test")


def _table1_section(context: Context, dataset: str) -> list[Table]:
    paths = tables(context.config)
    t1 = context.csv(paths["table1"])
    t1 = t1[t1["dataset"] == dataset]
    ours = t1.groupby(["dataset", "method", "k", "split"], dropna=False, as_index=False)["accuracy"].mean()
    frame, columns, notes, shown = paper_beside_ours(ours, "table1", ["method", "k"], ["split"])
    sizes = {
        (parts[0], condition_key(parts[1])): n
        for parts, n in (
            (key_parts(key), n) for key, n in t1.groupby(["method", "k"], dropna=False)["n_train"].first().items()
        )
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


def compact(values: Iterable[int]) -> str:
    """Integers as runs: [0, 1, 2, 3, 7] -> "0-3, 7"."""
    values = sorted(int(v) for v in values)
    runs: list[list[int]] = []
    for value in values:
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def settings_text(config: Mapping[str, Any]) -> str:
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


def models_text(config: Mapping[str, Any]) -> str:
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


def repeats_text(config: Mapping[str, Any]) -> str:
    section = config.get(NAME, {})
    parts = [count(len(section.get("seeds", [])), "network seed")]
    if part_enabled(config, "table3") and "random" in _part(config, "table3").get("labels", LABELS):
        parts.append(count(len(section.get("data_seeds", [])), "random-label draw"))
    if part_enabled(config, "pairwise"):
        pw = _part(config, "pairwise")
        pair_seeds = pw.get("seeds") or section.get("seeds", [])
        parts.append(f"{count(len(pw.get('pairs') or range(45)), 'pair')} x {count(len(pair_seeds), 'seed')}")
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
    result.glance.append(paper_glance(NAME))
    for dataset in fam.get("datasets", []):
        result.glance.append(
            Glance(
                family=NAME,
                what="this run",
                dataset=f"Binary-{dataset_name(dataset)}",
                model=models_text(config),
                training_examples=examples_text(context, dataset),
                epochs="one pass (memorization)",
                repeats=repeats_text(config),
                hardware="",
            )
        )
    return result
