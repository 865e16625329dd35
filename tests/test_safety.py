"""Safe with any config and any results folder (issue 20): no config value reaches a shell
unquoted, nothing from a results folder is unpickled, every result is sealed and every fix a message
suggests works, and a failed job's line reaches the console.

The workflow cases run Snakemake on its smallest targets (the data check, the kernel benchmark at
one tiny shape) so that the shell commands really run; the rest call the CLI.
"""

from __future__ import annotations

import json
import os
import pickle
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bnnrepro.cli import main
from conftest import FASHION_SYSTEM_DIR, ROOT, snakemake

TRAIN = ["--train-size", "200", "--test-size", "100", "--hidden", "8", "--epochs", "2", "--no-progress"]
TRAIN = [*TRAIN, "--batch-size", "100", "--checkpoint-every", "0"]
TINY_KERNELS = {"sizes": [64], "batch": [1], "repeats": 3, "max_time": 0.03, "exclusive": False}


def _preset(tmp: Path, config: dict) -> str:
    path = tmp / "preset.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def _pwned(tmp: Path) -> list[Path]:
    """Files an injected command would have created (in the test folder or the checkout)."""
    return [p for p in [*tmp.rglob("pwned*"), *ROOT.glob("pwned*")] if p.is_file()]


# --- no shell injection ------------------------------------------------------------------------------


@pytest.fixture
def hostile(tmp_path):
    """A config whose data folder and results folder hold shell commands, quotes and spaces; the
    results folder sits beside an existing file `out/precious` that a split path would overwrite."""
    data_dir = tmp_path / f"datasets$(touch {tmp_path}/pwned1)"
    data_dir.mkdir(parents=True)
    (data_dir / "fashion_mnist").symlink_to(FASHION_SYSTEM_DIR)
    precious = tmp_path / "out" / "precious"
    precious.parent.mkdir()
    precious.write_text("the user's file\n")
    results = tmp_path / "out" / f"precious run/it's `touch {tmp_path}/pwned2` res$(touch {tmp_path}/pwned2)"
    config = {
        "data_dir": str(data_dir),
        "results": str(results),
        "report_dir": str(tmp_path / "report dir"),
        "kernels": TINY_KERNELS,
    }
    return tmp_path, config, results, precious


def test_hostile_paths_run_no_command_and_touch_no_other_file(hostile):
    tmp, config, results, precious = hostile
    targets = [str(results / "data" / "fashion_mnist.verified"), str(results / "kernels" / "blocks.csv")]
    proc = snakemake("--cores", "1", *targets, "--configfile", _preset(tmp, config), timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (results / "data" / "fashion_mnist.verified").is_file()
    assert (results / "kernels" / "blocks.csv").is_file()
    assert (results / "logs" / "data" / "fashion_mnist.log").is_file()
    assert _pwned(tmp) == []
    assert precious.read_text() == "the user's file\n"
    outside = {p for p in tmp.rglob("*") if p.is_file() and results not in p.parents}
    assert outside == {precious, tmp / "preset.yaml"}


def test_hostile_paths_are_one_shell_word_in_every_command(hostile):
    """A dry run of the whole workflow prints every job's command: the hostile folder appears only
    inside single quotes (or in the quoted heredoc of a chunk spec, which the shell does not expand)."""
    tmp, config, results, _ = hostile
    proc = snakemake("-n", "-p", "--quiet", "host", "all", "--configfile", _preset(tmp, config), timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    quoted = shlex.quote(str(results))[:-1]  # the quoted folder, open at its end (paths continue)
    lines = [line for line in proc.stdout.splitlines() if "$(touch" in line and not line.startswith('{"isolate"')]
    commands = [line for line in lines if "python -m bnnrepro" in line]
    assert len(commands) > 10
    for line in commands:
        bare = line.replace(shlex.quote(config["data_dir"]), "").replace(quoted, "")
        assert "touch" not in bare, line
    assert _pwned(tmp) == []


@pytest.mark.parametrize("name", ["x`touch pwned3`", "a/b", "$(touch pwned3)", "two words"])
def test_a_hostile_regularizer_name_stops_the_workflow_before_any_job(tmp_path, name):
    config = {
        "results": str(tmp_path / "results"),
        "report_dir": str(tmp_path / "report"),
        "memorization": {"regularizers": {name: {}}},
    }
    proc = snakemake("--cores", "1", "all", "--configfile", _preset(tmp_path, config), timeout=300)
    assert proc.returncode != 0
    assert "cannot name files and run folders" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists() and _pwned(tmp_path) == []


# --- no pickle from a results folder ---------------------------------------------------------------


class _Payload:
    """Unpickling it runs a command (what an attacker would put in a shared results folder)."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def _crafted(path: Path, target: Path, sealed: bool) -> None:
    from bnnrepro.io import write_seal

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps({"fingerprint": _Payload(target), "model": {}, "epoch": 1}))
    if sealed:  # even a checkpoint whose seal verifies is read weights-only
        write_seal(path)


@pytest.mark.parametrize("sealed", [False, True])
def test_a_crafted_checkpoint_runs_no_code(tmp_path, capsys, sealed):
    out = tmp_path / "run"
    target = tmp_path / "pwned"
    _crafted(out / "checkpoint.pt", target, sealed)
    assert main(["train", "--out", str(out), *TRAIN]) == 0
    err = capsys.readouterr().err
    assert not target.exists()
    assert "checkpoint.pt" in err and "starting the run afresh" in err
    assert (out / "summary.json").is_file() and not (out / "checkpoint.pt").exists()


def test_a_crafted_model_runs_no_code(tmp_path):
    from bnnrepro.errors import DataError
    from bnnrepro.nn.export import load_packed
    from bnnrepro.train.loop import load_model

    target = tmp_path / "pwned"
    for name in ("model.pt", "packed.pt"):
        _crafted(tmp_path / name, target, sealed=True)
    with pytest.raises(DataError, match="not a bnnrepro tensor file"):
        load_model(tmp_path / "model.pt")
    with pytest.raises(DataError, match="not a bnnrepro tensor file"):
        load_packed(tmp_path / "packed.pt")
    assert not target.exists()


def test_a_killed_run_resumes_from_its_sealed_weights_only_checkpoint(tmp_path):
    from bnnrepro.io import seal_problem
    from bnnrepro.train.config import TrainConfig
    from bnnrepro.train.loop import train

    cfg = TrainConfig(train_size=200, test_size=100, hidden=[8], epochs=3, batch_size=100, checkpoint_every=0)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "killed" / "run", progress=False, stop_after_epoch=2)
    assert seal_problem(tmp_path / "killed" / "run" / "checkpoint.pt") is None
    resumed = train(cfg, tmp_path / "killed" / "run", progress=False)
    straight = train(cfg, tmp_path / "straight" / "run", progress=False)
    assert resumed.summary["resumed_after_epoch"] == 2
    assert (tmp_path / "killed" / "run" / "metrics.csv").read_bytes() == (
        tmp_path / "straight" / "run" / "metrics.csv"
    ).read_bytes()
    assert straight.summary["final_error"] == resumed.summary["final_error"]


# --- every fix a message suggests works --------------------------------------------------------------


def _spec(tmp: Path, out: Path) -> Path:
    settings = dict(train_size=200, test_size=100, hidden=[8], epochs=1, batch_size=100)
    spec = tmp / "chunk.json"
    spec.write_text(json.dumps({"runs": [{"out": str(out), "name": out.name, "settings": settings}]}))
    return spec


def test_an_edited_summary_is_named_and_the_suggested_fix_retrains_it(tmp_path, capsys):
    out, manifest = tmp_path / "run", tmp_path / "chunks" / "c.json"
    spec = _spec(tmp_path, out)
    assert main(["train", "--runs", str(spec), "--manifest", str(manifest), "--no-progress"]) == 0
    honest = json.loads((out / "summary.json").read_text())["final_error"]["train"]
    edited = json.loads((out / "summary.json").read_text())
    edited["final_error"]["train"] = 0.0001
    (out / "summary.json").write_text(json.dumps(edited))
    capsys.readouterr()
    tables = ["memorization", "tables", "--section", "{}", "--results", str(tmp_path), str(manifest)]
    assert main(tables) == 2
    err = capsys.readouterr().err
    assert f"delete {manifest} and rerun" in err
    manifest.unlink()  # the fix: the job runs again and retrains what is not whole
    assert main(["train", "--runs", str(spec), "--manifest", str(manifest), "--no-progress"]) == 0
    assert "training it again" in capsys.readouterr().err
    assert json.loads((out / "summary.json").read_text())["final_error"]["train"] == honest
    from bnnrepro.train.records import read_manifest

    assert read_manifest(manifest) == [out]


def test_another_code_version_retrains_a_finished_run(tmp_path, capsys):
    out = tmp_path / "run"
    spec = _spec(tmp_path, out)
    assert main(["train", "--runs", str(spec), "--code-version", "aaaa", "--no-progress"]) == 0
    assert main(["train", "--runs", str(spec), "--code-version", "aaaa", "--no-progress"]) == 0
    assert "already complete" in capsys.readouterr().err
    assert main(["train", "--runs", str(spec), "--code-version", "bbbb", "--no-progress"]) == 0
    assert "another code version; training it again" in capsys.readouterr().err
    assert json.loads((out / "summary.json").read_text())["fingerprint"].endswith("-bbbb")


def test_tags_cannot_overwrite_measured_columns(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "r"), *TRAIN, "--tags", "error=0"]) == 2
    assert "would overwrite the measured column 'error'" in capsys.readouterr().err
    assert not (tmp_path / "r" / "metrics.csv").exists()


# --- the workflow: edited results are named on the console, the fixes rebuild ------------------------


@pytest.fixture(scope="module")
def kernel_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kernels")
    results = tmp / "results"
    preset = _preset(tmp, {"results": str(results), "report_dir": str(tmp / "report"), "kernels": TINY_KERNELS})
    table = results / "kernels" / "products.csv"
    proc = snakemake("--cores", "1", str(table), "--configfile", preset, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return tmp, results, preset, table


def test_an_edited_compute_output_fails_its_reader_with_one_line_on_the_console(kernel_results):
    _, results, preset, table = kernel_results
    blocks = results / "kernels" / "blocks.csv"
    text = blocks.read_text()
    lines = text.splitlines(keepends=True)
    blocks.write_text("".join(lines[:-1]))  # a row dropped: the timings' medians would move
    proc = snakemake("--cores", "1", str(table), "--configfile", preset, timeout=600)
    console = proc.stdout + proc.stderr
    assert proc.returncode != 0
    failed = [line for line in console.splitlines() if line.startswith("FAILED kernels_tables:")]
    assert len(failed) == 1, console
    assert "blocks.csv has changed since it was written" in failed[0] and "; delete it and rerun" in failed[0]
    assert "(log: " in failed[0] and "logs/kernels/tables.log" in failed[0]
    blocks.unlink()  # the fix the line names: the benchmark runs again, then its reader
    proc = snakemake("--cores", "1", str(table), "--configfile", preset, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    from bnnrepro.io import seal_problem

    assert seal_problem(table) is None and seal_problem(blocks) is None


def test_a_results_folder_next_to_other_code_reruns_its_jobs(kernel_results):
    """A copied results folder carries no Snakemake records of the code that made it; the code
    stamp of this checkout's version is missing there, so the jobs run again."""
    _, results, preset, table = kernel_results
    assert snakemake("--cores", "1", str(table), "--configfile", preset).returncode == 0  # up to date
    proc = snakemake("-n", str(table), "--configfile", preset, timeout=300)
    assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout
    [stamp] = (results / "code").glob("kernels-bench-*.stamp")
    stamp.rename(stamp.with_name("kernels-bench-0123456789ab.stamp"))  # made by another checkout's code
    proc = snakemake("-n", str(table), "--configfile", preset, timeout=300)
    assert "kernels_bench" in proc.stdout and "kernels_tables" in proc.stdout, proc.stdout


def test_two_workflows_never_write_one_results_folder(kernel_results):
    """Snakemake's own lock is per checkout: another checkout's workflow holding the results folder
    stops this one before any job, with a line saying so."""
    from bnnrepro.io import hold_lock

    _, results, preset, table = kernel_results
    held = hold_lock(results, ".workflow.lock", "held by the test")
    try:
        proc = snakemake("--cores", "1", str(table), "--forcerun", "kernels_tables", "--configfile", preset)
    finally:
        held.close()
    assert proc.returncode != 0
    assert "is being written by another workflow" in proc.stdout + proc.stderr


def test_a_duplicate_key_in_a_configfile_names_the_file_and_line(tmp_path):
    """The Snakefile reads every config file itself first: file and line, not Snakemake's generic
    message; a duplicate key is refused."""
    dup = tmp_path / "dup.yaml"
    dup.write_text("kernels:\n  repeats: 3\n  repeats: 5\n")
    proc = snakemake("-n", "all", "--configfile", str(dup), timeout=300)
    assert proc.returncode != 0
    assert "dup.yaml:3: duplicate key 'repeats' (first given at line 2)" in proc.stdout + proc.stderr


def test_failure_lines_come_from_the_logs_of_the_failed_jobs(tmp_path):
    from bnnrepro.workflow import failures

    job_log = tmp_path / "tables.log"
    job_log.write_text("reading...\nbnnrepro: error: x.csv has changed since it was written; delete it\n")
    main_log = tmp_path / "snakemake.log"
    main_log.write_text(
        "[Mon]\nError in rule kernels_tables:\n    message: None\n    jobid: 3\n"
        f"    log: {job_log} (check log file(s) for error details)\n    shell:\n        python -m ...\n"
    )
    lines = []

    class Out:
        def write(self, text):
            lines.append(text)

        def flush(self):
            pass

    assert failures.report(main_log, "results", out=Out()) == 1
    assert "".join(lines).strip() == (
        f"FAILED kernels_tables: bnnrepro: error: x.csv has changed since it was written; delete it (log: {job_log})"
    )


def test_python_is_not_run_through_a_shell_by_the_cli(tmp_path):
    """`bnnrepro train` isolates runs with an argument list, never a shell string."""
    proc = subprocess.run(
        [sys.executable, "-c", "import inspect, bnnrepro.train.command as c; print(inspect.getsource(c))"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert "shell=True" not in proc.stdout
