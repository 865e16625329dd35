"""The published-numbers claims: each number of sources.yaml that a family's per-run table holds is
judged against a band around it where its dataset was run, and is "not run: needs the paper preset"
where it was not (the default config: Fashion-MNIST only)."""

from __future__ import annotations

import pandas as pd
import pytest

from bnnrepro.families.published import published_entries, published_numbers
from bnnrepro.families.reporting import Context
from bnnrepro.io import write_csv

THRESHOLDS = {"published_tolerance": 0.02, "published_tolerance_approx": 0.05}
TABLE = "memorization/summary.csv"


def _context(tmp_path, rows: list[dict]) -> Context:
    write_csv(tmp_path / TABLE, pd.DataFrame(rows))
    return Context({"claims": dict(THRESHOLDS)}, tmp_path, tmp_path / "report")


def _rows(dataset, condition, metric, values) -> list[dict]:
    return [
        {"dataset": dataset, "seed": seed, **condition, "final_train_error": 0.5, "final_test_error": 0.5, metric: v}
        for seed, v in enumerate(values)
    ]


CHECK = published_numbers("memorization", lambda config: {"summary": TABLE}, "summary")
RANDY = {"binarization": "det", "labels": "randY", "regularization": "none"}


def _scope(results, text):
    return next(r for r in results if r.scope == text)


def test_every_published_number_is_not_run_on_the_default_datasets(tmp_path):
    results = CHECK(_context(tmp_path, _rows("fashion_mnist", RANDY, "final_test_error", [0.9, 0.9, 0.9])))
    assert len(results) == len(published_entries("memorization")) > 8
    assert {r.verdict for r in results} == {"not run"}
    assert all("needs the paper preset" in r.detail for r in results)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.900, 0.905, 0.910], "held"),  # around the published 90.58%
        ([0.70, 0.71, 0.72], "did not hold"),  # 20 points away
        ([0.85, 0.95, 0.90], "inconclusive"),  # too spread to decide
    ],
)
def test_a_published_number_on_its_dataset(tmp_path, values, expected):
    results = CHECK(_context(tmp_path, _rows("cifar10", RANDY, "final_test_error", values)))
    found = _scope(results, "cifar10 det/randY/none: final test error")
    assert found.verdict == expected and found.estimate.repeats == 3 and found.unit == "pct"
    # the same dataset, another condition of the paper (dropout) is not in this config
    assert _scope(results, "cifar10 stoch/randY/none: final train error").verdict == "not run"


def test_approximate_numbers_get_the_wider_band(tmp_path):
    # ~30% (read off Fig. 4): 33-34% is inside +-5 points, outside +-2
    stoch = {"binarization": "stoch", "labels": "randY", "regularization": "none"}
    results = CHECK(_context(tmp_path, _rows("svhn", stoch, "final_train_error", [0.33, 0.335, 0.34])))
    found = _scope(results, "svhn stoch/randY/none: final train error")
    assert found.verdict == "held" and found.threshold == "within [25%, 35%]"
