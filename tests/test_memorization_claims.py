"""The memorization claims on planted result tables: each holds where its effect is planted, does
not hold where it is absent, is inconclusive where it can be (noise, a curve still falling) and
not run without its conditions. The claims read curves.csv and summary.csv only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bnnrepro.families.memorization import claims, declaration
from bnnrepro.families.memorization.tables import summarize
from bnnrepro.families.reporting import ClaimKind, Context
from bnnrepro.io import write_csv

DATASET = "fashion_mnist"
EPOCHS = 6
THRESHOLDS = {
    "memorize_train_error": 0.05,
    "slowdown_margin": 0.05,
    "chance_tolerance": 0.05,
    "chance_tolerance_before": 0.03,
    "l2_works_margin": 0.05,
    "floor_last_epochs": 3,
    "floor_max_slope": 0.001,
    "floor_level": [0.2, 0.4],
}
CLAIM_IDS = [
    "det-fits-randY",
    "l2-does-not-prevent",
    "l2-original-inert",
    "dropout-slows",
    "stoch-floor",
    "stoch-floor-level",
    "random-test-at-chance",
]


def config() -> dict:
    return {
        "results": "results",
        "report_dir": "report",
        "memorization": {
            "seeds": [0, 1, 2],
            "datasets": [DATASET],
            "settings": {"arch": "mlp", "hidden": [1024], "epochs": EPOCHS},
            "dataset_settings": {DATASET: {"train_size": 1000}},
            "regularizers": {
                "none": {},
                "dropout": {"dropout": [0.5]},
                "l2_inert": {"l2": 5e-4, "l2_gradient": "binarized"},
            },
        },
        "claims": dict(THRESHOLDS),
    }


def run_curves(condition, seed, train, test, flat_from=None) -> pd.DataFrame:
    """One run's metrics: the train error falls linearly from 90% to ``train`` (reached at epoch
    ``flat_from`` and flat after it, or at the last epoch), test likewise; classes +-2 points."""
    b, labels, reg = condition
    end = flat_from or EPOCHS
    rows = []
    for epoch in range(1, EPOCHS + 1):
        for split, final in (("train", train), ("test", test)):
            overall = 0.9 + (final - 0.9) * min(epoch, end) / end
            errors = {"all": overall} | {str(c): float(np.clip(overall + (c - 4.5) / 225, 0, 1)) for c in range(10)}
            rows += [
                dict(
                    run=f"{b}-{labels}-{reg}-s{seed}",
                    epoch=epoch,
                    split=split,
                    error=e,
                    loss=1.0,
                    lr=0.003,
                    n=100,
                    dataset=DATASET,
                    labels=labels,
                    binarization=b,
                    seed=seed,
                    regularization=reg,
                    **{"class": c},
                )
                for c, e in errors.items()
            ]
    return pd.DataFrame(rows)


def seeds(train, test=0.9, flat_from=None) -> list[tuple]:
    train = np.atleast_1d(np.asarray(train, dtype=float))
    test = np.broadcast_to(np.asarray(test, dtype=float), train.shape)
    return [(float(a), float(b), flat_from) for a, b in zip(train, test)]


def world() -> dict:
    """Every effect present: det/randY memorized; L2 1e-8 lets true labels train and randY is still
    memorized, L2 1e-4 stops true labels too (left out by the rule); dropout and stoch above det; the
    stochastic curve flat at ~30%; random test error at chance; the original L2 identical to none."""
    none = seeds([0.010, 0.016, 0.022, 0.012, 0.018, 0.014], [0.895, 0.905, 0.900, 0.898, 0.902, 0.900])
    return {
        ("det", "true", "none"): seeds([0.01, 0.01, 0.02], [0.15, 0.16, 0.15]),
        ("det", "randY", "none"): none,
        ("det", "randY", "l2_inert"): none[:3],
        ("det", "true", "l2_1e-08"): seeds([0.01, 0.01, 0.02], [0.15, 0.17, 0.15]),
        ("det", "randY", "l2_1e-08"): seeds([0.012, 0.018, 0.024]),
        ("det", "true", "l2_0.0001"): seeds([0.6, 0.6, 0.6], [0.55, 0.56, 0.57]),
        ("det", "randY", "l2_0.0001"): seeds([0.85, 0.86, 0.87]),
        ("det", "randY", "dropout"): seeds([0.30, 0.33, 0.35]),
        ("stoch", "randY", "none"): seeds([0.28, 0.30, 0.31], flat_from=3),
        ("det", "randX", "none"): seeds([0.0, 0.0, 0.01, 0.0, 0.0, 0.0], [0.90, 0.89, 0.91, 0.905, 0.895, 0.90]),
    }


def context_for(tmp_path: Path, conditions: dict, **thresholds) -> Context:
    curves = pd.concat(
        [run_curves(cond, s, a, b, f) for cond, runs in conditions.items() for s, (a, b, f) in enumerate(runs)],
        ignore_index=True,
    )
    cfg = config()
    cfg["claims"] = {**THRESHOLDS, **thresholds}
    paths = declaration.tables(cfg)
    write_csv(tmp_path / paths["curves"], curves)
    write_csv(tmp_path / paths["summary"], summarize(curves, [0.5, 0.1, 0.05]))
    return Context(cfg, tmp_path, tmp_path / "report")


def check(context: Context, claim_id: str):
    return next(c for c in claims.CLAIMS if c.id == claim_id).check(context)


def verdicts(context: Context) -> dict:
    return {claim_id: [r.verdict for r in check(context, claim_id)] for claim_id in CLAIM_IDS}


def test_the_claims_of_the_family_and_their_kinds():
    assert [c.id for c in claims.CLAIMS][: len(CLAIM_IDS)] == CLAIM_IDS  # then the ledger's (test_ledger_claims.py)
    kinds = {c.id: c.kind for c in claims.CLAIMS}
    assert kinds["l2-original-inert"] is ClaimKind.SANITY
    assert all(kinds[i] is ClaimKind.PUBLISHED for i in CLAIM_IDS if i != "l2-original-inert")


def test_every_claim_holds_where_every_effect_is_present(tmp_path):
    context = context_for(tmp_path, world())
    found = verdicts(context)
    assert found == {i: ["held"] * (2 if i == "random-test-at-chance" else 1) for i in CLAIM_IDS}
    for claim_id in CLAIM_IDS:
        for r in check(context, claim_id):
            assert r.judgement is not None and "1,000 training images" in r.fidelity and "paper:" in r.fidelity


def test_no_claim_holds_where_every_effect_is_absent(tmp_path):
    """Nothing memorized, L2 changes nothing (and so lets true labels train), dropout and
    stochastic binarization change nothing (the stochastic curve flat at det's level), random labels
    generalize, and the original L2 path changes the curves."""
    flat = seeds([0.85, 0.86, 0.87], 0.60)
    context = context_for(
        tmp_path,
        {
            ("det", "true", "none"): seeds([0.01, 0.01, 0.02], 0.15),
            ("det", "true", "l2_1e-08"): seeds([0.01, 0.01, 0.02], 0.15),
            ("det", "randY", "none"): flat,
            ("det", "randY", "l2_1e-08"): flat,
            ("det", "randY", "dropout"): flat,
            ("stoch", "randY", "none"): seeds([0.85, 0.86, 0.87], 0.60, flat_from=2),
            ("det", "randX", "none"): seeds([0.84, 0.85, 0.86], [0.60, 0.61, 0.59]),
            ("det", "randY", "l2_inert"): seeds([0.80], 0.60),
        },
    )
    found = verdicts(context)
    assert found == {
        **{i: ["did not hold"] for i in CLAIM_IDS},
        "stoch-floor-level": ["did not hold"],  # flat, but at 86%: not ~30%
        "random-test-at-chance": ["did not hold", "did not hold"],
    }


@pytest.mark.parametrize(
    ("train", "expected"),
    [([0.010, 0.016, 0.022], "held"), ([0.60, 0.62, 0.64], "did not hold"), ([0.02, 0.05, 0.08], "inconclusive")],
)
def test_det_fits_random_labels(tmp_path, train, expected):
    w = world()
    w[("det", "randY", "none")] = seeds(train)
    w[("det", "randY", "l2_inert")] = w[("det", "randY", "none")]
    [r] = check(context_for(tmp_path, w), "det-fits-randY")
    assert (r.verdict, r.threshold, r.judgement.threshold.high) == (expected, "< 5%", 0.05)
    assert r.estimate.estimate == pytest.approx(np.mean(train)) and f"after {EPOCHS} epochs" in r.detail


@pytest.mark.parametrize(
    ("randy_at_working_l2", "expected"),
    [
        ([0.012, 0.018, 0.024], "held"),  # memorized where true labels still train
        ([0.60, 0.62, 0.64], "did not hold"),  # a working L2 stops memorization
        ([0.02, 0.05, 0.08], "inconclusive"),
    ],
)
def test_l2_reads_random_labels_only_where_true_labels_still_train(tmp_path, randy_at_working_l2, expected):
    w = world()
    w[("det", "randY", "l2_1e-08")] = seeds(randy_at_working_l2)
    [r] = check(context_for(tmp_path, w), "l2-does-not-prevent")
    assert r.verdict == expected and r.estimate.estimate == pytest.approx(np.mean(randy_at_working_l2))
    assert (
        "up to L2 = 1e-08" in r.detail and "they do not at 0.0001" in r.detail and "813,056 dense weights" in r.detail
    )


def test_l2_inconclusive_when_no_coefficient_lets_true_labels_train(tmp_path):
    w = world()
    w[("det", "true", "l2_1e-08")] = seeds([0.5, 0.5, 0.5], [0.5, 0.52, 0.51])
    [r] = check(context_for(tmp_path, w), "l2-does-not-prevent")
    assert r.verdict == "inconclusive" and "no coefficient lets true labels train" in r.reason


def test_l2_holm_over_coefficients(tmp_path):
    """Two working coefficients: one memorized, one marginally not: the corrected verdict."""
    w = world()
    w[("det", "true", "l2_1e-07")] = seeds([0.01, 0.01, 0.02], [0.15, 0.16, 0.15])
    w[("det", "randY", "l2_1e-07")] = seeds([0.60, 0.62, 0.64])
    [r] = check(context_for(tmp_path, w), "l2-does-not-prevent")
    assert r.verdict == "did not hold" and r.reason.startswith("L2 = 1e-07") and "Holm" in r.reason


def test_l2_not_run_without_the_true_label_sweep(tmp_path):
    w = world()
    del w[("det", "true", "l2_1e-08")], w[("det", "true", "l2_0.0001")]
    [r] = check(context_for(tmp_path, w), "l2-does-not-prevent")
    assert r.verdict == "not run" and r.estimate is None


def test_original_l2_is_measured_on_every_shared_seed(tmp_path):
    [r] = check(context_for(tmp_path, world()), "l2-original-inert")
    assert r.verdict == "held" and r.estimate.repeats == 3 and r.estimate.estimate == 0
    w = world()
    w[("det", "randY", "l2_inert")] = w[("det", "randY", "none")][:2] + seeds([0.026])
    [r] = check(context_for(tmp_path, w), "l2-original-inert")
    assert r.verdict == "did not hold" and r.estimate.estimate == pytest.approx(0.004)
    w = world()
    del w[("det", "randY", "l2_inert")]
    assert [x.verdict for x in check(context_for(tmp_path, w), "l2-original-inert")] == ["not run"]


@pytest.mark.parametrize(
    ("added", "expected"),
    [([0.10, 0.11, 0.12], "held"), ([0.0, 0.0, 0.0], "did not hold"), ([0.02, 0.05, 0.08], "inconclusive")],
)
def test_dropout_slows(tmp_path, added, expected):
    w = world()
    w[("det", "randY", "dropout")] = seeds(np.add([0.010, 0.016, 0.022], added))
    [r] = check(context_for(tmp_path, w), "dropout-slows")
    assert (r.verdict, r.unit, r.threshold) == (expected, "pp", "> +5 pp")
    assert r.estimate.repeats == 3 and "seeds 0-2" in r.detail and "over all its 6 seeds" in r.detail


def test_stoch_floor_is_inconclusive_while_the_curve_still_falls(tmp_path):
    w = world()
    w[("stoch", "randY", "none")] = seeds([0.28, 0.30, 0.31])  # still falling at the last epoch
    context = context_for(tmp_path, w)
    [floor] = check(context, "stoch-floor")
    [level] = check(context, "stoch-floor-level")
    assert floor.verdict == level.verdict == "inconclusive"
    assert "has not flattened" in floor.reason and "slope over the last 3 epochs" in floor.detail


@pytest.mark.parametrize(
    ("stoch", "floor", "level"),
    [
        ([0.28, 0.30, 0.31], "held", "held"),  # flat at ~30%, far above det's ~1.6%
        ([0.55, 0.57, 0.56], "held", "did not hold"),  # a floor, higher than det, not at ~30%
        ([0.012, 0.018, 0.024], "did not hold", "did not hold"),  # flat at det's level
    ],
)
def test_stoch_floor_and_its_level_on_a_plateau(tmp_path, stoch, floor, level):
    w = world()
    w[("stoch", "randY", "none")] = seeds(stoch, flat_from=3)
    context = context_for(tmp_path, w)
    assert [r.verdict for r in check(context, "stoch-floor")] == [floor]
    assert [r.verdict for r in check(context, "stoch-floor-level")] == [level]


@pytest.mark.parametrize(
    ("randy", "expected"),
    [
        ([0.895, 0.905, 0.900, 0.898, 0.902, 0.900], "held"),
        ([0.60, 0.62, 0.61, 0.60, 0.62, 0.61], "did not hold"),  # random labels generalize
        ([0.84, 0.90, 0.96, 0.84, 0.90, 0.96], "inconclusive"),
    ],
)
def test_random_test_at_chance_per_label_mode_with_the_earlier_design(tmp_path, randy, expected):
    w = world()
    w[("det", "randY", "none")] = seeds(np.full(6, 0.01), randy)
    w[("det", "randY", "l2_inert")] = w[("det", "randY", "none")][:3]
    rows = check(context_for(tmp_path, w), "random-test-at-chance")
    assert [(r.scope, r.verdict) for r in rows] == [(f"{DATASET} (randY)", expected), (f"{DATASET} (randX)", "held")]
    assert rows[0].estimate.repeats == 6 and "seeds 0-2, band within [87%, 93%]" in rows[0].detail
