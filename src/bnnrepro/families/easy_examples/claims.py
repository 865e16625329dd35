"""Easy examples family: its claims (:data:`CLAIMS`), each checked on its tables."""

from __future__ import annotations

import math

import pandas as pd

from bnnrepro import stats
from bnnrepro.families.easy_examples.declaration import NAME, tables
from bnnrepro.families.reporting import Claim, ClaimResult, Context, not_run
from bnnrepro.families.sources import cite


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
