"""Provenance of a report: the code (git commit, dirty tree), the environment (package versions,
hardware), the cost (wall time per rule from Snakemake's benchmark files) and the command to rerun.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

import pandas as pd

PACKAGES = ("bnnrepro", "torch", "triton", "snakemake", "numpy", "pandas", "scipy", "scikit-learn",
            "seaborn", "matplotlib", "jinja2")


#: The checkout this package runs from (src/bnnrepro/report/provenance.py -> the repository).
CHECKOUT = Path(__file__).resolve().parents[3]


def git_state(repo: Path = CHECKOUT) -> dict:
    """Commit, dirty flag and branch of ``repo`` (None values outside a git checkout)."""
    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True,
                                  timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None,
            "changed_files": status.splitlines() if status else [], "branch": git("rev-parse", "--abbrev-ref", "HEAD")}


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
    info = {"cpu": cpu, "logical_cores": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "platform": platform.platform(), "python": platform.python_version(), "gpu": None}
    try:
        import torch

        if torch.cuda.is_available():
            info["gpu"] = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    except ImportError:
        pass
    return info


def rule_times(benchmark_dir: Path) -> pd.DataFrame:
    """Per rule (the first folder under ``benchmark_dir``): jobs, total and max wall seconds, max RSS.

    Reads Snakemake's ``benchmark:`` TSV files (columns ``s``, ``max_rss`` in MB, ...)."""
    rows = []
    for path in sorted(Path(benchmark_dir).rglob("*.tsv")):
        try:
            frame = pd.read_csv(path, sep="\t")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError):
            continue
        if "s" not in frame.columns or frame.empty:
            continue
        rule = path.relative_to(benchmark_dir).parts[0]
        max_rss = pd.to_numeric(frame.get("max_rss", pd.Series(dtype=float)), errors="coerce").max()
        rows.append({"rule": rule, "seconds": float(frame["s"].iloc[0]), "max_rss_mb": max_rss})
    if not rows:
        return pd.DataFrame(columns=["rule", "jobs", "total_seconds", "max_seconds", "max_rss_mb"])
    frame = pd.DataFrame(rows)
    return (frame.groupby("rule").agg(jobs=("seconds", "size"), total_seconds=("seconds", "sum"),
                                      max_seconds=("seconds", "max"), max_rss_mb=("max_rss_mb", "max"))
            .reset_index().sort_values("total_seconds", ascending=False))
