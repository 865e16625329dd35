"""Lookup-table family: its claims (:data:`CLAIMS`), each checked on its tables."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats as sps

from bnnrepro import stats
from bnnrepro.families.lookup_tables.declaration import NAME, part_enabled, tables
from bnnrepro.families.lookup_tables.tables import CHANCE, LABELS, fits, per_repeat
from bnnrepro.families.reporting import Claim, ClaimResult, Context, not_run
from bnnrepro.families.sources import cite


def _result(
    scope: str, est: stats.Estimate, verdict: tuple[str, str], threshold: str, detail: str = "", unit: str = "pct"
) -> ClaimResult:
    return ClaimResult(scope, verdict[0], est, threshold, f"{verdict[1]}{'; ' + detail if detail else ''}", unit)


def _table3(context: Context) -> pd.DataFrame | None:
    if not context.enabled(NAME) or not part_enabled(context.config, "table3"):
        return None
    return context.csv(tables(context.config)["table3"])


def _combine(per_k: Sequence[tuple[int, object, tuple[str, str]]]) -> tuple[str, list[int]]:
    """The verdict of a claim that must hold at every k: did not hold if it fails at some k,
    inconclusive if it is undecided at some k, held if it holds at all. Returns it and the ks
    that decide it."""
    for verdict in ("did not hold", "inconclusive"):
        ks = [k for k, _, v in per_k if v[0] == verdict]
        if ks:
            return verdict, ks
    return "held", [k for k, _, _ in per_k]


def _table3_repeats(
    context: Context, threshold: str
) -> tuple[pd.DataFrame, pd.DataFrame, None] | tuple[None, None, list[ClaimResult]]:
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


def welch_difference(a: ArrayLike, b: ArrayLike, unit: str) -> stats.Estimate:
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
        overall, deciding = _combine(per_k)
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
        out.append(ClaimResult(dataset, overall, est, threshold, f"{reason[1]}; {detail}", "pp"))
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
