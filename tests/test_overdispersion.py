"""The over-dispersion test of the easy-examples family
(:mod:`bnnrepro.families.easy_examples.overdispersion`): its estimator and jackknife against brute
force, the permutation null, calibration, power, memory and bad input."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from scipy import stats as sps

from bnnrepro import stats
from bnnrepro.errors import ConfigError, DataError
from bnnrepro.families.easy_examples.overdispersion import _permutation_counts, overdispersion


def covered(estimates, target) -> float:
    return float(np.mean([e.low <= target <= e.high for e in estimates]))


def beta_with(mean: float, sd: float, size: int, rng) -> np.ndarray:
    """Beta draws with the given mean and SD: a + b = mean (1 - mean) / sd² - 1."""
    total = mean * (1 - mean) / sd**2 - 1
    return rng.beta(mean * total, (1 - mean) * total, size)


def heterogeneous_null(runs: int, examples: int, rng) -> np.ndarray:
    """Runs of different accuracies (0.3-0.9), every example equally hard."""
    accuracy = rng.uniform(0.3, 0.9, runs)
    return rng.random((runs, examples)) < accuracy[:, None]


def test_overdispersion_estimate_and_jackknife_match_brute_force():
    rng = np.random.default_rng(4)
    x = (rng.random((6, 20)) < rng.uniform(0.2, 0.9, (6, 1))).astype(int)
    runs, examples = x.shape

    def pairwise_mean(rows):
        y = x[rows] - x[rows].mean(axis=1, keepdims=True)
        return np.mean([y[r] @ y[s] / (examples - 1) for r in range(len(rows)) for s in range(len(rows)) if r != s])

    result = overdispersion(x, permutations=50)
    assert result.sigma2.estimate == pytest.approx(pairwise_mean(list(range(runs))))
    leave_one_out = np.array([pairwise_mean([s for s in range(runs) if s != r]) for r in range(runs)])
    se = math.sqrt((runs - 1) / runs * np.sum((leave_one_out - leave_one_out.mean()) ** 2))
    assert result.sigma2_se == pytest.approx(se)
    half = sps.t.ppf(0.975, runs - 1) * se
    assert result.sigma2.low == pytest.approx(result.sigma2.estimate - half)
    assert result.sigma2.repeats == runs
    # σ̂² = (observed - null-expected count variance) / (R (R - 1))
    assert result.sigma2.estimate == pytest.approx(
        (result.count_variance - result.null_count_variance) / (runs * (runs - 1))
    )


def test_permutation_draws_keep_each_runs_size():
    rng = np.random.default_rng(5)
    ones = np.array([0, 3, 10, 7])
    counts = _permutation_counts(ones, 10, 4000, rng)
    assert counts.shape == (4000, 10) and np.all(counts.sum(axis=1) == ones.sum())
    assert counts.min() >= 1 and counts.max() <= 3  # run 2 is always right, run 0 never
    # each example is right in run r with probability k_r / N
    assert counts.mean(axis=0) == pytest.approx(np.full(10, ones.sum() / 10), abs=0.05)


def test_null_histogram_matches_the_exact_poisson_binomial():
    rng = np.random.default_rng(6)
    result = overdispersion(heterogeneous_null(8, 200, rng), permutations=2000, seed=1)
    table = result.histogram
    assert list(table["k"]) == list(range(9))
    assert table["observed"].sum() == 200
    assert table["null_exact"].sum() == pytest.approx(200) and table["binomial"].sum() == pytest.approx(200)
    assert np.allclose(table["null_mean"], table["null_exact"], atol=0.5)
    assert result.easy_null_mean == pytest.approx(result.easy_null_exact, abs=0.5)
    assert (table["null_low"] <= table["null_mean"]).all() and (table["null_mean"] <= table["null_high"]).all()


def test_overdispersion_is_seeded_and_batching_does_not_change_the_answer_much():
    rng = np.random.default_rng(7)
    x = heterogeneous_null(10, 100, rng)
    first, again = overdispersion(x, 300, seed=3), overdispersion(x, 300, seed=3)
    assert first.p_value == again.p_value and first.histogram.equals(again.histogram)
    batched = overdispersion(x, 300, seed=3, memory_bytes=20_000)  # batches of ~7 draws
    assert batched.sigma2 == first.sigma2  # the estimate and its interval do not depend on the draws
    assert abs(batched.p_value - first.p_value) < 0.1


def test_null_calibration_with_runs_of_different_accuracy():
    """(a) Equally hard examples, run accuracies 0.3-0.9: the permutation test rejects at its level.
    The jackknife interval is conservative at σ² = 0 (the U-statistic is degenerate there and the
    jackknife variance is about twice the true one): it covers 0 more often than 95%, and its SE
    is about √2 times the SD of σ̂² over the permutations."""
    rng = np.random.default_rng(8)
    results = [overdispersion(heterogeneous_null(16, 200, rng), permutations=200, seed=i) for i in range(200)]
    rejection = np.mean([r.p_value <= 0.05 for r in results])
    assert 0.015 <= rejection <= 0.10  # 5% ± 2.3 binomial SDs over 200 data sets
    assert 0.93 <= covered([r.sigma2 for r in results], 0.0) <= 1.0
    se_over_null_sd = np.mean([r.sigma2_se / r.null_sigma2_sd for r in results])
    assert 1.1 <= se_over_null_sd <= 1.8
    # the null keeps each run's accuracy: here the binomial model overstates the count variance
    assert all(r.binomial_count_variance > r.null_count_variance for r in results)


@pytest.mark.parametrize("runs", [16, 64])
def test_power_against_a_real_spread_of_difficulty(runs):
    """(b) p_i ~ Beta with mean 0.55 and SD 0.15 is detected."""
    rng = np.random.default_rng(9)
    p = beta_with(0.55, 0.15, 1000, rng)
    result = overdispersion(rng.random((runs, 1000)) < p, permutations=200)
    assert result.p_value == pytest.approx(1 / 201)
    assert result.sigma2.low > 0 and stats.verdict_above(result.sigma2, 0.0)[0] == "held"
    assert result.min_detectable_sigma2 < 0.15**2 / 4
    assert result.dispersion_ratio > 2


def test_recovers_a_known_between_example_variance():
    """(c) The interval targets the variance of p over the probe examples; it covers it ~95%."""
    rng = np.random.default_rng(10)
    results, targets = [], []
    for i in range(80):
        p = beta_with(0.6, 0.1, 500, rng)
        targets.append(p.var(ddof=1))
        results.append(overdispersion(rng.random((32, 500)) < p, permutations=20, seed=i))
    coverage = np.mean([r.sigma2.low <= t <= r.sigma2.high for r, t in zip(results, targets)])
    assert 0.88 <= coverage <= 1.0
    bias = np.mean([r.sigma2.estimate - t for r, t in zip(results, targets)])
    assert abs(bias) < 3 * np.std([r.sigma2.estimate - t for r, t in zip(results, targets)]) / math.sqrt(80)
    assert results[0].sd_of_p == pytest.approx(0.1, abs=0.02)


def test_easy_example_count_when_all_examples_are_equally_hard():
    """(d) Mean accuracy 0.55, R = 100, N = 1000, equally hard: ~865 examples are right in >= 50%
    of the runs by chance alone (N · P(Bin(100, 0.55) >= 50) = 865.4)."""
    rng = np.random.default_rng(11)
    x = np.zeros((100, 1000), dtype=bool)
    for row in x:
        row[rng.choice(1000, 550, replace=False)] = True
    result = overdispersion(x, permutations=400)
    expected = 1000 * sps.binom.sf(49, 100, 0.55)
    assert expected == pytest.approx(865.4, abs=0.1)
    assert result.easy_binomial == pytest.approx(expected) and result.easy_null_exact == pytest.approx(expected)
    assert result.easy_null_mean == pytest.approx(expected, abs=3)
    assert 840 <= result.easy_null_low <= 858 and 872 <= result.easy_null_high <= 890
    assert result.easy_null_low <= result.easy_examples <= result.easy_null_high
    assert result.p_value > 0.05


def test_overdispersion_memory_stays_bounded_at_r128():
    rng = np.random.default_rng(12)
    x = heterogeneous_null(128, 1000, rng)
    tracemalloc.start()
    try:
        result = overdispersion(x, permutations=2000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 500e6 and result.permutations == 2000


@pytest.mark.parametrize(
    ("correct", "message"),
    [
        (np.ones(5), "2-D"),
        (np.ones((1, 5)), "at least 2 runs"),
        (np.full((3, 4), 2), "only 0/1"),
    ],
)
def test_overdispersion_rejects_bad_matrices(correct, message):
    with pytest.raises(DataError, match=message):
        overdispersion(correct)


def test_overdispersion_rejects_bad_settings():
    with pytest.raises(ConfigError, match="permutations"):
        overdispersion(np.eye(3), permutations=0)
    with pytest.raises(ConfigError, match="at_least"):
        overdispersion(np.eye(3), at_least=1.5)
