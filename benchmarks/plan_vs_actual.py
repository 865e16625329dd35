"""The plan's predicted wall time against the actual one, for one Snakemake run.

    python benchmarks/plan_vs_actual.py --cores 2 --configfile workflow/configs/ci.yaml
    python benchmarks/plan_vs_actual.py --cores 8 --configfile one-family.yaml   # e.g. others `enabled: false`

Runs ``bnnrepro plan`` with the given config arguments (``--json``), then exactly the command the
plan prints, timing it, and appends one row to benchmarks/out/plan_vs_actual.csv: the command, the
predicted and actual wall seconds, the runs trained, the load average before and after (a shared
machine's other work slows the run; the plan cannot know of it).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "plan_vs_actual.csv"


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        estimate = Path(tmp) / "plan.json"
        plan = [sys.executable, "-m", "bnnrepro", "plan", *argv, "--json", str(estimate)]
        subprocess.run(plan, cwd=ROOT, check=True)
        predicted = json.loads(estimate.read_text())
    command = shlex.split(predicted["command"])
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", *command], cwd=ROOT)
    actual = time.perf_counter() - started
    load_after = os.getloadavg()[0]
    if proc.returncode:
        print(f"the run failed (exit status {proc.returncode}); nothing recorded", file=sys.stderr)
        return proc.returncode
    OUT.parent.mkdir(parents=True, exist_ok=True)
    new = not OUT.is_file()
    with open(OUT, "a") as handle:
        if new:
            handle.write("command,predicted_seconds,actual_seconds,runs_trained,load_before,load_after\n")
        wall = predicted["wall_seconds"]
        handle.write(
            f'"{predicted["command"]}",{"" if wall is None else f"{wall:.1f}"},{actual:.1f},'
            f"{predicted['runs_to_train']},{load_before:.1f},{load_after:.1f}\n"
        )
    shown = "unknown" if wall is None else f"{wall:.0f} s"
    print(f"predicted {shown}, actual {actual:.0f} s ({predicted['runs_to_train']} runs trained); row added to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
