"""The memorization family: its declaration (the default config's runs: the grid x seeds, the extra
seeds of the explicit conditions, the inert L2 and the L2 sweep; chunks of one condition each), its
tables, figures and section from run folders, and its six claims on synthetic result tables (held,
did not hold, inconclusive where the claim can be, not run; and no claim held where the effect is
absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bnnrepro.families.memorization import analysis, declaration, tables
from bnnrepro.families.reporting import Context
from bnnrepro.io import write_csv, write_json
from bnnrepro.train.records import SUMMARY, seal, write_manifest
from conftest import ROOT
from helpers import THRESHOLDS, family_context

REGULARIZERS = {
    "none": {},
    "dropout": {"dropout": [0.5]},
    "l2": {"l2": 0.0005},
    "l2_inert": {"l2": 0.0005, "l2_gradient": "binarized"},
}
DATASET = "fashion_mnist"
EPOCHS = 4
#: The claims added from the claims ledger (their tests: tests/test_ledger_claims.py).
LEDGER_CLAIM_IDS = [
    "stoch-true-not-impeded",
    "random-fit-constant-factor",
    "dropout-class-spread",
    "mehta-published-numbers",
]


def config(**section) -> dict:
    base = {
        "seeds": [0, 1, 2],
        "datasets": [DATASET],
        "settings": {"arch": "mlp", "hidden": [32], "epochs": EPOCHS, "batch_size": 50},
        "dataset_settings": {DATASET: {"train_size": 200, "test_size": 100}},
        "grid": {
            "binarization": ["det", "stoch"],
            "labels": ["true", "randY", "randX"],
            "regularization": ["none", "dropout", "l2"],
        },
        "regularizers": dict(REGULARIZERS),
        "conditions": [],
        "l2_sweep": {},
        "thresholds": [0.5, 0.1, 0.05],
    }
    return {
        "results": "results",
        "report_dir": "report",
        "execution": {"device": "cpu", "threads_per_run": 1},
        "memorization": {**base, **section},
        "claims": dict(THRESHOLDS),
    }


@pytest.fixture(scope="module")
def default_config() -> dict:
    """config.yaml as the workflow resolves it (schema defaults filled, validated)."""
    from bnnrepro.workflow.plan import load_config

    return load_config(ROOT, [], [])


# --- declaration -----------------------------------------------------------------------------------


def test_default_config_fans_out_into_grid_extra_seeds_inert_l2_and_sweep(default_config):
    from bnnrepro.train.config import TrainConfig

    runs = declaration.runs(default_config)
    keys = [run.key for run in runs]
    coefficients = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 5e-4)
    assert len(keys) == len(set(keys)) == 12 * 3 + 3 + 2 * 3 + 2 * len(coefficients) * 3
    grid = [
        f"{DATASET}/{b}-{lab}-{reg}-s{s}"
        for b in ("det", "stoch")
        for lab in ("true", "randY", "randX")
        for reg in ("none", "dropout")
        for s in range(3)
    ]
    assert keys[: len(grid)] == grid
    extra = [f"det-randY-l2_inert-s{s}" for s in range(3)]
    extra += [f"det-{lab}-none-s{s}" for lab in ("randY", "randX") for s in (3, 4, 5)]
    extra += [f"det-{lab}-l2_{c:g}-s{s}" for lab in ("true", "randY") for c in coefficients for s in range(3)]
    assert keys[len(grid) :] == [f"{DATASET}/{name}" for name in extra]
    seeds: dict[str, list[int]] = {}
    for run in runs:
        seeds.setdefault(run.name.rsplit("-s", 1)[0], []).append(run.condition["seed"])
    assert seeds.pop("det-randY-none") == seeds.pop("det-randX-none") == [0, 1, 2, 3, 4, 5]
    assert all(s == [0, 1, 2] for s in seeds.values())
    # each seed draws its own labels / noise / subset, the same in every condition (pairing by seed)
    assert all(run.settings["data_seed"] == run.condition["seed"] for run in runs)

    by_name = {run.name: run for run in runs}
    inert = by_name["det-randY-l2_inert-s1"]
    assert inert.settings["l2"] == 0.0005 and inert.settings["l2_gradient"] == "binarized"
    assert inert.condition == {"binarization": "det", "labels": "randY", "regularization": "l2_inert", "seed": 1}
    swept = by_name["det-true-l2_1e-06-s2"].settings
    assert swept["l2"] == 1e-6 and swept["binarization"] == "det" and swept["labels"] == "true"
    assert swept["tags"] == ["binarization=det", "labels=true", "regularization=l2_1e-06"]
    assert "l2_gradient" not in swept  # the sweep applies the penalty as intended (the default, latent)
    stoch = by_name["stoch-randX-dropout-s2"].settings
    assert stoch["binarization"] == "stoch" and stoch["dropout"] == [0.5] and stoch["seed"] == 2
    # the original scripts' stochastic variant: {0, 1} "sigmoid" activations, sampled evaluation
    assert stoch["activation"] == "binary_sigmoid" and stoch["stochastic_eval"] == "sample"
    assert stoch["hidden"] == [1024] and stoch["train_size"] == 1000 and stoch["epochs"] == 50
    for run in runs:  # every run is a valid `bnnrepro train` run
        TrainConfig.from_dict(dict(run.settings), run.key).validate()
    assert [spec.kind for spec in declaration.figures(default_config)] == [
        "classwise",
        "classwise",
        "overlay",
        "l2_sweep",
    ]
    assert declaration.check(default_config)[0] == []


def test_chunks_hold_runs_of_one_condition(default_config):
    runs = declaration.runs(default_config)
    chunks = declaration.chunks(default_config)
    assert sorted(run.key for chunk in chunks for run in chunk.runs) == sorted(run.key for run in runs)
    for chunk in chunks:
        assert 1 <= len(chunk.runs) <= default_config["memorization"]["runs_per_job"]
        conditions = {
            (run.dataset, *(run.condition[k] for k in ("binarization", "labels", "regularization")))
            for run in chunk.runs
        }
        assert len(conditions) == 1, chunk.name
    names = {chunk.name: [run.name for run in chunk.runs] for chunk in chunks}
    assert names["det-randY-none"] == [f"det-randY-none-s{s}" for s in range(6)]  # 6 runs per job
    assert names["stoch-true-dropout"] == ["stoch-true-dropout-s0", "stoch-true-dropout-s1", "stoch-true-dropout-s2"]
    assert names["det-randY-l2_inert"] == [f"det-randY-l2_inert-s{s}" for s in range(3)]
    # 12 grid conditions, l2_inert, the sweep's 6 coefficients x 2 label modes: one job each
    assert len(chunks) == 12 + 1 + 12
    small = config(runs_per_job=2)
    assert [len(c.runs) for c in declaration.chunks(small)] == [2, 1] * 18


def test_adding_a_seed_changes_only_the_chunk_of_its_seed(default_config):
    """Chunks key on the runs (seed // runs_per_job): one more seed leaves every other chunk's name and
    runs as they were, so Snakemake reruns only the chunk of the new seed."""
    import copy

    before = {c.key: c.spec("results") for c in declaration.chunks(default_config)}
    more = copy.deepcopy(default_config)
    more["memorization"]["seeds"] = [*more["memorization"]["seeds"], max(more["memorization"]["seeds"]) + 1]
    after = {c.key: c.spec("results") for c in declaration.chunks(more)}
    changed = {key for key in after if before.get(key) != after[key]}
    new_runs = {r.key for r in declaration.runs(more)} - {r.key for r in declaration.runs(default_config)}
    assert new_runs and all(key.endswith(f"-s{max(more['memorization']['seeds'])}") for key in new_runs)
    assert changed and len(changed) <= len(new_runs)
    assert set(before) <= set(after)  # no chunk renamed
    touched = {r.key for c in declaration.chunks(more) if c.key in changed for r in c.runs}
    assert new_runs <= touched


def test_run_folders_are_keyed_by_settings(default_config):
    """Two runs of the same name and other settings (hidden=512) get two folders: neither overwrites."""
    import copy

    run = declaration.runs(default_config)[0]
    other = copy.deepcopy(default_config)
    other["memorization"]["settings"]["hidden"] = [512]
    twin = next(r for r in declaration.runs(other) if r.key == run.key)
    assert twin.folder("results") != run.folder("results")
    assert run.folder("results").startswith(f"results/memorization/{run.dataset}/{run.name}-")
    assert declaration.runs(default_config)[0].folder("r") == run.folder("r")  # stable across calls


def test_declaration_options_and_checks():
    assert declaration.runs(config(enabled=False)) == [] and declaration.figures(config(enabled=False)) == []
    only = config(
        grid={"enabled": False},
        conditions=[{"dataset": DATASET, "binarization": "det", "labels": "randY", "regularization": "none"}],
        l2_sweep={"coefficients": [1e-3]},
    )
    assert [r.name for r in declaration.runs(only)] == [
        "det-randY-none-s0",
        "det-randY-none-s1",
        "det-randY-none-s2",
        "det-randY-l2_0.001-s0",
    ]
    assert [spec.kind for spec in declaration.figures(only)] == ["classwise", "overlay", "l2_sweep"]
    problems, warnings = declaration.check(
        config(grid={"binarization": ["det"], "labels": ["randY"], "regularization": ["none", "weight_decay"]})
    )
    assert any("'weight_decay'" in p and "not defined" in p for p in problems)
    problems, _ = declaration.check(
        config(conditions=[{"dataset": "mnist", "binarization": "det", "labels": "randY", "regularization": "none"}])
    )
    assert any("dataset 'mnist' is not in memorization.datasets" in p for p in problems)
    _, warnings = declaration.check(config(dataset_settings={}))
    assert any("no memorization.dataset_settings.fashion_mnist" in w for w in warnings)


# --- synthetic result tables -----------------------------------------------------------------------


def per_seed(train, test=0.9, first_seed: int = 0) -> dict[int, tuple[float, float]]:
    """Final (train, test) error of each seed: ``train`` one value per seed, ``test`` one or one per seed."""
    train = np.atleast_1d(np.asarray(train, dtype=float))
    test = np.broadcast_to(np.asarray(test, dtype=float), train.shape)
    return {first_seed + i: (float(a), float(b)) for i, (a, b) in enumerate(zip(train, test))}


def run_curves(
    dataset: str, condition: tuple[str, str, str], seed: int, train: float, test: float, epochs: int = EPOCHS
) -> pd.DataFrame:
    """One run's metrics.csv rows (one per epoch, split and class, as the training loop writes them):
    the overall train error falls linearly from 90% at epoch 0 to ``train`` at the last epoch, the
    test error likewise to ``test``; class c's error is the overall one + (c - 4.5) / 225 (a spread of
    4 points), clipped to [0, 1]."""
    binarization, labels, regularization = condition
    rows = []
    for epoch in range(1, epochs + 1):
        for split, final in (("train", train), ("test", test)):
            overall = 0.9 + (final - 0.9) * epoch / epochs
            errors = {"all": overall} | {str(c): float(np.clip(overall + (c - 4.5) / 225, 0, 1)) for c in range(10)}
            rows += [
                {
                    "run": f"{binarization}-{labels}-{regularization}-s{seed}",
                    "epoch": epoch,
                    "split": split,
                    "class": cls,
                    "error": error,
                    "loss": 1.0,
                    "lr": 0.003,
                    "n": 100,
                    "dataset": dataset,
                    "labels": labels,
                    "binarization": binarization,
                    "seed": seed,
                    "regularization": regularization,
                }
                for cls, error in errors.items()
            ]
    return pd.DataFrame(rows)


def curves_of(conditions: dict, dataset: str = DATASET) -> pd.DataFrame:
    """Every run's curves: ``conditions`` maps (binarization, labels, regularization) to :func:`per_seed`."""
    return pd.concat(
        [
            run_curves(dataset, cond, seed, train, test)
            for cond, seeds in conditions.items()
            for seed, (train, test) in seeds.items()
        ],
        ignore_index=True,
    )


def write_results(tmp_path: Path, curves: pd.DataFrame, **thresholds) -> Context:
    """curves.csv and summary.csv (as make_tables writes them) and a Context reading them."""
    summary = tables.summarize(curves, [0.5, 0.1, 0.05])
    return family_context(declaration.NAME, config(), tmp_path, {"curves": curves, "summary": summary}, **thresholds)


def test_summary_of_synthetic_curves():
    curves = run_curves(DATASET, ("det", "randY", "none"), 3, train=0.02, test=0.9)
    row = tables.summarize(curves, [0.5, 0.1, 0.05]).iloc[0]
    assert row["seed"] == 3 and row["epochs"] == EPOCHS and row["final_train_error"] == pytest.approx(0.02)
    assert row["final_train_error_class_min"] == pytest.approx(0, abs=1e-12) and row[
        "final_train_error_class_max"
    ] == pytest.approx(0.04)
    # 68%, 46%, 24%, 2%: below 50% from epoch 2, below 10% and 5% from epoch 4
    assert row["epoch_train_below_0.5"] == 2 and row["epoch_train_below_0.1"] == row["epoch_train_below_0.05"] == 4
    assert row["min_train_error"] == pytest.approx(0.02) and row["final_test_error"] == pytest.approx(0.9)


def test_summary_keeps_runs_of_the_same_name_on_different_datasets():
    curves = pd.concat(
        [
            run_curves("cifar10", ("det", "randY", "none"), 0, 0.01, 0.9),
            run_curves("svhn", ("det", "randY", "none"), 0, 0.40, 0.9),
        ],
        ignore_index=True,
    )
    summary = tables.summarize(curves, [0.5]).set_index("dataset")
    assert list(summary.index) == ["cifar10", "svhn"]
    assert summary["final_train_error"].tolist() == pytest.approx([0.01, 0.40])


# --- tables, figures and section from run folders ----------------------------------------------------


def fake_run(folder: Path, run, train: float, test: float) -> Path:
    """A finished run folder as the training loop leaves it: metrics.csv and a sealed summary."""
    folder.mkdir(parents=True)
    cond = run.condition
    curves = run_curves(
        run.dataset, (cond["binarization"], cond["labels"], cond["regularization"]), cond["seed"], train, test
    )
    write_csv(folder / "metrics.csv", curves)
    write_json(
        folder / SUMMARY,
        {
            "run": run.name,
            "final_error": {"train": train, "test": test},
            "config": dict(run.settings),
            "outputs": seal(folder),
        },
    )
    return folder


def test_tables_figures_section_and_claims_from_run_folders(tmp_path):
    cfg = config(
        seeds=[0, 1],
        grid={"binarization": ["det", "stoch"], "labels": ["true", "randY"], "regularization": ["none"]},
        conditions=[
            {"dataset": DATASET, "binarization": "det", "labels": "randY", "regularization": "l2_inert", "seeds": [0]}
        ],
        l2_sweep={"coefficients": [1e-6, 1e-4]},
        runs_per_job=3,
    )
    cfg.update(results=str(tmp_path), report_dir=str(tmp_path / "report"))
    finals = {
        ("det", "true"): (0.05, 0.15),
        ("det", "randY"): (0.01, 0.9),
        ("stoch", "true"): (0.10, 0.16),
        ("stoch", "randY"): (0.30, 0.9),
    }
    manifests = []
    for chunk in declaration.chunks(cfg):
        folders = []
        for run in chunk.runs:
            c = run.condition
            train, test = finals[(c["binarization"], c["labels"])]
            if c["regularization"].startswith("l2_") and c["regularization"] != "l2_inert":
                train = 0.01 if c["regularization"] == "l2_1e-06" else 0.7
            folders.append(fake_run(Path(run.folder(str(tmp_path))), run, train + 0.002 * c["seed"], test))
        write_manifest(chunk.manifest(str(tmp_path)), folders)
        manifests.append(chunk.manifest(str(tmp_path)))
    context = Context(cfg, tmp_path, tmp_path / "report")
    analysis.make_tables(context, manifests)
    paths = declaration.tables(cfg)
    summary = context.csv(paths["summary"]).set_index("run")
    assert len(summary) == 4 * 2 + 1 + 2
    assert summary.loc["det-randY-none-s1", "final_train_error"] == pytest.approx(0.012)
    assert summary.loc["stoch-randY-none-s0", "epoch_train_below_0.5"] == 3
    assert np.isnan(summary["epoch_train_below_0.1"]["stoch-randY-none-s0"])
    conditions = context.csv(paths["conditions"]).set_index(["binarization", "labels", "regularization"])
    det = conditions.loc[("det", "randY", "none")]
    assert det["seeds"] == 2 and det["final_train_error"] == pytest.approx(0.011)
    assert det["train_error_low"] < 0.011 < det["train_error_high"]
    assert conditions.loc[("det", "randY", "l2_inert"), "seeds"] == 1
    assert np.isnan(conditions["train_error_low"][("det", "randY", "l2_inert")])  # one seed: no interval

    analysis.make_figures(context)
    specs = declaration.figures(cfg)
    assert [spec.kind for spec in specs] == ["classwise", "classwise", "overlay", "l2_sweep"]
    for spec in specs:
        assert (tmp_path / "report" / spec.path).is_file() and (tmp_path / "report" / spec.svg).is_file()
    section = analysis.section(context)
    assert len(section.tables) == 2 and len(section.figures) == 4
    assert [g.what for g in section.glance] == ["paper", "this run"] and section.glance[
        1
    ].repeats == "1-2 seeds per condition, 7 conditions"
    # (the ledger's claims: tests/test_ledger_claims.py)
    found = {
        claim.id: [r.verdict for r in claim.check(context)]
        for claim in analysis.CLAIMS
        if claim.id not in LEDGER_CLAIM_IDS
    }
    # two seeds of 1.0% and 1.2%: held; the inert L2 trained identically to seed 0 of none: held; the
    # stochastic curve falls to its last epoch (no floor yet): inconclusive; the sweep has no true
    # labels, and there is no dropout and no det/randX: not run (the claims' tests: test_memorization_claims.py)
    assert found == {
        "det-fits-randY": ["held"],
        "l2-does-not-prevent": ["not run"],
        "l2-original-inert": ["held"],
        "dropout-slows": ["not run"],
        "stoch-floor": ["inconclusive"],
        "stoch-floor-level": ["inconclusive"],
        "random-test-at-chance": ["held", "not run"],
    }
