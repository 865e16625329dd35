"""Memorization family: tables, figures, report section and claims (declaration in ``__init__``).

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
from bnnrepro.families import figures as style
from bnnrepro.families.base import base_settings, dataset_name
from bnnrepro.families.memorization.declaration import CONDITION, NAME, figures, tables
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
from bnnrepro.train.records import read_manifests

LABEL_ORDER = ["true", "randY", "randX"]
BIN_ORDER = ["det", "stoch"]

COLUMNS = {
    "final_train_error": Col("Final train error", "pct"),
    "final_test_error": Col("Final test error", "pct"),
    "min_train_error": Col("Lowest train error", "pct"),
    "final_train_error_class_min": Col("Best class, train error", "pct"),
    "final_train_error_class_max": Col("Worst class, train error", "pct"),
    "train_error_low": Col("Train error, 95% CI low", "pct"),
    "train_error_high": Col("Train error, 95% CI high", "pct"),
    "test_error_low": Col("Test error, 95% CI low", "pct"),
    "test_error_high": Col("Test error, 95% CI high", "pct"),
}


# --- tables ----------------------------------------------------------------------------------------


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


# --- figures ---------------------------------------------------------------------------------------


def plot_classwise(curves: pd.DataFrame, dataset: str, binarization: str, path: Path) -> None:
    """Class-wise train and test error by epoch: rows = label modes, column pairs = regularizations."""
    import matplotlib.pyplot as plt

    style.setup()
    data = curves[
        (curves["dataset"] == dataset)
        & (curves["binarization"] == binarization)
        & (curves["class"] != "all")
        & curves["split"].isin(["train", "test"])
    ]
    seed0 = data[data["seed"] == data["seed"].min()]  # class-wise lines of one seed, as the paper
    swept = seed0["regularization"].str.startswith("l2_") & (seed0["regularization"] != "l2_inert")
    seed0 = seed0[~swept]  # the L2 sweep has its own figure
    labels = style.ordered(seed0["labels"], LABEL_ORDER)
    regs = style.ordered(seed0["regularization"], ["none", "dropout", "l2", "l2_inert"])
    classes = sorted(seed0["class"].unique(), key=int)
    colours = dict(zip(classes, plt.get_cmap("tab10").colors))
    fig, axes = plt.subplots(
        len(labels),
        2 * len(regs),
        figsize=(2.6 * 2 * len(regs), 2.3 * len(labels)),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    for i, lab in enumerate(labels):
        for j, reg in enumerate(regs):
            for k, split in enumerate(["train", "test"]):
                ax = axes[i, 2 * j + k]
                panel = seed0[(seed0["labels"] == lab) & (seed0["regularization"] == reg) & (seed0["split"] == split)]
                for cls in classes:
                    line = panel[panel["class"] == cls].sort_values("epoch")
                    ax.plot(line["epoch"], 100 * line["error"], color=colours[cls], lw=1.0, label=f"class {cls}")
                ax.set_title(f"{lab}, {reg}: {split}", fontsize=9)
                if not len(panel):
                    ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes, color="0.5")
                if i == len(labels) - 1:
                    ax.set_xlabel("epoch")
                if j == 0 and k == 0:
                    ax.set_ylabel("error (%)")
                ax.set_ylim(-2, 102)
    style.integer_axis(axes)
    handles, names = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, names, loc="upper center", ncol=len(classes), frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.suptitle(f"Class-wise error by epoch, {dataset}, {binarization} binarization", y=1.04)
    style.save(fig, path)


def plot_overlay(curves: pd.DataFrame, dataset: str, path: Path) -> None:
    """Overall train and test error of every grid condition, one panel per label mode and split;
    mean over seeds with the range over seeds as a band."""
    import matplotlib.pyplot as plt

    style.setup()
    swept = curves["regularization"].str.startswith("l2_") & (curves["regularization"] != "l2_inert")
    data = curves[
        (curves["dataset"] == dataset) & (curves["class"] == "all") & curves["split"].isin(["train", "test"]) & ~swept
    ]
    spread = data.groupby(list(CONDITION) + ["split", "epoch"], as_index=False)["error"].agg(
        mean="mean", low="min", high="max"
    )
    labels = style.ordered(spread["labels"], LABEL_ORDER)
    regs = style.ordered(spread["regularization"], ["none", "dropout", "l2", "l2_inert"])
    bins = style.ordered(spread["binarization"], BIN_ORDER)
    colours = style.palette("regularization", regs)
    dashes = {"det": "-", "stoch": "--"}
    fig, axes = plt.subplots(2, len(labels), figsize=(3.9 * len(labels), 5.8), sharex=True, sharey=True, squeeze=False)
    for j, lab in enumerate(labels):
        for i, split in enumerate(["train", "test"]):
            ax = axes[i, j]
            for reg in regs:
                for b in bins:
                    line = spread[
                        (spread["labels"] == lab)
                        & (spread["regularization"] == reg)
                        & (spread["binarization"] == b)
                        & (spread["split"] == split)
                    ].sort_values("epoch")
                    if len(line):
                        ax.plot(
                            line["epoch"],
                            100 * line["mean"],
                            color=colours[reg],
                            ls=dashes.get(b, ":"),
                            lw=1.5,
                            label=f"{b}, {reg}",
                        )
                        ax.fill_between(
                            line["epoch"], 100 * line["low"], 100 * line["high"], color=colours[reg], alpha=0.15, lw=0
                        )
            ax.set_title(f"labels: {lab} ({split})", fontsize=10)
            ax.set_ylim(-2, 102)
            if i == 1:
                ax.set_xlabel("epoch")
            if j == 0:
                ax.set_ylabel(f"{split} error (%)")
    style.integer_axis(axes)
    handles, names = [], []
    for ax in axes.flat:
        for h, n in zip(*ax.get_legend_handles_labels()):
            if n not in names:
                handles.append(h)
                names.append(n)
    fig.legend(handles, names, loc="upper center", ncol=min(4, len(names)), frameon=False, bbox_to_anchor=(0.5, 1.06))
    fig.suptitle(f"Overall error by epoch, {dataset}: mean over seeds, band = range over seeds", y=1.1)
    style.save(fig, path)


def plot_l2_sweep(summary: pd.DataFrame, dataset: str, path: Path) -> None:
    """Final train error against the L2 coefficient (det/randY), with 'none' at the left."""
    import matplotlib.pyplot as plt

    style.setup()
    rows = summary[
        (summary["dataset"] == dataset) & (summary["binarization"] == "det") & (summary["labels"] == "randY")
    ]
    sweep = rows[rows["regularization"].str.startswith("l2_") & (rows["regularization"] != "l2_inert")].copy()
    sweep["coefficient"] = sweep["regularization"].str[3:].astype(float)
    none = rows[rows["regularization"] == "none"]
    fig, ax = plt.subplots(figsize=(6.2, 3.8))
    stat = sweep.groupby("coefficient")["final_train_error"].agg(["mean", "min", "max"]).reset_index()
    ax.errorbar(
        stat["coefficient"],
        100 * stat["mean"],
        yerr=[100 * (stat["mean"] - stat["min"]), 100 * (stat["max"] - stat["mean"])],
        fmt="o-",
        color="#228833",
        capsize=3,
        label="L2 on the latent weights (as intended)",
    )
    if len(none):
        ax.axhline(100 * none["final_train_error"].mean(), color="#4477aa", ls="--", lw=1, label="no regularization")
    ax.axhline(90, color="0.5", ls=":", lw=0.8, label="chance (90%)")
    ax.set_xscale("log")
    ax.set_xlabel("L2 coefficient (penalty = coefficient x sum of squared latent weights)")
    ax.set_ylabel("final train error on randY (%)")
    ax.set_ylim(-2, 102)
    ax.legend(fontsize=8)
    ax.set_title(f"Where L2 starts to stop memorization, {dataset}")
    style.save(fig, path)


def make_figures(context: Context) -> None:
    curves = context.csv(tables(context.config)["curves"])
    summary = context.csv(tables(context.config)["summary"])
    for spec in figures(context.config):
        path, dataset = context.report_dir / spec.path, spec.params["dataset"]
        if spec.kind == "classwise":
            plot_classwise(curves, dataset, spec.params["binarization"], path)
        elif spec.kind == "overlay":
            plot_overlay(curves, dataset, path)
        else:
            plot_l2_sweep(summary, dataset, path)


# --- report section ------------------------------------------------------------------------------


def settings_text(settings: dict) -> str:
    keys = (
        "arch",
        "hidden",
        "width",
        "mode",
        "train_size",
        "test_size",
        "epochs",
        "batch_size",
        "lr_start",
        "lr_end",
        "optimizer",
        "loss",
        "dropout",
        "l2",
        "l2_gradient",
    )
    return ", ".join(f"{k}={settings[k]}" for k in keys if k in settings)


def section(context: Context) -> Section:
    from bnnrepro.families.memorization.declaration import runs

    fam = context.section(NAME)
    paths = tables(context.config)
    summary = context.csv(paths["summary"])
    conds = context.csv(paths["conditions"])
    regs = fam.get("regularizers", {})
    section = Section(
        NAME,
        "Memorization of random labels",
        f"<p>{cite('mehta2017', 'Figs 1-4')} train BNNs on uniform random labels (<b>randY</b>) and report that "
        "a deterministic BNN fits them (train error near 0%) even with L2 weight decay, while dropout and "
        "stochastic binarization slow memorization (per-class train error of about 18-46% with dropout, a floor of "
        "about 30% with stochastic binarization). Here every condition trains on true labels, randY, or Gaussian "
        f"inputs with true labels (<b>randX</b>, listed as future work by the paper; the randomization tests of "
        f"{cite('zhang2017')}), with and without regularization. Train error is measured against the labels "
        "trained on, test error against the true test labels (chance: 90%).</p>"
        "<p><b>L2.</b> The original code put the L2 penalty on the real-valued weights but took the gradient with "
        "respect to the binarized ones, so the penalty never reached the weights: the paper's Fig 2 rests on an "
        "inert penalty. <code>l2_inert</code> runs that code path (and is checked to equal no regularization), "
        "<code>l2</code> applies the paper's coefficient to the latent weights as intended, and the L2 sweep shows "
        "where a working penalty starts to stop memorization.</p>",
    )
    datasets = list(dict.fromkeys(summary["dataset"]))
    section.settings = (
        "; ".join(f"{d}: {settings_text(base_settings(context.config, NAME, d))}" for d in datasets)
        + ". Regularizers: "
        + "; ".join(
            f"{name} = {settings_text(values) or 'nothing'}"
            for name, values in regs.items()
            if name in set(summary["regularization"])
        )
        + f". Seeds {fam.get('seeds')}."
    )
    shown = conds.copy()
    shown["train_ci"] = interval_column(shown, "train_error_low", "train_error_high")
    shown["test_ci"] = interval_column(shown, "test_error_low", "test_error_high")
    cols = [
        "dataset",
        "binarization",
        "labels",
        "regularization",
        "seeds",
        "final_train_error",
        "train_ci",
        "final_test_error",
        "test_ci",
        "final_train_error_class_min",
        "final_train_error_class_max",
    ]
    section.tables.append(
        Table(
            "Final errors per condition: mean over seeds and 95% interval",
            shown[cols],
            {
                **COLUMNS,
                "train_ci": Col("Train error, 95% CI", "interval_pct"),
                "test_ci": Col("Test error, 95% CI", "interval_pct"),
            },
            note="t-interval over seeds (blank with a single seed); class columns: the mean over seeds of the best and "
            "worst class's final train error. Per-run numbers and the epochs to reach each train-error "
            "threshold are in the CSV.",
            csv=paths["conditions"],
        )
    )
    metrics = {
        "final_train_error": "final train error",
        "final_test_error": "final test error",
        "final_train_error_class_min": "best class, train error",
        "final_train_error_class_max": "worst class, train error",
    }
    pvo, notes = paper_vs_ours(NAME, conds, ["binarization", "labels", "regularization"], metrics)
    section.tables.append(
        Table(
            "Paper vs this run",
            pvo,
            {"paper": Col("Paper", "pct"), "ours": Col("This run", "pct"), "difference": Col("Difference", "pp")},
            note="A difference only where the dataset is the same.",
            footnotes=notes,
        )
    )
    for spec in figures(context.config):
        section.figures.append(context.figure(spec, paths["curves"] if spec.kind != "l2_sweep" else paths["summary"]))
    mine = runs(context.config)
    for d in datasets:
        s = base_settings(context.config, NAME, d)
        seeds: dict[tuple, set] = {}
        for r in mine:
            if r.dataset == d:
                seeds.setdefault(tuple(r.condition[c] for c in CONDITION if c in r.condition), set()).add(
                    r.condition["seed"]
                )
        counts = sorted({len(v) for v in seeds.values()}) or [0]
        per = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
        section.glance.append(
            Glance(
                NAME,
                "this run",
                dataset_name(d),
                model_text(s),
                examples_text(s),
                str(s.get("epochs", "")),
                f"{per} seeds per condition, {len(seeds)} conditions",
                "",
            )
        )
    section.glance.insert(
        0,
        Glance(
            NAME,
            "paper",
            "CIFAR-10, SVHN",
            "BinaryNet CNNs",
            "45,000 / 73,257",
            "500-1500",
            "1 run per condition (unseeded)",
            "GPU",
        ),
    )
    return section


# --- claims ----------------------------------------------------------------------------------------


def _final(context: Context) -> pd.DataFrame:
    return context.csv(tables(context.config)["summary"])


def _values(summary: pd.DataFrame, dataset: str, column: str, **cond) -> pd.Series:
    rows = summary[summary["dataset"] == dataset]
    for key, value in cond.items():
        rows = rows[rows[key] == value]
    return rows.set_index("seed")[column].sort_index()


def _paired(a: pd.Series, b: pd.Series) -> tuple[pd.Series, pd.Series]:
    seeds = a.index.intersection(b.index)
    return a.loc[seeds], b.loc[seeds]


def _result(
    scope: str, est, verdict: tuple[str, str], threshold: str, detail: str = "", unit: str = "pct"
) -> ClaimResult:
    return ClaimResult(scope, verdict[0], est, threshold, f"{verdict[1]}{'; ' + detail if detail else ''}", unit)


def _per_dataset(check):
    def run(context: Context) -> list[ClaimResult]:
        summary = _final(context)
        return [check(context, summary, d) for d in dict.fromkeys(summary["dataset"])]

    return run


@_per_dataset
def _det_fits_randy(context, summary, dataset):
    values = _values(summary, dataset, "final_train_error", binarization="det", labels="randY", regularization="none")
    thr = context.thresholds["memorize_train_error"]
    if values.empty:
        return not_run(dataset, "condition det/randY/none is not in this config", f"< {100 * thr:g}%")
    est = stats.bounded(stats.mean_interval(values, unit="seeds"))
    rows = summary[
        (summary["dataset"] == dataset)
        & (summary["binarization"] == "det")
        & (summary["labels"] == "randY")
        & (summary["regularization"] == "none")
    ]
    return _result(
        dataset,
        est,
        stats.verdict_below(est, thr),
        f"< {100 * thr:g}%",
        f"final train error after {int(rows['epochs'].max())} epochs",
    )


@_per_dataset
def _l2_does_not_prevent(context, summary, dataset):
    thr = context.thresholds["memorize_train_error"]
    coefficient = context.section(NAME).get("regularizers", {}).get("l2", {}).get("l2")
    values = _values(summary, dataset, "final_train_error", binarization="det", labels="randY", regularization="l2")
    if values.empty:
        return not_run(dataset, "condition det/randY/l2 is not in this config", f"< {100 * thr:g}%")
    est = stats.bounded(stats.mean_interval(values, unit="seeds"))
    return _result(
        dataset,
        est,
        stats.verdict_below(est, thr),
        f"< {100 * thr:g}%",
        f"final train error with L2 = {coefficient:g} on the latent weights"
        if coefficient is not None
        else "final train error with the configured L2 on the latent weights",
    )


@_per_dataset
def _l2_original_inert(context, summary, dataset):
    curves = context.csv(tables(context.config)["curves"])
    mine = curves[(curves["dataset"] == dataset) & (curves["binarization"] == "det") & (curves["labels"] == "randY")]
    inert = mine[mine["regularization"] == "l2_inert"]
    none = mine[mine["regularization"] == "none"]
    if inert.empty or none.empty:
        return not_run(dataset, "conditions det/randY/l2_inert and det/randY/none are not both in this config", "= 0")
    keys = ["seed", "epoch", "split", "class"]
    both = inert.merge(none, on=keys, suffixes=("_inert", "_none"))
    both = both[both["seed"].isin(set(inert["seed"]) & set(none["seed"]))]
    if both.empty:
        return not_run(dataset, "no seed is run both with the inert L2 and without regularization", "= 0")
    gap = float((both["error_inert"] - both["error_none"]).abs().max())
    est = stats.exact_estimate(gap)
    verdict = (
        ("held", "identical errors at every epoch, split and class")
        if gap == 0
        else ("did not hold", f"errors differ by up to {100 * gap:.2f} points")
    )
    return _result(
        dataset,
        est,
        verdict,
        "= 0",
        f"{both['seed'].nunique()} seed(s), every epoch: the original code's penalty changes nothing",
    )


def _gap_claim(other: dict, what: str):
    @_per_dataset
    def check(context, summary, dataset):
        thr = context.thresholds["slowdown_margin"]
        base = _values(summary, dataset, "final_train_error", binarization="det", labels="randY", regularization="none")
        slowed = _values(summary, dataset, "final_train_error", labels="randY", **other)
        if base.empty or slowed.empty:
            return not_run(
                dataset, f"conditions det/randY/none and {what} are not both in this config", f"> {100 * thr:g} points"
            )
        a, b = _paired(slowed, base)
        if a.empty:
            return not_run(dataset, f"no seed is run both in {what} and det/randY/none", f"> {100 * thr:g} points")
        est = stats.paired_difference_interval(a, b, unit="seeds")
        return _result(
            dataset,
            est,
            stats.verdict_above(est, thr),
            f"> {100 * thr:g} points",
            f"{what} minus det/randY/none, final train error, paired by seed ({100 * a.mean():.1f}% vs "
            f"{100 * b.mean():.1f}%)",
            unit="pp",
        )

    return check


@_per_dataset
def _random_test_at_chance(context, summary, dataset):
    tol = context.thresholds["chance_tolerance"]
    chance = 0.9  # every dataset of the study has 10 classes
    out = []
    for labels in ("randY", "randX"):
        values = _values(summary, dataset, "final_test_error", binarization="det", labels=labels, regularization="none")
        if not values.empty:
            out.append((labels, stats.bounded(stats.mean_interval(values, unit="seeds"))))
    threshold = f"within {100 * (chance - tol):g}-{100 * (chance + tol):g}%"
    if not out:
        return not_run(dataset, "conditions det/randY/none and det/randX/none are not in this config", threshold)
    verdicts = [(labels, est, stats.verdict_within(est, chance - tol, chance + tol)) for labels, est in out]
    # The claim holds if it holds for every label mode; report the worst one.
    rank = {"did not hold": 0, "inconclusive": 1, "held": 2}
    labels, est, verdict = min(verdicts, key=lambda v: rank.get(v[2][0], 1))
    others = "; ".join(f"{lab}: {100 * e.estimate:.1f}%" for lab, e, _ in verdicts)
    return _result(f"{dataset} ({labels})", est, verdict, threshold, f"test error on true labels; {others}")


CLAIMS = [
    Claim(
        "det-fits-randY",
        "A deterministic BNN fits random labels: train error near 0%.",
        cite("mehta2017", "Sec. 3, Fig. 1"),
        NAME,
        _det_fits_randy,
        "overlay",
    ),
    Claim(
        "l2-does-not-prevent",
        "L2 regularization does not prevent memorization of random labels.",
        cite("mehta2017", "Sec. 3, Fig. 2"),
        NAME,
        _l2_does_not_prevent,
        "l2_sweep",
        caveat="The paper's L2 was inert (its gradient never reached the weights); checked here at the paper's "
        "coefficient with the penalty applied as intended.",
    ),
    Claim(
        "l2-original-inert",
        "The original code's L2 penalty has no effect on training.",
        "original code (" + cite("mehta2017") + ", svhn_random_labels_l2_regularization.py)",
        NAME,
        _l2_original_inert,
        "",
        caveat="An audit finding about the code behind Fig. 2, not a claim of the paper.",
    ),
    Claim(
        "dropout-slows",
        "Dropout slows memorization of random labels.",
        cite("mehta2017", "Sec. 4, Fig. 3"),
        NAME,
        _gap_claim({"binarization": "det", "regularization": "dropout"}, "det/randY/dropout"),
        "overlay",
    ),
    Claim(
        "stoch-floor",
        "Stochastic binarization leaves a higher train-error floor on random labels.",
        cite("mehta2017", "Sec. 4, Fig. 4"),
        NAME,
        _gap_claim({"binarization": "stoch", "regularization": "none"}, "stoch/randY/none"),
        "overlay",
    ),
    Claim(
        "random-test-at-chance",
        "Test error after training on randY or randX stays at chance.",
        cite("mehta2017", "Sec. 3") + "; " + cite("zhang2017", "Sec. 2"),
        NAME,
        _random_test_at_chance,
        "overlay",
    ),
]
