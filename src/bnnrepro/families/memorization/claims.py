"""Memorization family: its claims (:data:`CLAIMS`), each checked on its tables."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from bnnrepro import stats
from bnnrepro.families.memorization.declaration import NAME, tables
from bnnrepro.families.reporting import Claim, ClaimResult, Context, not_run
from bnnrepro.families.sources import cite

#: A claim's check on one dataset: (context, the final-epoch summary, dataset) -> its result.
DatasetCheck = Callable[[Context, pd.DataFrame, str], ClaimResult]


def _final(context: Context) -> pd.DataFrame:
    return context.csv(tables(context.config)["summary"])


def _values(summary: pd.DataFrame, dataset: str, column: str, **cond: str) -> pd.Series:
    rows = summary[summary["dataset"] == dataset]
    for key, value in cond.items():
        rows = rows[rows[key] == value]
    return rows.set_index("seed")[column].sort_index()


def _paired(a: pd.Series, b: pd.Series) -> tuple[pd.Series, pd.Series]:
    seeds = a.index.intersection(b.index)
    return a.loc[seeds], b.loc[seeds]


def _result(
    scope: str, est: stats.Estimate, verdict: tuple[str, str], threshold: str, detail: str = "", unit: str = "pct"
) -> ClaimResult:
    return ClaimResult(scope, verdict[0], est, threshold, f"{verdict[1]}{'; ' + detail if detail else ''}", unit)


def _per_dataset(check: DatasetCheck) -> Callable[[Context], list[ClaimResult]]:
    def run(context: Context) -> list[ClaimResult]:
        summary = _final(context)
        return [check(context, summary, d) for d in dict.fromkeys(summary["dataset"])]

    return run


@_per_dataset
def _det_fits_randy(context: Context, summary: pd.DataFrame, dataset: str) -> ClaimResult:
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
def _l2_does_not_prevent(context: Context, summary: pd.DataFrame, dataset: str) -> ClaimResult:
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
def _l2_original_inert(context: Context, summary: pd.DataFrame, dataset: str) -> ClaimResult:
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


def _gap_claim(other: dict[str, str], what: str) -> Callable[[Context], list[ClaimResult]]:
    @_per_dataset
    def check(context: Context, summary: pd.DataFrame, dataset: str) -> ClaimResult:
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
def _random_test_at_chance(context: Context, summary: pd.DataFrame, dataset: str) -> ClaimResult:
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
