"""One section of the report per experiment family, built from that family's result files."""

from __future__ import annotations

from bnnrepro.report.build import Context, Section, Table, settings_text
from bnnrepro.report.published import compare

PCT_MEMO = ("final_train_error", "final_test_error", "min_train_error", "final_train_error_class_min",
            "final_train_error_class_max")


def _dataset_settings(context: Context, family: str, dataset: str) -> dict:
    fam = context.family(family)
    merged = {**context.config.get("defaults", {}), **fam.get("settings", {}), **fam.get("dataset_settings", {}).get(dataset, {})}
    return merged


def memorization_section(context: Context) -> Section | None:
    if not context.enabled("memorization"):
        return None
    fam = context.family("memorization")
    summary = context.csv("memorization/summary.csv")
    cond = ["dataset", "binarization", "labels", "regularization"]
    metric_cols = [c for c in summary.columns if c not in cond + ["run", "seed"]]
    means = summary.groupby(cond, as_index=False, sort=False)[metric_cols].mean(numeric_only=True)
    means.insert(len(cond), "seeds", summary.groupby(cond, sort=False)["seed"].nunique().to_numpy())
    section = Section(
        "memorization", "Memorization of random labels (paper Figs 1-4)",
        "<p>Each condition trains a BNN on true labels, on uniform random labels (<b>randY</b>) or on "
        "Gaussian-noise inputs with true labels (<b>randX</b>), with no regularization, dropout or L2 "
        "(applied to the latent weights, as the original code intended but did not do), under "
        "deterministic or stochastic binarization. Train error is measured on the labels the model "
        "was trained on, test error on the true test labels. The paper: a deterministic BNN drives "
        "randY train error to about 0% (L2 does not prevent it), dropout slows memorization with a "
        "wide spread across classes, stochastic binarization leaves a train-error floor of about 30%.</p>",
    )
    datasets = list(dict.fromkeys(summary["dataset"]))
    section.settings = "; ".join(f"{d}: {settings_text(_dataset_settings(context, 'memorization', d))}, "
                                 f"seeds {fam.get('seeds')}" for d in datasets)
    thresholds = [c for c in means.columns if c.startswith("epoch_train_below_")]
    shown = cond + ["seeds", "epochs", "final_train_error", "final_test_error", "min_train_error",
                    "final_train_error_class_min", "final_train_error_class_max"] + thresholds
    section.tables.append(Table("Final errors per condition (mean over seeds)", means[shown], percent=PCT_MEMO,
                                note="epoch_train_below_T: first epoch whose overall train error is below T "
                                     "(empty: never within the run)."))
    section.tables.append(Table("Published vs reproduced", compare("memorization", means, cond),
                                percent=(), note="Errors as fractions. A difference is computed only for the "
                                                  "same dataset; other rows compare across datasets."))
    for dataset in datasets:
        s = _dataset_settings(context, "memorization", dataset)
        for b in [b for b in ("det", "stoch") if b in set(summary["binarization"])]:
            section.figures.append(context.figure(
                f"figures/memorization/{dataset}-{b}-classwise.png",
                f"Class-wise train and test error by epoch, {dataset}, {b} binarization; one row per label mode, "
                f"one train/test pair per regularization; seed {min(fam.get('seeds', [0]))}. "
                f"Settings: {settings_text(s)}."))
        section.figures.append(context.figure(
            f"figures/memorization/{dataset}-overlay.png",
            f"Overall train (top) and test (bottom) error by epoch of every condition on {dataset}, mean over "
            f"seeds {fam.get('seeds')}; colour = regularization, dashed = stochastic binarization."))
    return section


def easy_examples_section(context: Context) -> Section | None:
    if not context.enabled("easy_examples"):
        return None
    fam = context.family("easy_examples")
    summary = context.csv("easy_examples/summary.csv")
    section = Section(
        "easy-examples", "Easy examples after one epoch (paper Fig 5)",
        "<p>Each condition trains for exactly one epoch from R random initialisations and data orders; "
        "for the same fixed random training examples we count the runs that classify each correctly. "
        "If every example were equally hard, the count would follow Binomial(R, p) with p the mean "
        "accuracy (expected for randX, whose inputs are noise). Real data should instead show many "
        "consistently easy examples: the paper reports about 600 of 1000 examples correct in at least "
        "50% of the runs for a deterministic BNN.</p>",
    )
    datasets = list(dict.fromkeys(summary["dataset"]))
    section.settings = "; ".join(f"{d}: {settings_text(_dataset_settings(context, 'easy_examples', d))}, 1 epoch, "
                                 f"R={fam.get('repeats')} runs, {fam.get('probe_size')} probe examples" for d in datasets)
    section.tables.append(Table("Per condition", summary, percent=("mean_accuracy",),
                                note="variance_ratio: variance of the per-example counts over the binomial's "
                                     "(1 = all examples equally hard); chi2_pvalue: goodness of fit to the binomial."))
    key = [c for c in summary.columns if c.startswith("examples_correct_ge_")]
    if key:
        section.tables.append(Table("Published vs reproduced",
                                    compare("easy_examples", summary.rename(columns={key[0]: "examples_correct_ge_0.5"}),
                                            ["dataset", "binarization", "labels"])))
    for dataset in datasets:
        section.figures.append(context.figure(
            f"figures/easy_examples/{dataset}-histogram.png",
            f"Number of runs (of {fam.get('repeats')}) classifying each of {fam.get('probe_size')} fixed training "
            f"examples correctly after one epoch on {dataset}, per label mode, with the Binomial(R, mean p) "
            f"expected if all examples were equally hard."))
    return section


SECTION_BUILDERS = [memorization_section, easy_examples_section]
