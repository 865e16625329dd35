"""Easy examples family: its section of the report (text, tables, figures and glance rows), read from its
tables.
"""

from __future__ import annotations

import pandas as pd

from bnnrepro.families.base import base_settings, dataset_name
from bnnrepro.families.easy_examples.declaration import NAME, figures, runs, tables
from bnnrepro.families.easy_examples.tables import LABEL_ORDER
from bnnrepro.families.reporting import Col, Context, Glance, Section, Table, examples_text, interval_column, model_text
from bnnrepro.families.sources import cite, paper_vs_ours

PAPER_METRIC = "examples_correct_ge_0.5"  # the metric of the paper's number in sources.yaml
EXPECTED_COUNTS = ["easy_null_mean", "easy_binomial"]

COLUMNS = {
    "examples": Col("Probe examples", "int"),
    "mean_accuracy": Col("Mean accuracy", "pct"),
    "run_accuracy_range": Col("Run accuracies (min, max)", "interval_pct"),
    "sigma2": Col("σ² of p (between examples)", "num"),
    "sigma2_ci": Col("σ², 95% CI", "interval_num"),
    "sd_of_p": Col("SD of p", "num"),
    "sd_ci": Col("SD of p, 95% CI", "interval_num"),
    "p_value": Col("Permutation p", "num"),
    "min_detectable_sigma2": Col("Detectable σ² (80% power)", "num"),
    "dispersion_ratio": Col("Count variance / null's", "ratio"),
    "easy_examples": Col("Right in ≥ 50% of runs", "int"),
    "easy_null_mean": Col("Expected if equally hard", "num"),
    "easy_null_range": Col("95% range if equally hard", "interval_num"),
    "easy_binomial": Col("Binomial(R, p̄) expectation", "num"),
    "ours": Col("This run", "int"),
    "paper_dataset": Col("Paper's dataset"),
    "our_dataset": Col("Our dataset"),
}


def settings_text(settings: dict) -> str:
    keys = ("arch", "hidden", "width", "mode", "train_size", "test_size", "batch_size", "lr_start", "optimizer", "loss")
    return ", ".join(f"{k}={settings[k]}" for k in keys if k in settings)


def paper_table(summary: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The paper's count of examples right in >= 50% of runs beside ours and beside what ours
    would be if every example were equally hard (null expectation and range, Binomial(R, p̄))."""
    ours = summary[summary["at_least"] == 0.5].rename(columns={"easy_examples": PAPER_METRIC})
    frame, notes = paper_vs_ours(
        NAME, ours, ["binarization", "labels"], {PAPER_METRIC: "examples right in ≥ 50% of runs"}
    )
    keys = ["dataset", "binarization", "labels"]
    extra = ours[keys + ["runs", "examples", "easy_null_mean", "easy_null_low", "easy_null_high", "easy_binomial"]]
    frame = frame.merge(
        extra.rename(columns={"dataset": "our_dataset"}), on=["our_dataset", "binarization", "labels"], how="left"
    )
    frame["easy_null_range"] = interval_column(frame, "easy_null_low", "easy_null_high")
    frame["paper"] = [f"{approx}{value:,.0f}" for approx, value in zip(frame["approx"], frame["paper"])]
    frame[EXPECTED_COUNTS] = frame[EXPECTED_COUNTS].round(1)
    return frame[
        [
            "binarization",
            "labels",
            "paper",
            "ours",
            "easy_null_mean",
            "easy_null_range",
            "easy_binomial",
            "runs",
            "examples",
            "paper_dataset",
            "our_dataset",
            "note",
        ]
    ], notes


def section(context: Context) -> Section:
    fam = context.section(NAME)
    paths = tables(context.config)
    summary = context.csv(paths["summary"])
    at_least = float(fam.get("at_least", 0.5))
    section = Section(
        NAME,
        "Easy examples after one epoch",
        f"<p>{cite('mehta2017', 'Sec. 5, Fig. 5')} follow {cite('arpit2017')}: train for exactly one epoch from "
        "many random initialisations and data orders, record for the same fixed training examples how often each "
        "is classified correctly, and compare true labels with random labels (<b>randY</b>) and noise inputs "
        "(<b>randX</b>). The paper reports that with deterministic binarization about 600 of 1000 examples were "
        "right in at least 50% of the runs.</p>"
        "<p>That count mostly measures the mean accuracy, not a spread of difficulty: if every example were "
        "equally hard, with mean accuracy 55% over 100 runs about 865 of 1000 would pass. The evidence for easy "
        "and hard examples is <b>over-dispersion</b>: per-example counts of correct runs spread more widely than "
        "when every example is equally hard. Here each condition is tested against that null with a "
        "permutation test that keeps every run's own accuracy (runs that differ in accuracy are no evidence), "
        "and the spread is estimated as the between-example variance σ² of the probability p of being right "
        "(its square root: the SD of p), with a 95% interval over runs (delete-one-run jackknife) and the "
        "smallest σ² this number of runs detects with 80% power. The count of examples right in at least "
        f"{100 * at_least:g}% of the runs is shown only beside what equally hard examples would give.</p>"
        "<p>Every run of a condition sees the same data: the same training subset, the same random labels "
        "(randY) and the same noise images (randX). Run r differs only in its seed (initialisation and data "
        "order); the run is the unit of replication.</p>",
    )
    datasets = list(dict.fromkeys(summary["dataset"]))
    section.settings = (
        "; ".join(
            f"{d}: {settings_text(base_settings(context.config, NAME, d))}, 1 epoch, R = {fam.get('repeats')} runs "
            f"(seeds 0..{int(fam.get('repeats', 0)) - 1}), {fam.get('probe_size')} probe examples (probe_seed "
            f"{fam.get('probe_seed', 0)}), {fam.get('permutations', 2000)} permutations"
            for d in datasets
        )
        + "."
    )
    shown = summary.copy()
    shown["sigma2_ci"] = interval_column(shown, "sigma2_low", "sigma2_high")
    shown["sd_ci"] = interval_column(shown, "sd_of_p_low", "sd_of_p_high")
    shown["run_accuracy_range"] = interval_column(shown, "run_accuracy_min", "run_accuracy_max")
    shown["easy_null_range"] = interval_column(shown, "easy_null_low", "easy_null_high")
    shown[EXPECTED_COUNTS] = shown[EXPECTED_COUNTS].round(1)  # counts of examples: 1e-17 is 0
    order = {lab: i for i, lab in enumerate(LABEL_ORDER)}
    shown = shown.sort_values(
        ["dataset", "binarization", "labels"], kind="stable", key=lambda s: s.map(order) if s.name == "labels" else s
    )
    section.tables.append(
        Table(
            "Is there a spread of difficulty between examples? Over-dispersion per condition",
            shown[
                [
                    "dataset",
                    "binarization",
                    "labels",
                    "runs",
                    "examples",
                    "mean_accuracy",
                    "run_accuracy_range",
                    "sigma2",
                    "sigma2_ci",
                    "sd_of_p",
                    "sd_ci",
                    "p_value",
                    "min_detectable_sigma2",
                    "dispersion_ratio",
                ]
            ],
            COLUMNS,
            note="σ²: between-example variance of the probability p of being right (0 when every example is equally "
            "hard), interval: delete-one-run jackknife t-interval over the runs; SD of p = √σ². Permutation p: "
            "each run's correct set permuted over the examples (its accuracy kept); the smallest possible value is "
            "1/(permutations + 1). Detectable σ²: what the test at level 5% detects with 80% power at this R. "
            "Count variance / null's: the variance of the per-example counts over its expectation under the null.",
            csv=paths["summary"],
        )
    )
    section.tables.append(
        Table(
            f"Examples right in ≥ {100 * at_least:g}% of the runs, beside what equally hard examples give",
            shown[
                [
                    "dataset",
                    "binarization",
                    "labels",
                    "runs",
                    "examples",
                    "mean_accuracy",
                    "easy_examples",
                    "easy_null_mean",
                    "easy_null_range",
                    "easy_binomial",
                ]
            ],
            {**COLUMNS, "easy_examples": Col(f"Right in ≥ {100 * at_least:g}% of runs", "int")},
            note="Expected if equally hard: the mean and 95% range over the permutations that keep every run's "
            "accuracy; Binomial(R, p̄): the plain binomial with the mean accuracy. A count far from them in either "
            "direction means the examples differ in difficulty; the count alone mostly follows the mean accuracy.",
            csv=paths["summary"],
        )
    )
    if at_least == 0.5:
        frame, notes = paper_table(summary)
        section.tables.append(
            Table(
                "Paper vs this run: examples right in ≥ 50% of runs",
                frame,
                {**COLUMNS, "paper": Col("Paper"), "note": Col("Source")},
                note="The paper gives the count alone (no mean accuracy, no number of runs), so its own expectation "
                "under equally hard examples is unknown; ours is beside our count. Counts are out of the probe "
                "examples.",
                footnotes=notes,
            )
        )
    for spec in figures(context.config):
        section.figures.append(context.figure(spec, paths["histogram"]))
    mine = runs(context.config)
    for d in datasets:
        s = base_settings(context.config, NAME, d)
        conditions = {(r.condition["binarization"], r.condition["labels"]) for r in mine if r.dataset == d}
        section.glance.append(
            Glance(
                family=NAME,
                what="this run",
                dataset=dataset_name(d),
                model=model_text(s),
                training_examples=examples_text(s),
                epochs="1",
                repeats=f"{fam.get('repeats')} runs x {len(conditions)} conditions",
                hardware="",
            )
        )
    section.glance.insert(
        0,
        Glance(
            family=NAME,
            what="paper",
            dataset="not stated (CIFAR-10 assumed)",
            model="BNN (not stated)",
            training_examples="not stated",
            epochs="1",
            repeats=f"not stated ({cite('arpit2017')}: 100 runs)",
            hardware="not stated",
        ),
    )
    return section
