"""Bad input, one table: command-line arguments, config files, data files and output paths.

Each case is what a user might type or have on disk, the exit status it must get (2: bad input) and
a fragment of the one line that names the problem. No case may end in a traceback or print more than
one line of error. The cases run in-process through :func:`bnnrepro.cli.main` (one import of torch
for all of them); the few that need a process of their own (a resource limit) run as subprocesses.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bnnrepro.cli import main
from conftest import ROOT


@dataclass(frozen=True)
class Case:
    id: str
    argv: Callable[[Path], list[str]]  # builds the files it needs under the test's folder
    fragment: str
    code: int = 2
    env: dict | None = None


def _file(tmp: Path, name: str, text: str = "x") -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _read_only_dir(tmp: Path) -> Path:
    """A folder nobody may write into: as root (who writes anywhere) one under /sys, which the
    kernel refuses to create (EPERM), else a folder of mode 0555."""
    if os.geteuid() == 0:
        return Path("/sys/bnnrepro-read-only")
    folder = tmp / "bnnrepro-read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def _yaml(tmp: Path, text: str) -> str:
    return str(_file(tmp, "bad.yaml", text))


def _finished_run(tmp: Path) -> Path:
    """A real finished run (tiny), sealed: its summary.json records metrics.csv's checksum."""
    out = tmp / "run"
    assert (
        main(
            [
                "train",
                "--out",
                str(out),
                "--train-size",
                "200",
                "--test-size",
                "100",
                "--hidden",
                "8",
                "--epochs",
                "1",
                "--batch-size",
                "100",
                "--no-progress",
            ]
        )
        == 0
    )
    return out


def _locked(tmp: Path) -> Path:
    """A run folder another process is writing: its lock is held (here by an open file of this
    process: flock locks belong to the open file, so the command's own attempt conflicts)."""
    import fcntl

    folder = tmp / "busy"
    folder.mkdir()
    handle = open(folder / ".lock", "a+")  # noqa: SIM115 -- held open until the session ends (_HELD), no `with`
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    _HELD.append(handle)  # kept open until the test session ends
    return folder


_HELD: list = []


def _truncated(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _truncated_metrics(tmp: Path) -> list[str]:
    from bnnrepro.train.records import write_manifest

    out = _finished_run(tmp)
    manifest = tmp / "manifest.json"
    write_manifest(manifest, [out])
    _truncated(out / "metrics.csv")
    return ["memorization", "tables", "--section", "{}", "--results", str(tmp), str(manifest)]


def _truncated_summary(tmp: Path) -> list[str]:
    out = _finished_run(tmp)
    _truncated(out / "summary.json")
    return [
        "train",
        "--out",
        str(out),
        "--train-size",
        "200",
        "--test-size",
        "100",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--batch-size",
        "100",
        "--no-progress",
    ]


def _truncated_checkpoint(tmp: Path) -> list[str]:
    out = tmp / "run"
    out.mkdir(parents=True)
    (out / "checkpoint.pt").write_bytes(b"PK\x03\x04 truncated zip")
    return [
        "train",
        "--out",
        str(out),
        "--train-size",
        "200",
        "--test-size",
        "100",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--batch-size",
        "100",
        "--no-progress",
    ]


def _corrupt_data(tmp: Path) -> list[str]:
    folder = tmp / "data" / "fashion_mnist"
    _file(folder, "train-labels-idx1-ubyte.gz", "not a gzip file")
    return ["data", "info", "fashion_mnist", "--data-dir", str(tmp / "data")]


TRAIN = ["--train-size", "200", "--test-size", "100", "--hidden", "8", "--epochs", "1", "--no-progress"]

CASES = [
    # --- the command line -------------------------------------------------------------------------
    Case("unknown-command", lambda t: ["trian"], "did you mean 'train'?"),
    Case("family-without-action", lambda t: ["memorization"], "missing action; choose one of: tables"),
    Case("family-unknown-action", lambda t: ["memorization", "plot"], "unknown action 'plot'"),
    Case(
        "unknown-option",
        lambda t: ["train", "--out", str(t / "r"), "--no-such-option"],
        "unrecognized arguments: --no-such-option",
    ),
    Case("epochs-zero", lambda t: ["train", "--out", str(t / "r"), "--epochs", "0"], "epochs=0 must be >= 1"),
    Case("epochs-not-a-number", lambda t: ["train", "--out", str(t / "r"), "--epochs", "two"], "'two' is not an int"),
    Case("huge-seed", lambda t: ["train", "--out", str(t / "r"), "--seed", "99999999999999999999999"], "too large"),
    Case(
        "bad-label-mode", lambda t: ["train", "--out", str(t / "r"), "--labels", "random"], "invalid choice: 'random'"
    ),
    Case("dropout-out-of-range", lambda t: ["train", "--out", str(t / "r"), "--dropout", "1.5"], "dropout"),
    Case("pair-task-same-class", lambda t: ["train", "--out", str(t / "r"), "--task", "pair-3-3"], "pair-A-B"),
    Case(
        "subset-larger-than-dataset",
        lambda t: ["train", "--out", str(t / "r"), "--train-size", "70000"],
        "train_size=70000",
    ),
    Case(
        "diverging-learning-rate",
        lambda t: ["train", "--out", str(t / "r"), *TRAIN, "--lr-start", "1e30"],
        "diverged at epoch 1: the train loss is not finite; lower lr_start",
    ),
    Case(
        "run-folder-in-use", lambda t: ["train", "--out", str(_locked(t)), *TRAIN], "being written by another process"
    ),
    Case("no-out", lambda t: ["train", "--epochs", "1"], "--out DIR"),
    Case("empty-out", lambda t: ["train", "--out", "", "--epochs", "1"], "--out"),
    Case("runs-file-missing", lambda t: ["train", "--runs", str(t / "absent.json")], "absent.json: no such file"),
    Case(
        "runs-file-not-a-chunk",
        lambda t: ["train", "--runs", str(_file(t, "c.json", '{"runs": 3}'))],
        "not a chunk spec",
    ),
    Case(
        "run-config-missing",
        lambda t: ["train", "--out", str(t / "r"), "--config", str(t / "absent.yaml")],
        "absent.yaml",
    ),
    Case(
        "run-config-unknown-key",
        lambda t: ["train", "--out", str(t / "r"), "--config", _yaml(t, "epoch: 3\n")],
        "did you mean 'epochs'",
    ),
    Case(
        "run-config-yaml-exponent",
        lambda t: ["train", "--out", str(t / "r"), "--config", _yaml(t, "lr_start: 3e-3\n")],
        "3e-3",
    ),
    Case(
        "kernel-bench-huge-size",
        lambda t: ["kernels", "bench", "--out", str(t / "k.csv"), "--sizes", "1000000"],
        "--sizes",
    ),
    Case("kernel-bench-no-gpu", lambda t: ["kernels", "bench", "--out", str(t / "k.csv"), "--device", "cuda"], "cuda"),
    Case(
        "lookup-tables-bad-pair",
        lambda t: ["lookup_tables", "table", "pairwise", "--pairs", "3-3", "--out", str(t / "p.csv")],
        "3-3",
    ),
    Case("plan-configfile-missing", lambda t: ["plan", "--configfile", str(t / "absent.yaml")], "absent.yaml"),
    Case(
        "plan-config-unknown-key",
        lambda t: ["plan", "--configfile", _yaml(t, "memorization: {seed: [1]}\n")],
        "did you mean 'seeds'",
    ),
    Case(
        "plan-config-bad-value",
        lambda t: ["plan", "--configfile", _yaml(t, "easy_examples: {repeats: ten}\n")],
        "easy_examples.repeats",
    ),
    Case(
        "plan-config-renamed-family",
        lambda t: ["plan", "--configfile", _yaml(t, "lutnet: {}\n")],
        "did you mean 'lookup_tables'",
    ),
    Case(
        "plan-config-pair-same-class",
        lambda t: ["plan", "--configfile", _yaml(t, "lookup_tables: {pairwise: {pairs: ['3-3']}}\n")],
        "3-3",
    ),
    # --- data -------------------------------------------------------------------------------------
    Case("unknown-dataset", lambda t: ["data", "fetch", "imagenet"], "imagenet"),
    Case("data-dir-missing", lambda t: ["data", "info", "--data-dir", str(t / "nowhere")], "nowhere"),
    Case(
        "train-data-dir-missing",
        lambda t: ["train", "--out", str(t / "r"), *TRAIN],
        "nowhere",
        env={"BNNREPRO_DATA": "/nonexistent/nowhere"},
    ),
    Case("corrupt-data-file", _corrupt_data, "train-labels-idx1-ubyte.gz"),
    Case(
        "train-on-corrupt-data",
        lambda t: (_corrupt_data(t), ["train", "--out", str(t / "r"), *TRAIN])[1],
        "train-labels-idx1-ubyte.gz",
        env={"BNNREPRO_DATA": "{tmp}/data"},
    ),
    # --- results and outputs ----------------------------------------------------------------------
    Case(
        "tables-input-missing",
        lambda t: ["memorization", "tables", "--section", "{}", "--results", str(t), str(t / "absent.json")],
        "absent.json",
    ),
    Case(
        "tables-bad-section-json",
        lambda t: ["memorization", "tables", "--section", "{not json", "--results", str(t)],
        "--section",
    ),
    Case("truncated-metrics", _truncated_metrics, "metrics.csv"),
    # a run folder's own truncated records are rebuilt (trained again), with a line naming the file
    Case("truncated-summary", _truncated_summary, "summary.json is corrupt", code=0),
    Case("truncated-checkpoint", _truncated_checkpoint, "checkpoint.pt is corrupt", code=0),
    Case("out-is-a-file", lambda t: ["train", "--out", str(_file(t, "afile")), *TRAIN], "afile"),
    Case("out-under-a-file", lambda t: ["train", "--out", str(_file(t, "afile") / "run"), *TRAIN], "afile"),
    Case("out-read-only", lambda t: ["train", "--out", str(_read_only_dir(t) / "run"), *TRAIN], "bnnrepro-read-only"),
    Case(
        "bench-csv-read-only",
        lambda t: [
            "kernels",
            "bench",
            "--sizes",
            "64",
            "--batch",
            "1",
            "--repeats",
            "2",
            "--max-time",
            "0.01",
            "--out",
            str(_read_only_dir(t) / "k.csv"),
        ],
        "bnnrepro-read-only",
    ),
    Case(
        "lookup-csv-under-a-file",
        lambda t: [
            "lookup_tables",
            "table",
            "table2",
            "--k",
            "2",
            "--width",
            "8",
            "--layers",
            "1",
            "--out",
            str(_file(t, "afile") / "t.csv"),
        ],
        "afile",
    ),
    Case(
        "report-config-missing",
        lambda t: ["report", "build", "--config", str(t / "none.yaml"), "--results", str(t)],
        "none.yaml",
    ),
    Case(
        "report-results-missing",
        lambda t: [
            "report",
            "build",
            "--config",
            str(_file(t, "c.yaml", "results: r\n")),
            "--results",
            str(t / "nowhere"),
        ],
        "nowhere",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_exit_2(case, tmp_path, capsys, monkeypatch):
    for key, value in (case.env or {}).items():
        monkeypatch.setenv(key, value.format(tmp=tmp_path))
    argv = case.argv(tmp_path)
    capsys.readouterr()  # drop what set-up printed
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code if isinstance(exc.code, int) else -1  # argparse exits with an int status
    err = capsys.readouterr().err
    assert code == case.code, err
    assert case.fragment in err, err
    assert "Traceback" not in err
    if code == 0:  # rebuilt: the line naming the damaged file comes first, then the rebuild's progress
        return
    assert len(error_lines(err)) == 1, err


def test_there_are_at_least_30_cases():
    assert len(CASES) >= 30


def error_lines(stderr: str) -> list[str]:
    """The lines that report an error (progress lines of the work done before it are fine)."""
    return [line for line in stderr.splitlines() if "error:" in line]


def _child(args: list[str], limit_bytes: int | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    def limits():
        if limit_bytes is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "bnnrepro", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        preexec_fn=limits,
        timeout=300,
    )


def test_a_full_disk_is_one_line_naming_the_file(tmp_path):
    """No room for the outputs (a file-size limit: writes fail as on a full disk, with EFBIG)."""
    out = tmp_path / "run"
    proc = _child(["train", "--out", str(out), *TRAIN], limit_bytes=2000)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and str(out) in proc.stderr
    assert len(error_lines(proc.stderr)) == 1, proc.stderr
    assert not list(out.glob("*.tmp*"))  # nothing half-written left behind
