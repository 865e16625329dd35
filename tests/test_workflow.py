"""The Snakemake workflow: config validation, the paper preset's matrix, lint, and the ci preset
end to end (every rule of the DAG, on real Fashion-MNIST, in about a minute)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bnnrepro import workflow as bw
from bnnrepro.errors import ConfigError
from conftest import ROOT, snakemake

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def merged(*paths: Path) -> dict:
    """config.yaml with presets merged over it, as Snakemake merges --configfile files."""
    from snakemake.utils import update_config

    config: dict = {}
    for path in paths:
        update_config(config, load(path))
    return config


def test_train_settings_schema_is_generated_from_the_code():
    from bnnrepro.schema import render

    committed = (ROOT / "workflow/schemas/train_settings.schema.yaml").read_text()
    assert committed.split("\n", 1)[1] == render(), "run `bnnrepro schema` to regenerate it"


def test_default_config_validates_and_fans_out():
    config = bw.validate_config(load(ROOT / "config.yaml"), SCHEMA)
    memo = bw.memorization_runs(config)
    assert len(memo) == 2 * 3 * 3 + 2  # det/stoch x true/randY/randX x none/dropout/l2, + 2 at the original L2
    names = {run.name for run in memo}
    assert "det-randY-dropout-s0" in names and "stoch-randX-l2-s0" in names
    run = next(r for r in memo if r.name == "det-randY-dropout-s0")
    cfg = run.train_config()
    assert cfg.dropout == [0.5] and cfg.labels == "randY" and cfg.dataset == "fashion_mnist"
    assert "regularization=dropout" in cfg.tags
    l2 = next(r for r in memo if r.name == "det-randY-l2-s0").train_config()
    assert l2.l2 == 1e-7 and l2.dropout == []
    original = next(r for r in memo if r.name == "det-randY-l2_original-s0").train_config()
    assert original.l2 == 0.0005
    easy = bw.easy_example_runs(config)
    assert len(easy) == 3 * config["easy_examples"]["repeats"]
    assert {r.train_config().epochs for r in easy} == {1}
    assert len({r.train_config().seed for r in easy}) == config["easy_examples"]["repeats"]


def test_paper_preset_is_the_original_matrix():
    config = bw.validate_config(merged(ROOT / "config.yaml", ROOT / "workflow/configs/paper.yaml"), SCHEMA)
    runs = {run.key: run.train_config() for run in bw.memorization_runs(config)}
    expected = {  # script -> (epochs, lr_end, arch)
        "svhn/det-randY-none-s0": (500, 1e-6, "svhn_cnn"),
        "svhn/det-randY-dropout-s0": (500, 1e-6, "svhn_cnn"),
        "svhn/det-randY-l2-s0": (500, 1e-6, "svhn_cnn"),
        "svhn/stoch-randY-none-s0": (1500, 1e-6, "svhn_cnn"),
        "cifar10/det-randY-none-s0": (500, 3e-7, "cifar10_cnn"),
        "cifar10/det-randY-dropout-s0": (1000, 3e-7, "cifar10_cnn"),
        "cifar10/stoch-randY-none-s0": (1000, 3e-7, "cifar10_cnn"),
        "cifar10/det-randX-none-s0": (1000, 3e-7, "cifar10_cnn"),
    }
    assert set(runs) == set(expected)
    for key, (epochs, lr_end, arch) in expected.items():
        cfg = runs[key]
        assert (cfg.epochs, cfg.lr_end, cfg.arch, cfg.batch_size, cfg.lr_start) == (epochs, lr_end, arch, 50, 1e-3)
        assert cfg.device == "cuda" and cfg.train_size is None
    assert runs["svhn/det-randY-dropout-s0"].dropout == [0.25, 0.5]
    assert runs["cifar10/det-randY-dropout-s0"].dropout == [0.5, 0.5]
    assert runs["svhn/det-randY-l2-s0"].l2 == 0.0005
    assert runs["cifar10/stoch-randY-none-s0"].activation == "binary_sigmoid"
    assert runs["cifar10/det-randY-none-s0"].valid_size == 5000
    assert len(bw.easy_example_runs(config)) == 300


def test_paper_preset_dry_run_lists_every_run():
    proc = snakemake("-n", "--configfile", "workflow/configs/paper.yaml", timeout=120)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = proc.stdout
    for key in ("svhn/stoch-randY-none-s0", "cifar10/det-randX-none-s0", "cifar10/det-randY-dropout-s0"):
        assert f"results-paper/memorization/{key}/metrics.csv" in out
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", out, re.M))
    assert stats["memorization_train"] == "8" and stats["easy_examples_train"] == "300"


@pytest.mark.parametrize("change,needles", [
    (lambda c: c["memorization"].update(epoch=3), ["memorization", "unknown key(s) 'epoch'", "allowed keys"]),
    (lambda c: c["memorization"].update(datasets=["imagenet"]), ["memorization.datasets[0]", "'imagenet'",
                                                                   "fashion_mnist, mnist, cifar10, svhn"]),
    (lambda c: c["memorization"]["dataset_settings"]["fashion_mnist"].update(epochs=-5),
     ["memorization.dataset_settings.fashion_mnist.epochs", "-5"]),
    (lambda c: c["easy_examples"].update(repeats="ten"), ["easy_examples.repeats", "'ten'", "integer"]),
    (lambda c: c["memorization"]["grid"].update(binarization=["det", "fuzzy"]),
     ["memorization.grid.binarization[1]", "det, stoch"]),
    (lambda c: c["memorization"]["dataset_settings"]["fashion_mnist"].update(arch="resnet"),
     ["arch", "'resnet'", "cifar10_cnn"]),
])
def test_bad_config_is_rejected_with_the_key_and_allowed_values(change, needles):
    config = load(ROOT / "config.yaml")
    change(config)
    with pytest.raises(ConfigError) as info:
        bw.validate_config(config, SCHEMA)
    for needle in needles:
        assert needle in str(info.value)


def test_run_level_problems_name_the_run():
    config = load(ROOT / "config.yaml")
    config["memorization"]["dataset_settings"]["fashion_mnist"]["train_size"] = 0
    with pytest.raises(ConfigError, match=r"train_size"):
        bw.validate_config(config, SCHEMA)
    config = load(ROOT / "config.yaml")
    config["memorization"]["grid"]["regularization"] = ["none", "cutout"]
    with pytest.raises(ConfigError, match="cutout.*memorization.regularizers"):
        bw.validate_config(config, SCHEMA)
    config = load(ROOT / "config.yaml")
    config["memorization"]["regularizers"]["dropout"] = {"dropout": [0.5, 0.5]}  # 2 rates, 1 hidden layer
    with pytest.raises(ConfigError, match=r"memorization run fashion_mnist/det-true-dropout-s0.*dropout"):
        bw.validate_config(config, SCHEMA)


def test_bad_config_stops_snakemake_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("results: %s\nmemorization:\n  seeds: [0]\n  dataset_settings:\n    fashion_mnist: {epochs: 0}\n"
                   % (tmp_path / "r"))
    proc = snakemake("--cores", "1", "all", "--configfile", str(bad), timeout=120)
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "memorization.dataset_settings.fashion_mnist.epochs" in text and "minimum" in text
    assert not (tmp_path / "r").exists()


def test_unquoted_true_label_mode_is_accepted():
    config = load(ROOT / "config.yaml")
    config["memorization"]["grid"]["labels"] = [True, "randY"]  # YAML's reading of `[true, randY]`
    bw.validate_config(config, SCHEMA)
    assert config["memorization"]["grid"]["labels"] == ["true", "randY"]


def test_lint_has_no_findings():
    proc = snakemake("--lint", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


def test_code_version_tracks_sources(tmp_path):
    assert bw.code_version("train") == bw.code_version("train")
    assert bw.code_version("train") != bw.code_version("report")


@pytest.mark.slow
def test_ci_preset_runs_end_to_end(ci_run):
    base, _ = ci_run
    report = base / "report" / "index.html"
    html = report.read_text()
    for section in ("Claim checklist", "Memorization of random labels", "Easy examples", "Binary vs float MLPs",
                    "BinaryConnect", "lookup tables", "Provenance"):
        assert section in html
    images = re.findall(r'<img src="([^"]+)"', html)
    assert images and all((base / "report" / src).is_file() for src in images)
    summary = pd.read_csv(base / "results/memorization/summary.csv", dtype={"labels": str})
    assert len(summary) == 3 * 2 + 1 and summary["final_train_error"].between(0, 1).all()
    assert set(summary["labels"]) == {"true", "randY", "randX"}
    assert (base / "results/benchmarks/memorization_train").is_dir()
    assert (base / "results/logs/report.log").is_file()


@pytest.mark.slow
def test_ci_preset_is_up_to_date_and_config_changes_rerun_only_what_they_touch(ci_run, tmp_path):
    base, args = ci_run
    # Up to date whatever --cores a later call gives: thread counts that follow the cores must not
    # count as changed parameters (CI machines report more cores than the 2 this was built on).
    for cores in ([], ["--cores", "1"], ["--cores", "16"]):
        proc = snakemake("-n", "all", *cores, *args, timeout=120)
        assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr, (cores, proc.stdout[-3000:])
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("memorization:\n  regularizers:\n    dropout: {dropout: [0.25]}\n")
    proc = snakemake("-n", "all", "--configfile", "workflow/configs/ci.yaml", str(overlay),
                     "--config", f"results={base / 'results'}", f"report_dir={base / 'report'}", timeout=120)
    assert proc.returncode == 0, proc.stderr
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", proc.stdout, re.M))
    assert stats["memorization_train"] == "3"  # the dropout runs only: det x 3 label modes
    assert "easy_examples_train" not in stats
