"""Lookup-table family: its claims (:data:`CLAIMS`), each checked on its tables.

Claims judged at every k use Holm's correction over the ks for "did not hold"
(:func:`bnnrepro.stats.judge_scopes`); a random-label draw (one network each) is the unit of the
random-label claims.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats as sps

from bnnrepro import stats
from bnnrepro.families.lookup_tables.declaration import NAME, part_enabled, tables
from bnnrepro.families.lookup_tables.tables import CHANCE, fits, per_repeat
from bnnrepro.families.reporting import Claim, ClaimResult, Context, not_run, result
from bnnrepro.families.sources import cite


def _table3(context: Context) -> pd.DataFrame | None:
    if not context.enabled(NAME) or not part_enabled(context.config, "table3"):
        return None
    return context.csv(tables(context.config)["table3"])


def _table3_repeats(
    context: Context, threshold: stats.Threshold
) -> tuple[pd.DataFrame, pd.DataFrame] | list[ClaimResult]:
    """(Table 3, its accuracy per repeat), or the "not run" results when the config has no Table 3."""
    table3 = _table3(context)
    if table3 is None:
        return [not_run("", "Table 3 is not run in this config", threshold)]
    return table3, per_repeat(table3)


def _fidelity(context: Context, part: str = "table3") -> str:
    """How this run's networks differ from Chatterjee 2018's 5 x 1024 network on Binary-MNIST."""
    section = context.section(NAME)
    settings = {**section, **(section.get(part) or {})}
    layers, width = settings.get("hidden_layers", 5), settings.get("width", 1024)
    differs = "" if (layers, width) == (5, 1024) else " (paper: 5 x 1024)"
    return f"Binary-Fashion-MNIST (paper: Binary-MNIST); {layers} x {width} lookup tables{differs}"


def _above_chance(context: Context) -> list[ClaimResult]:
    """Real-label test accuracy above chance + margin at every k; Holm's correction over the ks."""
    margin = context.thresholds["lut_above_chance"]
    threshold = stats.above(CHANCE + margin, "pct", "config claims.lut_above_chance (rule: 5 points above 50%)")
    found = _table3_repeats(context, threshold)
    if isinstance(found, list):
        return found
    table3, repeats = found
    out = []
    for dataset in dict.fromkeys(table3["dataset"]):
        rows = repeats[(repeats["dataset"] == dataset) & (repeats["labels"] == "real") & (repeats["split"] == "test")]
        if rows.empty:
            out.append(not_run(dataset, "Table 3 has no real-label runs in this config", threshold))
            continue
        estimates = {
            f"k = {int(k)}": stats.bounded(stats.mean_interval(group["accuracy"], unit="seeds"))
            for k, group in rows.groupby("k", sort=True)
        }
        _, overall = stats.judge_scopes(estimates, threshold)
        detail = "real-label test accuracy at every k, network seeds; " + ", ".join(
            f"{scope}: {100 * est.estimate:.1f}%" for scope, est in estimates.items()
        )
        out.append(result(dataset, overall, detail, _fidelity(context)))
    return out


def _gap_grows(context: Context) -> list[ClaimResult]:
    threshold = stats.above(
        context.thresholds["lut_gap_slope"], "pp", "config claims.lut_gap_slope (rule: any growth, per unit of k)"
    )
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
            out.append(
                result(
                    scope,
                    stats.judge(est, threshold),
                    detail,
                    _fidelity(context, "pairwise" if name == "pairs" else "table3"),
                )
            )
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
        return stats.Estimate(difference, difference, difference, repeats, method, se=0.0, df=math.inf)
    test = sps.ttest_ind(a, b, equal_var=False)
    ci = test.confidence_interval(0.95)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    return stats.Estimate(
        difference, float(ci.low), float(ci.high), repeats, method, se=math.sqrt(va + vb), df=float(test.df)
    )


def _random_harder(context: Context) -> list[ClaimResult]:
    """Real minus random train accuracy > 0 at every k where the real fit is not saturated (ties),
    Holm's correction over those ks for "did not hold"."""
    saturated = context.thresholds["lut_saturated"]
    threshold = stats.above(0.0, "pp", f"rule: real labels fitted better, except ties at >= {100 * saturated:g}%")
    found = _table3_repeats(context, threshold)
    if isinstance(found, list):
        return found
    table3, repeats = found
    out = []
    for dataset in dict.fromkeys(table3["dataset"]):
        train = repeats[(repeats["dataset"] == dataset) & (repeats["split"] == "train")]
        if not {"real", "random"} <= set(train["labels"]):
            out.append(not_run(dataset, "Table 3 needs both real and random labels", threshold))
            continue
        estimates, ties = {}, []
        for k, group in train.groupby("k", sort=True):
            real = group.loc[group["labels"] == "real", "accuracy"]
            random = group.loc[group["labels"] == "random", "accuracy"]
            if real.empty or random.empty:
                continue
            est = welch_difference(real, random, "seeds and label draws")
            if real.mean() >= saturated and stats.judge(est, threshold).verdict is not stats.HELD:
                ties.append(int(k))  # the real-label fit is saturated: equal (or unresolved) counts as a tie
                continue
            estimates[f"k = {int(k)}"] = est
        tie_text = (
            f"ties (real labels fitted to >= {100 * saturated:g}%) at k = {', '.join(map(str, ties))}"
            if ties
            else "no ties"
        )
        if not estimates:
            reason = "every k is a saturated tie: nothing shows random labels to be harder"
            out.append(
                result(
                    dataset, stats.decided(None, threshold, stats.INCONCLUSIVE, reason), tie_text, _fidelity(context)
                )
            )
            continue
        _, overall = stats.judge_scopes(estimates, threshold)
        out.append(result(dataset, overall, f"real minus random train accuracy per k; {tie_text}", _fidelity(context)))
    return out


def draws_of(table3: pd.DataFrame) -> pd.DataFrame:
    """One row per random-label draw (its own network; a ``random_mirror`` complement is not a draw of
    its own and is left out): the draw's agreement with the true labels and its test accuracy,
    averaged over k."""
    rows = table3[(table3["labels"] == "random") & (table3["split"] == "test")]
    return (
        rows.groupby(["dataset", "data_seed"], sort=True)
        .agg(label_agreement=("label_agreement", "first"), ks=("k", "nunique"), test_accuracy=("accuracy", "mean"))
        .reset_index()
    )


def _random_test_at_chance(context: Context) -> list[ClaimResult]:
    """Random-label test accuracy at chance, one label draw the unit. A draw's test accuracy follows
    its chance agreement with the true labels; the estimate is the least-squares line of test
    accuracy on (agreement − 1/2) over the draws, at zero excess agreement (its intercept)."""
    tolerance = context.thresholds["lut_chance_tolerance"]
    threshold = stats.within(
        CHANCE - tolerance, CHANCE + tolerance, "pct", "config claims.lut_chance_tolerance (rule: 2 points)"
    )
    table3 = _table3(context)
    if table3 is None or "random" not in set(table3["labels"]):
        return [not_run("", "Table 3 with random labels is not run in this config", threshold)]
    out = []
    for dataset, rows in draws_of(table3).groupby("dataset", sort=False):
        excess = rows["label_agreement"] - 0.5
        if len(rows) >= 3 and excess.nunique() > 1:
            est = stats.intercept_interval(excess, rows["test_accuracy"], at=0.0, unit="label draws")
            slope = np.polyfit(excess, rows["test_accuracy"], 1)[0]
            what = (
                f"test accuracy at zero excess agreement with the true labels (line over draws, slope "
                f"{slope:.1f} accuracy per unit of agreement)"
            )
        else:
            est = stats.mean_interval(rows["test_accuracy"], unit="label draws")
            what = "mean test accuracy over draws (too few draws or agreements for a line)"
        est = stats.bounded(est)
        detail = (
            f"{what}; {len(rows)} draws, each its own network, mean over k = {int(rows['ks'].max())} values; single "
            f"draws {100 * rows['test_accuracy'].min():.1f}-{100 * rows['test_accuracy'].max():.1f}%, agreement "
            f"{100 * rows['label_agreement'].min():.2f}-{100 * rows['label_agreement'].max():.2f}%"
        )
        out.append(result(dataset, stats.judge(est, threshold), detail, _fidelity(context)))
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
        caveat="Each draw of random labels (one network each, no complements) is one repeat. A draw's test accuracy "
        "follows how often it happens to agree with the true labels, so single draws land well away from 50%; the "
        "estimate is the least-squares line of test accuracy on the draw's excess agreement, at zero excess.",
    ),
]


# --- claims added from the claims ledger (ledger.yaml) ---------------------------------------------


def _random_memorized(context: Context) -> list[ClaimResult]:
    slope = float(context.thresholds["lut_random_fit_slope"])
    threshold = stats.above(slope, "num", "claims.lut_random_fit_slope: train accuracy on random labels rises with k")
    found = _table3_repeats(context, threshold)
    if isinstance(found, list):
        return found
    table3, repeats = found
    out = []
    for dataset in dict.fromkeys(table3["dataset"]):
        rows = repeats[
            (repeats["dataset"] == dataset) & (repeats["labels"] == "random") & (repeats["split"] == "train")
        ]
        if rows.empty or rows["k"].nunique() < 2:
            out.append(not_run(dataset, "Table 3 has no random labels at two or more k", threshold))
            continue
        est = stats.slope_interval(rows["k"], rows["accuracy"], rows["repeat"], unit="label draws")
        by_k = rows.groupby("k")["accuracy"].mean()
        out.append(
            result(
                dataset,
                stats.judge(est, threshold),
                f"slope of the random-label train accuracy on k (accuracy per unit of k), one line per label draw: "
                f"{100 * by_k.iloc[0]:.1f}% at k = {by_k.index[0]} to "
                f"{100 * by_k.iloc[-1]:.1f}% at k = {by_k.index[-1]}",
            )
        )
    return out


def pooled_sd_interval(groups: Iterable[ArrayLike], level: float = 0.95, unit: str = "network seeds") -> stats.Estimate:
    """The SD within groups pooled over groups, s² = Σ_g Σ_i (x_gi − x̄_g)² / Σ_g (n_g − 1), and its
    χ² interval [s √(df / χ²_{df, (1+level)/2}), s √(df / χ²_{df, (1−level)/2})] (independent normal
    repeats). ``groups``: one array of repeats per group (groups with one repeat add nothing)."""
    squares, df, repeats = 0.0, 0, 0
    for group in groups:
        values = np.asarray(group, dtype=float)
        repeats = max(repeats, values.size)
        if values.size > 1:
            squares += float(((values - values.mean()) ** 2).sum())
            df += values.size - 1
    if df == 0:
        return stats.Estimate(float("nan"), float("nan"), float("nan"), repeats, f"no interval: one {unit[:-1]}")
    sd = float(np.sqrt(squares / df))
    low = sd * float(np.sqrt(df / sps.chi2.ppf(0.5 + level / 2, df)))
    high = sd * float(np.sqrt(df / sps.chi2.ppf(0.5 - level / 2, df)))
    return stats.Estimate(
        sd, low, high, repeats, f"pooled SD, chi-square interval (df {df}) over {repeats} {unit}", level
    )


def _wiring_stable(context: Context) -> list[ClaimResult]:
    ceiling = float(context.thresholds["lut_wiring_sd"])
    threshold = stats.below(
        ceiling, "pct", "claims.lut_wiring_sd: differences the paper's two-decimal tables would not show"
    )
    found = _table3_repeats(context, threshold)
    if isinstance(found, list):
        return found
    table3, repeats = found
    out = []
    for dataset in dict.fromkeys(table3["dataset"]):
        rows = repeats[(repeats["dataset"] == dataset) & (repeats["labels"] == "real") & (repeats["split"] == "test")]
        if rows.empty or rows.groupby("k")["repeat"].nunique().max() < 2:
            out.append(not_run(dataset, "Table 3 on real labels needs two or more network seeds", threshold))
            continue
        est = pooled_sd_interval([g["accuracy"] for _, g in rows.groupby("k", sort=True)])
        out.append(
            result(
                dataset,
                stats.judge(est, threshold),
                f"SD of the real-label test accuracy across network seeds (the random wiring), pooled over "
                f"k = {', '.join(str(k) for k in sorted(rows['k'].unique()))}",
            )
        )
    return out


CLAIMS += [
    Claim(
        "lut-random-memorized",
        "Lookup-table networks can memorize random labels: their train accuracy on random labels rises with k.",
        cite("chatterjee2018", "Abstract; Sec. 3, Table 3"),
        NAME,
        _random_memorized,
        "table3",
        fidelity="Binary-Fashion-MNIST, 3 hidden layers of 128 luts (the paper: Binary-MNIST, 5 x 1024).",
    ),
    Claim(
        "lut-wiring-stable",
        "Lookup-table networks' results are very stable with respect to the random choices made at network "
        "construction.",
        cite("chatterjee2018", "Sec. 3"),
        NAME,
        _wiring_stable,
        "table3",
        caveat="Measured on the real-label test accuracy of Table 3, whose network seeds change only the random "
        "wiring; the paper gives no measure of its own.",
        fidelity="Binary-Fashion-MNIST, 3 hidden layers of 128 luts (the paper: Binary-MNIST, 5 x 1024).",
    ),
]
