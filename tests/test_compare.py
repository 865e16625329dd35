"""``bnnrepro compare``: verdicts and estimates that moved between two runs, on planted claims."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from bnnrepro.report import compare
from conftest import run_cli


def _claims(rows):
    return pd.DataFrame(
        [
            {"claim": c, "scope": s, "verdict": v, "estimate": e, "ci_low": lo, "ci_high": hi, "repeats": n}
            for c, s, v, e, lo, hi, n in rows
        ]
    )


A = _claims(
    [
        ("memorize", "fashion_mnist", "held", 0.02, 0.01, 0.03, 6),
        ("dropout", "fashion_mnist", "inconclusive", 0.40, 0.30, 0.50, 6),
        ("speedup", "", "held", 3.0, 2.5, 3.5, 3),
        ("gone", "", "not run", None, None, None, 0),
    ]
)
B = _claims(
    [
        ("memorize", "fashion_mnist", "did not hold", 0.09, 0.07, 0.11, 6),  # verdict changed, intervals apart
        ("dropout", "fashion_mnist", "inconclusive", 0.45, 0.35, 0.55, 6),  # moved within the intervals
        ("speedup", "", "held", 5.0, 4.5, 5.5, 3),  # same verdict, estimate apart
        ("new", "cifar10", "held", 1.0, None, None, 1),  # one repeat: no interval
    ]
)


def test_what_moved_between_two_runs():
    table = compare.compare(A, B).set_index(["claim", "scope"])
    assert table.loc[("memorize", "fashion_mnist"), "verdict_changed"]
    assert table.loc[("memorize", "fashion_mnist"), "estimate_moved"] == "apart"
    assert table.loc[("dropout", "fashion_mnist"), "estimate_moved"] == "overlapping"
    assert not table.loc[("dropout", "fashion_mnist"), "verdict_changed"]
    assert table.loc[("speedup", ""), "estimate_moved"] == "apart"
    assert table.loc[("speedup", ""), "difference"] == pytest.approx(2.0)
    assert table.loc[("gone", ""), "in"] == "A only" and table.loc[("new", "cifar10"), "in"] == "B only"
    assert table.loc[("new", "cifar10"), "estimate_moved"] == "no interval"
    text = compare.report(compare.compare(A, B), ["memorization.seeds: [0, 1] -> [0, 1, 2]"], ("a", "b"))
    assert "1 verdicts changed, 1 more estimates moved beyond their 95% intervals, 1 only in A, 1 only in B" in text
    assert "memorize [fashion_mnist]: held -> did not hold; 0.02 [0.01, 0.03] -> 0.09 [0.07, 0.11] (apart)" in text
    assert "speedup: held -> held" in text and "dropout" not in text.split("Verdicts that changed")[1]
    assert "memorization.seeds: [0, 1] -> [0, 1, 2]" in text


def test_nothing_moved_between_identical_runs():
    table = compare.compare(A, A)
    assert not table["verdict_changed"].any() and set(table["estimate_moved"]) <= {"overlapping", "no interval"}
    assert "0 verdicts changed, 0 more estimates" in compare.report(table, [], ("a", "a"))


def test_compare_results_folders_names_the_settings_that_differ(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, claims, seeds in (("old", A, [0, 1]), ("new", B, [0, 1, 2])):
        (tmp_path / f"results-{name}").mkdir()
        (tmp_path / f"report-{name}").mkdir()
        config = {"results": f"results-{name}", "report_dir": f"report-{name}", "memorization": {"seeds": seeds}}
        (tmp_path / f"results-{name}" / "config.yaml").write_text(yaml.safe_dump(config))
        claims.to_csv(tmp_path / f"report-{name}" / "claims.csv", index=False)
    proc = run_cli(
        "compare", str(tmp_path / "results-old"), str(tmp_path / "results-new"), "--out", "c.csv", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "memorization.seeds: [0, 1] -> [0, 1, 2]" in proc.stdout and "1 verdicts changed" in proc.stdout
    written = pd.read_csv(tmp_path / "c.csv")
    assert len(written) == 5 and {"verdict_a", "verdict_b", "ci_low_a", "ci_high_b", "estimate_moved"} <= set(written)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "no such file or folder"),
        (lambda p: p, "no claims.csv there"),
    ],
)
def test_bad_inputs_are_one_line(tmp_path, make, message):
    A.to_csv(tmp_path / "a.csv", index=False)
    proc = run_cli("compare", str(tmp_path / "a.csv"), str(make(tmp_path)), "--out", str(tmp_path / "c.csv"))
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_not_a_claims_csv_is_one_line(tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    A.to_csv(tmp_path / "a.csv", index=False)
    proc = run_cli("compare", str(tmp_path / "a.csv"), str(tmp_path / "x.csv"))
    assert proc.returncode == 2 and "not a claims.csv" in proc.stderr
