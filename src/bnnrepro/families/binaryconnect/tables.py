"""BinaryConnect family: its tables, aggregated from the runs (the ``tables`` step), and the names and
labels its figures, report section and claims share.

Tables (under results/binaryconnect/), every row tagged with dataset, variant and seed:

* ``runs.csv``: per run, the final train / validation / test error, the test error at the epoch of
  lowest validation error (how the BinaryConnect paper reports; the earliest such epoch) and the
  training time;
* ``weights.csv``: per run, statistics of the first layer's latent weights w: the share with
  |w| > 0.9 (*saturated*: within 10% of the clipping bound; 10% at the Uniform(-1, 1)
  initialisation of BinaryConnect layers), the share at the bound (|w| = 1), mean and largest |w|,
  and the share within 10% of the layer's own largest |w| (comparable across float and binary
  variants);
* ``curves.csv``: overall loss and error by epoch and split of every run;
* ``histograms.csv``: per run, a histogram of the first layer's weights on a range shared by the
  seeds of a variant (its largest |w|);
* ``features.csv``: the first layer's weights of the first units of the lowest seed of each
  variant, one row per unit (its weights as columns ``w0``, ``w1``, ... of its image-shaped tile);
* ``variants.csv``: per variant, means over seeds with 95% t-intervals;
* ``comparisons.csv``: paired differences by seed (:func:`bnnrepro.stats.paired_difference_interval`):
  each BinaryConnect variant minus the control in saturation, each variant minus the float network
  without regularizer in test error.

"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from bnnrepro import stats
from bnnrepro.errors import DataError
from bnnrepro.families import figures as style
from bnnrepro.families.binaryconnect.declaration import BASELINE, BINARY_VARIANTS, CONTROL, VARIANT_ORDER, tables
from bnnrepro.families.reporting import Context
from bnnrepro.io import read_csv, write_csv
from bnnrepro.train.records import first_layer_weights, read_manifests, read_summary, tag_columns

VARIANT_LABELS = {
    "none": "No regularizer",
    "bc_det": "BinaryConnect (det.)",
    "bc_stoch": "BinaryConnect (stoch.)",
    "dropout": "Dropout",
    "bc_real": "Control (real weights)",
}
#: |w| above this counts as saturated: within 10% of the clipping bound 1.
SATURATION_BOUND = 0.9
#: The share of Uniform(-1, 1) weights with |w| > 0.9.
INITIAL_SHARE = 1.0 - SATURATION_BOUND
#: A clipped weight is exactly +-1; this tolerance absorbs float32 rounding.
AT_BOUND = 1.0 - 1e-6
#: First-layer units drawn as feature tiles per variant, and histogram bins.
FEATURE_UNITS = 36
HISTOGRAM_BINS = 60
SEEDS = "seeds"
#: The test error the claims and the paper-layout table use (as the BinaryConnect paper reports).
ERROR_METRIC = "test_error_at_best_valid"


def variant_label(variant: str) -> str:
    return VARIANT_LABELS.get(variant, variant)


def ordered_variants(values: Iterable[str]) -> list[str]:
    return style.ordered(values, VARIANT_ORDER)


def weight_statistics(w: np.ndarray) -> dict:
    """Saturation and spread of a layer's latent weights (see the module docstring)."""
    a = np.abs(np.asarray(w, dtype=np.float64).ravel())
    largest = float(a.max())
    return {
        "weights": int(a.size),
        "share_saturated": float((a > SATURATION_BOUND).mean()),
        "share_at_bound": float((a >= AT_BOUND).mean()),
        "mean_abs": float(a.mean()),
        "sd": float(a.std()),
        "max_abs": largest,
        "share_near_max": float((a > 0.9 * largest).mean()),
    }


def run_row(folder: Path) -> tuple[dict, pd.DataFrame]:
    """One row of runs.csv and the run's overall curves, from its (verified) folder."""
    summary = read_summary(folder)
    cfg = summary["config"]
    variant = tag_columns(cfg.get("tags", [])).get("variant", cfg["mode"])
    metrics = read_csv(folder / "metrics.csv")
    overall = metrics[metrics["class"].astype(str) == "all"]
    error = overall.pivot_table(index="epoch", columns="split", values="error").sort_index()
    last = int(error.index.max())
    # The earliest epoch of lowest validation error (no validation split: the last epoch).
    best = int(error["valid"].idxmin()) if "valid" in error else last
    row = {
        "dataset": cfg["dataset"],
        "variant": variant,
        "seed": int(cfg["seed"]),
        "run": summary["run"],
        "mode": cfg["mode"],
        "binarization": cfg["binarization"],
        "epochs": last,
        "train_examples": summary.get("train_examples"),
        "final_train_error": float(error.loc[last, "train"]),
        "final_valid_error": float(error.loc[last, "valid"]) if "valid" in error else np.nan,
        "final_test_error": float(error.loc[last, "test"]),
        "best_valid_epoch": best,
        "test_error_at_best_valid": float(error.loc[best, "test"]),
        "train_seconds": float(summary["train_seconds_total"]),
        "seconds_per_epoch": float(summary["seconds_per_epoch_mean"]),
    }
    curves = overall[["epoch", "split", "error", "loss"]].assign(
        dataset=row["dataset"], variant=variant, seed=row["seed"], run=row["run"]
    )
    return row, curves


def histogram_rows(weights: dict[str, np.ndarray], keys: pd.DataFrame) -> pd.DataFrame:
    """Histograms of each run's first-layer weights, ``HISTOGRAM_BINS`` bins on [-L, L] with L the
    largest |w| over the seeds of the run's (dataset, variant): the seeds of a variant share bins,
    so their densities can be averaged."""
    frames = []
    for (dataset, variant), group in keys.groupby(["dataset", "variant"], sort=False):
        limit = max(float(np.abs(weights[run]).max()) for run in group["run"]) or 1.0
        edges = np.linspace(-limit, limit, HISTOGRAM_BINS + 1)
        for run, seed in zip(group["run"], group["seed"]):
            counts, _ = np.histogram(weights[run].ravel(), bins=edges)
            density = counts / (counts.sum() * np.diff(edges))
            frames.append(
                pd.DataFrame(
                    {
                        "dataset": dataset,
                        "variant": variant,
                        "seed": int(seed),
                        "run": run,
                        "bin": np.arange(HISTOGRAM_BINS),
                        "left": edges[:-1],
                        "right": edges[1:],
                        "count": counts,
                        "density": density,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def feature_rows(weights: dict[str, np.ndarray], tiles: dict[str, tuple], keys: pd.DataFrame) -> pd.DataFrame:
    """The first ``FEATURE_UNITS`` units of the lowest seed of each (dataset, variant): one row per
    unit with its tile's ``height`` and ``width`` and its weights ``w0``, ``w1``, ... in row-major
    order (for a convolution: its first input channel). One row per unit, not per pixel, keeps the
    file small (~1 MB for five variants of 28 x 28 tiles)."""
    frames = []
    for (dataset, variant), group in keys.groupby(["dataset", "variant"], sort=False):
        first = group.sort_values("seed").iloc[0]
        w, (height, width) = weights[first["run"]], tiles[first["run"]]
        units = min(FEATURE_UNITS, w.shape[0])
        tile = (w[:units, 0] if w.ndim == 4 else w[:units]).reshape(units, height * width)
        frame = pd.DataFrame(tile, columns=[f"w{i}" for i in range(height * width)])
        frame.insert(0, "width", width)
        frame.insert(0, "height", height)
        frame.insert(0, "unit", np.arange(units))
        frame.insert(0, "seed", int(first["seed"]))
        frame.insert(0, "variant", variant)
        frame.insert(0, "dataset", dataset)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _interval(values: pd.Series) -> tuple[float, float, float]:
    est = stats.mean_interval(values, unit=SEEDS)
    return est.estimate, est.low, est.high


def by_variant(runs_table: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and variant: seeds, means over seeds and 95% t-intervals of the test errors and
    the saturation."""
    keys = ["dataset", "variant", "seed"]
    merged = runs_table.merge(weights.drop(columns=["run"]), on=keys, how="left")
    rows = []
    for (dataset, variant), group in merged.groupby(["dataset", "variant"], sort=False):
        row = {"dataset": dataset, "variant": variant, "seeds": int(group["seed"].nunique())}
        for column in (
            "final_train_error",
            "final_test_error",
            "best_valid_epoch",
            "train_seconds",
            "seconds_per_epoch",
            "share_at_bound",
            "mean_abs",
            "max_abs",
            "share_near_max",
        ):
            row[column] = float(group[column].mean())
        for column in (ERROR_METRIC, "final_test_error", "share_saturated"):
            row[column], row[f"{column}_low"], row[f"{column}_high"] = _interval(group[column])
        rows.append(row)
    frame = pd.DataFrame(rows)
    order = {v: i for i, v in enumerate(ordered_variants(frame["variant"]))}
    return frame.sort_values(
        ["dataset", "variant"], key=lambda s: s.map(order) if s.name == "variant" else s, kind="stable"
    ).reset_index(drop=True)


def paired(
    frame: pd.DataFrame, dataset: str, column: str, variant: str, reference: str
) -> tuple[stats.Estimate, pd.Series, pd.Series] | None:
    """``column`` of ``variant`` minus ``reference`` on ``dataset``, paired by seed: (Estimate over
    the seeds both have, the variant's values, the reference's), or None when no seed has both."""
    rows = frame[frame["dataset"] == dataset]
    a = rows[rows["variant"] == variant].set_index("seed")[column]
    b = rows[rows["variant"] == reference].set_index("seed")[column]
    seeds = a.index.intersection(b.index).sort_values()
    if not len(seeds):
        return None
    a, b = a.loc[seeds], b.loc[seeds]
    return stats.paired_difference_interval(a, b, unit=SEEDS), a, b


#: (quantity, table, the variants compared, reference)
COMPARISONS = (
    ("share_saturated", "weights", BINARY_VARIANTS, CONTROL),
    (ERROR_METRIC, "runs", None, BASELINE),
    ("final_test_error", "runs", None, BASELINE),
)


def comparisons(runs_table: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """Every paired comparison of :data:`COMPARISONS` present in the runs (None: every other variant)."""
    frames = {"runs": runs_table, "weights": weights}
    rows = []
    for dataset in dict.fromkeys(runs_table["dataset"]):
        present = ordered_variants(runs_table.loc[runs_table["dataset"] == dataset, "variant"])
        for quantity, table, compared, reference in COMPARISONS:
            for variant in [v for v in (compared or present) if v in present and v != reference]:
                result = paired(frames[table], dataset, quantity, variant, reference)
                if result is None:
                    continue
                est, a, b = result
                rows.append(
                    {
                        "dataset": dataset,
                        "quantity": quantity,
                        "variant": variant,
                        "reference": reference,
                        "variant_mean": float(a.mean()),
                        "reference_mean": float(b.mean()),
                        "difference": est.estimate,
                        "low": est.low,
                        "high": est.high,
                        "seeds": est.repeats,
                        "method": est.method,
                    }
                )
    return pd.DataFrame(
        rows,
        columns=[
            "dataset",
            "quantity",
            "variant",
            "reference",
            "variant_mean",
            "reference_mean",
            "difference",
            "low",
            "high",
            "seeds",
            "method",
        ],
    )


def make_tables(context: Context, inputs: list[str]) -> None:
    folders = read_manifests(inputs)
    if not folders:
        raise DataError("no BinaryConnect runs given (pass the chunk manifests)")
    rows, curves, weight_rows, weights, tiles = [], [], [], {}, {}
    for folder in folders:
        row, run_curves = run_row(folder)
        w, tile = first_layer_weights(folder)
        rows.append(row)
        curves.append(run_curves)
        weights[row["run"]], tiles[row["run"]] = w, tile
        weight_rows.append(
            {
                "dataset": row["dataset"],
                "variant": row["variant"],
                "seed": row["seed"],
                "run": row["run"],
                "layer_shape": "x".join(map(str, w.shape)),
                **weight_statistics(w),
            }
        )
    runs_table, weight_table = pd.DataFrame(rows), pd.DataFrame(weight_rows)
    keys = runs_table[["dataset", "variant", "seed", "run"]]
    paths = tables(context.config)
    write_csv(context.results / paths["runs"], runs_table)
    write_csv(context.results / paths["weights"], weight_table)
    write_csv(context.results / paths["curves"], pd.concat(curves, ignore_index=True))
    write_csv(context.results / paths["histograms"], histogram_rows(weights, keys))
    # Four significant digits are plenty for an image, and keep the file small.
    write_csv(context.results / paths["features"], feature_rows(weights, tiles, keys), float_format="%.4g")
    write_csv(context.results / paths["variants"], by_variant(runs_table, weight_table))
    write_csv(context.results / paths["comparisons"], comparisons(runs_table, weight_table))
