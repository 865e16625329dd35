"""Speed and memory of the lookup-table network (bnnrepro.lutnet) on Binary-{dataset}.

Times fitting the network on the training set (which also yields its training accuracy) and
predicting the test set, for each k and thread count, and reports the peak memory traced by
tracemalloc (numpy's array allocations) in one extra, untimed run (tracing slows numpy down).
Default: the paper's 5 x 1024 network on full Binary-Fashion-MNIST (60,000 x 784 bits), k = 8 and
16; the target is fit + evaluation of k = 8 in at most 10 s on a 2-core CPU.

    python benchmarks/lutnet_speed.py                       # k = 8 and 16, 1 and 2 threads
    python benchmarks/lutnet_speed.py --k 2 8 12 --threads 2 --repeat 3 --csv out.csv
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
import tracemalloc

import numpy as np
import pandas as pd

from bnnrepro.data import binary_task_labels, load_dataset, threshold_bits
from bnnrepro.lutnet import LutNetwork


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--k", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--train-size", type=int, default=None, help="first N training examples (default all)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per setting; the median is reported")
    parser.add_argument("--csv", default=None, help="also write the results to this CSV file")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    raw = load_dataset(args.dataset, args.data_dir, download=False, quiet=True)
    x_train = threshold_bits(raw.x_train[: args.train_size])
    y_train = binary_task_labels(raw.y_train[: args.train_size])
    x_test, y_test = threshold_bits(raw.x_test), binary_task_labels(raw.y_test)
    print(
        f"loaded Binary-{args.dataset}: train {x_train.shape}, test {x_test.shape} in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )

    rows = []
    for k in args.k:
        for threads in args.threads:
            make = functools.partial(
                LutNetwork, k=k, hidden_layers=args.layers, width=args.width, seed=0, n_threads=threads
            )

            fits, preds = [], []
            for _ in range(args.repeat):
                net = make()
                t = time.perf_counter()
                net.fit(x_train, y_train)
                fits.append(time.perf_counter() - t)
                t = time.perf_counter()
                test_acc = float(np.mean(net.predict(x_test) == y_test))
                preds.append(time.perf_counter() - t)
                del net  # free the tables before the next run
            tracemalloc.start()
            make().fit(x_train, y_train).predict(x_test)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            row = {
                "k": k,
                "threads": threads,
                "layers": args.layers,
                "width": args.width,
                "n_train": len(y_train),
                "n_test": len(y_test),
                "fit_s": statistics.median(fits),
                "predict_test_s": statistics.median(preds),
                "total_s": statistics.median(f + p for f, p in zip(fits, preds)),
                "peak_mib": peak,
                "test_accuracy": test_acc,
            }
            rows.append(row)
            print(
                f"k={k:2d} threads={threads}: fit {row['fit_s']:.2f} s, predict test "
                f"{row['predict_test_s']:.2f} s, total {row['total_s']:.2f} s, peak "
                f"{row['peak_mib']:.0f} MiB, test accuracy {test_acc:.4f}",
                flush=True,
            )
    frame = pd.DataFrame(rows)
    if args.csv:
        from bnnrepro.io import write_csv

        write_csv(args.csv, frame)
    return 0


if __name__ == "__main__":
    sys.exit(main())
