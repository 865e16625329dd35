"""Efficiency family: its section of the report (text, tables, figures and glance rows), read from its
tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bnnrepro.families import figures as style
from bnnrepro.families.base import count, dataset_name
from bnnrepro.families.efficiency.declaration import NAME, VARIANT_ORDER, figures, tables
from bnnrepro.families.efficiency.tables import (
    ARCH_LABELS,
    CLAIMED_VARIANT,
    arch_label,
    arch_order,
    condition_label,
    report_ratio,
    variant_label,
)
from bnnrepro.families.reporting import Col, Context, Glance, Section, Table, interval_column
from bnnrepro.families.sources import cite, published


def report_layout(runs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The report's tables (Secs III-A to III-C): per arch, one row per metric, columns ours and
    the report's for each variant (means over timing repeats; accuracies in percent)."""
    metrics = [
        ("seconds_per_epoch", "time per epoch (s)", 1.0),
        ("peak_rss_mb", "memory, peak RSS (MB)", 1.0),
        ("train_accuracy", "training accuracy (%)", 100.0),
        ("test_accuracy", "test accuracy (%)", 100.0),
    ]
    entries = published(NAME)
    footnotes: list[str] = []
    rows = []
    variants = style.ordered(runs["variant"], VARIANT_ORDER)
    for arch in arch_order(runs):
        for column, label, scale in metrics:
            row: dict[str, Any] = {"model": arch_label(arch), "metric": label}
            for variant in variants:
                ours = runs[(runs["arch"] == arch) & (runs["variant"] == variant)][column]
                row[f"{variant}_ours"] = scale * float(ours.mean()) if len(ours) else np.nan
                match = [
                    e
                    for e in entries
                    if e["condition"].get("arch") == arch
                    and e["condition"].get("variant") == variant
                    and e["metric"] == column
                ]
                row[f"{variant}_report"] = scale * match[0]["value"] if match else np.nan
                for e in match:
                    source = cite(e["ref"], e.get("where", ""))
                    if source not in footnotes:
                        footnotes.append(source)
            rows.append(row)
    return pd.DataFrame(rows), [f"[{i + 1}] {text}" for i, text in enumerate(footnotes)]


def settings_text(context: Context, runs: pd.DataFrame) -> str:
    from bnnrepro.families.base import base_settings

    fam = context.section(NAME)
    keys = ("train_size", "valid_size", "test_size", "epochs", "batch_size", "lr_start", "lr_end", "optimizer", "loss")
    parts = []
    for dataset in dict.fromkeys(runs["dataset"]):
        s = base_settings(context.config, NAME, dataset)
        parts.append(f"{dataset}: " + ", ".join(f"{k}={s[k]}" for k in keys if k in s))
    inference = fam.get("inference", {})
    return (
        "; ".join(parts) + f". Architectures {', '.join(arch_label(a) for a in arch_order(runs))}; variants "
        f"{', '.join(fam.get('variants', []))}; timing repeats (seeds) {fam.get('seeds')}; "
        f"{int(runs['threads'].max())} torch thread(s) per run. Inference: batch sizes {inference.get('batch_sizes')}, "
        f"{inference.get('repeats')} timing blocks of {inference.get('min_run_time')} s per condition."
    )


def section(context: Context) -> Section:
    paths = tables(context.config)
    runs = context.csv(paths["runs"])
    ratios = context.csv(paths["training_ratios"])
    timings = context.csv(paths["inference"])
    speedups = context.csv(paths["inference_ratios"])
    exports = context.csv(paths["exports"])

    def claimed(metric: str) -> str:
        """The report's det / float ratios of a metric for its two MLPs, from its published numbers."""
        return " and ".join(f"{report_ratio(arch, CLAIMED_VARIANT, metric):.2f}x" for arch in ARCH_LABELS)

    section = Section(
        NAME,
        "Binary vs float MLPs: training cost and inference",
        f"<p>{cite('srivastava_da422', 'Sec. III')} trained 784-128-10 and 784-1024-10 MLPs on Fashion-MNIST "
        "as a float network and as BNNs with deterministic and stochastic binarization, and reported that the BNNs "
        f"trained faster (seconds per epoch: {claimed('seconds_per_epoch')} the float network's) and used less memory "
        f"(process RSS through psutil: {claimed('peak_rss_mb')}). That training is <b>emulated</b>: a BNN in PyTorch "
        "computes in float arithmetic on +-1 values and stores and updates real-valued latent weights, so there is "
        "no a priori reason "
        "for it to be faster or leaner than the float network. Here the same quantities are measured with the same "
        "kind of instrument, each run in a fresh process, the variants of each timing repeat trained one after "
        "another in a rotated order, and every ratio is paired by repeat with a 95% interval.</p>"
        f"<p>What a BNN does promise is cheaper <b>inference</b> ({cite('courbariaux2016', 'Sec. 4')}): +-1 weights "
        "stored as bits and products computed by xnor and popcount. This is measured separately: the packed "
        "model's size, whether it computes exactly what the float computation does, and its latency at batch 1 and "
        "throughput at a large batch against the float network, in interleaved timing blocks. The first layer of "
        "these MLPs sees real-valued pixels and stays a float product on every path; only the products between +-1 "
        "activations and +-1 weights can take the packed path.</p>",
    )
    section.settings = settings_text(context, runs)

    layout, footnotes = report_layout(runs)
    variants = style.ordered(runs["variant"], VARIANT_ORDER)
    layout_cols = {"model": Col("Model"), "metric": Col("Metric")}
    for v in variants:
        name = variant_label(v)[:1].upper() + variant_label(v)[1:]
        layout_cols[f"{v}_ours"] = Col(f"{name}: this run", "num")
        layout_cols[f"{v}_report"] = Col(f"{name}: report", "num")
    section.tables.append(
        Table(
            "Laid out like the report's tables: per model, this run vs the report",
            layout,
            layout_cols,
            note="This run: the mean over timing repeats. The report trained 1000 epochs at batch 5000 on its own "
            "(unstated) hardware and read memory with psutil; absolute times and memory are not comparable across "
            "machines, their ratios are (next table). Accuracies after this run's few epochs are not the report's "
            "converged ones.",
            csv=paths["runs"],
            footnotes=footnotes,
            keep_constant=("model",),
        )
    )

    shown = ratios.dropna(subset=["ratio"]).copy()
    shown["model"] = shown["arch"].map(arch_label)
    shown["comparison"] = shown["variant"].map(variant_label) + " / float network"
    shown["what"] = shown["metric"].map({"seconds_per_epoch": "seconds per epoch", "peak_rss_mb": "peak RSS (MB)"})
    shown["ci"] = interval_column(shown)
    shown["report"] = [report_ratio(r.arch, r.variant, r.metric) for r in shown.itertuples()]
    section.tables.append(
        Table(
            "Emulated training: BNN / float ratios, paired by timing repeat",
            shown[["model", "comparison", "what", "bnn_mean", "float_mean", "ratio", "ci", "repeats", "report"]],
            {
                "model": Col("Model"),
                "comparison": Col("Comparison"),
                "what": Col("Metric"),
                "bnn_mean": Col("BNN (mean)", "num"),
                "float_mean": Col("Float network (mean)", "num"),
                "ratio": Col("Ratio", "ratio"),
                "ci": Col("Ratio, 95% CI", "interval_num"),
                "repeats": Col("Repeats", "int"),
                "report": Col("Report's ratio", "ratio"),
            },
            note="Ratio: geometric mean over timing repeats of BNN / float, each repeat's runs trained back to "
            "back; the interval is a t-interval on the log scale. Below 1: the BNN trains faster (or leaner).",
            csv=paths["training_ratios"],
        )
    )

    if len(exports):
        sizes = exports.copy()
        sizes["model"] = sizes["arch"].map(arch_label)
        sizes["variant"] = sizes["variant"].map(variant_label)
        sizes["ratio"] = sizes["payload_bytes"] / sizes["fp32_bytes"]
        for column in ("exact_float_path", "exact_packed_path"):
            sizes[column] = sizes[column].astype(str).str.lower().map({"true": "yes", "false": "no"})
        section.tables.append(
            Table(
                "Packed exports: size and exactness",
                sizes[
                    [
                        "model",
                        "variant",
                        "seed",
                        "fp32_bytes",
                        "payload_bytes",
                        "file_bytes",
                        "ratio",
                        "exact_float_path",
                        "exact_packed_path",
                    ]
                ],
                {
                    "model": Col("Model"),
                    "variant": Col("Variant"),
                    "fp32_bytes": Col("fp32 model", "bytes"),
                    "payload_bytes": Col("Packed model (tensors)", "bytes"),
                    "file_bytes": Col("Packed file", "bytes"),
                    "ratio": Col("Packed / fp32", "num"),
                    "exact_float_path": Col("Same outputs, float path"),
                    "exact_packed_path": Col("Same outputs, packed path"),
                },
                note="Packed: binary weights as bits (32 to an int32 word), biases and BatchNorm as float32; fp32: "
                "every parameter as float32 (the float network of the same architecture has the same size). Same "
                "outputs: the exported model, loaded back, gives bit-identical outputs to the trained model's float "
                "computation on every test image.",
                csv=paths["exports"],
            )
        )

    if len(timings):
        latency = timings.groupby(["arch", "variant", "path", "backend", "batch_size"], sort=False, as_index=False).agg(
            median_ms=("median_ms", "median"), images_per_s=("images_per_s", "median"), blocks=("block", "nunique")
        )
        latency["model"] = latency["arch"].map(arch_label)
        latency["condition"] = [condition_label(v, p) for v, p in zip(latency["variant"], latency["path"])]
        section.tables.append(
            Table(
                "Inference latency and throughput",
                latency[["model", "batch_size", "condition", "backend", "median_ms", "images_per_s", "blocks"]],
                {
                    "model": Col("Model"),
                    "batch_size": Col("Batch", "int"),
                    "condition": Col("Model and path"),
                    "backend": Col("Backend"),
                    "median_ms": Col("Time per batch", "ms"),
                    "images_per_s": Col("Throughput (images/s)", "int"),
                    "blocks": Col("Timing blocks", "int"),
                },
                note=f"The median over timing blocks of each block's median time per call, on "
                f"{timings['device'].iloc[0]} with {int(timings['threads'].max())} thread(s); the BNNs are the "
                "first repeat's models loaded from their packed exports.",
                csv=paths["inference"],
            )
        )
    if len(speedups):
        shown = speedups.copy()
        shown["model"] = shown["arch"].map(arch_label)
        shown["ci"] = interval_column(shown)
        section.tables.append(
            Table(
                "Inference speedups, paired by timing block",
                shown[
                    [
                        "model",
                        "batch_size",
                        "baseline",
                        "candidate",
                        "baseline_ms",
                        "candidate_ms",
                        "speedup",
                        "ci",
                        "repeats",
                    ]
                ],
                {
                    "model": Col("Model"),
                    "batch_size": Col("Batch", "int"),
                    "baseline": Col("Against"),
                    "candidate": Col("Model and path"),
                    "baseline_ms": Col("Against: time per batch", "ms"),
                    "candidate_ms": Col("Time per batch", "ms"),
                    "speedup": Col("Speedup", "ratio"),
                    "ci": Col("Speedup, 95% CI", "interval_num"),
                    "repeats": Col("Blocks", "int"),
                },
                note="Speedup: the geometric mean over timing blocks of (time against) / (time of the model and path); "
                "above 1 the model and path is faster. The packed path against float arithmetic of the same BNN "
                "isolates the kernel.",
                csv=paths["inference_ratios"],
            )
        )

    for spec in figures(context.config):
        data = {
            "training": paths["runs"],
            "ratios": paths["training_ratios"],
            "inference": paths["inference"],
            "curves": paths["curves"],
        }[spec.kind]
        section.figures.append(context.figure(spec, data))

    section.glance.append(
        Glance(
            family=NAME,
            what="paper",
            dataset="Fashion-MNIST",
            model="784-128-10 and 784-1024-10 MLPs",
            training_examples="50,000",
            epochs="1000",
            repeats="1 run per variant",
            hardware="not stated",
        )
    )
    for dataset in dict.fromkeys(runs["dataset"]):
        mine = runs[runs["dataset"] == dataset]
        section.glance.append(
            Glance(
                family=NAME,
                what="this run",
                dataset=dataset_name(dataset),
                model=", ".join(f"{arch_label(a)} MLP" for a in arch_order(mine)),
                training_examples=f"{int(mine['train_examples'].max()):,}",
                epochs=str(int(mine["epochs"].max())),
                repeats=f"{count(int(mine['seed'].nunique()), 'timing repeat')}; "
                f"{int(timings['block'].nunique()) if len(timings) else 0} inference timing blocks",
                hardware="",
            )
        )
    return section
