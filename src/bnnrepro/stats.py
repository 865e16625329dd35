"""Statistics for the published-claim checks: intervals over independent repeats, and verdicts.

The unit of replication is the seed / random-label draw / timing repeat / training run, never the
example: every function here takes one value per repeat and returns an :class:`Estimate`
(estimate, interval, number of repeats, method).
A claim compares an Estimate with a threshold and gets one of :data:`VERDICTS`:

- ``held``: the whole interval lies on the claimed side of the threshold;
- ``did not hold``: the whole interval lies on the other side;
- ``inconclusive``: the interval straddles the threshold, or there is no interval (fewer than two
  repeats);
- ``not run``: there is no result at all (pass ``None`` as the estimate).

This module depends on numpy, scipy and pandas only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats as sps

from bnnrepro.errors import ConfigError, DataError

HELD, DID_NOT_HOLD, INCONCLUSIVE, NOT_RUN = "held", "did not hold", "inconclusive", "not run"
VERDICTS = (HELD, DID_NOT_HOLD, INCONCLUSIVE, NOT_RUN)


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its two-sided confidence interval [low, high] at ``level``.

    ``repeats`` is the number of independent repeats behind it (seeds, label draws, runs, groups);
    ``method`` says in words how the interval was obtained. ``low``/``high`` are NaN when there
    are too few repeats for an interval, and may be infinite (Fieller's unbounded set)."""

    estimate: float
    low: float
    high: float
    repeats: int
    method: str
    level: float = 0.95

    @property
    def has_interval(self) -> bool:
        return not (math.isnan(self.low) or math.isnan(self.high))


# --- input checks ---------------------------------------------------------------------------------


def check_level(level: float) -> float:
    if not 0.0 < float(level) < 1.0:
        raise ConfigError(f"confidence level must lie strictly between 0 and 1 (got {level}); use e.g. 0.95")
    return float(level)


def _values(values: ArrayLike, name: str = "values") -> np.ndarray:
    """A 1-D float array of finite values with at least one element, or a DataError."""
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise DataError(f"{name}: no repeats given; a claim without results is 'not run' (pass None to the verdict)")
    if not np.all(np.isfinite(array)):
        raise DataError(f"{name}: contains NaN or infinite values; drop the failed repeats or fix their results")
    return array


def _positive(values: ArrayLike, name: str) -> np.ndarray:
    array = _values(values, name)
    if np.any(array <= 0):
        raise DataError(f"{name}: ratio intervals need positive values (timings, memory); got {array.min():g}")
    return array


def _counted(n: int, unit: str) -> str:
    """'3 seeds', '1 seed' (drops a plural 's' for one)."""
    return f"{n} {unit[:-1] if n == 1 and unit.endswith('s') else unit}"


def t_interval(center: float, se: float, df: float, level: float) -> tuple[float, float]:
    """center -/+ t_{df, (1+level)/2} * se; a zero se gives the degenerate interval [center, center]."""
    if se == 0.0:
        return center, center
    half = float(sps.t.ppf(0.5 + level / 2, df)) * se
    return center - half, center + half


# --- intervals over repeats -----------------------------------------------------------------------


def exact_estimate(value: float, method: str = "exact") -> Estimate:
    """A deterministic quantity (a count, a checksum-verified size): interval [v, v], one repeat."""
    value = float(value)
    return Estimate(value, value, value, 1, method)


def bounded(est: Estimate, lower: float = 0.0, upper: float = 1.0) -> Estimate:
    """``est`` with its interval clipped to the quantity's range (a rate lies in [0, 1]; the
    t-interval of few repeats can reach past it). The estimate and a NaN interval are unchanged."""
    import dataclasses

    if not est.has_interval:
        return est
    return dataclasses.replace(est, low=max(est.low, lower), high=min(est.high, upper))


def mean_interval(values: ArrayLike, level: float = 0.95, unit: str = "repeats") -> Estimate:
    """Student-t interval of the mean over n independent repeats x_1..x_n.

    x̄ = Σ x_j / n,  s² = Σ (x_j − x̄)² / (n − 1),  interval x̄ ± t_{n−1, (1+level)/2} · s / √n.
    Exact for normal repeats, asymptotically right otherwise. With n = 1 the interval is NaN."""
    level = check_level(level)
    x = _values(values)
    n = x.size
    mean = float(x.mean())
    if n < 2:
        return Estimate(mean, math.nan, math.nan, n, f"no interval: only {_counted(n, unit)}", level)
    se = float(x.std(ddof=1)) / math.sqrt(n)
    low, high = t_interval(mean, se, n - 1, level)
    return Estimate(mean, low, high, n, f"t-interval over {_counted(n, unit)}", level)


def paired_difference_interval(a: ArrayLike, b: ArrayLike, level: float = 0.95, unit: str = "repeats") -> Estimate:
    """Mean of the paired differences d_j = a_j − b_j (a_j and b_j share repeat j, e.g. a seed),
    with the Student-t interval of :func:`mean_interval` applied to d."""
    a, b = _values(a, "a"), _values(b, "b")
    if a.size != b.size:
        raise DataError(f"paired values need one a and one b per repeat (got {a.size} and {b.size})")
    est = mean_interval(a - b, level, unit)
    return Estimate(est.estimate, est.low, est.high, est.repeats, f"paired difference, {est.method}", est.level)


def ratio_interval(
    numerators: ArrayLike,
    denominators: ArrayLike,
    paired: bool = True,
    level: float = 0.95,
    unit: str = "repeats",
) -> Estimate:
    """Ratio of two positive quantities (timings, memory) on the log scale.

    Paired (numerator j and denominator j measured in the same repeat): l_j = log(a_j / b_j),
    estimate exp(l̄) = the geometric mean ratio, interval exp(l̄ ± t_{n−1} s_l / √n).

    Unpaired: Welch's interval for the difference of mean logs,
    d = mean(log a) − mean(log b),  se² = s_a²/n_a + s_b²/n_b,
    df = se⁴ / ((s_a²/n_a)²/(n_a−1) + (s_b²/n_b)²/(n_b−1))  (Welch–Satterthwaite),
    estimate exp(d) = ratio of geometric means, interval exp(d ± t_df · se); ``repeats`` is the
    smaller sample. For log-normal data with equal log-variances, the ratio of geometric means
    equals the ratio of arithmetic means."""
    level = check_level(level)
    a, b = _positive(numerators, "numerators"), _positive(denominators, "denominators")
    if paired:
        if a.size != b.size:
            raise DataError(
                f"a paired ratio needs one numerator and one denominator per repeat "
                f"(got {a.size} and {b.size}); pass paired=False for independent samples"
            )
        est = mean_interval(np.log(a / b), level, unit)
        method = f"geometric mean ratio, paired {est.method} on log scale"
        return Estimate(math.exp(est.estimate), math.exp(est.low), math.exp(est.high), est.repeats, method, level)
    log_a, log_b = np.log(a), np.log(b)
    diff = float(log_a.mean() - log_b.mean())
    n = min(a.size, b.size)
    if n < 2:
        return Estimate(
            math.exp(diff),
            math.nan,
            math.nan,
            n,
            f"ratio of geometric means; no interval: {a.size} and {b.size} {unit}",
            level,
        )
    var_a, var_b = log_a.var(ddof=1) / a.size, log_b.var(ddof=1) / b.size
    se = math.sqrt(var_a + var_b)
    df = (var_a + var_b) ** 2 / (var_a**2 / (a.size - 1) + var_b**2 / (b.size - 1)) if se > 0 else math.inf
    low, high = t_interval(diff, se, df, level)
    method = f"ratio of geometric means, Welch t-interval on log scale over {a.size} and {b.size} {unit}"
    return Estimate(math.exp(diff), math.exp(low), math.exp(high), n, method, level)


def proportion_interval(successes: int, trials: int, level: float = 0.95, unit: str = "trials") -> Estimate:
    """k successes out of n independent trials: estimate k/n, exact Clopper–Pearson interval
    [B⁻¹(α/2; k, n−k+1), B⁻¹(1−α/2; k+1, n−k)] (Beta quantiles; 0 and 1 at the ends), α = 1 − level."""
    level = check_level(level)
    k, n = int(successes), int(trials)
    if n < 1 or not 0 <= k <= n:
        raise DataError(f"a proportion needs 0 <= successes <= trials and trials >= 1 (got {k} of {n})")
    ci = sps.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return Estimate(
        k / n, float(ci.low), float(ci.high), n, f"Clopper-Pearson exact interval, {_counted(n, unit)}", level
    )


def slope_interval(
    x: ArrayLike, y: ArrayLike, groups: ArrayLike, level: float = 0.95, unit: str = "groups"
) -> Estimate:
    """Mean over groups of the within-group least-squares slope of y on x.

    For group g (one seed, one task): b_g = Σ (x − x̄_g)(y − ȳ_g) / Σ (x − x̄_g)²; the groups are the
    independent repeats, so the interval is the Student-t interval of the mean of b_1..b_G."""
    x, y = _values(x, "x"), _values(y, "y")
    labels = np.asarray(groups).ravel()
    if not x.size == y.size == labels.size:
        raise DataError(f"x, y and groups need the same length (got {x.size}, {y.size}, {labels.size})")
    slopes = []
    for label, frame in pd.DataFrame({"x": x, "y": y, "g": labels}).groupby("g", sort=True):
        dx = frame["x"].to_numpy() - frame["x"].mean()
        sxx = float(dx @ dx)
        if sxx == 0.0:
            raise DataError(f"group {label!r}: needs at least two different x values for a slope")
        slopes.append(float(dx @ (frame["y"].to_numpy() - frame["y"].mean())) / sxx)
    est = mean_interval(slopes, level, unit)
    return Estimate(est.estimate, est.low, est.high, est.repeats, f"mean least-squares slope, {est.method}", level)


def fieller_ratio_interval(
    numerator: tuple[float, float], denominator: tuple[float, float], df: float, level: float = 0.95, *, repeats: int
) -> Estimate:
    """Fieller's interval for θ = μ_a / μ_b from independent estimates a ± se_a and b ± se_b.

    The set {θ : (a − θ b)² ≤ t² (se_a² + θ² se_b²)} with t = t_{df, (1+level)/2} (df = inf: normal)
    is the quadratic inequality A θ² − 2 a b θ + C ≤ 0 with A = b² − t² se_b², C = a² − t² se_a².
    If A > 0 (b is significantly non-zero) it is the bounded interval
    θ = (a b ± √D) / A, D = a² b² − A C = t² (a² se_b² + b² se_a² − t² se_a² se_b²) ≥ 0.
    Otherwise (the denominator's interval contains 0) the set is the whole line or two half-lines:
    unbounded, and the interval returned is (−inf, inf). The numerator may be near zero or negative.
    ``repeats`` is the number of independent repeats behind the estimates (for the report)."""
    level = check_level(level)
    (a, se_a), (b, se_b) = (map(float, numerator)), (map(float, denominator))
    if not all(math.isfinite(v) for v in (a, se_a, b, se_b)) or se_a < 0 or se_b < 0:
        raise DataError(
            f"Fieller's interval needs finite values and standard errors >= 0 (got {a} ± {se_a} over {b} ± {se_b})"
        )
    if not df > 0:
        raise ConfigError(f"degrees of freedom must be positive (got {df})")
    t = float(sps.norm.ppf(0.5 + level / 2)) if math.isinf(df) else float(sps.t.ppf(0.5 + level / 2, df))
    ratio = a / b if b != 0 else math.nan
    a_coef = b * b - t * t * se_b * se_b
    if a_coef <= 0:
        return Estimate(
            ratio,
            -math.inf,
            math.inf,
            int(repeats),
            "Fieller interval: unbounded, the denominator's interval contains 0",
            level,
        )
    root = t * math.sqrt(max(a * a * se_b * se_b + b * b * se_a * se_a - t * t * se_a * se_a * se_b * se_b, 0.0))
    low, high = (a * b - root) / a_coef, (a * b + root) / a_coef
    return Estimate(ratio, low, high, int(repeats), f"Fieller interval, df {df:g}", level)


# --- verdicts -------------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _interval_text(est: Estimate) -> str:
    return f"{100 * est.level:g}% interval [{_fmt(est.low)}, {_fmt(est.high)}]"


def _no_interval(est: Estimate | None) -> tuple[str, str] | None:
    """The verdict when there is nothing to compare: not run, or no interval."""
    if est is None:
        return NOT_RUN, "no result"
    if not est.has_interval:
        if est.repeats < 2:
            return INCONCLUSIVE, f"only {_counted(est.repeats, 'repeats')}: too few for an interval"
        return INCONCLUSIVE, "the interval is undefined"
    return None


def verdict_below(est: Estimate | None, threshold: float) -> tuple[str, str]:
    """Claim: the quantity is strictly below ``threshold``.

    held if high < threshold; did not hold if low >= threshold (the whole interval at or above it);
    otherwise inconclusive. An interval whose upper end touches the threshold does not establish
    the strict claim, so it is inconclusive unless the interval is the single point [t, t]."""
    early = _no_interval(est)
    if early or est is None:
        return early or (NOT_RUN, "no result")
    if est.high < threshold:
        return HELD, f"{_interval_text(est)} lies below {_fmt(threshold)}"
    if est.low >= threshold:
        return DID_NOT_HOLD, f"{_interval_text(est)} lies at or above {_fmt(threshold)}"
    return INCONCLUSIVE, f"{_interval_text(est)} straddles {_fmt(threshold)}"


def verdict_above(est: Estimate | None, threshold: float) -> tuple[str, str]:
    """Claim: the quantity is strictly above ``threshold``.

    held if low > threshold; did not hold if high <= threshold; otherwise inconclusive
    (the mirror image of :func:`verdict_below`)."""
    early = _no_interval(est)
    if early or est is None:
        return early or (NOT_RUN, "no result")
    if est.low > threshold:
        return HELD, f"{_interval_text(est)} lies above {_fmt(threshold)}"
    if est.high <= threshold:
        return DID_NOT_HOLD, f"{_interval_text(est)} lies at or below {_fmt(threshold)}"
    return INCONCLUSIVE, f"{_interval_text(est)} straddles {_fmt(threshold)}"


def verdict_within(est: Estimate | None, lower: float, upper: float) -> tuple[str, str]:
    """Equivalence claim: the quantity lies in the closed band [lower, upper]
    (e.g. "test error is at chance ± 2 points").

    held if lower <= low and high <= upper; did not hold if the interval lies wholly outside the
    band (high < lower or low > upper); otherwise (it overlaps an edge) inconclusive."""
    if lower > upper:
        raise ConfigError(f"the band's lower edge {lower} is above its upper edge {upper}; swap them")
    early = _no_interval(est)
    if early or est is None:
        return early or (NOT_RUN, "no result")
    band = f"[{_fmt(lower)}, {_fmt(upper)}]"
    if lower <= est.low and est.high <= upper:
        return HELD, f"{_interval_text(est)} lies inside {band}"
    if est.high < lower or est.low > upper:
        return DID_NOT_HOLD, f"{_interval_text(est)} lies outside {band}"
    return INCONCLUSIVE, f"{_interval_text(est)} overlaps the edge of {band}"
