"""How long a job takes to get its dataset: the parsed-data cache (bnnrepro.data.cache) against
parsing the original files, and the cost of ``import bnnrepro.data``.

Each measurement runs in a fresh Python process (so nothing is loaded yet, as in a workflow job),
against a temporary project cache ($BNNREPRO_CACHE); the source files are found as usual (for
Fashion-MNIST, the Debian package's folder). Measurements are interleaved, repeated, and the median
is reported:

- import:        ``import bnnrepro.data`` (and whether it pulled in torch);
- parse only:    locate + verify the source files, then parse them (what every load did before);
- first ever:    nothing cached: verify the sources by hashing them, parse, write the cache;
- cold:          the sources' verification is remembered but there is no parsed entry: parse + write;
- warm:          open the parsed entry (memory-mapped).

For each load the time to read every image byte once afterwards is also given ("then read all"):
a memory-mapped load defers that work to the first use. The operating system's page cache is not
dropped, so the source and cache files are usually in memory ("cold" means no parsed entry).

    python benchmarks/data_load.py                     # Fashion-MNIST, 5 repeats
    python benchmarks/data_load.py --repeat 9 --csv benchmarks/out/data_load.csv
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The child process: time one thing and print a JSON object.
CHILD = r"""
import json, sys, time
what, dataset = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
import bnnrepro.data as data
out = {"import_s": time.perf_counter() - t0, "torch": "torch" in sys.modules}
if what != "import":
    import numpy as np
    spec = data.get_spec(dataset)
    t0 = time.perf_counter()
    if what == "parse only":
        files = data.fetch(spec, download=False, quiet=True)
        arrays = spec.parse({name: loc.path for name, loc in files.items()})
        images = (arrays["x_train"], arrays["x_test"])
    else:
        raw = data.load_dataset(spec, download=False, quiet=True)
        images = (raw.x_train, raw.x_test)
    out["load_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    total = sum(int(x.sum(dtype=np.uint64)) for x in images)
    out["read_all_s"] = time.perf_counter() - t0
print(json.dumps(out))
"""

MEASUREMENTS = ("first ever", "cold", "warm", "parse only", "import")


def run_child(what: str, dataset: str, cache: Path) -> dict:
    env = {**os.environ, "BNNREPRO_CACHE": str(cache)}
    env.pop("BNNREPRO_DATA", None)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, what, dataset], capture_output=True, text=True, env=env, timeout=600
    )
    if proc.returncode != 0:
        raise SystemExit(f"the {what!r} measurement failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def prepare(what: str, cache: Path) -> None:
    """Put the temporary cache in the state the measurement needs."""
    if what == "first ever":
        shutil.rmtree(cache, ignore_errors=True)
    elif what == "cold":
        shutil.rmtree(cache / "parsed", ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement; the median is reported")
    parser.add_argument("--csv", default=str(ROOT / "benchmarks" / "out" / "data_load.csv"))
    args = parser.parse_args(argv)

    import pandas as pd

    from bnnrepro.io import write_csv

    rows = []
    with tempfile.TemporaryDirectory(prefix="bnnrepro-data-load-") as tmp:
        cache = Path(tmp) / "cache"
        for repeat in range(args.repeat):  # interleaved, so a busy moment hits every measurement alike
            for what in MEASUREMENTS:
                prepare(what, cache)
                rows.append({"measurement": what, "repeat": repeat, **run_child(what, args.dataset, cache)})
    runs = pd.DataFrame(rows)

    summary = []
    for what in MEASUREMENTS:
        part = runs[runs.measurement == what]
        seconds = part["import_s"] if what == "import" else part["load_s"]
        summary.append(
            {
                "dataset": args.dataset,
                "measurement": what,
                "repeats": len(part),
                "median_s": statistics.median(seconds),
                "min_s": seconds.min(),
                "max_s": seconds.max(),
                "then_read_all_median_s": None if what == "import" else statistics.median(part["read_all_s"]),
                "import_pulls_torch": bool(part["torch"].any()),
            }
        )
    table = pd.DataFrame(summary)
    write_csv(args.csv, table)
    with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 200):
        print(table.drop(columns=["dataset"]).to_string(index=False))
    print(f"\n{args.dataset}; each row the median of {args.repeat} fresh processes; written to {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
