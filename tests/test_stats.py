"""Tests of bnnrepro.stats: interval coverage in simulation, exact reference values, verdict
boundaries, and the over-dispersion analysis (exactness, null calibration, power, recovery)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from bnnrepro import stats
from bnnrepro.errors import ConfigError, DataError
from bnnrepro.stats import Estimate


def covered(estimates, target) -> float:
    return float(np.mean([e.low <= target <= e.high for e in estimates]))


# --- intervals over repeats -----------------------------------------------------------------------


def test_mean_interval_known_value():
    est = stats.mean_interval([1.0, 2.0, 3.0], unit="seeds")
    half = sps.t.ppf(0.975, 2) / math.sqrt(3)  # s = 1
    assert est.estimate == 2.0 and est.repeats == 3 and est.level == 0.95
    assert est.low == pytest.approx(2 - half) and est.high == pytest.approx(2 + half)
    assert est.method == "t-interval over 3 seeds"


def test_mean_interval_coverage_in_simulation():
    rng = np.random.default_rng(0)
    estimates = [stats.mean_interval(rng.normal(1.0, 2.0, 5)) for _ in range(400)]
    assert 0.91 <= covered(estimates, 1.0) <= 0.98


def test_single_repeat_has_no_interval_and_is_inconclusive():
    est = stats.mean_interval([0.3], unit="seeds")
    assert est.estimate == 0.3 and math.isnan(est.low) and math.isnan(est.high) and not est.has_interval
    assert est.method == "no interval: only 1 seed"
    verdict, reason = stats.verdict_below(est, 0.5)
    assert verdict == "inconclusive" and "too few" in reason


def test_constant_repeats_give_a_point_interval():
    est = stats.mean_interval([4.0, 4.0, 4.0])
    assert (est.low, est.estimate, est.high) == (4.0, 4.0, 4.0)


@pytest.mark.parametrize("values", [[], [1.0, float("nan")], [1.0, float("inf")]])
def test_bad_values_are_data_errors(values):
    with pytest.raises(DataError):
        stats.mean_interval(values)


def test_bad_level_is_a_config_error():
    with pytest.raises(ConfigError, match="strictly between 0 and 1"):
        stats.mean_interval([1.0, 2.0], level=95)


def test_paired_difference():
    est = stats.paired_difference_interval([3.0, 5.0, 7.0], [1.0, 2.0, 3.0])
    reference = stats.mean_interval([2.0, 3.0, 4.0])
    assert (est.estimate, est.low, est.high, est.repeats) == (3.0, reference.low, reference.high, 3)
    assert est.method.startswith("paired difference")
    with pytest.raises(DataError, match="one a and one b"):
        stats.paired_difference_interval([1.0, 2.0], [1.0])


def test_paired_ratio_coverage_and_geometric_mean():
    rng = np.random.default_rng(1)
    estimates = []
    for _ in range(400):
        shared = rng.lognormal(0.0, 0.5, 5)  # per-repeat machine load, cancels in the paired ratio
        estimates.append(stats.ratio_interval(2 * shared * rng.lognormal(0, 0.1, 5), shared * rng.lognormal(0, 0.1, 5)))
    assert 0.91 <= covered(estimates, 2.0) <= 0.98
    est = stats.ratio_interval([2.0, 8.0], [1.0, 2.0])
    assert est.estimate == pytest.approx(math.sqrt(2 * 4)) and est.repeats == 2 and "paired" in est.method


def test_unpaired_ratio_coverage():
    rng = np.random.default_rng(2)
    estimates = [
        stats.ratio_interval(3 * rng.lognormal(0, 0.3, 5), rng.lognormal(0, 0.1, 7), paired=False) for _ in range(400)
    ]
    assert 0.91 <= covered(estimates, 3.0) <= 0.98
    assert "Welch" in estimates[0].method and estimates[0].repeats == 5


def test_ratio_rejects_non_positive_and_unequal_pairs():
    with pytest.raises(DataError, match="positive"):
        stats.ratio_interval([1.0, 0.0], [1.0, 1.0])
    with pytest.raises(DataError, match="paired=False"):
        stats.ratio_interval([1.0, 2.0, 3.0], [1.0, 2.0])


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.30850),  # upper end 1 - 0.025^(1/10)
        (5, 10, 0.18709, 0.81291),
        (10, 10, 0.69150, 1.0),
        (1, 20, 0.00127, 0.24873),
    ],
)
def test_clopper_pearson_known_values(k, n, low, high):
    est = stats.proportion_interval(k, n)
    assert est.estimate == k / n and est.repeats == n
    assert est.low == pytest.approx(low, abs=1e-5) and est.high == pytest.approx(high, abs=1e-5)


def test_proportion_rejects_impossible_counts():
    with pytest.raises(DataError):
        stats.proportion_interval(5, 3)
    with pytest.raises(DataError):
        stats.proportion_interval(0, 0)


def test_slope_interval_over_groups():
    x = np.tile(np.arange(4.0), 3)
    groups = np.repeat(["seed0", "seed1", "seed2"], 4)
    y = np.concatenate([1.0 * np.arange(4) + 5, 2.0 * np.arange(4) - 1, 3.0 * np.arange(4)])
    est = stats.slope_interval(x, y, groups)
    reference = stats.mean_interval([1.0, 2.0, 3.0])
    assert est.estimate == pytest.approx(2.0) and est.repeats == 3
    assert est.low == pytest.approx(reference.low) and est.high == pytest.approx(reference.high)
    with pytest.raises(DataError, match="two different x"):
        stats.slope_interval([1.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0], ["a", "a", "b", "b"])


# --- Fieller --------------------------------------------------------------------------------------


def test_fieller_matches_the_delta_method_for_a_precise_denominator():
    est = stats.fieller_ratio_interval((2.0, 0.1), (4.0, 0.001), math.inf, repeats=10)
    assert est.estimate == 0.5
    assert est.low == pytest.approx(0.5 - 1.959964 * 0.025, rel=1e-3)
    assert est.high == pytest.approx(0.5 + 1.959964 * 0.025, rel=1e-3)


def test_fieller_endpoints_solve_the_defining_equation():
    a, se_a, b, se_b, df = -1.0, 0.5, 4.0, 0.8, 9
    est = stats.fieller_ratio_interval((a, se_a), (b, se_b), df, repeats=10)
    t = sps.t.ppf(0.975, df)
    for theta in (est.low, est.high):
        assert (a - theta * b) ** 2 == pytest.approx(t * t * (se_a**2 + theta**2 * se_b**2))
    assert est.low < -0.25 < est.high and est.high - (-0.25) != pytest.approx(-0.25 - est.low)  # asymmetric


def test_fieller_denominator_straddling_zero_is_unbounded_and_inconclusive():
    est = stats.fieller_ratio_interval((1.0, 0.2), (0.5, 1.0), 20, repeats=21)
    assert est.low == -math.inf and est.high == math.inf and "unbounded" in est.method
    assert stats.verdict_below(est, 10.0)[0] == "inconclusive"


def test_fieller_coverage_with_a_noisy_denominator():
    """Known standard errors (df = inf): the exact Fieller set covers 95%; returning the whole line
    for the two-half-lines case can only add coverage."""
    rng = np.random.default_rng(3)
    estimates = [
        stats.fieller_ratio_interval((rng.normal(1.0, 0.5), 0.5), (rng.normal(3.0, 1.0), 1.0), math.inf, repeats=1)
        for _ in range(1000)
    ]
    assert 0.93 <= covered(estimates, 1 / 3) <= 0.99
    assert 0.05 < np.mean([math.isinf(e.low) for e in estimates]) < 0.4


# --- verdicts -------------------------------------------------------------------------------------


def interval(low: float, high: float, repeats: int = 5) -> Estimate:
    return Estimate((low + high) / 2, low, high, repeats, "hand-made")


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.10, 0.15, "held"),
        (0.10, 0.20, "inconclusive"),  # touches the threshold: the strict claim is not established
        (0.10, 0.30, "inconclusive"),
        (0.20, 0.30, "did not hold"),  # at or above
        (0.20, 0.20, "did not hold"),
        (0.25, 0.30, "did not hold"),
        (-math.inf, math.inf, "inconclusive"),
    ],
)
def test_verdict_below(low, high, expected):
    verdict, reason = stats.verdict_below(interval(low, high), 0.2)
    assert verdict == expected and reason


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.25, 0.30, "held"),
        (0.20, 0.30, "inconclusive"),
        (0.10, 0.30, "inconclusive"),
        (0.10, 0.20, "did not hold"),
        (0.20, 0.20, "did not hold"),
    ],
)
def test_verdict_above(low, high, expected):
    assert stats.verdict_above(interval(low, high), 0.2)[0] == expected


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.89, 0.91, "held"),
        (0.88, 0.92, "held"),  # the band is closed
        (0.85, 0.87, "did not hold"),
        (0.93, 0.95, "did not hold"),
        (0.86, 0.88, "inconclusive"),  # touches the lower edge from outside
        (0.87, 0.89, "inconclusive"),
        (0.85, 0.95, "inconclusive"),  # wider than the band
    ],
)
def test_verdict_within(low, high, expected):
    assert stats.verdict_within(interval(low, high), 0.88, 0.92)[0] == expected


def test_verdicts_without_results_or_intervals():
    assert stats.verdict_above(None, 0.0) == ("not run", "no result")
    no_interval = Estimate(0.5, math.nan, math.nan, 1, "one seed")
    for verdict in (
        stats.verdict_below(no_interval, 1.0),
        stats.verdict_above(no_interval, 0.0),
        stats.verdict_within(no_interval, 0.0, 1.0),
    ):
        assert verdict[0] == "inconclusive" and "1 repeat" in verdict[1]
    assert stats.verdict_below(stats.exact_estimate(3), 4)[0] == "held"
    assert set(stats.VERDICTS) == {"held", "did not hold", "inconclusive", "not run"}
    with pytest.raises(ConfigError):
        stats.verdict_within(interval(0.0, 1.0), 2.0, 1.0)


def test_verdict_is_typed_and_reads_as_text():
    assert stats.Verdict("held") is stats.HELD and stats.HELD == "held" and f"{stats.DID_NOT_HOLD}" == "did not hold"
    # a Verdict is a str: it looks up a str key and a plain str looks up a Verdict key
    by_text: dict[str, int] = {stats.NOT_RUN: 2}
    assert {"held": 1}[stats.HELD] == 1 and by_text["not run"] == 2
    with pytest.raises(ValueError):
        stats.Verdict("passed")


def test_judgement_carries_numbers_text_and_reason():
    est = stats.mean_interval([0.01, 0.02, 0.03], unit="seeds")
    j = stats.judge(est, stats.below(0.05, "pct", source="config: memorize_train_error"))
    assert j.verdict is stats.HELD and j.repeats == 3 and j.estimate is est
    assert (j.threshold.low, j.threshold.high, j.threshold.value) == (-math.inf, 0.05, 0.05)
    assert j.threshold.text == "< 5%" and "lies below 5%" in j.reason
    assert stats.judge(est, stats.above(0.05, "pct")).verdict is stats.DID_NOT_HOLD
    assert stats.judge(est, stats.above(0.015, "pct")).verdict is stats.INCONCLUSIVE
    band = stats.within(0.85, 0.95, "pct")
    assert band.text == "within [85%, 95%]" and stats.judge(est, band).verdict is stats.DID_NOT_HOLD
    assert stats.judge(None, band).verdict is stats.NOT_RUN
    assert stats.above(1.0, "ratio").text == "> 1x" and stats.below(0.05, "pp").text == "< +5 pp"
    assert stats.within(0.0, 0.0, "pp").text == "= 0 pp"
    with pytest.raises(ConfigError):
        stats.within(2.0, 1.0)


def test_estimate_outside_its_interval_is_refused():
    with pytest.raises(ValueError, match="outside its interval"):
        Estimate(1.0, 0.993, 0.998, 3, "t")
    assert Estimate(0.5, math.nan, math.nan, 1, "none").estimate == 0.5


@pytest.mark.parametrize(
    ("estimate", "low", "high", "unit", "at_least"),
    [(0.9955, 0.993, 0.998, "ratio", 2), (0.0384, 0.03838, 0.03842, "ratio", 5), (0.215, 0.148, 0.282, "pct", 1)],
)
def test_display_decimals_keep_the_estimate_inside_its_interval(estimate, low, high, unit, at_least):
    digits = stats.display_decimals(estimate, low, high, unit)
    assert digits >= at_least
    shown = [float(stats.format_quantity(v, unit, digits).rstrip("%x")) for v in (low, estimate, high)]
    assert shown[0] <= shown[1] <= shown[2] and shown[0] < shown[2]


def test_holm_rejections_step_down():
    mask = stats.holm_rejections([0.001, 0.04, 0.012, 0.3], alpha=0.05)
    # sorted: 0.001 <= 0.0125, 0.012 <= 0.0167, 0.04 > 0.025: stop
    assert mask.tolist() == [True, False, True, False]
    assert not stats.holm_rejections([0.02, 0.03], alpha=0.025).any()


def test_judge_scopes_calls_one_marginal_scope_inconclusive_under_holm():
    rng = np.random.default_rng(3)
    threshold = stats.above(0.0)
    held = {f"k={k}": stats.mean_interval(rng.normal(1.0, 0.1, 5)) for k in range(7)}
    # one scope just below 0: its interval lies wholly on the wrong side, but p ~ 0.01 > 0.025 / 1..8
    marginal = Estimate(-0.05, -0.098, -0.002, 5, "t", se=0.0173, df=4)
    scopes, overall = stats.judge_scopes({**held, "k=16": marginal}, threshold)
    assert stats.judge(marginal, threshold).verdict is stats.DID_NOT_HOLD
    assert scopes["k=16"].verdict is stats.INCONCLUSIVE and "Holm over 8 scopes" in scopes["k=16"].reason
    assert overall.verdict is stats.INCONCLUSIVE
    clear = stats.mean_interval(rng.normal(-1.0, 0.05, 5))
    scopes, overall = stats.judge_scopes({**held, "k=16": clear}, threshold)
    assert scopes["k=16"].verdict is stats.DID_NOT_HOLD and overall.verdict is stats.DID_NOT_HOLD
    assert overall.estimate is scopes["k=16"].estimate and overall.reason.startswith("k=16: ")
    scopes, overall = stats.judge_scopes(held, threshold)
    assert overall.verdict is stats.HELD and overall.estimate is not None
    assert overall.estimate.estimate == min(e.estimate for e in held.values())
    _, overall = stats.judge_scopes({"a": None}, threshold)
    assert overall.verdict is stats.NOT_RUN


def test_p_value_against_matches_the_interval_edge():
    est = stats.mean_interval([1.0, 1.2, 1.4, 1.1])
    # at the interval's lower end the one-sided p-value of "above low" failing is (1 - level) / 2
    assert stats.p_value_against(est, stats.below(est.low)) == pytest.approx(0.025)
    ratio = stats.ratio_interval([2.0, 2.2, 1.9], [1.0, 1.0, 1.0])
    assert ratio.log_scale and stats.p_value_against(ratio, stats.below(ratio.low)) == pytest.approx(0.025)


def test_intercept_interval_known_line_and_coverage():
    x = np.array([-0.1, 0.0, 0.1, 0.2])
    est = stats.intercept_interval(x, 0.5 + 2 * x)
    assert est.estimate == pytest.approx(0.5) and est.low == pytest.approx(0.5) and est.repeats == 4
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(400):
        xs = rng.normal(0, 0.05, 8)
        e = stats.intercept_interval(xs, 0.5 + 1.5 * xs + rng.normal(0, 0.02, 8))
        covered += e.low <= 0.5 <= e.high
    assert 0.92 <= covered / 400 <= 0.98
    with pytest.raises(DataError):
        stats.intercept_interval([1.0, 1.0, 1.0], [0.1, 0.2, 0.3])


def test_last_epochs_slope_flat_and_falling():
    import pandas as pd

    epochs = np.arange(1, 11)
    flat = pd.DataFrame(
        [(s, e, 0.3 + 0.5 * np.exp(-e) + 0.001 * s) for s in range(3) for e in epochs], columns=["seed", "epoch", "y"]
    )
    est = stats.last_epochs_slope(flat, "epoch", "y", "seed", last=5)
    assert abs(est.estimate) < 1e-2 and est.repeats == 3
    falling = flat.assign(y=lambda f: 1.0 - 0.05 * f["epoch"] + 0.001 * f["seed"] * f["epoch"])
    assert stats.last_epochs_slope(falling, "epoch", "y", "seed", last=5).high < 0
