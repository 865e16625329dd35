"""Easy examples after one epoch: tables, figure, report section and claims (declaration in ``__init__``).

Per condition the R runs give a 0/1 matrix X[r, i]: run r got probe example i right. The question
(Arpit et al. 2017) is whether some examples are easier than others. "Examples right in >= 50% of
the runs" does not answer it: that count is mostly a function of the mean accuracy (with every
example equally hard, mean accuracy 0.55 and R = 100, about 865 of 1000 pass). The test here is the
over-dispersion of the per-example counts c_i = Σ_r X[r, i] against "every example equally hard",
with a null that keeps each run's own accuracy (:func:`bnnrepro.stats.overdispersion`): the
between-example variance σ² of the probability of being right, its interval over runs, the
permutation p-value and the smallest σ² this R detects.

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

from bnnrepro import stats
from bnnrepro.errors import DataError
from bnnrepro.families import figures as style
from bnnrepro.families.base import base_settings, dataset_name
from bnnrepro.families.easy_examples.declaration import CONDITION, NAME, figures, runs, tables
from bnnrepro.families.reporting import (
    Claim,
    ClaimResult,
    Col,
    Context,
    Glance,
    Section,
    Table,
    examples_text,
    interval_column,
    model_text,
    not_run,
)
from bnnrepro.families.sources import cite, paper_vs_ours
from bnnrepro.io import read_csv, write_csv
from bnnrepro.train.records import read_manifests, read_summary, tag_columns

LABEL_ORDER = ["true", "randY", "randX"]
BIN_ORDER = ["det", "stoch"]
PERMUTATION_SEED = 0  # the permutation test is seeded: the same runs give the same tables
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


# --- tables ----------------------------------------------------------------------------------------


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
    result = stats.overdispersion(matrix, permutations=permutations, seed=PERMUTATION_SEED, at_least=at_least)
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


# --- figure ----------------------------------------------------------------------------------------


def plot_histograms(histogram: pd.DataFrame, summary: pd.DataFrame, dataset: str, path: Path) -> None:
    """Per condition (rows: binarizations, columns: label modes): examples right in k of R runs
    (bars) against the permutation null's 95% band and mean, and Binomial(R, p̄) (dotted)."""
    import matplotlib.pyplot as plt
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.patches import Patch

    style.setup()
    data = histogram[histogram["dataset"] == dataset]
    rows = summary[summary["dataset"] == dataset].set_index(["binarization", "labels"])
    if data.empty:
        raise DataError(f"no easy-example results for dataset {dataset}")
    binarizations = style.ordered(data["binarization"], BIN_ORDER)
    labels = style.ordered(data["labels"], LABEL_ORDER)
    colours = style.palette("labels", labels)
    fig, axes = plt.subplots(
        len(binarizations), len(labels), figsize=(4.4 * len(labels), 3.5 * len(binarizations)), squeeze=False
    )
    for i, b in enumerate(binarizations):
        for j, lab in enumerate(labels):
            ax = axes[i, j]
            panel = data[(data["binarization"] == b) & (data["labels"] == lab)].sort_values("k")
            if panel.empty:
                ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes, color="0.5")
                ax.set_axis_off()
                continue
            row = rows.loc[(b, lab)]
            k, runs_ = panel["k"].to_numpy(), int(row["runs"])
            ax.bar(k, panel["observed"], width=1.0, color=colours[lab], alpha=0.75, lw=0, label="observed")
            ax.fill_between(
                k,
                panel["null_low"],
                panel["null_high"],
                step="mid",
                color="0.35",
                alpha=0.3,
                lw=0,
                label="equally hard: 95% band",
            )
            ax.step(k, panel["null_mean"], where="mid", color="0.2", lw=0.9, label="equally hard: mean")
            ax.plot(k, panel["binomial"], ":", color="black", lw=1.2, label="Binomial(R, p̄)")
            ax.axvline(math.ceil(row["at_least"] * runs_ - 1e-9) - 0.5, color="0.4", ls="--", lw=0.8)
            ax.set_title(
                f"{b}, {lab}: p̄ = {100 * row['mean_accuracy']:.1f}%, SD of p = {row['sd_of_p']:.3f}\n"
                f"right in ≥ {100 * row['at_least']:g}% of runs: {int(row['easy_examples'])} "
                f"(equally hard: {row['easy_null_mean']:.0f})",
                fontsize=8.5,
            )
            ax.set_xlim(-0.5, runs_ + 0.5)
            # √ scale: the tall bars at k = 0 or R and the short ones between stay readable together.
            ax.set_yscale("function", functions=(np.sqrt, np.square))
            if i == len(binarizations) - 1:
                ax.set_xlabel(f"runs (of {runs_}) that got the example right")
            if j == 0:
                ax.set_ylabel("probe examples (√ scale)")
    style.integer_axis(axes)
    handles = [tuple(Patch(color=colours[lab], alpha=0.75) for lab in labels)]
    names = ["observed (colour: label mode)"]
    for ax in axes.flat:
        for h, n in zip(*ax.get_legend_handles_labels()):
            if n not in names and n != "observed":
                handles.append(h)
                names.append(n)
    fig.legend(
        handles,
        names,
        loc="upper center",
        ncol=len(names),
        frameon=False,
        bbox_to_anchor=(0.5, 0.0),
        handler_map={tuple: HandlerTuple(ndivide=None, pad=0)},
    )
    fig.suptitle(f"One epoch from R random initialisations, {dataset}: per-example correctness", y=1.0)
    fig.tight_layout()
    style.save(fig, path)


def make_figures(context: Context) -> None:
    paths = tables(context.config)
    histogram, summary = context.csv(paths["histogram"]), context.csv(paths["summary"])
    for spec in figures(context.config):
        plot_histograms(histogram, summary, spec.params["dataset"], context.report_dir / spec.path)


# --- report section ------------------------------------------------------------------------------


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
            note="Expected if equally hard: the mean and 95% range over the permutations that keep every run's accuracy; "
            "Binomial(R, p̄): the plain binomial with the mean accuracy. A count far from them in either direction "
            "means the examples differ in difficulty; the count alone mostly follows the mean accuracy.",
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
                note="The paper gives the count alone (no mean accuracy, no number of runs), so its own expectation under "
                "equally hard examples is unknown; ours is beside our count. Counts are out of the probe examples.",
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
                NAME,
                "this run",
                dataset_name(d),
                model_text(s),
                examples_text(s),
                "1",
                f"{fam.get('repeats')} runs x {len(conditions)} conditions",
                "",
            )
        )
    section.glance.insert(
        0,
        Glance(
            NAME,
            "paper",
            "not stated (CIFAR-10 assumed)",
            "BNN (not stated)",
            "not stated",
            "1",
            f"not stated ({cite('arpit2017')}: 100 runs)",
            "not stated",
        ),
    )
    return section


# --- claims ----------------------------------------------------------------------------------------


def _summary(context: Context) -> pd.DataFrame:
    return context.csv(tables(context.config)["summary"])


def _scope(dataset: str, *parts: str) -> str:
    return f"{dataset} ({', '.join(parts)})"


def _power_text(row: pd.Series) -> str:
    return (
        f"with {int(row['runs'])} runs the test detects σ² ≥ {row['min_detectable_sigma2']:.2g} (SD of p ≥ "
        f"{math.sqrt(max(row['min_detectable_sigma2'], 0.0)):.2g}) with 80% power"
    )


def sd_estimate(row: pd.Series) -> stats.Estimate:
    """The between-example SD of p of one condition with its interval (√ of σ²'s)."""
    low, high = float(row["sd_of_p_low"]), float(row["sd_of_p_high"])
    return stats.Estimate(float(row["sd_of_p"]), low, high, int(row["runs"]), f"square root of {row['sigma2_method']}")


def _true_overdispersed(context: Context) -> list[ClaimResult]:
    summary = _summary(context)
    minimum, alpha = context.thresholds["overdispersion_min_sd"], context.thresholds["overdispersion_alpha"]
    threshold = f"SD of p > {minimum:g}"
    out = []
    for (dataset, b), group in summary.groupby(["dataset", "binarization"], sort=False):
        rows = group[group["labels"] == "true"]
        if rows.empty:
            out.append(not_run(_scope(dataset, b), "condition true labels is not in this config", threshold))
            continue
        row = rows.iloc[0]
        est = sd_estimate(row)
        verdict, reason = stats.verdict_above(est, minimum)
        significant = row["p_value"] <= alpha
        if verdict == stats.HELD and not significant:
            verdict, reason = stats.INCONCLUSIVE, f"{reason}, but the permutation test is not significant at {alpha:g}"
        detail = (
            f"{reason}; permutation p = {row['p_value']:.2g} ({int(row['permutations'])} permutations, "
            f"{'significant' if significant else 'not significant'} at {alpha:g}); σ² = {row['sigma2']:.3g}, "
            f"mean accuracy {100 * row['mean_accuracy']:.1f}%, {int(row['examples'])} examples"
        )
        if verdict == stats.DID_NOT_HOLD:
            detail += "; " + _power_text(row)
        out.append(ClaimResult(_scope(dataset, b), verdict, est, threshold, detail, "num"))
    return out


def variance_ratio(rand: pd.Series, true: pd.Series) -> stats.Estimate:
    """σ²(random) / σ²(true labels) with Fieller's interval from the two jackknife standard errors
    (independent runs; degrees of freedom: the smaller R − 1)."""
    repeats = int(min(rand["runs"], true["runs"]))
    values = (float(rand["sigma2"]), float(rand["sigma2_se"]), float(true["sigma2"]), float(true["sigma2_se"]))
    ratio = values[0] / values[2] if values[2] != 0 else math.nan
    if not all(math.isfinite(v) for v in values) or repeats < 3:
        return stats.Estimate(ratio, math.nan, math.nan, repeats, "no interval: the jackknife needs at least 3 runs")
    return stats.fieller_ratio_interval(values[:2], values[2:], df=repeats - 1, repeats=repeats)


def _random_less_overdispersed(context: Context) -> list[ClaimResult]:
    summary = _summary(context)
    fraction, alpha = context.thresholds["random_dispersion_ratio"], context.thresholds["overdispersion_alpha"]
    threshold = f"σ² ratio < {fraction:g}"
    out = []
    for (dataset, b), group in summary.groupby(["dataset", "binarization"], sort=False):
        by = group.set_index("labels")
        random_modes = [lab for lab in ("randY", "randX") if lab in by.index]
        if "true" not in by.index or not random_modes:
            out.append(not_run(_scope(dataset, b), "needs true labels and randY or randX in this config", threshold))
            continue
        true = by.loc["true"]
        for lab in random_modes:
            rand = by.loc[lab]
            est = variance_ratio(rand, true)
            verdict, reason = stats.verdict_below(est, fraction)
            significant = rand["p_value"] <= alpha
            detail = (
                f"{reason}; σ² {lab} {rand['sigma2']:.3g} [{rand['sigma2_low']:.3g}, {rand['sigma2_high']:.3g}] "
                f"vs true {true['sigma2']:.3g} [{true['sigma2_low']:.3g}, {true['sigma2_high']:.3g}]; {lab}: "
                f"permutation p = {rand['p_value']:.2g}, "
            )
            if significant:
                detail += f"over-dispersed at {alpha:g} (SD of p {rand['sd_of_p']:.3f})"
            else:
                detail += f"no over-dispersion detected at {alpha:g}; " + _power_text(rand)
            out.append(ClaimResult(_scope(dataset, b, lab), verdict, est, threshold, detail, "ratio"))
    return out


CLAIMS = [
    Claim(
        "true-labels-overdispersed",
        "After one epoch, examples with true labels differ in difficulty: some are right in almost every run, "
        "others in almost none (the per-example counts are over-dispersed).",
        cite("mehta2017", "Sec. 5, Fig. 5") + "; " + cite("arpit2017", "Sec. 3.1, Fig. 1"),
        NAME,
        _true_overdispersed,
        "histogram",
        caveat="Tested as the between-example SD of p against equally hard examples (a null that keeps every run's "
        "accuracy), not as the count of examples right in ≥ 50% of runs, which mostly follows the mean "
        "accuracy.",
    ),
    Claim(
        "random-less-overdispersed",
        "With random labels (randY) or noise inputs (randX) the examples are not, or far less, different in "
        "difficulty than with true labels.",
        cite("arpit2017", "Sec. 3.1, Fig. 1") + "; " + cite("mehta2017", "Sec. 5"),
        NAME,
        _random_less_overdispersed,
        "histogram",
        caveat="Compared as the ratio of between-example variances of p to true labels' (Fieller interval). The "
        "randX noise images are drawn once and shared by all runs (as every condition's data), so an example "
        "whose noise happens to align with the other noise images of its class can be easy in every run: "
        "randX can be over-dispersed without any structure in the inputs.",
    ),
]
