"""`bnnrepro plan`: the jobs of Snakemake's dry run, the training model and its calibration on
finished runs, the wall-time bound, and the command on the default config and the paper preset."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

from bnnrepro.families.registry import FAMILIES
from bnnrepro.workflow import plan
from conftest import ROOT, run_cli

DRY_RUN = textwrap.dedent("""\
    Building DAG of jobs...
    Job stats:
    job      count
    -------  -------
    train          2
    total          5

    [Sun Nov 22 20:02:44 2026]
    rule kernels_bench:
        output: results/kernels/blocks.csv
        log: results/logs/kernels/bench.log
        jobid: 37
        benchmark: results/benchmarks/kernels/bench.tsv
        reason: Missing output files: results/kernels/blocks.csv
        threads: 8
        resources: tmpdir=/tmp, gpu=0, torch_threads=2
    [Sun Nov 22 20:02:44 2026]
    rule train:
        input: results/data/fashion_mnist.verified
        output: results/memorization/fashion_mnist/chunks/det-randY-none.json
        log: results/logs/train/memorization/fashion_mnist/det-randY-none.log
        jobid: 9
        benchmark: results/benchmarks/train/memorization/fashion_mnist/det-randY-none.tsv
        reason: Params have changed since last execution: results/memorization/fashion_mnist/chunks/det-randY-none.json
        wildcards: family=memorization, dataset=fashion_mnist, chunk=det-randY-none
        threads: 4
        resources: tmpdir=/tmp, gpu=0, torch_threads=1, mem_mb=3000, mem=3 GB, mem_mib=2862
    [Sun Nov 22 20:02:44 2026]
    localrule efficiency_tables:
        input: results/efficiency/fashion_mnist/chunks/fashion_mlp_128.json
        output: results/efficiency/runs.csv, results/efficiency/curves.csv
        log: results/logs/efficiency/tables.log
        jobid: 20
        benchmark: results/benchmarks/efficiency/tables.tsv
        reason: Code has changed since last execution
        resources: tmpdir=/tmp
    [Sun Nov 22 20:02:44 2026]
    localrule all:
        input: report/index.html
        jobid: 0
        reason: Input files updated by another job: report/index.html
        resources: tmpdir=/tmp
    Job stats:
    job      count
    total          4
    This was a dry-run (flag -n). The order of jobs does not reflect the order of execution.
    """)


def test_the_jobs_of_a_dry_run():
    jobs = plan.parse_dry_run(DRY_RUN)
    assert [j.rule for j in jobs] == ["kernels_bench", "train", "efficiency_tables"]  # `all` costs nothing
    bench, train, tables = jobs
    assert (
        bench.threads == 8 and bench.resources["torch_threads"] == "2" and bench.log == "results/logs/kernels/bench.log"
    )
    assert train.wildcards == {"family": "memorization", "dataset": "fashion_mnist", "chunk": "det-randY-none"}
    assert train.benchmark.endswith("det-randY-none.tsv") and train.reason.startswith("Params have changed")
    assert tables.outputs == ["results/efficiency/runs.csv", "results/efficiency/curves.csv"] and tables.threads == 1
    assert [plan.family_of(j, FAMILIES) for j in jobs] == ["kernels", "memorization", "efficiency"]
    assert plan.family_of(plan.Job("report", log="results/logs/report.log"), FAMILIES) == "workflow"
    assert plan.family_of(plan.Job("lookup_tables_table"), FAMILIES) == "lookup_tables"


def test_the_error_line_of_a_failed_snakemake():
    stderr = (
        "Config file config.yaml is extended by additional config specified via the command line.\n"
        "WorkflowError in file workflow/rules/common.smk, line 24:\n"
        "invalid configuration: execution.device: 'tpu' is not allowed; choose one of: cpu, cuda\n"
        '  File "workflow/rules/common.smk", line 24, in <module>\n'
    )
    assert plan.snakemake_error(stderr).startswith("invalid configuration: execution.device: 'tpu'")


def test_the_architectures_read_without_torch_are_those_of_the_models():
    from bnnrepro.nn.models import ARCHITECTURES

    assert plan.architectures() == {name: (a.dense, a.conv) for name, a in ARCHITECTURES.items()}


@pytest.mark.parametrize(
    ("settings", "dataset"),
    [
        ({"arch": "mlp", "hidden": [1024]}, "fashion_mnist"),
        ({"arch": "binaryconnect_mlp", "width": 0.25}, "mnist"),
        ({"arch": "svhn_cnn", "width": 0.5}, "svhn"),
        ({"arch": "cifar10_cnn"}, "cifar10"),
    ],
)
def test_forward_macs_count_every_product_of_the_model(settings, dataset):
    """The MACs of the analytic count equal those of the built model's conv and dense layers."""
    import torch

    from bnnrepro.data.registry import DATASETS
    from bnnrepro.nn.models import ModelSpec, build_model

    spec = DATASETS[dataset]
    model = build_model(
        ModelSpec(arch=settings["arch"], width=settings.get("width", 1.0), hidden=tuple(settings.get("hidden") or ())),
        spec.image_shape,
        10,
    )
    counted = []

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            counted.append(output.shape[1] * output.shape[2] * output.shape[3] * module.in_channels * 9)
        elif isinstance(module, torch.nn.Linear):
            counted.append(module.in_features * module.out_features)

    for module in model.modules():
        module.register_forward_hook(hook)
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *spec.image_shape))
    # a conv followed by a pool is counted before the pool (its output is full size)
    assert plan.forward_macs(settings, spec.image_shape) == sum(counted)


def _finished_job(results, family, chunk, runs, job_seconds, dataset="fashion_mnist"):
    """A chunk manifest, its runs (summary.json, timing.csv) and its benchmark, as a workflow run leaves them."""
    folder = results / family / dataset
    (folder / "chunks").mkdir(parents=True, exist_ok=True)
    listed = []
    for name, settings, epoch_seconds in runs:
        run = folder / name
        run.mkdir()
        (run / "summary.json").write_text(
            json.dumps(
                {
                    "config": settings,
                    "epochs_done": len(epoch_seconds),
                    "resumed_after_epoch": 0,
                    "environment": {"device": "cpu"},
                }
            )
        )
        (run / "timing.csv").write_text(
            "run,epoch,epoch_seconds\n" + "".join(f"{name},{i + 1},{s}\n" for i, s in enumerate(epoch_seconds))
        )
        listed.append({"folder": str(run), "summary_sha256": "x"})
    (folder / "chunks" / f"{chunk}.json").write_text(json.dumps({"runs": listed}))
    bench = results / "benchmarks" / "train" / family / dataset / f"{chunk}.tsv"
    bench.parent.mkdir(parents=True, exist_ok=True)
    bench.write_text(f"s\th:m:s\tmax_rss\n{job_seconds}\t0:00:10\t300\n")


SMALL = {"arch": "mlp", "hidden": [32], "train_size": 1000, "test_size": 500, "epochs": 2}


def test_calibration_from_finished_runs(tmp_path):
    """The epoch model is fitted to the runs' epoch times, the overheads to what the jobs took beyond them."""
    results = tmp_path / "results"
    true_model = plan.EpochModel(0.002, 5e-6, 1e10, "truth")
    sizes = [
        ({**SMALL, "hidden": [h], "batch_size": b, "train_size": n})
        for h, b, n in [(32, 50, 1000), (256, 50, 2000), (1024, 100, 4000), (64, 500, 8000), (512, 20, 1000)]
    ]
    jobs = []
    for i, settings in enumerate(sizes):
        per_epoch = true_model.seconds(plan.epoch_features(settings, "fashion_mnist"))
        runs = [(f"r{i}-s{k}", settings, [per_epoch] * 2) for k in range(i % 3 + 1)]
        job_seconds = 4.0 + 0.5 * len(runs) + 2 * per_epoch * len(runs)  # 4 s start-up, 0.5 s per run
        _finished_job(results, "memorization", f"c{i}", runs, job_seconds)
        jobs.append(len(runs))
    calibration = plan.calibrate([results, tmp_path / "missing"])
    assert len(calibration.runs) == sum(jobs) and len(calibration.overheads) == len(sizes)
    model = calibration.model("cpu")
    assert model is not None  # three finished jobs of runs on cpu: the model is fitted
    assert model.error == pytest.approx(0, abs=1e-6) and "fitted to" in model.source
    for settings in sizes + [{**SMALL, "hidden": [2048], "batch_size": 1000, "train_size": 30000}]:
        features = plan.epoch_features(settings, "fashion_mnist")
        assert model.seconds(features) == pytest.approx(true_model.seconds(features), rel=1e-6)
    assert calibration.overhead == pytest.approx((4.0, 0.5), rel=1e-6)
    assert calibration.model("cuda") is None  # no finished cuda run: unknown, not a stated default


def test_the_defaults_the_model_reads_are_those_of_bnnrepro_train():
    from bnnrepro.train.config import TrainConfig

    defaults = TrainConfig()
    assert {key: getattr(defaults, key) for key in plan.TRAIN_DEFAULTS} == plan.TRAIN_DEFAULTS


def test_epoch_features():
    steps, passes, macs = plan.epoch_features(SMALL, "fashion_mnist")
    assert (steps, passes) == (1000 // 100, 4 * 1000 + 500)
    assert macs == passes * (784 * 32 + 32 * 10)
    assert plan.examples({"valid_size": 5000}, "cifar10") == {"train": 45000, "valid": 5000, "test": 10000}


def _memorization_config(seeds=(0, 1)):
    config = {"results": "results", "execution": {"device": "cpu"}, **{name: {"enabled": False} for name in FAMILIES}}
    config["memorization"] = {
        "enabled": True,
        "seeds": list(seeds),
        "datasets": ["fashion_mnist"],
        "settings": {"arch": "mlp", "hidden": [32], "epochs": 4},
        "dataset_settings": {"fashion_mnist": {"train_size": 1000, "test_size": 500}},
        "grid": {"binarization": ["det"], "labels": ["randY"], "regularization": ["none"]},
        "regularizers": {"none": {}},
    }
    return config


def _calibrated(results):
    """Three finished jobs of other settings: enough to fit the epoch model (nothing stated)."""
    for i, hidden in enumerate((16, 64, 256)):
        settings = {**SMALL, "hidden": [hidden], "batch_size": 50 * (i + 1)}
        _finished_job(results, "memorization", f"old{i}", [(f"old{i}-s0", settings, [1.0 + i, 1.0 + i])], 5.0 + 3 * i)


def test_pricing_measured_modelled_and_the_wall_time(tmp_path):
    root = tmp_path
    results = root / "results"
    _calibrated(results)
    (results / "benchmarks" / "kernels").mkdir(parents=True)
    (results / "benchmarks" / "kernels" / "bench.tsv").write_text("s\n42.5\n")
    config = _memorization_config()
    priced, calibration = plan.price(plan.parse_dry_run(DRY_RUN), config, root, [])
    bench, train, tables = priced
    assert (bench.source, bench.seconds) == ("measured", 42.5)
    # modelled from the settings (one process, 2 seeds x 4 epochs), fitted to this machine's runs
    model = calibration.model("cpu")
    assert model is not None
    assert "fitted to 3 finished runs" in model.source
    per_epoch = model.seconds(plan.epoch_features({**SMALL, "epochs": 4}, "fashion_mnist"))
    assert train.source == "modelled" and (train.runs, train.chunk_runs) == (2, 2)
    assert train.seconds == pytest.approx(calibration.job_overhead(1, 2) + 2 * 4 * per_epoch)
    # no tables job measured anywhere: a guess, said as one
    assert (tables.source, tables.seconds) == ("guessed", plan.GUESSED_SECONDS["tables"])
    # kernels_bench holds all 8 slots: it runs alone; the others share them
    assert plan.wall_seconds(priced, 8) == pytest.approx(max(42.5, (42.5 * 8 + train.seconds * 4 + 10.0) / 8))
    text = plan.format_plan(priced, calibration, 8, "snakemake --cores 8 all", "cpu", "a test machine")
    assert "rerun memorization fashion_mnist/det-randY-none (2 of 2 runs" in text and "Params have changed" in text
    assert "\ntotal " in text and "1 job(s) measured" in text and "guessed" in text
    assert "Run exactly this: snakemake --cores 8 all" in text


def test_the_estimate_as_data_says_unknown_as_null(tmp_path):
    from bnnrepro.workflow.plan.command import estimate

    _calibrated(tmp_path / "results")
    priced, _ = plan.price(plan.parse_dry_run(DRY_RUN), _memorization_config(), tmp_path, [])
    data = estimate(priced, 8, "snakemake --cores 8 all", "a test machine", "cpu")
    assert data["wall_seconds"] == pytest.approx(plan.wall_seconds(priced, 8)) and data["runs_to_train"] == 2
    unknown, _ = plan.price(plan.parse_dry_run(DRY_RUN), _memorization_config(), tmp_path / "empty", [])
    data = estimate(unknown, 8, "snakemake --cores 8 all", "a test machine", "cpu")
    assert data["wall_seconds"] is None and data["families"]["memorization"] is None
    assert data["families"]["kernels"] is not None


def test_without_finished_runs_the_training_time_is_unknown(tmp_path):
    """No stated defaults: a plan with nothing measured on this machine says it does not know."""
    priced, calibration = plan.price(plan.parse_dry_run(DRY_RUN), _memorization_config(), tmp_path, [])
    train = priced[1]
    assert train.source == "unknown" and not train.known and "no finished cpu runs" in train.note
    text = plan.format_plan(priced, calibration, 8, "snakemake --cores 8 all", "cpu", "a test machine")
    assert "training: UNKNOWN" in text and "--probe" in text
    memorization = next(line for line in text.splitlines() if line.startswith("memorization "))
    assert "unknown" in memorization or "> " in memorization


def test_finished_runs_are_not_counted_and_a_new_seed_is_named(tmp_path):
    """A chunk that reruns because a seed was added trains only the new seed's run; the plan names
    the run added and a changed setting from Snakemake's record of the earlier job."""
    root = tmp_path
    _calibrated(root / "results")
    config = _memorization_config(seeds=(0, 1, 2))
    chunk = next(c for f in FAMILIES.values() if f.enabled(config) for c in f.chunks(config))
    for run in chunk.runs[:2]:  # seeds 0 and 1 finished with this code version
        folder = root / run.folder("results")
        folder.mkdir(parents=True)
        (folder / "summary.json").write_text(json.dumps({"fingerprint": "abc-CODE"}))
    assert [r.name for r in plan.pending_runs(chunk, "results", root, "CODE")] == ["det-randY-none-s2"]
    assert len(plan.pending_runs(chunk, "results", root, "NEWCODE")) == 3  # another code version: all train
    # Snakemake's record of the job that made the chunk: seeds 0 and 1, hidden 16
    old = json.loads(chunk.spec("results"))
    old["runs"] = old["runs"][:2]
    for r in old["runs"]:
        r["settings"]["hidden"] = [16]
    output = "results/memorization/fashion_mnist/chunks/det-randY-none.json"
    record = plan.dryrun.metadata_path(root, output)
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"params": json.dumps([repr("CODE"), repr(json.dumps(old))])}))
    priced, _ = plan.price(plan.parse_dry_run(DRY_RUN), config, root, [], code="CODE")
    train = priced[1]
    assert (train.runs, train.chunk_runs) == (1, 3)
    assert "runs added: det-randY-none-s2" in train.changes
    assert "hidden: [16] -> [32] (2 runs)" in train.changes
    assert plan.train_changes(["OLD"], chunk.spec("results"), "CODE")[0].startswith("code version OLD -> CODE")


def test_the_command_reproduces_the_plan_with_one_config_option():
    """Snakemake keeps only the last of repeated --config options: one, every value quoted."""
    import shlex

    command = plan.snakemake_command(
        4, ["workflow/configs/ci.yaml"], ["results=my results", "memorization={seeds: [0, 1]}"]
    )
    words = shlex.split(command)
    assert words.count("--config") == 1 and words.count("--configfile") == 1
    assert words[:4] == ["snakemake", "--cores", "4", "all"]
    assert words[-2:] == ["results=my results", "memorization={seeds: [0, 1]}"]


def test_the_probe_is_laid_out_like_a_workflow_run(tmp_path):
    """The probe's jobs are chunk specs of runs that vary every feature of the epoch model."""
    from bnnrepro.workflow.plan.probe import probe_runs

    chunks = probe_runs(tmp_path, "cpu", "fashion_mnist")
    runs = [r for _, spec in chunks for r in json.loads(spec)["runs"]]
    assert len(chunks) == 3 and len({len(json.loads(s)["runs"]) for _, s in chunks}) == 3  # 1, 2, 3 runs a job
    features = [plan.epoch_features(r["settings"], "fashion_mnist") for r in runs]
    import numpy as np

    assert np.linalg.matrix_rank(np.array(features)) == 3
    assert all(str(tmp_path / "probe" / "fashion_mnist") in r["out"] for r in runs)


def test_elsewhere_is_the_same_job_in_another_results_folder(tmp_path):
    other = tmp_path / "results-ci"
    (other / "benchmarks" / "kernels").mkdir(parents=True)
    (other / "benchmarks" / "kernels" / "bench.tsv").write_text("s\n7.0\n")
    config = {"results": "results", "execution": {"device": "cpu"}, **{n: {"enabled": False} for n in FAMILIES}}
    priced, _ = plan.price(plan.parse_dry_run(DRY_RUN)[:1], config, tmp_path, [other])
    assert (priced[0].source, priced[0].seconds) == ("measured elsewhere", 7.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cores", "0"], "must be at least 1"),
        (["--configfile", "no/such.yaml"], "no such file"),
        (["--config", "results"], "give KEY=VALUE"),
        (["--history", "no/such/folder"], "not a folder"),
    ],
)
def test_bad_arguments_are_one_line_errors(args, message):
    proc = run_cli("plan", *args, timeout=60)
    assert proc.returncode == 2 and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2 and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_a_config_snakemake_rejects_is_one_line(tmp_path):
    proc = run_cli("plan", "--config", f"results={tmp_path / 'r'}", "execution={device: tpu}", timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "tpu" in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["config.yaml", "workflow/configs/paper.yaml"])
def test_plan_of_the_default_config_and_the_paper_preset(preset, tmp_path):
    """Fast and torch-free even for the paper preset: no job is run, every family is priced."""
    code = (
        "import sys; from bnnrepro.cli import main; rc = main(sys.argv[1:]); "
        "print('torch imported:', 'torch' in sys.modules); sys.exit(rc)"
    )
    args = ["plan", "--cores", "8", "--config", f"results={tmp_path / 'results'}", f"report_dir={tmp_path / 'report'}"]
    if preset != "config.yaml":
        args[3:3] = ["--configfile", preset]
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    took = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr
    assert "torch imported: False" in proc.stdout and took < 120
    assert not (tmp_path / "results").exists()  # nothing ran
    for family in FAMILIES:
        assert f"\n{family} " in proc.stdout
    assert "\ntotal " in proc.stdout and "Training:" in proc.stdout
    commands = [line for line in proc.stdout.splitlines() if "snakemake --cores" in line]
    assert len(commands) == 2 and all(line.count("--config ") == 1 for line in commands)  # one --config, all values
    if preset != "config.yaml":  # the paper preset trains on cuda: no cuda runs here, so it says it does not know
        assert "trains on cuda" in proc.stdout and "training: UNKNOWN" in proc.stdout
