"""Memorization family: its claims (:data:`CLAIMS`), each checked on its tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bnnrepro import stats
from bnnrepro.families.memorization.declaration import NAME, tables
from bnnrepro.families.published import published_numbers
from bnnrepro.families.reporting import Claim, ClaimResult, Context, not_run, result
from bnnrepro.families.sources import cite


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


# --- claims added from the claims ledger (ledger.yaml) ---------------------------------------------


@_per_dataset
def _stoch_true_not_impeded(context, summary, dataset):
    margin = context.thresholds["slowdown_margin"]
    threshold = stats.below(margin, "pp", "claims.slowdown_margin: the margin that counts as slowing on random labels")
    stoch = _values(summary, dataset, "final_train_error", binarization="stoch", labels="true", regularization="none")
    det = _values(summary, dataset, "final_train_error", binarization="det", labels="true", regularization="none")
    a, b = _paired(stoch, det)
    if a.empty:
        return not_run(dataset, "conditions stoch/true/none and det/true/none share no seed in this config", threshold)
    est = stats.paired_difference_interval(a, b, unit="seeds")
    return result(
        dataset,
        stats.judge(est, threshold),
        f"stoch minus det on true labels, final train error, paired by seed ({100 * a.mean():.1f}% vs "
        f"{100 * b.mean():.1f}%); that stochastic binarization does impede random labels is stoch-floor",
    )


@_per_dataset
def _random_fit_factor(context, summary, dataset):
    fitted = context.thresholds["memorize_train_error"]
    low, high = context.thresholds["random_fit_factor"]
    threshold = stats.within(
        low, high, "ratio", "claims.random_fit_factor: slower (> 1x) by less than an order of magnitude"
    )
    column = f"epoch_train_below_{fitted:g}"
    if column not in summary.columns:
        return not_run(
            dataset,
            f"the summary has no epochs to {100 * fitted:g}%: add {fitted:g} to memorization.thresholds",
            threshold,
        )
    rand = _values(summary, dataset, column, binarization="det", labels="randY", regularization="none")
    true = _values(summary, dataset, column, binarization="det", labels="true", regularization="none")
    a, b = _paired(rand, true)
    if a.empty:
        return not_run(dataset, "conditions det/randY/none and det/true/none share no seed in this config", threshold)
    censored = int((a.isna() | b.isna()).sum())
    if censored:
        return not_run(
            dataset,
            f"{censored} of {len(a)} paired runs never reached {100 * fitted:g}% train error in the epochs run: "
            "their epochs to fit are censored",
            threshold,
        )
    est = stats.ratio_interval(a, b, paired=True, unit="seeds")
    return result(
        dataset,
        stats.judge(est, threshold),
        f"epochs to reach {100 * fitted:g}% train error (the fit of det-fits-randY), random over true labels, "
        f"det/none, paired by seed ({a.mean():.1f} vs {b.mean():.1f} epochs)",
    )


def class_dispersion(errors, counts) -> float:
    """Between-class variance of per-class error rates relative to binomial sampling alone:
    D = Σ_c n_c (e_c − ē)² / (ē (1 − ē)) / (C − 1), with ē the pooled error. D ≈ 1 when every class
    is equally hard (the Pearson χ² of a C × 2 table over its degrees of freedom); NaN when ē is 0 or 1."""
    e, n = np.asarray(errors, dtype=float), np.asarray(counts, dtype=float)
    pooled = float((e * n).sum() / n.sum())
    if len(e) < 2 or pooled <= 0.0 or pooled >= 1.0:
        return float("nan")
    return float((n * (e - pooled) ** 2).sum() / (pooled * (1.0 - pooled)) / (len(e) - 1))


@_per_dataset
def _dropout_class_spread(context, summary, dataset):
    minimum = context.thresholds["class_spread_dispersion"]
    threshold = stats.above(
        minimum, "ratio", "claims.class_spread_dispersion: the classes' own errors vary at least as much as sampling"
    )
    curves = context.csv(tables(context.config)["curves"])
    rows = curves[
        (curves["dataset"] == dataset)
        & (curves["binarization"] == "det")
        & (curves["labels"] == "randY")
        & (curves["regularization"] == "dropout")
        & (curves["split"] == "train")
        & (curves["class"].astype(str) != "all")
    ]
    if rows.empty:
        return not_run(dataset, "condition det/randY/dropout is not in this config", threshold)
    values, best, worst = {}, [], []
    for seed, run in rows.groupby("seed", sort=True):
        last = run[run["epoch"] == run["epoch"].max()]
        values[seed] = class_dispersion(last["error"], last["n"])
        best.append(float(last["error"].min()))
        worst.append(float(last["error"].max()))
    values = pd.Series(values).dropna()
    if values.empty:
        return not_run(dataset, "every det/randY/dropout run ends at 0% or 100% train error", threshold)
    est = stats.mean_interval(values, unit="seeds")
    return result(
        dataset,
        stats.judge(est, threshold),
        f"between-class variance of the final per-class train errors over the binomial variance of equally hard "
        f"classes (1x: no class harder than another), det/randY/dropout; best and worst class "
        f"{100 * np.mean(best):.1f}% and {100 * np.mean(worst):.1f}% (means over seeds)",
    )


CLAIMS += [
    Claim(
        "stoch-true-not-impeded",
        "Stochastic binarization does not impede training with true labels (it impedes only the random-label case).",
        cite("mehta2017", "Sec. 4") + "; " + cite("courbariaux2015", "Table 2"),
        NAME,
        _stoch_true_not_impeded,
        "overlay",
        fidelity="Fashion-MNIST MLP on 1,000 images, 50 epochs (the paper: CIFAR-10 and SVHN CNNs; its statement "
        "rests on the BinaryNet and BinaryConnect papers' true-label results).",
    ),
    Claim(
        "random-fit-constant-factor",
        "Fitting random labels takes only a small constant factor longer than fitting true labels.",
        cite("zhang2017", "Sec. 1.1, Fig. 1b"),
        NAME,
        _random_fit_factor,
        "overlay",
        caveat="Zhang et al. 2017 measured float networks on CIFAR-10; checked here on the deterministic BNN, in "
        "epochs to the train error at which random labels count as memorized.",
        fidelity="Binarized MLP on 1,000 Fashion-MNIST images (Zhang et al.: float Inception, AlexNet and MLPs "
        "on CIFAR-10).",
    ),
    Claim(
        "dropout-class-spread",
        "With dropout on random labels, the classes end at clearly different train errors (a non-trivial "
        "inter-class variance).",
        cite("mehta2017", "Sec. 4, Fig. 3"),
        NAME,
        _dropout_class_spread,
        "classwise",
        caveat="The paper's ~18% and ~46% (SVHN, 500 epochs) are the paper preset's; here the spread is measured "
        "against the binomial spread that equally hard classes would show on this run's class sizes.",
        fidelity="Fashion-MNIST MLP on 1,000 images (~100 per class), 50 epochs (the paper: SVHN, 73,257 images, "
        "500 epochs).",
    ),
]


CLAIMS.append(
    Claim(
        "mehta-published-numbers",
        "The paper's numbers on CIFAR-10 and SVHN (random labels: train and test error, the dropout class range, "
        "the stochastic floor) and BinaryNet's true-label test errors are reproduced.",
        cite("mehta2017", "Secs 3-4, Figs 1-4") + "; " + cite("courbariaux2016", "Table 1"),
        NAME,
        published_numbers(NAME, tables, "summary"),
        "overlay",
        caveat="Decided by the paper preset (CIFAR-10, SVHN and MNIST with the original scripts' settings, on a "
        "GPU); the default config's Fashion-MNIST runs cannot reproduce these numbers, so they are not run there.",
        fidelity="The paper preset: the original scripts' networks, data and epochs, one seed per script.",
    )
)
