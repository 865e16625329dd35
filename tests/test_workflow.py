"""The Snakemake workflow: config validation through Snakemake's own `validate`, the presets' fan-out,
dry runs without torch, lint, the ci preset end to end, and reruns driven by params and code."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bnnrepro.errors import ConfigError
from bnnrepro.families.registry import FAMILIES
from bnnrepro.workflow import config as config_checks
from bnnrepro.workflow.generated import stale_files
from conftest import ROOT, snakemake

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def resolved(*paths: Path, overrides: dict | None = None) -> dict:
    """config.yaml with presets merged over it and Snakemake's validation (defaults filled), as
    the Snakefile does; then the checks beyond the schema."""
    from snakemake.utils import update_config

    config: dict = {}
    for path in paths:
        update_config(config, load(path))
    if overrides:
        update_config(config, overrides)
    return resolved_from(config)


def dry_run_stats(stdout: str) -> dict[str, int]:
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", stdout, re.M)}


def test_generated_files_are_up_to_date():
    assert stale_files(ROOT) == [], "run `bnnrepro generate` and commit the files it writes"


def test_the_dataset_list_is_written_once():
    """The registry names the datasets; the workflow's wildcard and the schema read it (through
    names.schema.yaml, generated) instead of keeping lists of their own."""
    from bnnrepro.data.registry import DATASETS

    everyone = re.compile(r"\b" + r"\W+".join(map(re.escape, DATASETS)) + r"\b")
    for path in [ROOT / "Snakefile", *sorted((ROOT / "workflow").rglob("*.smk")), ROOT / "workflow/schemas"]:
        for file in sorted(path.glob("*.yaml")) if path.is_dir() else [path]:
            if file.name != "names.schema.yaml" and "GENERATED" not in file.read_text()[:80]:
                assert not everyone.search(file.read_text()), f"{file} lists every dataset by hand"
    assert list(
        yaml.safe_load((ROOT / "workflow/schemas/names.schema.yaml").read_text())["$defs"]["dataset"]["enum"]
    ) == list(DATASETS)


def test_default_config_validates_and_fans_out():
    config = resolved(ROOT / "config.yaml")
    memo = FAMILIES["memorization"].runs(config)
    seeds = len(config["memorization"]["seeds"])
    grid = config["memorization"]["grid"]
    n_grid = len(grid["binarization"]) * len(grid["labels"]) * len(grid["regularization"])
    # the grid, l2_inert, 3 more seeds of det/randY/none and det/randX/none (the chance claim), the sweep
    sweep = config["memorization"]["l2_sweep"]
    n_sweep = len(sweep["coefficients"]) * len(sweep["labels"]) * len(sweep["seeds"])
    assert len(memo) == n_grid * seeds + seeds + 2 * 3 + n_sweep
    run = next(r for r in memo if r.name == "det-randY-dropout-s1")
    assert run.settings["dropout"] == [0.5] and run.settings["labels"] == "randY" and run.settings["seed"] == 1
    assert "regularization=dropout" in run.settings["tags"]
    inert = next(r for r in memo if r.condition["regularization"] == "l2_inert")
    assert inert.settings["l2"] == 0.0005 and inert.settings["l2_gradient"] == "binarized"
    # a chunk holds the seeds of one condition
    chunks = FAMILIES["memorization"].chunks(config)
    assert {len(c.runs) for c in chunks} <= {1, 2, 3, 4, 5, 6} and sum(len(c.runs) for c in chunks) == len(memo)
    easy = FAMILIES["easy_examples"].runs(config)
    repeats = config["easy_examples"]["repeats"]
    assert len(easy) == 3 * repeats and {r.settings["epochs"] for r in easy} == {1}
    assert len({r.settings["seed"] for r in easy}) == repeats
    assert all(f.enabled(config) for f in FAMILIES.values())


def test_paper_preset_is_the_original_matrix():
    config = resolved(ROOT / "config.yaml", ROOT / "workflow/configs/paper.yaml")
    runs = {run.key: run.settings for run in FAMILIES["memorization"].runs(config)}
    expected = {  # the original scripts: run -> (epochs, lr_end, arch)
        "svhn/det-randY-none-s0": (500, 1e-6, "svhn_cnn"),
        "svhn/det-randY-dropout-s0": (500, 1e-6, "svhn_cnn"),
        "svhn/det-randY-l2_inert-s0": (500, 1e-6, "svhn_cnn"),
        "svhn/det-randY-l2-s0": (500, 1e-6, "svhn_cnn"),
        "svhn/stoch-randY-none-s0": (1500, 1e-6, "svhn_cnn"),
        "cifar10/det-randY-none-s0": (500, 3e-7, "cifar10_cnn"),
        "cifar10/det-randY-dropout-s0": (1000, 3e-7, "cifar10_cnn"),
        "cifar10/stoch-randY-none-s0": (1000, 3e-7, "cifar10_cnn"),
        "cifar10/det-randX-none-s0": (1000, 3e-7, "cifar10_cnn"),
    }
    # true labels, for the published test errors (BinaryNet: CIFAR-10 11.40%, SVHN 2.80%, MNIST 0.96%)
    true_labels = {
        "cifar10/det-true-none-s0": (500, 3e-7, "cifar10_cnn", 50, 1e-3),
        "svhn/det-true-none-s0": (500, 1e-6, "svhn_cnn", 50, 1e-3),
        "mnist/det-true-none-s0": (1000, 3e-7, "binarynet_mlp", 100, 3e-3),
    }
    assert set(runs) == set(expected) | set(true_labels)
    for key, want in true_labels.items():
        s = runs[key]
        assert (s["epochs"], s["lr_end"], s["arch"], s["batch_size"], s["lr_start"]) == want
        assert s["device"] == "cuda" and s.get("train_size") is None and s["labels"] == "true"
    for key, (epochs, lr_end, arch) in expected.items():
        s = runs[key]
        assert (s["epochs"], s["lr_end"], s["arch"], s["batch_size"], s["lr_start"]) == (epochs, lr_end, arch, 50, 1e-3)
        assert s["device"] == "cuda" and s.get("train_size") is None and not s.get("hidden")
    assert runs["svhn/det-randY-dropout-s0"]["dropout"] == [0.25, 0.5]
    assert runs["cifar10/det-randY-dropout-s0"]["dropout"] == [0.5, 0.5]
    assert runs["svhn/det-randY-l2-s0"]["l2"] == 0.0005
    assert runs["svhn/stoch-randY-none-s0"]["stochastic_eval"] == "sample"
    assert runs["cifar10/stoch-randY-none-s0"]["activation"] == "binary_sigmoid"
    assert runs["cifar10/det-randY-none-s0"]["valid_size"] == 5000
    assert len(FAMILIES["easy_examples"].runs(config)) == 300


def test_paper_preset_dry_run_lists_every_run_without_importing_torch(tmp_path):
    """A dry run of the paper preset builds the whole DAG from the declarations; a fake torch that
    fails on import proves that neither the DAG nor the validation imports it."""
    fake = tmp_path / "fake" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('torch was imported by a dry run')\n")
    env = {**os.environ, "PYTHONPATH": f"{fake.parent}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "all",
            "--configfile",
            "workflow/configs/paper.yaml",
            "--quiet",
            "host",
        ],  # list the jobs (the profile hides them)
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    seconds = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-2000:]
    out = proc.stdout
    assert "results-paper/memorization/svhn/chunks/det-randY-l2_inert.json" in out
    stats = dry_run_stats(out)
    assert stats["train"] > 0 and "torch was imported" not in proc.stderr
    print(f"paper preset dry run: {seconds:.1f} s")


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (
            lambda c: c["memorization"].update(epochs=3),
            [
                "memorization",
                "unknown key 'epochs' (a training setting: put it under memorization.settings",
                "allowed keys",
            ],
        ),
        (lambda c: c["memorization"].update(seed=[3]), ["unknown key 'seed' (did you mean 'seeds'?)"]),
        (lambda c: c.update(lutnet={}), ["unknown key 'lutnet' (did you mean 'lookup_tables'?)"]),
        (
            lambda c: c["memorization"].update(datasets=["imagenet"]),
            ["memorization.datasets[0]", "'imagenet'", "fashion_mnist, mnist"],
        ),
        (
            lambda c: c["memorization"]["dataset_settings"]["fashion_mnist"].update(epochs=-5),
            ["memorization.dataset_settings.fashion_mnist.epochs", "-5"],
        ),
        (
            lambda c: c["memorization"]["settings"].update(lr_start="3e-3"),
            ["lr_start", "'3e-3'", "YAML reads 3e-3 as text", "3.0e-3"],
        ),
        (lambda c: c["easy_examples"].update(repeats="ten"), ["easy_examples.repeats", "'ten'", "integer"]),
        (
            lambda c: c["memorization"]["grid"].update(binarization=["det", "fuzzy"]),
            ["memorization.grid.binarization[1]", "det, stoch"],
        ),
        (lambda c: c["memorization"]["grid"].update(labels=[]), ["memorization.grid.labels", "empty"]),
        (lambda c: c["memorization"]["settings"].update(arch="resnet"), ["arch", "'resnet'", "cifar10_cnn"]),
        (
            lambda c: c["memorization"]["grid"].update(regularization=["none", "cutout"]),
            ["'cutout'", "memorization.regularizers"],
        ),
        (
            lambda c: c["memorization"]["regularizers"].update(dropout={"dropout": [0.5, 0.5]}),
            ["memorization run fashion_mnist/det-true-dropout-s0", "dropout"],
        ),
        (lambda c: c["memorization"]["dataset_settings"]["fashion_mnist"].update(train_size=0), ["train_size"]),
    ],
)
def test_bad_config_is_rejected_with_the_key_and_the_fix(change, needles):
    config = load(ROOT / "config.yaml")
    change(config)
    with pytest.raises(ConfigError) as info:
        resolved_from(config)
    message = str(info.value)
    assert "\n" not in message.strip()
    for needle in needles:
        assert needle in message, message


def resolved_from(config: dict) -> dict:
    """``config`` normalized, validated against the schema (defaults filled) and checked."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    config_checks.normalize(config)
    try:
        validate(config, str(SCHEMA))
    except WorkflowError as exc:
        raise ConfigError(config_checks.explain_workflow_error(exc)) from None
    config_checks.check(config)
    return config


def test_a_dataset_without_settings_of_its_own_gets_a_warning():
    config = load(ROOT / "config.yaml")
    config["memorization"]["datasets"] = ["fashion_mnist", "mnist"]
    warnings = []
    from snakemake.utils import validate

    config_checks.normalize(config)
    validate(config, str(SCHEMA))
    warnings = config_checks.check(config)
    assert any("dataset 'mnist' has no memorization.dataset_settings.mnist" in w for w in warnings)


def test_bad_config_stops_snakemake_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "results: %s\nmemorization:\n  dataset_settings:\n    fashion_mnist: {epochs: 0}\n" % (tmp_path / "r")
    )
    proc = snakemake("--cores", "1", "all", "--configfile", str(bad), timeout=120)
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "memorization.dataset_settings.fashion_mnist.epochs" in text and "minimum" in text
    assert "Traceback" not in text and not (tmp_path / "r").exists()


def test_unquoted_true_label_mode_is_accepted():
    config = load(ROOT / "config.yaml")
    config["memorization"]["grid"]["labels"] = [True, "randY"]  # YAML's reading of `[true, randY]`
    resolved_from(config)
    assert config["memorization"]["grid"]["labels"] == ["true", "randY"]


def test_lint_has_no_findings():
    proc = snakemake("--lint", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


# --- the ci preset end to end ----------------------------------------------------------------------


def metrics_files(results: Path) -> dict[str, bytes]:
    return {str(p.relative_to(results)): p.read_bytes() for p in sorted(results.rglob("metrics.csv"))}


@pytest.mark.slow
def test_ci_preset_runs_end_to_end(ci_run):
    base, _ = ci_run
    html = (base / "report" / "index.html").read_text()
    for family in FAMILIES.values():
        assert family.title in html
    assert "Smoke test" in html and "Claim checklist" in html and "References" in html
    claims = pd.read_csv(base / "report" / "claims.csv")
    assert set(claims["verdict"]) <= {"held", "did not hold", "inconclusive", "not run"}
    for column in ("claim", "scope", "estimate", "ci_low", "ci_high", "repeats", "threshold", "verdict", "detail"):
        assert column in claims.columns
    summary = pd.read_csv(base / "results/memorization/summary.csv", dtype={"labels": str})
    assert summary["final_train_error"].between(0, 1).all()
    assert set(summary["labels"]) == {"true", "randY", "randX"}
    assert (base / "results/benchmarks/train/memorization").is_dir()
    assert (base / "results/logs/report.log").is_file()
    # every output has the normal permissions of the umask (0644), not those of temporary files
    for path in list((base / "results").rglob("*.csv"))[:50] + [base / "report" / "index.html"]:
        assert path.stat().st_mode & 0o777 == 0o644, path


@pytest.mark.slow
def test_ci_preset_is_up_to_date_and_config_changes_rerun_only_what_they_touch(ci_run, tmp_path):
    base, args = ci_run
    # Up to date whatever --cores a later call gives (thread counts that follow the cores are not params).
    for cores in ([], ["--cores", "1"], ["--cores", "16"]):
        proc = snakemake("-n", "all", *cores, *args, timeout=300)
        assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr, (cores, proc.stdout[-3000:])
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("memorization:\n  regularizers:\n    dropout: {dropout: [0.25]}\n")
    proc = snakemake(
        "-n",
        "all",
        "--configfile",
        "workflow/configs/ci.yaml",
        str(overlay),
        "--config",
        f"results={base / 'results'}",
        f"report_dir={base / 'report'}",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    stats = dry_run_stats(proc.stdout)
    assert stats["train"] == 3  # the dropout conditions only: det x 3 label modes
    assert "kernels_bench" not in stats and "lookup_tables_table" not in stats


def _copy_checkout(tmp_path: Path) -> Path:
    """A copy of the checkout (code, workflow, Snakemake's metadata) to edit without touching ours."""
    copy = tmp_path / "checkout"
    copy.mkdir()
    for name in ("Snakefile", "config.yaml", "pyproject.toml"):
        shutil.copy2(ROOT / name, copy / name)
    for name in ("workflow", "profiles", "src"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / ".snakemake" / "metadata", copy / ".snakemake" / "metadata")
    return copy


def _dry_run_in(checkout: Path, args: list[str]) -> dict[str, int]:
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "all", *args],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {} if "Nothing to be done" in proc.stdout + proc.stderr else dry_run_stats(proc.stdout)


@pytest.mark.slow
def test_code_edits_rerun_exactly_the_rules_that_import_them(ci_run, tmp_path):
    """Reruns follow the import graph of each rule's command: a comment reruns nothing, an edit of
    the training loop reruns the training jobs (and what reads them), an edit of a family's analysis
    reruns only its tables, figures and the report."""
    _, args = ci_run
    checkout = _copy_checkout(tmp_path)
    assert _dry_run_in(checkout, args) == {}
    loop = checkout / "src/bnnrepro/train/loop.py"
    loop.write_text(loop.read_text().replace("def _evaluate(", "# a maintainer's note\n\n\ndef _evaluate(", 1))
    assert _dry_run_in(checkout, args) == {}
    analysis = checkout / "src/bnnrepro/families/memorization/tables.py"
    assert 'BIN_ORDER = ["det", "stoch"]' in analysis.read_text()
    analysis.write_text(analysis.read_text().replace('BIN_ORDER = ["det", "stoch"]', 'BIN_ORDER = ["stoch", "det"]', 1))
    stats = _dry_run_in(checkout, args)
    assert set(stats) == {"memorization_tables", "memorization_figures", "report", "report_check", "all", "total"}, (
        stats
    )
    unrelated = checkout / "src/bnnrepro/lutnet/network.py"
    unrelated.write_text(unrelated.read_text() + "\nUNUSED_CONSTANT = 1\n")
    stats = _dry_run_in(checkout, args)
    assert "train" not in stats and "lookup_tables_table" in stats, stats
    loop.write_text(loop.read_text().replace("rows = []", "rows = list()", 1))
    stats = _dry_run_in(checkout, args)
    assert "train" in stats and "kernels_bench" not in stats


@pytest.mark.slow
def test_kill_9_of_the_whole_workflow_resumes_with_byte_identical_metrics(ci_run, tmp_path):
    """kill -9 of Snakemake and every job it started, mid-run; `--unlock` (Snakemake's answer to a
    lock left by a killed run) and the same command again finish the study, and every metrics.csv
    equals the uninterrupted run's byte for byte."""
    import signal

    base, _ = ci_run
    results = tmp_path / "results"
    args = [
        "--configfile",
        "workflow/configs/ci.yaml",
        "--config",
        f"results={results}",
        f"report_dir={tmp_path / 'report'}",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "2", "all", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    try:
        # kill once some runs are finished and others are under way (a checkpoint or a lock exists)
        while time.monotonic() < deadline and proc.poll() is None:
            finished = list(results.rglob("metrics.csv"))
            running = [p for p in results.rglob(".lock") if not (p.parent / "metrics.csv").exists()]
            if len(finished) >= 3 and running:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the workflow ended before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    killed_with = len(list(results.rglob("metrics.csv")))
    assert killed_with < len(metrics_files(base / "results"))
    unlock = snakemake("--unlock", "all", *args, timeout=300)
    assert unlock.returncode == 0, unlock.stderr[-2000:]
    again = snakemake("--cores", "2", "all", *args)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert metrics_files(results) == metrics_files(base / "results")
    assert (tmp_path / "report" / "index.html").is_file()
