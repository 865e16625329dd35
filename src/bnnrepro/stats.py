"""Statistics for the published-claim checks: intervals over independent repeats, and verdicts.

The unit of replication is the seed / random-label draw / timing repeat / training run, never the
example: every function here takes one value per repeat (or, for the over-dispersion analysis, one
row per run) and returns an :class:`Estimate` (estimate, interval, number of repeats, method).
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
from dataclasses import dataclass

import numpy as np
import pandas as pd
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

# Power analysis of the over-dispersion test: one-sided level and power of the minimum detectable effect.
OVERDISPERSION_ALPHA = 0.05
OVERDISPERSION_POWER = 0.80


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

    def __post_init__(self):
        if self.has_interval and not math.isnan(self.estimate):
            slack = 1e-9 * max(1.0, abs(self.estimate))
            if not self.low - slack <= self.estimate <= self.high + slack:
                raise ValueError(f"estimate {self.estimate!r} lies outside its interval [{self.low!r}, {self.high!r}]")

    @property
    def has_interval(self) -> bool:
        return not (math.isnan(self.low) or math.isnan(self.high))


# --- input checks ---------------------------------------------------------------------------------


def _check_level(level: float) -> float:
    if not 0.0 < float(level) < 1.0:
        raise ConfigError(f"confidence level must lie strictly between 0 and 1 (got {level}); use e.g. 0.95")
    return float(level)


def _values(values, name: str = "values") -> np.ndarray:
    """A 1-D float array of finite values with at least one element, or a DataError."""
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise DataError(f"{name}: no repeats given; a claim without results is 'not run' (pass None to the verdict)")
    if not np.all(np.isfinite(array)):
        raise DataError(f"{name}: contains NaN or infinite values; drop the failed repeats or fix their results")
    return array


def _positive(values, name: str) -> np.ndarray:
    array = _values(values, name)
    if np.any(array <= 0):
        raise DataError(f"{name}: ratio intervals need positive values (timings, memory); got {array.min():g}")
    return array


def _counted(n: int, unit: str) -> str:
    """'3 seeds', '1 seed' (drops a plural 's' for one)."""
    return f"{n} {unit[:-1] if n == 1 and unit.endswith('s') else unit}"


def _t_interval(center: float, se: float, df: float, level: float) -> tuple[float, float]:
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


def mean_interval(values, level: float = 0.95, unit: str = "repeats") -> Estimate:
    """Student-t interval of the mean over n independent repeats x_1..x_n.

    x̄ = Σ x_j / n,  s² = Σ (x_j − x̄)² / (n − 1),  interval x̄ ± t_{n−1, (1+level)/2} · s / √n.
    Exact for normal repeats, asymptotically right otherwise. With n = 1 the interval is NaN."""
    level = _check_level(level)
    x = _values(values)
    n = x.size
    mean = float(x.mean())
    if n < 2:
        return Estimate(mean, math.nan, math.nan, n, f"no interval: only {_counted(n, unit)}", level)
    se = float(x.std(ddof=1)) / math.sqrt(n)
    low, high = _t_interval(mean, se, n - 1, level)
    return Estimate(mean, low, high, n, f"t-interval over {_counted(n, unit)}", level, se=se, df=n - 1)


def paired_difference_interval(a, b, level: float = 0.95, unit: str = "repeats") -> Estimate:
    """Mean of the paired differences d_j = a_j − b_j (a_j and b_j share repeat j, e.g. a seed),
    with the Student-t interval of :func:`mean_interval` applied to d."""
    a, b = _values(a, "a"), _values(b, "b")
    if a.size != b.size:
        raise DataError(f"paired values need one a and one b per repeat (got {a.size} and {b.size})")
    est = mean_interval(a - b, level, unit)
    return dataclasses.replace(est, method=f"paired difference, {est.method}")


def ratio_interval(
    numerators, denominators, paired: bool = True, level: float = 0.95, unit: str = "repeats"
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
    level = _check_level(level)
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
    low, high = _t_interval(diff, se, df, level)
    method = f"ratio of geometric means, Welch t-interval on log scale over {a.size} and {b.size} {unit}"
    return Estimate(math.exp(diff), math.exp(low), math.exp(high), n, method, level, se=se, df=df, log_scale=True)


def proportion_interval(successes: int, trials: int, level: float = 0.95, unit: str = "trials") -> Estimate:
    """k successes out of n independent trials: estimate k/n, exact Clopper–Pearson interval
    [B⁻¹(α/2; k, n−k+1), B⁻¹(1−α/2; k+1, n−k)] (Beta quantiles; 0 and 1 at the ends), α = 1 − level."""
    level = _check_level(level)
    k, n = int(successes), int(trials)
    if n < 1 or not 0 <= k <= n:
        raise DataError(f"a proportion needs 0 <= successes <= trials and trials >= 1 (got {k} of {n})")
    ci = sps.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return Estimate(
        k / n, float(ci.low), float(ci.high), n, f"Clopper-Pearson exact interval, {_counted(n, unit)}", level
    )


def slope_interval(x, y, groups, level: float = 0.95, unit: str = "groups") -> Estimate:
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


def intercept_interval(x, y, at: float = 0.0, level: float = 0.95, unit: str = "repeats") -> Estimate:
    """The least-squares line y = a + b (x − at) over n independent repeats (x_j, y_j), and the
    interval of its value a at x = ``at``: the part of y that the covariate x does not explain.

    b = Σ (x − x̄)(y − ȳ) / Sxx, a = ȳ + b (at − x̄), residual variance s² = Σ r² / (n − 2),
    se(a) = s √(1/n + (at − x̄)² / Sxx), interval a ± t_{n−2} se(a). Needs n >= 3 and two different
    x values; with n = 2 there is no interval."""
    level = _check_level(level)
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
    low, high = _t_interval(value, se, n - 2, level)
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
    level = _check_level(level)
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

    def __post_init__(self):
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

    def __post_init__(self):
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


def _no_interval(est: Estimate | None) -> tuple[Verdict, str] | None:
    """The verdict when there is nothing to compare: not run, or no interval."""
    if est is None:
        return NOT_RUN, "no result"
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
    early = _no_interval(est)
    if early:
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


def holm_rejections(p_values, alpha: float) -> np.ndarray:
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


def judge_scopes(estimates: dict, threshold: Threshold) -> tuple[dict, Judgement]:
    """One claim checked in several scopes (k values, architectures, datasets): per-scope judgements
    and the claim's overall judgement.

    Held in a scope: its interval lies on the claimed side (as :func:`judge`). Did not hold in a
    scope: Holm's correction over the m scopes that have intervals rejects the claim there, at the
    family-wise level (1 − level) / 2 one-sided (0.025 for 95% intervals, the level at which one
    interval lying wholly on the wrong side says "did not hold"). A scope whose interval lies
    wholly on the wrong side but that Holm does not reject is inconclusive. Overall: held if held
    in every scope, did not hold if rejected in any, not run if no scope ran, else inconclusive."""
    plain = {scope: judge(est, threshold) for scope, est in estimates.items()}
    tested = [s for s, j in plain.items() if j.estimate is not None and j.estimate.has_interval]
    m = len(tested)
    out = dict(plain)
    if m:
        level = plain[tested[0]].estimate.level
        alpha = (1 - level) / 2
        p = [p_value_against(plain[s].estimate, threshold) for s in tested]
        rejected = holm_rejections(p, alpha)
        for scope, p_s, rej in zip(tested, p, rejected):
            j = plain[scope]
            holm = f"Holm over {m} scopes: p = {p_s:.2g}"
            if rej:
                out[scope] = dataclasses.replace(j, verdict=DID_NOT_HOLD, reason=f"{j.reason}; {holm}, rejected")
            elif j.verdict is DID_NOT_HOLD:
                out[scope] = dataclasses.replace(
                    j, verdict=INCONCLUSIVE, reason=f"{j.reason}, but not after {holm} (> the corrected level)"
                )
    verdicts = [j.verdict for j in out.values()]
    failed = [str(s) for s, j in out.items() if j.verdict is DID_NOT_HOLD]
    if not verdicts or all(v is NOT_RUN for v in verdicts):
        overall = Judgement(None, threshold, NOT_RUN, "no scope ran")
    elif all(v is HELD for v in verdicts):
        overall = Judgement(None, threshold, HELD, f"held in all {len(verdicts)} scopes")
    elif failed:
        overall = Judgement(
            None, threshold, DID_NOT_HOLD, f"did not hold in {', '.join(failed)} after Holm's correction over {m}"
        )
    else:
        held = sum(v is HELD for v in verdicts)
        overall = Judgement(None, threshold, INCONCLUSIVE, f"held in {held} of {len(verdicts)} scopes, none rejected")
    return out, overall


# --- over-dispersion of per-example correctness ("easy examples") -----------------------------------


@dataclass(frozen=True, eq=False)
class OverdispersionResult:
    """The outcome of :func:`overdispersion`; see there for the maths.

    ``histogram`` has one row per count value k = 0..R with columns ``observed`` (examples that k
    runs got right), ``null_mean`` / ``null_low`` / ``null_high`` (mean and 2.5 / 97.5 % quantiles
    of that number over the permutations), ``null_exact`` (its exact expectation under the null:
    N × Poisson-binomial(m_1..m_R) pmf) and ``binomial`` (N × Binomial(R, p̄) pmf)."""

    runs: int
    examples: int
    permutations: int
    counts: np.ndarray  # per example: runs that got it right
    run_accuracy: np.ndarray  # per run: fraction of the examples right, m_r
    mean_accuracy: float  # p̄
    count_variance: float  # observed variance of counts (divisor N - 1)
    null_count_variance: float  # its exact expectation under the permutation null
    binomial_count_variance: float  # R p̄ (1 - p̄), the plain binomial's
    sigma2: Estimate  # between-example variance of p, jackknife t-interval over runs
    sigma2_se: float  # its delete-one-run jackknife standard error
    p_value: float  # permutation test of "every example equally hard"
    null_sigma2_sd: float  # SD of sigma2 over the permutations
    min_detectable_sigma2: float  # at 80% power, one-sided alpha 0.05
    at_least: float  # "easy" = right in >= at_least of the runs
    easy_examples: int  # observed number of easy examples
    easy_null_mean: float  # over the permutations
    easy_null_low: float  # 2.5% quantile over the permutations
    easy_null_high: float  # 97.5% quantile over the permutations
    easy_null_exact: float  # exact expectation under the null (Poisson-binomial)
    easy_binomial: float  # expectation under Binomial(R, p̄)
    histogram: pd.DataFrame

    @property
    def dispersion_ratio(self) -> float:
        """Observed count variance over its null expectation (1 when all examples are equally hard)."""
        return self.count_variance / self.null_count_variance if self.null_count_variance > 0 else math.nan

    @property
    def sd_of_p(self) -> float:
        """√max(σ̂², 0): the between-example SD of the probability of being right."""
        return math.sqrt(max(self.sigma2.estimate, 0.0))

    def summary(self) -> dict:
        """The scalar results, JSON-ready."""
        return {
            "runs": self.runs,
            "examples": self.examples,
            "permutations": self.permutations,
            "mean_accuracy": self.mean_accuracy,
            "count_variance": self.count_variance,
            "null_count_variance": self.null_count_variance,
            "binomial_count_variance": self.binomial_count_variance,
            "dispersion_ratio": self.dispersion_ratio,
            "sigma2": self.sigma2.estimate,
            "sigma2_low": self.sigma2.low,
            "sigma2_high": self.sigma2.high,
            "sigma2_level": self.sigma2.level,
            "sigma2_se": self.sigma2_se,
            "sigma2_method": self.sigma2.method,
            "sd_of_p": self.sd_of_p,
            "p_value": self.p_value,
            "null_sigma2_sd": self.null_sigma2_sd,
            "min_detectable_sigma2": self.min_detectable_sigma2,
            "min_detectable_sd_of_p": math.sqrt(self.min_detectable_sigma2),
            "at_least": self.at_least,
            "easy_examples": self.easy_examples,
            "easy_null_mean": self.easy_null_mean,
            "easy_null_low": self.easy_null_low,
            "easy_null_high": self.easy_null_high,
            "easy_null_exact": self.easy_null_exact,
            "easy_binomial": self.easy_binomial,
        }


def _correct_matrix(correct) -> np.ndarray:
    matrix = np.asarray(correct)
    if matrix.ndim != 2:
        raise DataError(f"correct must be a 2-D 0/1 matrix [run, example] (got {matrix.ndim} dimensions)")
    runs, examples = matrix.shape
    if runs < 2 or examples < 2:
        raise DataError(f"over-dispersion needs at least 2 runs and 2 examples (got {runs} x {examples})")
    if matrix.dtype != bool and not np.isin(matrix, (0, 1)).all():
        raise DataError("correct must contain only 0/1 (or True/False): one entry per run and probe example")
    return matrix.astype(np.int64)


def _poisson_binomial_pmf(probabilities: np.ndarray) -> np.ndarray:
    """P(Σ_r B_r = k), k = 0..R, for independent B_r ~ Bernoulli(p_r) (repeated convolution)."""
    pmf = np.ones(1)
    for p in probabilities:
        pmf = np.convolve(pmf, [1.0 - p, p])
    return pmf


def _permutation_counts(ones_per_run: np.ndarray, examples: int, batch: int, rng: np.random.Generator):
    """Per-example counts for ``batch`` independent draws of the null, shape (batch, examples).

    In each draw, run r's correct set is a uniformly random subset of size k_r of the examples,
    independently across runs: the same as permuting each row of the matrix. It is drawn by
    selection sampling (Knuth's Algorithm S), vectorised over all runs and draws: walking the
    examples in order, example i is taken with probability (ones still to place) / (examples left).
    This costs one uniform per run, draw and example and O(batch × runs) memory, far less than
    permuting a (batch, runs, examples) array."""
    runs = ones_per_run.size
    still_to_place = np.tile(ones_per_run.astype(float), batch)
    counts = np.empty((batch, examples), dtype=np.int64)
    for i in range(examples):
        taken = rng.random(batch * runs) < still_to_place / (examples - i)
        still_to_place -= taken
        counts[:, i] = taken.reshape(batch, runs).sum(axis=1)
    return counts


def _min_detectable_sigma2(critical: float, null_sd: float, mean_accuracy: float, runs: int, examples: int) -> float:
    """The σ² that the one-sided permutation test at level α detects with probability ``power``.

    Normal approximation: the test rejects when σ̂² exceeds the null's (1 − α) quantile q; under an
    alternative σ̂² ≈ N(σ², s₀² + c σ²), where s₀ is the null SD and c σ² = 4 ζ₁ / R is the U-statistic's
    first-order term, ζ₁ = Var_r(Σ_i X[r, i] (p_i − p̄) / (N − 1)) ≈ p̄ (1 − p̄) σ² / (N − 1), so
    c = 4 p̄ (1 − p̄) / (R (N − 1)). Solving σ² = q + z_power √(s₀² + c σ²) for u = σ² − q ≥ 0:
    u = (z² c + √(z⁴ c² + 4 z² (s₀² + c q))) / 2 with z = z_power."""
    if math.isnan(null_sd):
        return math.nan
    z = float(sps.norm.ppf(OVERDISPERSION_POWER))
    c = 4 * mean_accuracy * (1 - mean_accuracy) / (runs * (examples - 1))
    u = (z * z * c + math.sqrt(z**4 * c * c + 4 * z * z * max(null_sd**2 + c * critical, 0.0))) / 2
    return critical + u


def overdispersion(
    correct,
    permutations: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    at_least: float = 0.5,
    memory_bytes: int = 100_000_000,
) -> OverdispersionResult:
    """Are some probe examples easier than others, beyond what differences between runs explain?

    Data: X[r, i] ∈ {0, 1}, whether training run r (one epoch from its own random initialisation)
    gets probe example i right; R runs, N examples. m_r = Σ_i X[r, i] / N is run r's accuracy,
    p̄ = mean m_r, c_i = Σ_r X[r, i] the number of runs that get example i right.

    Null hypothesis ("every example equally hard"): each run's correct set is a uniformly random
    subset of its own size k_r = N m_r, independently across runs. The null keeps every run's own
    accuracy, so runs that differ in accuracy do not count as evidence against it (the plain
    Binomial(R, p̄) model, which assumes equal run accuracies, is reported for comparison only).

    Estimator of the between-example variance of the probability of being right: centre each row,
    Y[r, i] = X[r, i] − m_r, let S = Y Yᵀ / (N − 1) (S_rs: the between-example covariance of the
    correctness of runs r and s), and average S over ordered pairs of distinct runs:

        σ̂² = (Σ_{r,s} S_rs − tr S) / (R (R − 1))
           = [ Var̂(c) − N/(N−1) · Σ_r m_r (1 − m_r) ] / (R (R − 1)),

    with Var̂(c) the sample variance (divisor N − 1) of the counts, because Σ_{r,s} S_rs is the
    sample variance of the column sums Σ_r Y[r, i] = c_i − c̄ and S_rr = N m_r (1 − m_r) / (N − 1).

    * Under the null E[σ̂²] = 0 exactly: within a run every position is equally likely to hold each
      of its k_r ones, so E[Y[r, i]] = k_r/N − m_r = 0, and rows are independent, so for r ≠ s
      E[Y[r, i] Y[s, i]] = E[Y[r, i]] E[Y[s, i]] = 0 for every i; hence E[S_rs] = 0.
    * If runs are independent and run r gets example i right with probability p_ri, then
      E[S_rs] = Σ_i (p_ri − p̄_r)(p_si − p̄_s) / (N − 1); when all runs share the profile p_i this is
      the sample variance of p_1..p_N: σ̂² is unbiased for the between-example variance of p over
      these probe examples, whatever the dependence between examples within a run.

    Interval: delete-one-run jackknife (the run is the unit of replication; σ̂² is a U-statistic
    over pairs of runs, for which the jackknife is consistent):
    SE² = (R−1)/R · Σ_r (σ̂²_(−r) − mean_r σ̂²_(−r))², interval σ̂² ± t_{R−1} SE (needs R ≥ 3). The
    interval is conditional on the probe examples (its target is the variance of p over them).
    Where σ̂² has a real first-order term (a real spread of p) the coverage is close to nominal; at
    σ² = 0 the U-statistic is degenerate and the jackknife variance is about twice the true one,
    so there the interval is conservative (about 99 % coverage of 0). The unbiased U-statistic
    variance estimator is not used: it is often negative and under-covers badly for R < 16. The
    permutation test below, not the interval, is the test of the null.

    Test: the permutation distribution of σ̂² (each row permuted independently, ``permutations``
    times, seeded); Σ_i c_i is fixed under permutation, so σ̂² is an increasing function of Σ_i c_i²
    and the comparison is exact in integers. p = (1 + #{null ≥ observed}) / (B + 1).

    Power: ``min_detectable_sigma2`` is the σ² that the level-α permutation test (α = 0.05) detects
    with power 0.8: the null's (1 − α) quantile q plus z_0.8 times σ̂²'s SD under that alternative,
    normal approximation (see :func:`_min_detectable_sigma2`; with the null SD s₀ alone it would be
    the textbook (z_{1−α} + z_0.8) s₀, which overstates the power because σ̂² varies more under an
    alternative).

    Easy examples: those with c_i ≥ ⌈at_least · R⌉; their number is compared with its permutation
    distribution (mean, 2.5 / 97.5 % quantiles), its exact null expectation N · P(PB ≥ ⌈at_least R⌉)
    (the counts' marginal under the null is Poisson-binomial(m_1..m_R)) and N · P(Bin(R, p̄) ≥ ...).

    The permutations are processed in batches that keep the working memory under ``memory_bytes``."""
    level = _check_level(level)
    if int(permutations) < 1:
        raise ConfigError(f"permutations must be at least 1 (got {permutations}); 2000 gives p-values to ~0.001")
    if not 0.0 < at_least <= 1.0:
        raise ConfigError(f"at_least must be a fraction of runs in (0, 1] (got {at_least})")
    permutations = int(permutations)
    x = _correct_matrix(correct)
    runs, examples = x.shape
    ones_per_run = x.sum(axis=1)
    run_accuracy = ones_per_run / examples
    counts = x.sum(axis=0)
    mean_accuracy = float(run_accuracy.mean())

    # σ̂² and its delete-one-run jackknife, all from Y = row-centred X in O(R N).
    y = x - run_accuracy[:, None]
    column_sums = y.sum(axis=0)  # c_i − c̄
    row_norms = np.einsum("ri,ri->r", y, y)  # (N − 1) S_rr
    off_diagonal_sum = (column_sums @ column_sums - row_norms.sum()) / (examples - 1)  # Σ_{r≠s} S_rs
    sigma2 = off_diagonal_sum / (runs * (runs - 1))
    # Dropping run r removes its row and column of S: Σ_{s≠r} S_rs twice.
    with_others = (y @ column_sums - row_norms) / (examples - 1)
    if runs >= 3:
        leave_one_out = (off_diagonal_sum - 2 * with_others) / ((runs - 1) * (runs - 2))
        sigma2_se = float(math.sqrt((runs - 1) / runs * np.sum((leave_one_out - leave_one_out.mean()) ** 2)))
        low, high = _t_interval(float(sigma2), sigma2_se, runs - 1, level)
        method = f"pairwise-covariance estimator, delete-one-run jackknife t-interval over {runs} runs"
    else:
        sigma2_se, low, high = math.nan, math.nan, math.nan
        method = "pairwise-covariance estimator; no interval: the jackknife needs at least 3 runs"
    # Resampling runs WITH replacement is wrong here: a run drawn twice pairs with its own copy, and
    # that pair contributes S_rr = N m_r (1 − m_r)/(N − 1) ≈ 0.25 as if it were a between-run
    # covariance, biasing σ̂² upwards by far more than the effects of interest (~0.001-0.02).
    sigma2_estimate = Estimate(float(sigma2), low, high, runs, method, level)

    # σ̂² = (Σ c² − (Σ c)²/N)/((N−1) R (R−1)) − constant; Σ c is the same in every permutation.
    total = int(counts.sum())
    null_count_variance = examples / (examples - 1) * float(np.sum(run_accuracy * (1 - run_accuracy)))

    def sigma2_of(sum_of_squares):
        count_variance = (sum_of_squares - total * total / examples) / (examples - 1)
        return (count_variance - null_count_variance) / (runs * (runs - 1))

    easy_from = math.ceil(at_least * runs - 1e-9)
    observed_sum_of_squares = int(counts @ counts)
    rng = np.random.default_rng(seed)
    # per draw: the int64 counts row and its histogram-offset copy, plus uniforms, flags and state per run
    bytes_per_draw = 24 * examples + 32 * runs
    batch = max(1, min(permutations, memory_bytes // bytes_per_draw))
    null_sum_of_squares = np.empty(permutations, dtype=np.int64)
    null_easy = np.empty(permutations, dtype=np.int64)
    null_histograms = np.empty((permutations, runs + 1), dtype=np.int64)
    for start in range(0, permutations, batch):
        size = min(batch, permutations - start)
        null_counts = _permutation_counts(ones_per_run, examples, size, rng)
        done = slice(start, start + size)
        null_sum_of_squares[done] = np.einsum("bi,bi->b", null_counts, null_counts)
        null_easy[done] = (null_counts >= easy_from).sum(axis=1)
        offsets = (runs + 1) * np.arange(size)[:, None]
        null_histograms[done] = np.bincount((null_counts + offsets).ravel(), minlength=size * (runs + 1)).reshape(
            size, runs + 1
        )
    p_value = (1 + int(np.sum(null_sum_of_squares >= observed_sum_of_squares))) / (permutations + 1)
    null_sigma2 = sigma2_of(null_sum_of_squares.astype(float))
    null_sigma2_sd = float(np.std(null_sigma2, ddof=1)) if permutations > 1 else math.nan
    min_detectable = _min_detectable_sigma2(
        float(np.quantile(null_sigma2, 1 - OVERDISPERSION_ALPHA)), null_sigma2_sd, mean_accuracy, runs, examples
    )

    k = np.arange(runs + 1)
    null_exact = examples * _poisson_binomial_pmf(run_accuracy)
    binomial = examples * sps.binom.pmf(k, runs, mean_accuracy)
    band = np.quantile(null_histograms, [0.025, 0.975], axis=0)
    histogram = pd.DataFrame(
        {
            "k": k,
            "observed": np.bincount(counts, minlength=runs + 1),
            "null_mean": null_histograms.mean(axis=0),
            "null_low": band[0],
            "null_high": band[1],
            "null_exact": null_exact,
            "binomial": binomial,
        }
    )
    easy_band = np.quantile(null_easy, [0.025, 0.975])
    return OverdispersionResult(
        runs=runs,
        examples=examples,
        permutations=permutations,
        counts=counts,
        run_accuracy=run_accuracy,
        mean_accuracy=mean_accuracy,
        count_variance=float(counts.var(ddof=1)),
        null_count_variance=null_count_variance,
        binomial_count_variance=runs * mean_accuracy * (1 - mean_accuracy),
        sigma2=sigma2_estimate,
        sigma2_se=sigma2_se,
        p_value=p_value,
        null_sigma2_sd=null_sigma2_sd,
        min_detectable_sigma2=min_detectable,
        at_least=at_least,
        easy_examples=int((counts >= easy_from).sum()),
        easy_null_mean=float(null_easy.mean()),
        easy_null_low=float(easy_band[0]),
        easy_null_high=float(easy_band[1]),
        easy_null_exact=float(null_exact[easy_from:].sum()),
        easy_binomial=float(examples * sps.binom.sf(easy_from - 1, runs, mean_accuracy)),
        histogram=histogram,
    )
