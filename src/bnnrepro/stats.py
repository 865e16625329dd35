"""Statistics for the published-claim checks: intervals over independent repeats, and verdicts.

The unit of replication is the seed / random-label draw / timing repeat / training run, never the
example: every function here takes one value per repeat and returns an :class:`Estimate`
(estimate, interval, number of repeats, method).
A claim compares an Estimate with a :class:`Threshold` (numbers fixed before the run, its text and
where it comes from) in :func:`judge` and gets a :class:`Judgement` with one :class:`Verdict`:

- ``held``: the whole interval lies on the claimed side of the threshold;
- ``did not hold``: the whole interval lies on the other side;
- ``inconclusive``: the interval straddles the threshold, or there is no interval (fewer than two
  repeats);
- ``not run``: there is no result at all (pass ``None`` as the estimate).

A claim judged in several scopes (k values, architectures) calls "did not hold" only where Holm's
step-down correction over its scopes rejects the claim (:func:`judge_scopes`).

This module depends on numpy, scipy and pandas only.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats as sps

from bnnrepro.errors import ConfigError, DataError


class Verdict(enum.StrEnum):
    """The outcome of a claim check. A ``str`` subclass that compares and hashes as its text
    (``Verdict.HELD == "held"``, usable as a dict key either way), so tables and templates read it
    as text."""

    HELD = "held"
    DID_NOT_HOLD = "did not hold"
    INCONCLUSIVE = "inconclusive"
    NOT_RUN = "not run"

    __hash__ = str.__hash__

    def __str__(self) -> str:
        return self.value


HELD, DID_NOT_HOLD, INCONCLUSIVE, NOT_RUN = Verdict.HELD, Verdict.DID_NOT_HOLD, Verdict.INCONCLUSIVE, Verdict.NOT_RUN
VERDICTS = tuple(Verdict)


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its two-sided confidence interval [low, high] at ``level``.

    ``repeats`` is the number of independent repeats behind it (seeds, label draws, runs, groups);
    ``method`` says in words how the interval was obtained. ``low``/``high`` are NaN when there
    are too few repeats for an interval, and may be infinite (Fieller's unbounded set).

    ``se`` and ``df`` are the standard error and degrees of freedom of a t-interval (on the log
    scale when ``log_scale``: ratios), NaN for other intervals; :func:`p_value_against` uses them.
    The estimate always lies inside its interval (checked on construction)."""

    estimate: float
    low: float
    high: float
    repeats: int
    method: str
    level: float = 0.95
    se: float = math.nan
    df: float = math.nan
    log_scale: bool = False

    def __post_init__(self) -> None:
        if self.has_interval and not math.isnan(self.estimate):
            slack = 1e-9 * max(1.0, abs(self.estimate))
            if not self.low - slack <= self.estimate <= self.high + slack:
                raise ValueError(f"estimate {self.estimate!r} lies outside its interval [{self.low!r}, {self.high!r}]")

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
    return Estimate(mean, low, high, n, f"t-interval over {_counted(n, unit)}", level, se=se, df=n - 1)


def paired_difference_interval(a: ArrayLike, b: ArrayLike, level: float = 0.95, unit: str = "repeats") -> Estimate:
    """Mean of the paired differences d_j = a_j − b_j (a_j and b_j share repeat j, e.g. a seed),
    with the Student-t interval of :func:`mean_interval` applied to d."""
    a, b = _values(a, "a"), _values(b, "b")
    if a.size != b.size:
        raise DataError(f"paired values need one a and one b per repeat (got {a.size} and {b.size})")
    est = mean_interval(a - b, level, unit)
    return dataclasses.replace(est, method=f"paired difference, {est.method}")


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
        return Estimate(
            math.exp(est.estimate),
            math.exp(est.low),
            math.exp(est.high),
            est.repeats,
            method,
            level,
            se=est.se,
            df=est.df,
            log_scale=True,
        )
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
    return Estimate(math.exp(diff), math.exp(low), math.exp(high), n, method, level, se=se, df=df, log_scale=True)


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
    return dataclasses.replace(est, method=f"mean least-squares slope, {est.method}")


def intercept_interval(
    x: ArrayLike, y: ArrayLike, at: float = 0.0, level: float = 0.95, unit: str = "repeats"
) -> Estimate:
    """The least-squares line y = a + b (x − at) over n independent repeats (x_j, y_j), and the
    interval of its value a at x = ``at``: the part of y that the covariate x does not explain.

    b = Σ (x − x̄)(y − ȳ) / Sxx, a = ȳ + b (at − x̄), residual variance s² = Σ r² / (n − 2),
    se(a) = s √(1/n + (at − x̄)² / Sxx), interval a ± t_{n−2} se(a). Needs n >= 3 and two different
    x values; with n = 2 there is no interval."""
    level = check_level(level)
    x, y = _values(x, "x"), _values(y, "y")
    if x.size != y.size:
        raise DataError(f"x and y need one value per repeat each (got {x.size} and {y.size})")
    n = x.size
    dx = x - x.mean()
    sxx = float(dx @ dx)
    if sxx == 0.0:
        raise DataError("the covariate x has one value only: a line needs at least two different x values")
    slope = float(dx @ (y - y.mean())) / sxx
    value = float(y.mean() + slope * (at - x.mean()))
    if n < 3:
        return Estimate(value, math.nan, math.nan, n, f"line through {_counted(n, unit)}; no interval", level)
    residuals = y - y.mean() - slope * dx
    s2 = float(residuals @ residuals) / (n - 2)
    se = math.sqrt(s2 * (1 / n + (at - x.mean()) ** 2 / sxx))
    low, high = t_interval(value, se, n - 2, level)
    method = f"least-squares line at x = {at:g}, t-interval (df {n - 2}) over {_counted(n, unit)}"
    return Estimate(value, low, high, n, method, level, se=se, df=n - 2)


def last_epochs_slope(curves: pd.DataFrame, x: str, y: str, group: str, last: int, level: float = 0.95) -> Estimate:
    """Is a learning curve still moving at its end? The mean over groups (seeds) of the least-squares
    slope of ``y`` on ``x`` over each group's ``last`` largest x values (:func:`slope_interval`):
    a plateau is a slope whose interval lies within a stated band around 0."""
    if int(last) < 2:
        raise ConfigError(f"a slope needs at least the last 2 epochs (got {last})")
    tail = curves.sort_values(x).groupby(group, sort=True).tail(int(last))
    return slope_interval(tail[x], tail[y], tail[group], level, unit="seeds")


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


# --- thresholds, judgements and verdicts -----------------------------------------------------------

#: How a quantity of each unit is written, in thresholds and in the report alike (one format per unit):
#: ``pct`` a fraction as a percentage, ``pp`` a difference of fractions in percentage points,
#: ``ratio`` a ratio with an x (a speedup > 1 is always "faster"), ``num`` a plain number.
# The scope keys of judge_scopes (k values, architecture names): any hashable, kept in the output.
ScopeT = TypeVar("ScopeT", bound=Hashable)

UNITS = ("pct", "pp", "ratio", "num")


def format_quantity(value: float, unit: str = "num", digits: int | None = None) -> str:
    """``value`` written in ``unit`` (:data:`UNITS`); ``digits`` fixes the decimals (default: as
    few as show the value to 4 significant digits, e.g. 0.05 -> "5%", 0.571 -> "0.571x")."""
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; use one of {UNITS}")
    if math.isinf(value) or math.isnan(value):
        return "∞" if value > 0 else "−∞" if value < 0 else "n/a"
    shown = 100 * value if unit in ("pct", "pp") else value
    text = f"{shown:.{digits}f}" if digits is not None else f"{shown:.4g}"
    if unit == "pct":
        return f"{text}%"
    if unit == "pp":
        return f"{'+' if shown > 0 and not text.startswith('-') else ''}{text} pp"
    if unit == "ratio":
        return f"{text}x"
    return text


def display_decimals(estimate: float, low: float, high: float, unit: str = "num", least: int = 1) -> int:
    """The fewest decimals (at least ``least``, at most 6) at which the estimate and both ends of its
    interval, rounded, still show the estimate inside its interval and the two ends apart (so that
    1.00x [0.993, 0.998] or 0.04x [0.0384, 0.0384] cannot be displayed)."""
    scale = 100.0 if unit in ("pct", "pp") else 1.0
    for digits in range(least, 7):
        shown = round(scale * estimate, digits)
        lo = round(scale * low, digits) if math.isfinite(low) else low
        hi = round(scale * high, digits) if math.isfinite(high) else high
        if lo <= shown <= hi and (lo != hi or low == high):
            return digits
    return 6


class Comparison(enum.StrEnum):
    """What a claim says about its quantity: below a number, above it, or inside a band."""

    BELOW = "below"
    ABOVE = "above"
    WITHIN = "within"

    __hash__ = str.__hash__

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Threshold:
    """The claimed region of a quantity, fixed before the run: below ``high``, above ``low``, or
    inside [``low``, ``high``] (the other end infinite for one-sided claims). ``unit`` says how it is
    written (:data:`UNITS`); ``source`` where the number comes from (the source document's place,
    or the config rule and its reason)."""

    comparison: Comparison
    low: float
    high: float
    unit: str = "num"
    source: str = ""

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unknown unit {self.unit!r}; use one of {UNITS}")
        if math.isnan(self.low) or math.isnan(self.high) or self.low > self.high:
            raise ConfigError(
                f"a threshold's band [{self.low}, {self.high}] is empty or undefined; give lower <= upper"
            )

    @property
    def value(self) -> float:
        """The number a one-sided claim compares with (the band's lower edge for a band)."""
        return self.high if self.comparison is Comparison.BELOW else self.low

    @property
    def text(self) -> str:
        """As a reader sees it: "< 5%", "> 1x", "within [85%, 95%]"."""
        if self.comparison is Comparison.BELOW:
            return f"< {format_quantity(self.high, self.unit)}"
        if self.comparison is Comparison.ABOVE:
            return f"> {format_quantity(self.low, self.unit)}"
        if self.low == self.high:
            return f"= {format_quantity(self.low, self.unit).lstrip('+')}"
        return f"within [{format_quantity(self.low, self.unit)}, {format_quantity(self.high, self.unit)}]"


def below(value: float, unit: str = "num", source: str = "") -> Threshold:
    """Claim: the quantity is strictly below ``value``."""
    return Threshold(Comparison.BELOW, -math.inf, float(value), unit, source)


def above(value: float, unit: str = "num", source: str = "") -> Threshold:
    """Claim: the quantity is strictly above ``value``."""
    return Threshold(Comparison.ABOVE, float(value), math.inf, unit, source)


def within(lower: float, upper: float, unit: str = "num", source: str = "") -> Threshold:
    """Claim: the quantity lies in the closed band [lower, upper] (an equivalence claim)."""
    if lower > upper:
        raise ConfigError(f"the band's lower edge {lower} is above its upper edge {upper}; swap them")
    return Threshold(Comparison.WITHIN, float(lower), float(upper), unit, source)


@dataclass(frozen=True)
class Judgement:
    """One claim checked in one scope: the estimate (None: not run), the threshold it was compared
    with, the verdict and its reason in words. The report and claims.csv read these fields."""

    estimate: Estimate | None
    threshold: Threshold
    verdict: Verdict
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", Verdict(self.verdict))

    @property
    def repeats(self) -> int:
        return self.estimate.repeats if self.estimate is not None else 0


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _interval_text(est: Estimate, unit: str = "num") -> str:
    digits = display_decimals(est.estimate, est.low, est.high, unit)
    return (
        f"{100 * est.level:g}% interval [{format_quantity(est.low, unit, digits)}, "
        f"{format_quantity(est.high, unit, digits)}]"
    )


def _no_interval(est: Estimate) -> tuple[Verdict, str] | None:
    """The verdict when there is no interval to compare (None: there is one)."""
    if not est.has_interval:
        if est.repeats < 2:
            return INCONCLUSIVE, f"only {_counted(est.repeats, 'repeats')}: too few for an interval"
        return INCONCLUSIVE, "the interval is undefined"
    return None


def judge(est: Estimate | None, threshold: Threshold) -> Judgement:
    """Compare an interval with a threshold fixed before the run.

    below t: held if high < t; did not hold if low >= t; otherwise inconclusive (an interval whose
    upper end touches t does not establish the strict claim, unless it is the single point [t, t]).
    above t: the mirror image. within [a, b]: held if a <= low and high <= b; did not hold if the
    interval lies wholly outside (high < a or low > b); otherwise (it overlaps an edge) inconclusive.
    No estimate: not run; no interval (fewer than two repeats): inconclusive."""
    if est is None:
        return Judgement(None, threshold, NOT_RUN, "no result")
    early = _no_interval(est)
    if early is not None:
        return Judgement(est, threshold, *early)
    unit, shown = threshold.unit, _interval_text(est, threshold.unit)
    if threshold.comparison is Comparison.BELOW:
        t = format_quantity(threshold.high, unit)
        if est.high < threshold.high:
            return Judgement(est, threshold, HELD, f"{shown} lies below {t}")
        if est.low >= threshold.high:
            return Judgement(est, threshold, DID_NOT_HOLD, f"{shown} lies at or above {t}")
        return Judgement(est, threshold, INCONCLUSIVE, f"{shown} straddles {t}")
    if threshold.comparison is Comparison.ABOVE:
        t = format_quantity(threshold.low, unit)
        if est.low > threshold.low:
            return Judgement(est, threshold, HELD, f"{shown} lies above {t}")
        if est.high <= threshold.low:
            return Judgement(est, threshold, DID_NOT_HOLD, f"{shown} lies at or below {t}")
        return Judgement(est, threshold, INCONCLUSIVE, f"{shown} straddles {t}")
    band = f"[{format_quantity(threshold.low, unit)}, {format_quantity(threshold.high, unit)}]"
    if threshold.low <= est.low and est.high <= threshold.high:
        return Judgement(est, threshold, HELD, f"{shown} lies inside {band}")
    if est.high < threshold.low or est.low > threshold.high:
        return Judgement(est, threshold, DID_NOT_HOLD, f"{shown} lies outside {band}")
    return Judgement(est, threshold, INCONCLUSIVE, f"{shown} overlaps the edge of {band}")


def not_run_judgement(threshold: Threshold, reason: str) -> Judgement:
    """A claim with no result in this config: verdict "not run" and why."""
    return Judgement(None, threshold, NOT_RUN, reason)


def decided(est: Estimate | None, threshold: Threshold, verdict: Verdict | str, reason: str) -> Judgement:
    """A judgement decided by a rule other than the interval's position (an exact check, a
    compound rule such as "inconclusive until the curve has flattened"); the reason says which."""
    return Judgement(est, threshold, Verdict(verdict), reason)


def verdict_below(est: Estimate | None, threshold: float) -> tuple[str, str]:
    """(verdict, reason) of :func:`judge` for "below ``threshold``" (kept for callers that do not
    yet build a :class:`Judgement`)."""
    j = judge(est, below(threshold))
    return j.verdict, j.reason


def verdict_above(est: Estimate | None, threshold: float) -> tuple[str, str]:
    """(verdict, reason) of :func:`judge` for "above ``threshold``"."""
    j = judge(est, above(threshold))
    return j.verdict, j.reason


def verdict_within(est: Estimate | None, lower: float, upper: float) -> tuple[str, str]:
    """(verdict, reason) of :func:`judge` for "within [lower, upper]"."""
    j = judge(est, within(lower, upper))
    return j.verdict, j.reason


# --- several scopes: Holm's step-down correction for "did not hold" --------------------------------


def p_value_against(est: Estimate, threshold: Threshold) -> float:
    """One-sided p-value of the evidence that the claim FAILS in this scope (the null: the quantity
    lies in the claimed region), from the estimate's t statistic.

    below t: p = P(T_df >= (θ̂ − t)/se); above t: p = P(T_df <= (θ̂ − t)/se); within [a, b]: the
    smaller of the two one-sided p-values (only one edge can be crossed). Ratios are compared on the
    log scale. Without a stored se (exact, Clopper-Pearson, Fieller intervals) se is taken from the
    interval's width, (high − low) / (2 z), normal reference; a point interval gives p = 0 or 1."""
    if not est.has_interval:
        return 1.0
    transform = math.log if est.log_scale else float
    se, df = est.se, est.df
    if math.isnan(se):
        if math.isinf(est.low) or math.isinf(est.high):
            return 1.0
        lo, hi = transform(est.low), transform(est.high)
        se, df = (hi - lo) / (2 * float(sps.norm.ppf(0.5 + est.level / 2))), math.inf
    center = transform(est.estimate)

    def upper_tail(edge: float) -> float:  # evidence that the quantity is above edge
        if se == 0:
            return 0.0 if center >= edge else 1.0
        z = (center - edge) / se
        return float(sps.norm.sf(z) if math.isinf(df) else sps.t.sf(z, df))

    def lower_tail(edge: float) -> float:  # evidence that the quantity is below edge
        if se == 0:
            return 0.0 if center <= edge else 1.0
        z = (center - edge) / se
        return float(sps.norm.cdf(z) if math.isinf(df) else sps.t.cdf(z, df))

    def edge(value: float) -> float:
        return transform(value) if math.isfinite(value) else value

    if threshold.comparison is Comparison.BELOW:
        return upper_tail(edge(threshold.high))
    if threshold.comparison is Comparison.ABOVE:
        return lower_tail(edge(threshold.low))
    return min(lower_tail(edge(threshold.low)), upper_tail(edge(threshold.high)))


def holm_rejections(p_values: ArrayLike, alpha: float) -> np.ndarray:
    """Holm's step-down procedure: sort p ascending, reject H_(i) while p_(i) <= alpha / (m − i + 1)
    (i = 1..m), stop at the first that is not. Controls the family-wise error rate at ``alpha`` under
    any dependence between the tests. Returns a boolean mask in the input order."""
    p = np.asarray(p_values, dtype=float)
    reject = np.zeros(p.size, dtype=bool)
    for rank, index in enumerate(np.argsort(p, kind="stable")):
        if p[index] <= alpha / (p.size - rank):
            reject[index] = True
        else:
            break
    return reject


def judge_scopes(
    estimates: Mapping[ScopeT, Estimate | None], threshold: Threshold
) -> tuple[dict[ScopeT, Judgement], Judgement]:
    """One claim checked in several scopes (k values, architectures, datasets): per-scope judgements
    and the claim's overall judgement.

    Held in a scope: its interval lies on the claimed side (as :func:`judge`). Did not hold in a
    scope: Holm's correction over the m scopes that have intervals rejects the claim there, at the
    family-wise level (1 − level) / 2 one-sided (0.025 for 95% intervals, the level at which one
    interval lying wholly on the wrong side says "did not hold"). A scope whose interval lies
    wholly on the wrong side but that Holm does not reject is inconclusive.

    Overall: held if held in every scope, did not hold if rejected in any, not run if no scope ran,
    else inconclusive. Its estimate is the deciding scope's: the rejected scope with the smallest
    p-value; else the undecided scope with the smallest; else (held) the scope with the largest
    (the weakest), and its reason starts with that scope's name."""
    plain = {scope: judge(est, threshold) for scope, est in estimates.items()}
    tested = {s: j.estimate for s, j in plain.items() if j.estimate is not None and j.estimate.has_interval}
    m = len(tested)
    out = dict(plain)
    p_values = dict.fromkeys(plain, 1.0)
    if m:
        level = next(iter(tested.values())).level
        alpha = (1 - level) / 2
        p = [p_value_against(est, threshold) for est in tested.values()]
        rejected = holm_rejections(p, alpha)
        for scope, p_s, rej in zip(tested, p, rejected):
            p_values[scope] = p_s
            j = plain[scope]
            holm = f"Holm over {m} scopes: p = {p_s:.2g}"
            if rej:
                out[scope] = dataclasses.replace(j, verdict=DID_NOT_HOLD, reason=f"{j.reason}; {holm}, rejected")
            elif j.verdict is DID_NOT_HOLD:
                out[scope] = dataclasses.replace(
                    j, verdict=INCONCLUSIVE, reason=f"{j.reason}, but not after {holm} (above the corrected level)"
                )
    verdicts = {s: j.verdict for s, j in out.items()}
    by_verdict = "; ".join(
        f"{v} at {', '.join(str(s) for s, w in verdicts.items() if w is v)}" for v in VERDICTS if v in verdicts.values()
    )
    if not verdicts or all(v is NOT_RUN for v in verdicts.values()):
        return out, Judgement(None, threshold, NOT_RUN, "no scope ran")
    if all(v is HELD for v in verdicts.values()):
        verdict, pool, pick = HELD, list(out), max
    elif DID_NOT_HOLD in verdicts.values():
        verdict, pool, pick = DID_NOT_HOLD, [s for s, v in verdicts.items() if v is DID_NOT_HOLD], min
    else:
        verdict = INCONCLUSIVE
        pool, pick = [s for s, v in verdicts.items() if v is not HELD and v is not NOT_RUN], min
    deciding = pick(pool, key=lambda s: p_values[s])
    reason = f"{deciding}: {out[deciding].reason}; over {len(out)} scopes (Holm's correction): {by_verdict}"
    return out, Judgement(out[deciding].estimate, threshold, verdict, reason)
