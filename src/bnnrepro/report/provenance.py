"""Provenance of a report: the code (git commit, dirty tree), the environment (package versions,
hardware), the cost (job time per family and step from Snakemake's benchmark files) and the command
to rerun.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

import pandas as pd

PACKAGES = (
    "bnnrepro",
    "torch",
    "triton",
    "snakemake",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "seaborn",
    "matplotlib",
    "jinja2",
)


#: The checkout this package runs from (src/bnnrepro/report/provenance.py -> the repository).
CHECKOUT = Path(__file__).resolve().parents[3]


def git_state(repo: Path = CHECKOUT) -> dict:
    """Commit, dirty flag and branch of ``repo`` (None values outside a git checkout)."""

    def git(*args: str) -> str | None:
        try:
            return subprocess.run(
                ["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=20
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": commit,
        "dirty": bool(status) if status is not None else None,
        "changed_files": status.splitlines() if status else [],
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
    }


def snakemake_command() -> str | None:
    """The command line of the Snakemake run this process is a job of (the report is a local rule:
    a child of the ``snakemake`` process), as the user typed it: ``snakemake ARGS``; None outside one.
    The workflow exports it to its jobs as ``BNNREPRO_COMMAND`` (workflow/rules/common.smk); where
    that is missing (a job started by hand) the parent processes say it."""
    import shlex

    if os.environ.get("BNNREPRO_COMMAND"):
        return os.environ["BNNREPRO_COMMAND"]

    import psutil

    try:
        for parent in psutil.Process().parents():
            argv = parent.cmdline()
            if argv[1:3] == ["-m", "snakemake"]:  # python -m snakemake ARGS
                return shlex.join(["snakemake", *argv[3:]])
            for i, arg in enumerate(argv[:2]):  # snakemake ARGS, or python .../bin/snakemake ARGS
                if os.path.basename(arg) == "snakemake":
                    return shlex.join(["snakemake", *argv[i + 1 :]])
    except (psutil.Error, OSError):
        return None
    return None


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def hardware() -> dict:
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "gpu": None,
    }
    try:
        import torch

        if torch.cuda.is_available():
            info["gpu"] = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    except ImportError:
        pass
    return info


def _family_and_step(parts: tuple[str, ...], families: Iterable[str]) -> tuple[str, str]:
    """(family, step) of a benchmark file from its path under benchmarks/ (which mirrors the job's
    log path: train/<family>/<dataset>/<chunk>.tsv, <family>/tables.tsv, <family>/<...>.tsv, ...)."""
    names = sorted(families, key=len, reverse=True)
    stem = Path(parts[-1]).stem
    if parts[0] == "train":
        return (parts[1] if len(parts) > 2 else "workflow"), "training"
    family = next((p for p in (*parts[:-1], stem) if p in names), None)
    if family is None:  # a rule-named folder, e.g. efficiency_inference/...
        family = next((n for n in names if parts[0].startswith(n + "_")), None)
    if family is None:
        return "workflow", {"data": "data"}.get(parts[0], stem if len(parts) == 1 else parts[0])
    return family, stem if stem in ("tables", "figures") else "compute"


def job_times(benchmark_dir: Path, families: Iterable[str] = ()) -> pd.DataFrame:
    """Per family and step (training, compute, tables, figures; the workflow's own jobs: data,
    config, report): jobs, total and longest wall seconds, peak RSS (MB).

    Reads Snakemake's ``benchmark:`` TSV files (columns ``s``, ``max_rss`` in MB, ...)."""
    columns = ["family", "step", "jobs", "total_seconds", "max_seconds", "max_rss_mb"]
    rows = []
    for path in sorted(Path(benchmark_dir).rglob("*.tsv")):
        try:
            frame = pd.read_csv(path, sep="\t")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError):
            continue
        if "s" not in frame.columns or frame.empty:
            continue
        family, step = _family_and_step(path.relative_to(benchmark_dir).parts, families)
        max_rss = pd.to_numeric(frame.get("max_rss", pd.Series(dtype=float)), errors="coerce").max()
        rows.append({"family": family, "step": step, "seconds": float(frame["s"].iloc[0]), "max_rss_mb": max_rss})
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(rows)
    order = {name: i for i, name in enumerate(list(families) + ["workflow"])}
    steps = {name: i for i, name in enumerate(["training", "compute", "tables", "figures", "data"])}
    out = (
        frame.groupby(["family", "step"])
        .agg(
            jobs=("seconds", "size"),
            total_seconds=("seconds", "sum"),
            max_seconds=("seconds", "max"),
            max_rss_mb=("max_rss_mb", "max"),
        )
        .reset_index()
    )
    out["_f"] = out["family"].map(lambda f: order.get(f, len(order)))
    out["_s"] = out["step"].map(lambda s: steps.get(s, len(steps)))
    return out.sort_values(["_f", "_s", "step"])[columns].reset_index(drop=True)


def _metadata_records(metadata: Path) -> Iterator[tuple[str, float, float]]:
    """(output path, start, end) of every job record under Snakemake's .snakemake/metadata (a long
    path's record is split into folders whose names start with "@")."""
    import base64
    import json

    if not metadata.is_dir():
        return
    for path in metadata.rglob("*"):
        if not path.is_file() or path.name.startswith("@"):
            continue
        parts = path.relative_to(metadata).parts
        try:
            encoded = "".join(p.lstrip("@") for p in parts[:-1]) + parts[-1]
            output = base64.urlsafe_b64decode(encoded.encode()).decode()
            record = json.loads(path.read_text())
            if str(record.get("shellcmd")) == "None":
                # a `run:` job runs inside Snakemake's own process (milliseconds); its recorded start
                # can be that of an earlier session, so it is left out
                continue
            start, end = float(record["starttime"]), float(record["endtime"])
        except (ValueError, KeyError, TypeError, OSError):
            continue
        yield output, start, end


def _union_seconds(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by at least one of the intervals (overlaps counted once, gaps not at all)."""
    total, reach = 0.0, -float("inf")
    for start, end in sorted(intervals):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


def wall_times(
    results: Path, report_dir: Path, families: Collection[str] = (), root: Path | None = None
) -> dict[str, float]:
    """Wall seconds per family and in total ("total"): the time during which at least one of the
    family's jobs ran, from the start and end times Snakemake records per job
    (``.snakemake/metadata`` of the checkout the workflow ran in). Jobs that ran in several
    sessions count their own time only, not the gaps between sessions. Empty without records."""
    root = Path(root or Path.cwd())
    prefixes = []
    for base in (Path(results), Path(report_dir)):
        prefixes.append(os.path.normpath(str(base)))
        prefixes.append(os.path.normpath(str(base.resolve())))
    spans: dict[str, list[tuple[float, float]]] = {}
    for output, start, end in _metadata_records(root / ".snakemake" / "metadata"):
        normal = os.path.normpath(output)
        prefix = next((p for p in prefixes if normal.startswith(p + os.sep)), None)
        if prefix is None:
            continue
        parts = Path(normal[len(prefix) + 1 :]).parts
        if parts[:1] == ("figures",):
            parts = parts[1:]
        family = parts[0] if parts and parts[0] in families else "workflow"
        spans.setdefault(family, []).append((start, end))
        spans.setdefault("total", []).append((start, end))
    return {family: _union_seconds(intervals) for family, intervals in spans.items()}
