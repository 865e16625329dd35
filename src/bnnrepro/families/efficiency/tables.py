"""Efficiency family: its tables, aggregated from the runs (the ``tables`` step), and the names and
labels its figures, report section and claims share.

Tables (under results/efficiency/):

* ``runs.csv``: one row per training run: seconds per epoch (the median epoch after the first,
  which pays one-off costs), peak RSS of the training process, accuracies, model sizes, and the
  run's timing repeat and its position in the repeat's (rotated) order;
* ``curves.csv``: overall error by epoch and split of every run;
* ``training_ratios.csv``: per dataset, arch and BNN variant, the BNN / float ratio of seconds per
  epoch and of peak RSS, paired by timing repeat (geometric mean ratio, 95% t-interval on the log
  scale over repeats, :func:`bnnrepro.stats.ratio_interval`);
* ``inference.csv``: the inference job's timing blocks (one row per block, batch size and
  condition: model and path);
* ``inference_ratios.csv``: per dataset, arch, batch size and comparison, the speedup
  t_A / t_B of condition B over condition A, paired by timing block (same interval);
* ``exports.csv``: the packed exports: sizes and whether they reproduce the float outputs exactly.

"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pandas as pd

from bnnrepro import stats
from bnnrepro.errors import DataError
from bnnrepro.families.efficiency.declaration import BASELINE, NAME, interleaved, tables
from bnnrepro.families.reporting import Context
from bnnrepro.families.sources import published
from bnnrepro.io import read_csv, write_csv
from bnnrepro.train.records import read_manifests, read_summary, tag_columns

ARCH_LABELS = {"fashion_mlp_128": "784-128-10", "fashion_mlp_1024": "784-1024-10"}
VARIANT_LABELS = {"float": "float network", "det": "deterministic BNN", "stoch": "stochastic BNN"}
PATH_LABELS = {"float": "float arithmetic", "packed": "packed xnor path"}
#: The BNN variant the report's claims are about ("binary" in its Secs III-A and III-B).
CLAIMED_VARIANT = "det"
TRAINING_METRICS = {"seconds_per_epoch": "seconds per epoch", "peak_rss_mb": "peak RSS"}
REPEATS = "timing repeats"
BLOCKS = "timing blocks"


def arch_label(arch: str) -> str:
    return ARCH_LABELS.get(arch, arch)


def variant_label(variant: str) -> str:
    return VARIANT_LABELS.get(variant, variant)


def condition_label(variant: str, path: str) -> str:
    """'float network' or 'deterministic BNN, packed xnor path'."""
    return variant_label(variant) if variant == BASELINE else f"{variant_label(variant)}, {PATH_LABELS.get(path, path)}"


def _split_inputs(inputs: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(chunk manifests, timing CSVs, export CSVs) among the tables step's inputs."""
    manifests = [p for p in inputs if p.endswith(".json")]
    exports = [p for p in inputs if p.endswith("-exports.csv")]
    timings = [p for p in inputs if p.endswith(".csv") and p not in exports]
    return manifests, timings, exports


def run_row(folder: Path, section: dict) -> tuple[dict, pd.DataFrame]:
    """One row of runs.csv and the run's overall curves, from its (verified) folder."""
    summary = read_summary(folder)
    cfg = summary["config"]
    variant = tag_columns(cfg.get("tags", [])).get("variant", cfg["mode"])
    timing = read_csv(folder / "timing.csv").sort_values("epoch")
    metrics = read_csv(folder / "metrics.csv")
    overall = metrics[metrics["class"].astype(str) == "all"]
    final = overall[overall["epoch"] == overall["epoch"].max()].set_index("split")["error"]
    later = timing["train_seconds"].iloc[1:] if len(timing) > 1 else timing["train_seconds"]
    seeds = list(section.get("seeds", []))
    repeat = seeds.index(cfg["seed"]) if cfg["seed"] in seeds else np.nan
    order = interleaved(list(section.get("variants", [])), int(repeat)) if repeat == repeat else []
    row = {
        "dataset": cfg["dataset"],
        "arch": cfg["arch"],
        "variant": variant,
        "seed": int(cfg["seed"]),
        "repeat": repeat,
        "position": order.index(variant) if variant in order else np.nan,
        "run": summary["run"],
        "epochs": int(timing["epoch"].max()),
        "seconds_per_epoch": float(statistics.median(later)),
        "first_epoch_seconds": float(timing["train_seconds"].iloc[0]),
        "train_seconds_total": float(timing["train_seconds"].sum()),
        "peak_rss_mb": float(timing["peak_rss_mb"].max()),
        "binary_params": summary["binary_params"],
        "float_params": summary["float_params"],
        "fp32_bytes": summary["fp32_bytes"],
        "packed_bytes": summary["packed_bytes"],
        "train_examples": summary.get("train_examples"),
        "batch_size": cfg["batch_size"],
        "threads": summary["environment"]["torch_threads"],
    }
    for split in ("train", "valid", "test"):
        row[f"{split}_accuracy"] = 1 - float(final[split]) if split in final else np.nan
    curves = overall[["epoch", "split", "error"]].assign(
        dataset=cfg["dataset"], arch=cfg["arch"], variant=variant, seed=int(cfg["seed"]), run=summary["run"]
    )
    return row, curves


def training_ratios(runs: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, arch and BNN variant: the BNN / float ratio of each training metric, paired by
    timing repeat (the seed): exp(mean log(a_r / b_r)) with a t-interval over repeats."""
    rows = []
    for (dataset, arch), group in runs.groupby(["dataset", "arch"], sort=False):
        base = group[group["variant"] == BASELINE].set_index("seed")
        for variant in [v for v in dict.fromkeys(group["variant"]) if v != BASELINE]:
            mine = group[group["variant"] == variant].set_index("seed")
            seeds = mine.index.intersection(base.index).sort_values()
            for metric in TRAINING_METRICS:
                row = {"dataset": dataset, "arch": arch, "variant": variant, "metric": metric, "repeats": len(seeds)}
                if len(seeds):
                    a, b = mine.loc[seeds, metric], base.loc[seeds, metric]
                    est = stats.ratio_interval(a, b, paired=True, unit=REPEATS)
                    row.update(
                        bnn_mean=float(a.mean()),
                        float_mean=float(b.mean()),
                        ratio=est.estimate,
                        low=est.low,
                        high=est.high,
                        method=est.method,
                    )
                rows.append(row)
    return pd.DataFrame(
        rows,
        columns=[
            "dataset",
            "arch",
            "variant",
            "metric",
            "repeats",
            "bnn_mean",
            "float_mean",
            "ratio",
            "low",
            "high",
            "method",
        ],
    )


def inference_ratios(timings: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, arch, batch size and binary variant, three speedups t_A / t_B paired by timing
    block: the BNN on the packed path over the float network (what a BNN promises), the BNN in
    float arithmetic over the float network, and the packed path over float arithmetic for the
    same BNN (the kernel alone)."""
    rows = []
    key = ["dataset", "arch", "batch_size"]
    for (dataset, arch, batch), group in timings.groupby(key, sort=False):
        ms = group.set_index(["variant", "path", "block"])["median_ms"].sort_index()
        conditions = list(dict.fromkeys(zip(group["variant"], group["path"])))
        for variant in dict.fromkeys(v for v, _ in conditions if v != BASELINE):
            pairs = [
                ("packed_vs_float_network", (BASELINE, "float"), (variant, "packed")),
                ("bnn_float_vs_float_network", (BASELINE, "float"), (variant, "float")),
                ("packed_vs_bnn_float", (variant, "float"), (variant, "packed")),
            ]
            for comparison, slow, fast in pairs:
                if slow not in conditions or fast not in conditions:
                    continue
                a, b = ms.loc[slow], ms.loc[fast]
                blocks = a.index.intersection(b.index).sort_values()
                est = stats.ratio_interval(a.loc[blocks], b.loc[blocks], paired=True, unit=BLOCKS)
                rows.append(
                    {
                        "dataset": dataset,
                        "arch": arch,
                        "batch_size": int(batch),
                        "variant": variant,
                        "comparison": comparison,
                        "baseline": condition_label(*slow),
                        "candidate": condition_label(*fast),
                        "baseline_ms": float(a.loc[blocks].median()),
                        "candidate_ms": float(b.loc[blocks].median()),
                        "speedup": est.estimate,
                        "low": est.low,
                        "high": est.high,
                        "repeats": est.repeats,
                        "method": est.method,
                    }
                )
    return pd.DataFrame(
        rows,
        columns=[
            "dataset",
            "arch",
            "batch_size",
            "variant",
            "comparison",
            "baseline",
            "candidate",
            "baseline_ms",
            "candidate_ms",
            "speedup",
            "low",
            "high",
            "repeats",
            "method",
        ],
    )


def make_tables(context: Context, inputs: list[str]) -> None:
    section = dict(context.section(NAME))
    manifests, timing_files, export_files = _split_inputs(inputs)
    folders = read_manifests(manifests)
    if not folders:
        raise DataError("no efficiency runs given (pass the chunk manifests)")
    rows, curves = zip(*(run_row(folder, section) for folder in folders))
    runs = pd.DataFrame(list(rows))
    timings = (
        pd.concat([read_csv(p) for p in timing_files], ignore_index=True)
        if timing_files
        else pd.DataFrame(columns=["dataset", "arch", "variant", "path", "backend", "batch_size", "block", "median_ms"])
    )
    exports = pd.concat([read_csv(p) for p in export_files], ignore_index=True) if export_files else pd.DataFrame()
    paths = tables(context.config)
    write_csv(context.results / paths["runs"], runs)
    write_csv(context.results / paths["curves"], pd.concat(curves, ignore_index=True))
    write_csv(context.results / paths["training_ratios"], training_ratios(runs))
    write_csv(context.results / paths["inference"], timings)
    write_csv(context.results / paths["inference_ratios"], inference_ratios(timings))
    write_csv(context.results / paths["exports"], exports)


def arch_order(frame: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(frame["arch"]))


def report_ratio(arch: str, variant: str, metric: str) -> float:
    """The report's BNN / float ratio of a metric, from its published numbers (NaN if absent)."""
    values = {
        e["condition"]["variant"]: e["value"]
        for e in published(NAME)
        if e["condition"].get("arch") == arch and e["metric"] == metric
    }
    return values[variant] / values[BASELINE] if variant in values and BASELINE in values else np.nan
