"""Over-dispersion of per-example correctness: are some probe examples easier than others, beyond
what differences between runs explain (Arpit et al. 2017, as Mehta et al. 2017, Fig 5 ask it)?

:func:`overdispersion` takes the 0/1 matrix X[run, example] of one condition and returns the
between-example variance of the probability of being right with its interval over runs (the run
is the unit of replication), the permutation test of "every example equally hard" that keeps each
run's own accuracy, the smallest variance that test detects, and the count of "easy" examples
against its null. The maths is in :func:`overdispersion`'s docstring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats as sps

from bnnrepro.errors import ConfigError, DataError
from bnnrepro.stats import Estimate, check_level, t_interval

# Power analysis of the over-dispersion test: one-sided level and power of the minimum detectable effect.
OVERDISPERSION_ALPHA = 0.05
OVERDISPERSION_POWER = 0.80


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


def _correct_matrix(correct: ArrayLike) -> np.ndarray:
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


def _permutation_counts(ones_per_run: np.ndarray, examples: int, batch: int, rng: np.random.Generator) -> np.ndarray:
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
    correct: ArrayLike,
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
    level = check_level(level)
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
        low, high = t_interval(float(sigma2), sigma2_se, runs - 1, level)
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

    def sigma2_of(sum_of_squares: np.ndarray | float) -> np.ndarray | float:
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
