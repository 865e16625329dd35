"""The easy-examples family: its runs and chunks, its tables from run folders, its figure and
section, and its two claims on synthetic probe matrices (held, did not hold, inconclusive, not run,
and no claim held where the effect is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bnnrepro.errors import DataError
from bnnrepro.families.easy_examples import analysis, claims, declaration, tables
from bnnrepro.families.registry import FAMILIES
from bnnrepro.families.reporting import Context
from bnnrepro.io import write_csv, write_json
from bnnrepro.train.records import SUMMARY, seal, write_manifest
from helpers import THRESHOLDS, by_scope, check, estimate_of, family_context, verdicts_by_scope

PERMUTATIONS = 199


def config(**section) -> dict:
    base = {
        "repeats": 4,
        "runs_per_job": 3,
        "probe_size": 50,
        "probe_seed": 0,
        "datasets": ["fashion_mnist"],
        "settings": {"arch": "mlp", "hidden": [32], "batch_size": 50},
        "dataset_settings": {"fashion_mnist": {"train_size": 500}},
        "binarizations": ["det"],
        "labels": ["true", "randY", "randX"],
        "at_least": 0.5,
        "permutations": PERMUTATIONS,
    }
    return {
        "results": "results",
        "report_dir": "report",
        "execution": {"device": "cpu", "threads_per_run": 1},
        "easy_examples": {**base, **section},
        "claims": dict(THRESHOLDS),
    }


# --- declaration -----------------------------------------------------------------------------------


def test_registered_in_report_order():
    names = list(FAMILIES)
    assert "easy_examples" in names and names.index("easy_examples") == names.index("memorization") + 1


def test_runs_are_one_epoch_each_with_its_own_seed_on_the_same_data():
    runs = declaration.runs(config())
    assert len(runs) == 3 * 4
    true = [r for r in runs if r.condition["labels"] == "true"]
    assert [r.settings["seed"] for r in true] == [0, 1, 2, 3]
    assert [r.name for r in true] == ["det-true-r000", "det-true-r001", "det-true-r002", "det-true-r003"]
    for run in runs:
        s = run.settings
        assert s["epochs"] == 1 and s["save_model"] is False and s["probe_size"] == 50 and s["probe_seed"] == 0
        assert s["train_size"] == 500 and s["hidden"] == [32] and s["binarization"] == "det"
        assert "data_seed" not in s  # the library default: the same data, labels and noise in every run
        assert s["tags"] == ["binarization=det", f"labels={run.condition['labels']}"]


def test_chunks_group_by_condition_with_runs_per_job():
    chunks = declaration.chunks(config())
    assert [c.name for c in chunks] == [
        "det-true",
        "det-true.1",
        "det-randY",
        "det-randY.1",
        "det-randX",
        "det-randX.1",
    ]
    assert [len(c.runs) for c in chunks] == [3, 1] * 3
    assert all(len({r.condition["labels"] for r in c.runs}) == 1 for c in chunks)
    assert declaration.runs(config(enabled=False)) == [] and declaration.figures(config(enabled=False)) == []


def test_check_warns_about_few_runs_ignored_epochs_and_missing_true_labels():
    problems, warnings = declaration.check(config(repeats=2, labels=["randY"], settings={"epochs": 5}))
    assert problems == []
    text = "\n".join(warnings)
    assert "at least 3 runs" in text and "epochs = 5 is ignored" in text and 'no "true"' in text
    assert declaration.check(config()) == ([], [])


# --- synthetic data --------------------------------------------------------------------------------


def matrix(p: np.ndarray, runs: int, rng: np.random.Generator, spread_of_runs: float = 0.0) -> np.ndarray:
    """X[r, i] ~ Bernoulli(p_i + shift_r): runs share the examples' difficulty p_i, and may differ
    in overall accuracy by shift_r (which the null keeps, so it is no evidence of a spread)."""
    shift = rng.uniform(-spread_of_runs, spread_of_runs, (runs, 1))
    return (rng.random((runs, p.size)) < np.clip(p[None, :] + shift, 0, 1)).astype(np.int64)


def beta_p(mean: float, sd: float, n: int, rng: np.random.Generator) -> np.ndarray:
    common = mean * (1 - mean) / sd**2 - 1
    return rng.beta(mean * common, (1 - mean) * common, n)


def two_level_p(mean: float, sd: float, n: int) -> np.ndarray:
    """Half the examples at mean - sd, half at mean + sd: a between-example SD of exactly ~sd."""
    return np.where(np.arange(n) % 2 == 0, mean - sd, mean + sd)


def write_summary(
    tmp_path: Path, matrices: dict[tuple[str, str], np.ndarray], dataset: str = "fashion_mnist"
) -> Context:
    rows = []
    for (binarization, labels), x in matrices.items():
        row, _ = tables.summarize_condition(x, PERMUTATIONS, 0.5)
        rows.append({"dataset": dataset, "binarization": binarization, "labels": labels, **row})
    return family_context(declaration.NAME, config(), tmp_path, {"summary": pd.DataFrame(rows)})


# --- claim 1: true labels over-dispersed -----------------------------------------------------------


def test_true_labels_overdispersed_held(tmp_path):
    rng = np.random.default_rng(1)
    context = write_summary(tmp_path, {("det", "true"): matrix(beta_p(0.7, 0.2, 500, rng), 16, rng, 0.05)})
    result = by_scope(check(context, "true-labels-overdispersed"))["fashion_mnist (det)"]
    assert result.verdict == "held"
    assert estimate_of(result).low > 0.05 and estimate_of(result).repeats == 16 and result.unit == "num"
    assert estimate_of(result).estimate == pytest.approx(0.2, abs=0.03)
    assert "permutation p = 0.005" in result.detail and "significant at 0.05" in result.detail


def test_true_labels_equally_hard_did_not_hold_and_states_the_power(tmp_path):
    """The effect absent: every example equally hard, runs of different accuracy (0.55 +- 0.1)."""
    rng = np.random.default_rng(2)
    context = write_summary(tmp_path, {("det", "true"): matrix(np.full(1000, 0.55), 32, rng, 0.1)})
    result = by_scope(check(context, "true-labels-overdispersed"))["fashion_mnist (det)"]
    assert result.verdict == "did not hold"
    assert estimate_of(result).high <= 0.05
    assert "detects σ² ≥" in result.detail and "80% power" in result.detail


def test_true_labels_inconclusive_near_the_threshold(tmp_path):
    rng = np.random.default_rng(3)
    context = write_summary(tmp_path, {("det", "true"): matrix(two_level_p(0.6, 0.05, 1000), 16, rng)})
    result = by_scope(check(context, "true-labels-overdispersed"))["fashion_mnist (det)"]
    assert result.verdict == "inconclusive"
    assert estimate_of(result).low < 0.05 < estimate_of(result).high


def test_true_labels_inconclusive_with_too_few_runs_and_not_run_without_them(tmp_path):
    rng = np.random.default_rng(4)
    x = matrix(beta_p(0.7, 0.2, 200, rng), 2, rng)
    context = write_summary(tmp_path, {("det", "true"): x, ("det", "randY"): matrix(np.full(200, 0.1), 2, rng)})
    assert verdicts_by_scope(check(context, "true-labels-overdispersed")) == {"fashion_mnist (det)": "inconclusive"}
    assert verdicts_by_scope(check(context, "random-less-overdispersed")) == {
        "fashion_mnist (det, randY)": "inconclusive"
    }
    context = write_summary(tmp_path, {("det", "randY"): matrix(np.full(200, 0.1), 8, rng)})
    assert verdicts_by_scope(check(context, "true-labels-overdispersed")) == {"fashion_mnist (det)": "not run"}
    assert verdicts_by_scope(check(context, "random-less-overdispersed")) == {"fashion_mnist (det)": "not run"}


# --- claim 2: random labels / inputs far less over-dispersed --------------------------------------


def test_random_far_less_overdispersed_held_and_did_not_hold(tmp_path):
    rng = np.random.default_rng(5)
    context = write_summary(
        tmp_path,
        {
            ("det", "true"): matrix(beta_p(0.7, 0.25, 1000, rng), 16, rng, 0.03),
            ("det", "randY"): matrix(np.full(1000, 0.12), 16, rng, 0.02),  # equally hard
            ("det", "randX"): matrix(beta_p(0.35, 0.25, 1000, rng), 16, rng, 0.03),  # as spread as true labels
        },
    )
    found = by_scope(check(context, "random-less-overdispersed"))
    randy, randx = found["fashion_mnist (det, randY)"], found["fashion_mnist (det, randX)"]
    assert randy.verdict == "held" and estimate_of(randy).high < 0.25 and randy.unit == "ratio"
    assert "no over-dispersion detected" in randy.detail and "80% power" in randy.detail
    assert randx.verdict == "did not hold" and estimate_of(randx).low >= 0.25
    assert estimate_of(randx).estimate == pytest.approx(1.0, abs=0.25) and "over-dispersed at 0.05" in randx.detail


def test_random_inconclusive_near_the_ratio(tmp_path):
    rng = np.random.default_rng(6)
    context = write_summary(
        tmp_path,
        {
            ("det", "true"): matrix(two_level_p(0.5, 0.2, 300), 12, rng),  # σ² 0.04
            ("det", "randY"): matrix(two_level_p(0.5, 0.1, 300), 12, rng),  # σ² 0.01: ratio 0.25
        },
    )
    result = by_scope(check(context, "random-less-overdispersed"))["fashion_mnist (det, randY)"]
    assert result.verdict == "inconclusive" and estimate_of(result).low < 0.25 < estimate_of(result).high


def test_no_claim_holds_where_no_example_is_harder_than_another(tmp_path):
    """Every condition equally hard: claim 1 does not hold, and claim 2 (a ratio over a variance
    near zero: Fieller's set is unbounded) cannot hold either."""
    rng = np.random.default_rng(7)
    context = write_summary(
        tmp_path,
        {
            (b, lab): matrix(np.full(600, p), 24, rng, 0.05)
            for b in ("det", "stoch")
            for lab, p in (("true", 0.6), ("randY", 0.12), ("randX", 0.3))
        },
    )
    first = verdicts_by_scope(check(context, "true-labels-overdispersed"))
    second = verdicts_by_scope(check(context, "random-less-overdispersed"))
    assert set(first) == {"fashion_mnist (det)", "fashion_mnist (stoch)"} and len(second) == 4
    assert "held" not in set(first.values()) | set(second.values())
    assert set(first.values()) == {"did not hold"}


def test_variance_ratio_is_fieller_on_the_jackknife_errors():
    from bnnrepro import stats

    rand = pd.Series({"runs": 20, "sigma2": 0.01, "sigma2_se": 0.002})
    true = pd.Series({"runs": 16, "sigma2": 0.1, "sigma2_se": 0.005})
    est = claims.variance_ratio(rand, true)
    expected = stats.fieller_ratio_interval((0.01, 0.002), (0.1, 0.005), df=15, repeats=16)
    assert (est.estimate, est.low, est.high, est.repeats) == pytest.approx((0.1, expected.low, expected.high, 16))


# --- tables, figure and section from run folders ---------------------------------------------------


def fake_run(folder: Path, labels: str, seed: int, correct: np.ndarray, examples: np.ndarray) -> Path:
    """A finished run folder as the training loop leaves it (sealed summary with the config)."""
    folder.mkdir(parents=True)
    write_csv(
        folder / "metrics.csv", pd.DataFrame({"epoch": [1], "split": ["train"], "class": ["all"], "error": [0.2]})
    )
    write_csv(
        folder / "probe.csv",
        pd.DataFrame(
            {
                "example": examples,
                "position": np.arange(examples.size),
                "label": examples % 10,
                "predicted": 0,
                "correct": correct,
            }
        ),
    )
    summary = {
        "run": folder.name,
        "final_error": {"train": 0.2, "test": 0.25},
        "config": {
            "dataset": "fashion_mnist",
            "labels": labels,
            "binarization": "det",
            "seed": seed,
            "tags": ["binarization=det", f"labels={labels}"],
        },
        "outputs": seal(folder),
    }
    write_json(folder / SUMMARY, summary)
    return folder


def fake_results(tmp_path: Path, runs: int = 8, n: int = 60) -> tuple[Context, list[str], dict]:
    rng = np.random.default_rng(8)
    examples = np.sort(rng.choice(5000, n, replace=False))
    probabilities = {"true": beta_p(0.7, 0.25, n, rng), "randY": np.full(n, 0.12), "randX": np.full(n, 0.3)}
    cfg = config(repeats=runs, probe_size=n)
    cfg.update(results=str(tmp_path), report_dir=str(tmp_path / "report"))
    manifests, matrices = [], {}
    for labels, p in probabilities.items():
        x = matrix(p, runs, rng)
        matrices[labels] = x
        folders = [
            fake_run(tmp_path / "easy_examples" / "fashion_mnist" / f"det-{labels}-r{r:03d}", labels, r, x[r], examples)
            for r in range(runs)
        ]
        path = tmp_path / "easy_examples" / "fashion_mnist" / "chunks" / f"det-{labels}.json"
        write_manifest(path, folders)
        manifests.append(str(path))
    return Context(cfg, tmp_path, tmp_path / "report"), manifests, matrices


def test_tables_figure_and_section_from_run_folders(tmp_path):
    context, manifests, matrices = fake_results(tmp_path)
    analysis.make_tables(context, manifests)
    paths = declaration.tables(context.config)
    examples = context.csv(paths["examples"])
    summary = context.csv(paths["summary"]).set_index("labels")
    histogram = context.csv(paths["histogram"])
    run_table = context.csv(paths["runs"])
    true = examples[examples["labels"] == "true"].sort_values("example")
    assert list(true["correct"]) == list(matrices["true"].sum(axis=0)) and set(true["runs"]) == {8}
    assert len(run_table) == 24 and list(run_table[run_table["labels"] == "true"]["seed"]) == list(range(8))
    assert summary.loc["true", "runs"] == 8 and summary.loc["true", "examples"] == 60
    assert summary.loc["true", "easy_examples"] == int((matrices["true"].sum(axis=0) >= 4).sum())
    for column in (
        "sigma2",
        "sigma2_low",
        "sigma2_high",
        "sd_of_p",
        "p_value",
        "min_detectable_sigma2",
        "easy_null_mean",
        "easy_null_low",
        "easy_null_high",
        "easy_binomial",
    ):
        assert summary[column].notna().all(), column
    assert summary["p_value"]["true"] < 0.05 < summary["p_value"]["randY"]
    by_condition = histogram.groupby("labels")
    assert (by_condition["observed"].sum() == 60).all() and (by_condition["k"].max() == 8).all()
    analysis.make_figures(context)
    spec = declaration.figures(context.config)[0]
    assert (tmp_path / "report" / spec.path).is_file() and (tmp_path / "report" / spec.svg).is_file()
    section = analysis.section(context)
    assert [f.spec.kind for f in section.figures] == ["histogram"]
    paper = section.tables[-1].frame
    assert list(paper["paper"]) == ["~600"] and list(paper["ours"]) == [summary.loc["true", "easy_examples"]]
    assert paper["easy_binomial"].iloc[0] == pytest.approx(summary.loc["true", "easy_binomial"], abs=0.05)
    assert [g.what for g in section.glance] == ["paper", "this run"]


def test_runs_that_probed_different_examples_are_an_error(tmp_path):
    context, manifests, _ = fake_results(tmp_path, runs=3, n=20)
    probe = tmp_path / "easy_examples" / "fashion_mnist" / "det-true-r001" / "probe.csv"
    frame = pd.read_csv(probe)
    frame.loc[0, "example"] = 99999
    write_csv(probe, frame)
    folder = probe.parent  # reseal, as a run trained with another probe_seed would be
    summary = json.loads((folder / SUMMARY).read_text())
    summary["outputs"] = seal(folder)
    write_json(folder / SUMMARY, summary)
    write_manifest(manifests[0], [probe.parent.parent / f"det-true-r{r:03d}" for r in range(3)])
    with pytest.raises(DataError, match="probed different examples"):
        analysis.make_tables(context, manifests)


def test_runs_sharing_a_seed_are_an_error():
    probes = pd.DataFrame(
        {
            "run": ["a", "a", "b", "b"],
            "seed": [0, 0, 0, 0],
            "example": [1, 2, 1, 2],
            "label": [0, 1, 0, 1],
            "correct": [1, 0, 1, 1],
        }
    )
    with pytest.raises(DataError, match="share seed 0"):
        tables.correct_matrix(probes)
