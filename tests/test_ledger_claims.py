"""The claims added from the claims ledger: each holds where its effect is planted in the family's
tables, does not hold where the opposite is planted, and is not run without its conditions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import test_family_binaryconnect as bc_tests
import test_family_efficiency as eff_tests
import test_family_lookup_tables as lut_tests
import test_family_memorization as mem_tests
from bnnrepro.families.binaryconnect import claims as bc_claims
from bnnrepro.families.efficiency import claims as eff_claims
from bnnrepro.families.lookup_tables import claims as lut_claims
from bnnrepro.families.memorization import claims as mem_claims
from bnnrepro.families.reporting import Context

#: The schema's defaults of the thresholds these claims read.
LEDGER_THRESHOLDS = {
    "class_spread_dispersion": 2.0,
    "random_fit_factor": [1.0, 10.0],
    "bc_dropout_margin": 0.0,
    "bc_stoch_margin": 0.0,
    "bc_lr_scale_margin": 0.0,
    "accuracy_tradeoff": 0.05,
    "stoch_resource_ratio": 1.0,
    "lut_random_fit_slope": 0.0,
    "lut_wiring_sd": 0.01,
}


def test_thresholds_are_the_schema_defaults():
    import yaml

    from conftest import ROOT

    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    defaults = schema["properties"]["claims"]["properties"]
    assert {key: defaults[key]["default"] for key in LEDGER_THRESHOLDS} == LEDGER_THRESHOLDS
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert {key: config["claims"][key] for key in LEDGER_THRESHOLDS} == LEDGER_THRESHOLDS


def _check(claims_module, claim_id, context):
    context.config["claims"] = {**context.config.get("claims", {}), **LEDGER_THRESHOLDS}
    return next(c for c in claims_module.CLAIMS if c.id == claim_id).check(context)


def verdicts(results) -> list[str]:
    return [str(r.verdict) for r in results]


# --- memorization --------------------------------------------------------------------------------


def _memorization(tmp_path, runs: dict) -> Context:
    """``runs``: (binarization, labels, regularization) -> [(final train error, epochs)] one per seed."""
    curves = pd.concat(
        [
            mem_tests.run_curves(mem_tests.DATASET, cond, seed, train, 0.9, epochs=epochs)
            for cond, per_seed in runs.items()
            for seed, (train, epochs) in enumerate(per_seed)
        ],
        ignore_index=True,
    )
    return mem_tests.write_results(tmp_path, curves)


@pytest.mark.parametrize(
    ("stoch_true", "expected"),
    [
        ([0.02, 0.025, 0.03], "held"),  # 1.5-2.5 points above det: not impeded
        ([0.30, 0.32, 0.35], "did not hold"),  # 30 points above det: impeded
        ([0.01, 0.09, 0.03], "inconclusive"),
    ],
)
def test_stoch_does_not_impede_true_labels(tmp_path, stoch_true, expected):
    det = [(0.010, 4), (0.012, 4), (0.011, 4)]
    context = _memorization(
        tmp_path, {("det", "true", "none"): det, ("stoch", "true", "none"): [(e, 4) for e in stoch_true]}
    )
    results = _check(mem_claims, "stoch-true-not-impeded", context)
    assert verdicts(results) == [expected] and "paired by seed" in results[0].detail


def test_stoch_true_claim_not_run_without_its_conditions(tmp_path):
    context = _memorization(tmp_path, {("det", "true", "none"): [(0.01, 4)] * 3})
    assert verdicts(_check(mem_claims, "stoch-true-not-impeded", context)) == ["not run"]


@pytest.mark.parametrize(
    ("random_epochs", "expected"),
    [
        ([8, 10, 9], "held"),  # 4-5x slower: a small factor
        ([60, 70, 80], "did not hold"),  # 30-40x slower
        ([2, 3, 2], "inconclusive"),  # 1x-1.5x: not shown to be longer
    ],
)
def test_random_labels_take_a_small_constant_factor_longer(tmp_path, random_epochs, expected):
    # A run reaches its final train error at its last epoch: 2% -> below 5% there.
    true = [(0.02, 2), (0.02, 2), (0.02, 2)]
    randy = [(0.02, e) for e in random_epochs]
    context = _memorization(tmp_path, {("det", "true", "none"): true, ("det", "randY", "none"): randy})
    results = _check(mem_claims, "random-fit-constant-factor", context)
    assert verdicts(results) == [expected] and results[0].unit == "ratio"


def test_random_fit_factor_not_run_when_a_run_never_fits(tmp_path):
    true = [(0.02, 2)] * 3
    randy = [(0.02, 8), (0.30, 8), (0.02, 8)]  # seed 1 ends at 30%: censored
    context = _memorization(tmp_path, {("det", "true", "none"): true, ("det", "randY", "none"): randy})
    results = _check(mem_claims, "random-fit-constant-factor", context)
    assert verdicts(results) == ["not run"] and "censored" in results[0].detail


def test_class_dispersion_is_one_for_binomial_classes():
    rng = np.random.default_rng(0)
    n = np.full(10, 400)
    values = [mem_claims.class_dispersion(rng.binomial(n, 0.3) / n, n) for _ in range(400)]
    assert np.mean(values) == pytest.approx(1.0, abs=0.1)
    assert np.isnan(mem_claims.class_dispersion(np.zeros(10), n))


@pytest.mark.parametrize(("step", "expected"), [(0.04, "held"), (0.001, "did not hold")])
def test_dropout_class_spread(tmp_path, step, expected):
    runs = {("det", "randY", "dropout"): [(0.30, 4)] * 3, ("det", "randY", "none"): [(0.01, 4)] * 3}
    context = _memorization(tmp_path, runs)
    curves = context.csv("memorization/curves.csv")
    classes = curves["class"].astype(str) != "all"
    dropout = curves["regularization"] == "dropout"
    overall = curves.loc[dropout & classes].merge(
        curves.loc[dropout & ~classes, ["seed", "epoch", "split", "error"]],
        on=["seed", "epoch", "split"],
        suffixes=("", "_all"),
    )
    spread = overall["error_all"] + (overall["class"].astype(int) - 4.5) * step
    spread += 0.002 * overall["seed"]  # the seeds differ a little
    curves.loc[dropout & classes, "error"] = spread.to_numpy()
    context = mem_tests.write_results(tmp_path, curves)
    results = _check(mem_claims, "dropout-class-spread", context)
    assert verdicts(results) == [expected] and results[0].unit == "ratio"


def test_dropout_class_spread_not_run_without_dropout(tmp_path):
    context = _memorization(tmp_path, {("det", "randY", "none"): [(0.01, 4)] * 3})
    assert verdicts(_check(mem_claims, "dropout-class-spread", context)) == ["not run"]


# --- BinaryConnect -------------------------------------------------------------------------------


def _bc(tmp_path, errors: dict, unscaled: float | None = None):
    runs, weights = bc_tests.synthetic({}, errors, noise=0.001, seed_effect=0.02)
    if unscaled is not None:
        extra = runs[runs["variant"] == "bc_det"].copy()
        extra["variant"] = bc_claims.UNSCALED
        extra["run"] = extra["run"].str.replace("bc_det", bc_claims.UNSCALED)
        shift = unscaled - errors.get("bc_det", 0.12)
        for col in ("final_valid_error", "final_test_error", "test_error_at_best_valid"):
            extra[col] += shift
        runs = pd.concat([runs, extra], ignore_index=True)
    return bc_tests.context_with(tmp_path, runs, weights)


@pytest.mark.parametrize(("dropout", "expected"), [(0.10, "held"), (0.14, "did not hold")])
def test_dropout_beats_no_regularizer(tmp_path, dropout, expected):
    context = _bc(tmp_path, {"none": 0.12, "dropout": dropout})
    results = _check(bc_claims, "bc-dropout-beats-none", context)
    assert verdicts(results) == [expected] and results[0].unit == "pp"


@pytest.mark.parametrize(("stoch", "expected"), [(0.14, "held"), (0.10, "did not hold")])
def test_stoch_worse_than_det(tmp_path, stoch, expected):
    context = _bc(tmp_path, {"bc_det": 0.12, "bc_stoch": stoch})
    assert verdicts(_check(bc_claims, "bc-stoch-worse-than-det", context)) == [expected]


@pytest.mark.parametrize(("unscaled", "expected"), [(0.15, "held"), (0.10, "did not hold"), (None, "not run")])
def test_glorot_lr_scale_helps(tmp_path, unscaled, expected):
    context = _bc(tmp_path, {"bc_det": 0.12}, unscaled)
    assert verdicts(_check(bc_claims, "bc-lr-scale-helps", context)) == [expected]


# --- efficiency ----------------------------------------------------------------------------------


def _eff_runs(stoch_factor: float, det_accuracy: float = 0.8, stoch_accuracy: float = 0.8) -> pd.DataFrame:
    runs = eff_tests.synthetic_runs(1.0, 1.0, variants=("float", "det", "stoch"))
    stoch = runs["variant"] == "stoch"
    runs.loc[stoch, ["seconds_per_epoch", "peak_rss_mb"]] *= stoch_factor
    runs.loc[runs["variant"] == "det", "test_accuracy"] = det_accuracy + 0.002 * runs["seed"]
    runs.loc[stoch, "test_accuracy"] = stoch_accuracy + 0.002 * runs["seed"]
    return runs


@pytest.mark.parametrize(("factor", "expected"), [(0.8, "held"), (1.3, "did not hold")])
def test_stoch_trains_leaner_and_faster(tmp_path, factor, expected):
    context = eff_tests.context_with(tmp_path, _eff_runs(factor))
    results = _check(eff_claims, "stoch-trains-leaner-faster", context)
    assert verdicts(results) == [expected, expected]
    assert ["seconds per epoch" in results[0].scope, "peak RSS" in results[1].scope] == [True, True]


@pytest.mark.parametrize(
    ("det", "stoch", "expected"),
    [(0.79, 0.78, ["held", "held"]), (0.60, 0.79, ["did not hold", "held"])],
)
def test_bnn_accuracy_minor_loss(tmp_path, det, stoch, expected):
    context = eff_tests.context_with(tmp_path, _eff_runs(1.0, det, stoch))
    results = _check(eff_claims, "bnn-accuracy-minor-loss", context)
    assert verdicts(results) == expected and results[0].unit == "pp"


def test_efficiency_claims_not_run_without_stoch(tmp_path):
    runs = eff_tests.synthetic_runs(1.0, 1.0)  # float and det only
    context = eff_tests.context_with(tmp_path, runs)
    assert set(verdicts(_check(eff_claims, "stoch-trains-leaner-faster", context))) == {"not run"}
    assert verdicts(_check(eff_claims, "bnn-accuracy-minor-loss", context)) == ["held", "not run"]


# --- lookup tables -------------------------------------------------------------------------------


def test_random_labels_memorized_as_k_grows(tmp_path):
    inputs = lut_tests.write_table3(tmp_path / "a", lut_tests.KS, lut_tests.good_real, lut_tests.good_random)
    context = lut_tests.context_for(tmp_path / "a", inputs)
    assert verdicts(_check(lut_claims, "lut-random-memorized", context)) == ["held"]
    flat = lut_tests.write_table3(
        tmp_path / "b",
        lut_tests.KS,
        lut_tests.good_real,
        lambda k, d: (0.6 - 0.005 * k + lut_tests.noise(k, d, scale=0.002), 0.5),
    )
    context = lut_tests.context_for(tmp_path / "b", flat)
    assert verdicts(_check(lut_claims, "lut-random-memorized", context)) == ["did not hold"]


def test_pooled_sd_interval_covers_the_true_sd():
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(400):
        est = lut_claims.pooled_sd_interval([rng.normal(0, 0.02, 3) for _ in range(8)])
        covered += est.low <= 0.02 <= est.high
    assert 0.92 <= covered / 400 <= 0.98


@pytest.mark.parametrize(("scale", "expected"), [(0.002, "held"), (0.05, "did not hold")])
def test_wiring_stable(tmp_path, scale, expected):
    real = lambda k, s: (0.9, 0.85 + lut_tests.noise(k, s, 9, scale=scale))  # noqa: E731
    inputs = lut_tests.write_table3(tmp_path, lut_tests.KS, real, lut_tests.good_random, seeds=(0, 1, 2, 3))
    results = _check(lut_claims, "lut-wiring-stable", lut_tests.context_for(tmp_path, inputs))
    assert verdicts(results) == [expected] and "chi-square" in results[0].estimate.method


def test_wiring_stable_not_run_with_one_network_seed(tmp_path):
    inputs = lut_tests.write_table3(tmp_path, lut_tests.KS, lut_tests.good_real, lut_tests.good_random, seeds=(0,))
    results = _check(lut_claims, "lut-wiring-stable", lut_tests.context_for(tmp_path, inputs))
    assert verdicts(results) == ["not run"]
