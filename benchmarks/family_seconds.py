"""Seconds per experiment family of a finished workflow run, from Snakemake's benchmark files.

Prints a Markdown table (the README's "Where the time goes"): per family, the jobs, the sum of
their wall seconds and the longest one. Job seconds overlap (several jobs run at once), so their
sum is the family's share of the work, not of the wall clock.

    python benchmarks/family_seconds.py                    # results/benchmarks of the default run
    python benchmarks/family_seconds.py results-ci/benchmarks
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bnnrepro.families.registry import FAMILIES
from bnnrepro.report.provenance import job_times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmarks", nargs="?", default="results/benchmarks", help="a run's benchmark folder")
    args = parser.parse_args()
    if not Path(args.benchmarks).is_dir():
        print(f"family_seconds: {args.benchmarks} is not a folder; run the workflow first", file=sys.stderr)
        return 2
    times = job_times(Path(args.benchmarks), list(FAMILIES))
    per_family = times.groupby("family", sort=False).agg(
        jobs=("jobs", "sum"), seconds=("total_seconds", "sum"), longest=("max_seconds", "max")
    )
    print("| family | jobs | job seconds | longest job (s) |")
    print("|---|---:|---:|---:|")
    for family, row in per_family.iterrows():
        print(f"| {family} | {int(row.jobs)} | {row.seconds:,.0f} | {row.longest:,.0f} |")
    total = f"| **all** | {int(per_family.jobs.sum())} | {per_family.seconds.sum():,.0f} "
    print(total + f"| {per_family.longest.max():,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
