"""Efficiency family: tables, figures, report section and claims (declaration in ``__init__``).

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
from bnnrepro.families import figures as style
from bnnrepro.families.base import dataset_name
from bnnrepro.families.efficiency.declaration import BASELINE, NAME, VARIANT_ORDER, figures, interleaved, tables
from bnnrepro.families.reporting import (
    Claim,
    ClaimResult,
    Col,
    Context,
    Glance,
    Section,
    Table,
    interval_column,
    not_run,
)
from bnnrepro.families.sources import cite, published
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


# --- tables ----------------------------------------------------------------------------------------


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


# --- figures ---------------------------------------------------------------------------------------


def _archs(frame: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(frame["arch"]))


def plot_training(runs: pd.DataFrame, path: Path) -> None:
    """Seconds per epoch, peak RSS and test accuracy per arch and variant: bar = mean over repeats,
    dots = the repeats."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    style.setup()
    variants = style.ordered(runs["variant"], VARIANT_ORDER)
    colours = style.palette("variant", variants)
    data = runs.assign(model=runs["arch"].map(arch_label), test_accuracy_pct=100 * runs["test_accuracy"])
    order = [arch_label(a) for a in _archs(runs)]
    panels = [
        ("seconds_per_epoch", "training time per epoch (s)"),
        ("peak_rss_mb", "peak RSS of the training process (MB)"),
        ("test_accuracy_pct", "test accuracy (%)"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 3.9), layout="constrained")
    for ax, (column, label) in zip(axes, panels):
        sns.barplot(
            data=data,
            x="model",
            y=column,
            hue="variant",
            hue_order=variants,
            order=order,
            palette=colours,
            errorbar=None,
            alpha=0.55,
            ax=ax,
        )
        sns.stripplot(
            data=data,
            x="model",
            y=column,
            hue="variant",
            hue_order=variants,
            order=order,
            palette=colours,
            dodge=True,
            size=5,
            edgecolor="white",
            linewidth=0.6,
            ax=ax,
            legend=False,
        )
        ax.set_xlabel("")
        ax.set_ylabel(label)
        if ax.legend_:
            ax.legend_.remove()
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[v]) for v in variants]
    fig.legend(
        handles,
        [variant_label(v) for v in variants],
        loc="upper center",
        ncol=len(variants),
        frameon=False,
        bbox_to_anchor=(0.5, 1.1),
    )
    fig.suptitle(
        f"Emulated training cost: {int(runs['repeat'].nunique())} interleaved timing repeats, "
        "bar = mean, dots = repeats",
        y=1.16,
    )
    style.save(fig, path)


def _report_ratio(arch: str, variant: str, metric: str) -> float:
    """The report's BNN / float ratio of a metric, from its published numbers (NaN if absent)."""
    values = {
        e["condition"]["variant"]: e["value"]
        for e in published(NAME)
        if e["condition"].get("arch") == arch and e["metric"] == metric
    }
    return values[variant] / values[BASELINE] if variant in values and BASELINE in values else np.nan


def _forest(ax, rows: pd.DataFrame, value: str, labels: list[str], colours: list[str], marks: list[float] | None):
    y = np.arange(len(rows))[::-1]
    estimate = rows[value].to_numpy(float)
    low, high = rows["low"].to_numpy(float), rows["high"].to_numpy(float)
    has = np.isfinite(low) & np.isfinite(high)
    ax.errorbar(
        estimate[has],
        y[has],
        xerr=[estimate[has] - low[has], high[has] - estimate[has]],
        fmt="none",
        ecolor="0.3",
        capsize=3,
        lw=1.2,
    )
    ax.scatter(
        estimate, y, c=colours, s=36, zorder=3, edgecolor="white", linewidth=0.6, label="this run (95% interval)"
    )
    if marks is not None and np.isfinite(marks).any():
        ax.scatter(marks, y, marker="D", facecolor="none", edgecolor="#cc3311", s=40, zorder=4, label="the report")
    ax.axvline(1.0, color="0.5", ls=":", lw=1)
    ax.set_yticks(y, labels)
    ax.set_xscale("log")


def plot_ratios(training: pd.DataFrame, inference: pd.DataFrame, path: Path) -> None:
    """Left: BNN / float training ratios (time, memory); right: the float network's latency over
    the BNN's on the packed path, per batch size."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator

    style.setup()
    train_rows = training.dropna(subset=["ratio"]).reset_index(drop=True)
    infer_rows = inference[inference["comparison"] == "packed_vs_float_network"].reset_index(drop=True)
    height = 1.2 + 0.32 * max(len(train_rows), len(infer_rows), 1)
    fig, axes = plt.subplots(1, 2, figsize=(13, height), layout="constrained")
    colours = style.palette("variant", list(dict.fromkeys(list(train_rows["variant"]) + list(infer_rows["variant"]))))
    if len(train_rows):
        labels = [
            f"{arch_label(r.arch)}, {TRAINING_METRICS[r.metric]}, {variant_label(r.variant)}"
            for r in train_rows.itertuples()
        ]
        marks = [_report_ratio(r.arch, r.variant, r.metric) for r in train_rows.itertuples()]
        _forest(axes[0], train_rows, "ratio", labels, [colours[v] for v in train_rows["variant"]], marks)
        axes[0].legend(fontsize=8, loc="best")
    axes[0].set_xlabel("BNN / float network (below 1: the BNN trains faster or leaner)")
    axes[0].set_title("Emulated training, paired by timing repeat")
    if len(infer_rows):
        labels = [
            f"{arch_label(r.arch)}, batch {r.batch_size:,}, {variant_label(r.variant)}" for r in infer_rows.itertuples()
        ]
        _forest(axes[1], infer_rows, "speedup", labels, [colours[v] for v in infer_rows["variant"]], None)
    else:
        axes[1].text(
            0.5,
            0.5,
            "no BNN with a packed path was timed",
            ha="center",
            va="center",
            transform=axes[1].transAxes,
            color="0.5",
        )
    axes[1].set_xlabel("float network latency / BNN latency on the packed path (above 1: packed is faster)")
    axes[1].set_title("Inference, paired by timing block")
    for ax in axes:
        low, high = ax.get_xlim()
        # 1-2-5 ticks over a narrow range; decades only over a wide one (a wide interval), so that labels never overlap
        subs = (1.0, 2.0, 5.0) if high / max(low, 1e-12) <= 300 else (1.0,)
        ax.xaxis.set_major_locator(LogLocator(subs=subs))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    fig.suptitle("BNN vs float: ratios with 95% intervals (dotted: parity)")
    style.save(fig, path)


def plot_inference(timings: pd.DataFrame, path: Path) -> None:
    """Latency at the smallest batch (top) and throughput at the largest (bottom), one column per
    arch (each its own scale): bar = median over timing blocks, dots = blocks."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    style.setup()
    rank = {v: i for i, v in enumerate(VARIANT_ORDER)}
    data = timings.assign(
        condition=[condition_label(v, p).replace(", ", ",\n") for v, p in zip(timings["variant"], timings["path"])],
        order=[(rank.get(v, len(rank)), p != "float") for v, p in zip(timings["variant"], timings["path"])],
    )
    conditions = list(dict.fromkeys(data.sort_values("order", kind="stable")["condition"]))
    colours = dict(zip(conditions, sns.color_palette("colorblind", len(conditions)).as_hex()))
    archs = _archs(timings)
    small, large = int(data["batch_size"].min()), int(data["batch_size"].max())
    rows = [
        (small, "median_ms", f"latency at batch {small:,} (ms)"),
        (large, "images_per_s", f"throughput at batch {large:,} (images/s)"),
    ]
    fig, axes = plt.subplots(
        len(rows),
        len(archs),
        figsize=(1.6 + 1.5 * len(conditions) * len(archs), 7.2),
        squeeze=False,
        layout="constrained",
    )
    for i, (batch, column, label) in enumerate(rows):
        for j, arch in enumerate(archs):
            ax = axes[i, j]
            frame = data[(data["batch_size"] == batch) & (data["arch"] == arch)]
            sns.barplot(
                data=frame,
                x="condition",
                y=column,
                hue="condition",
                order=conditions,
                hue_order=conditions,
                palette=colours,
                estimator="median",
                errorbar=None,
                alpha=0.55,
                legend=False,
                ax=ax,
            )
            sns.stripplot(
                data=frame,
                x="condition",
                y=column,
                hue="condition",
                order=conditions,
                hue_order=conditions,
                palette=colours,
                size=5,
                edgecolor="white",
                linewidth=0.5,
                legend=False,
                ax=ax,
            )
            ax.set_xlabel("")
            ax.set_ylabel(label if j == 0 else "")
            ax.set_title(f"{arch_label(arch)}, batch {batch:,}")
            ax.tick_params(axis="x", labelsize=8)
    fig.suptitle(
        f"Inference of the trained models ({timings['device'].iloc[0]}, {int(timings['threads'].max())} "
        f"threads): bar = median over {int(timings['block'].nunique())} timing blocks, dots = blocks"
    )
    style.save(fig, path)


def plot_curves(curves: pd.DataFrame, path: Path) -> None:
    """Error by epoch per split (rows) and arch (columns), one line per variant (mean over repeats)."""
    import matplotlib.pyplot as plt

    style.setup()
    archs = _archs(curves)
    splits = [s for s in ("train", "valid", "test") if s in set(curves["split"])]
    variants = style.ordered(curves["variant"], VARIANT_ORDER)
    colours = style.palette("variant", variants)
    fig, axes = plt.subplots(
        len(splits),
        len(archs),
        figsize=(4.6 * len(archs), 2.6 * len(splits)),
        sharex=True,
        sharey="row",
        squeeze=False,
        layout="constrained",
    )
    mean = curves.groupby(["arch", "variant", "split", "epoch"], as_index=False)["error"].mean()
    for i, split in enumerate(splits):
        for j, arch in enumerate(archs):
            ax = axes[i, j]
            for variant in variants:
                line = mean[(mean["arch"] == arch) & (mean["variant"] == variant) & (mean["split"] == split)]
                ax.plot(
                    line["epoch"],
                    100 * line["error"],
                    color=colours[variant],
                    lw=1.6,
                    marker="o",
                    ms=3,
                    label=variant_label(variant),
                )
            ax.set_title(f"{arch_label(arch)}: {split}")
            if i == len(splits) - 1:
                ax.set_xlabel("epoch")
            if j == 0:
                ax.set_ylabel("error (%)")
    style.integer_axis(axes)
    axes[0, -1].legend(fontsize=8)
    fig.suptitle("Error by epoch (mean over timing repeats)")
    style.save(fig, path)


def make_figures(context: Context) -> None:
    paths = tables(context.config)
    for spec in figures(context.config):
        target = context.report_dir / spec.path
        if spec.kind == "training":
            plot_training(context.csv(paths["runs"]), target)
        elif spec.kind == "ratios":
            plot_ratios(context.csv(paths["training_ratios"]), context.csv(paths["inference_ratios"]), target)
        elif spec.kind == "inference":
            plot_inference(context.csv(paths["inference"]), target)
        else:
            plot_curves(context.csv(paths["curves"]), target)


# --- report section ------------------------------------------------------------------------------


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
    for arch in _archs(runs):
        for column, label, scale in metrics:
            row = {"model": arch_label(arch), "metric": label}
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
        "; ".join(parts) + f". Architectures {', '.join(arch_label(a) for a in _archs(runs))}; variants "
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
        return " and ".join(f"{_report_ratio(arch, CLAIMED_VARIANT, metric):.2f}x" for arch in ARCH_LABELS)

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
    shown["report"] = [_report_ratio(r.arch, r.variant, r.metric) for r in shown.itertuples()]
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
            note="Ratio: geometric mean over timing repeats of BNN / float, each repeat's runs trained back to back; the "
            "interval is a t-interval on the log scale. Below 1: the BNN trains faster (or leaner).",
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
                note="Packed: binary weights as bits (32 to an int32 word), biases and BatchNorm as float32; fp32: every "
                "parameter as float32 (the float network of the same architecture has the same size). Same outputs: "
                "the exported model, loaded back, gives bit-identical outputs to the trained model's float "
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
            NAME,
            "paper",
            "Fashion-MNIST",
            "784-128-10 and 784-1024-10 MLPs",
            "50,000",
            "1000",
            "1 run per variant",
            "not stated",
        )
    )
    for dataset in dict.fromkeys(runs["dataset"]):
        mine = runs[runs["dataset"] == dataset]
        section.glance.append(
            Glance(
                NAME,
                "this run",
                dataset_name(dataset),
                ", ".join(f"{arch_label(a)} MLP" for a in _archs(mine)),
                f"{int(mine['train_examples'].max()):,}",
                str(int(mine["epochs"].max())),
                f"{int(mine['seed'].nunique())} timing repeats; {int(timings['block'].nunique()) if len(timings) else 0} "
                "inference timing blocks",
                "",
            )
        )
    return section


# --- claims ----------------------------------------------------------------------------------------


def _scope(dataset: str, arch: str, extra: str = "") -> str:
    return f"{dataset} {arch_label(arch)}" + (f", {extra}" if extra else "")


def _result(scope, est, verdict, threshold, detail, unit="ratio") -> ClaimResult:
    return ClaimResult(scope, verdict[0], est, threshold, f"{verdict[1]}; {detail}", unit)


def arch_threshold(context: Context, key: str, arch: str) -> float | None:
    """The threshold ``claims.<key>`` for ``arch``: one number for every arch, or a mapping arch ->
    number (the report claimed a different effect for each of its MLPs); None if the mapping has no
    entry for ``arch``."""
    value = context.thresholds[key]
    if isinstance(value, dict):
        return float(value[arch]) if arch in value else None
    return float(value)


def _training_claim(metric: str, key: str, what: str):
    def check(context: Context) -> list[ClaimResult]:
        runs = context.csv(tables(context.config)["runs"])
        out = []
        for (dataset, arch), group in runs.groupby(["dataset", "arch"], sort=False):
            scope = _scope(dataset, arch)
            threshold = arch_threshold(context, key, arch)
            if threshold is None:
                out.append(not_run(scope, f"claims.{key} gives no threshold for {arch}; add `{arch}: <ratio>` to it"))
                continue
            words = f"< {threshold:g}x"
            bnn = group[group["variant"] == CLAIMED_VARIANT].set_index("seed")[metric]
            base = group[group["variant"] == BASELINE].set_index("seed")[metric]
            seeds = bnn.index.intersection(base.index).sort_values()
            if not len(seeds):
                out.append(
                    not_run(scope, f"variants {CLAIMED_VARIANT} and {BASELINE} are not both in this config", words)
                )
                continue
            a, b = bnn.loc[seeds], base.loc[seeds]
            est = stats.ratio_interval(a, b, paired=True, unit=REPEATS)
            out.append(
                _result(
                    scope,
                    est,
                    stats.verdict_below(est, threshold),
                    words,
                    f"deterministic BNN / float network, {what} ({a.mean():.3g} vs {b.mean():.3g}), paired "
                    f"by timing repeat; emulated training (float arithmetic on +-1 values)",
                )
            )
        return out

    return check


def _packed_smaller(context: Context) -> list[ClaimResult]:
    exports = context.csv(tables(context.config)["exports"])
    threshold = float(context.thresholds["packed_size_ratio"])
    words = f"< {threshold:g}x"
    if exports.empty:
        return [not_run("", "no model with binary weights at inference was exported", words)]
    out = []
    for (dataset, arch), group in exports.groupby(["dataset", "arch"], sort=False):
        scope = _scope(dataset, arch)
        det = group[group["variant"] == CLAIMED_VARIANT]
        if det.empty:
            out.append(not_run(scope, f"no {CLAIMED_VARIANT} model was exported", words))
            continue
        ratios = det["payload_bytes"] / det["fp32_bytes"]
        est = stats.exact_estimate(float(ratios.max()), "exact: bytes of the packed export over fp32 bytes")
        exact = group["exact_float_path"].astype(str).str.lower().eq("true") & group["exact_packed_path"].astype(
            str
        ).str.lower().eq("true")
        sizes = f"{int(det['payload_bytes'].max()):,} vs {int(det['fp32_bytes'].max()):,} bytes"
        if not exact.all():
            bad = ", ".join(group.loc[~exact, "run"])
            out.append(
                _result(
                    scope,
                    est,
                    ("did not hold", f"the packed export of {bad} does not reproduce the model's outputs exactly"),
                    words,
                    sizes,
                )
            )
            continue
        out.append(
            _result(
                scope,
                est,
                stats.verdict_below(est, threshold),
                words,
                f"{sizes}; all {len(group)} exported models reproduce the float outputs exactly on both paths",
            )
        )
    return out


def _packed_faster(context: Context) -> list[ClaimResult]:
    speedups = context.csv(tables(context.config)["inference_ratios"])
    threshold = float(context.thresholds["inference_speedup"])
    words = f"> {threshold:g}x"
    rows = speedups[(speedups["comparison"] == "packed_vs_float_network") & (speedups["variant"] == CLAIMED_VARIANT)]
    if rows.empty:
        return [not_run("", f"no {CLAIMED_VARIANT} BNN was timed on the packed path", words)]
    out = []
    for (dataset, arch), group in rows.groupby(["dataset", "arch"], sort=False):
        for batch in sorted({int(group["batch_size"].min()), int(group["batch_size"].max())}):
            row = group[group["batch_size"] == batch].iloc[0]
            est = stats.Estimate(
                float(row["speedup"]), float(row["low"]), float(row["high"]), int(row["repeats"]), str(row["method"])
            )
            kind = "latency" if batch == int(group["batch_size"].min()) else "throughput"
            out.append(
                _result(
                    _scope(dataset, arch, f"batch {batch:,}"),
                    est,
                    stats.verdict_above(est, threshold),
                    words,
                    f"{kind}: float network {row['baseline_ms']:.3g} ms vs deterministic BNN on the "
                    f"packed path {row['candidate_ms']:.3g} ms per batch, paired by timing block",
                )
            )
    return out


CLAIMS = [
    Claim(
        "bnn-trains-faster",
        "Emulated BNN training is faster than float training (seconds per epoch).",
        cite("srivastava_da422", "Secs III-A, III-B"),
        NAME,
        _training_claim("seconds_per_epoch", "train_time_ratio", "seconds per epoch"),
        "ratios",
        caveat="The report's claim: a BNN trained in PyTorch computes in float arithmetic on +-1 values; this is "
        "not a statement about binary hardware. Threshold per model at the effect the report claimed for "
        "it (the report's ratios are in the section).",
    ),
    Claim(
        "bnn-trains-leaner",
        "Emulated BNN training uses less memory than float training (peak RSS).",
        cite("srivastava_da422", "Secs III-A, III-B"),
        NAME,
        _training_claim("peak_rss_mb", "train_memory_ratio", "peak RSS in MB"),
        "ratios",
        caveat="Peak RSS of the whole training process (interpreter, torch, data included), as the report's psutil "
        "reading. Threshold per model at the effect the report claimed for it.",
    ),
    Claim(
        "packed-model-smaller",
        "The packed BNN is much smaller than the fp32 model and computes exactly the same outputs.",
        cite("courbariaux2016", "Sec. 1"),
        NAME,
        _packed_smaller,
        "",
        caveat="What a BNN does promise; exact sizes, one repeat suffices.",
    ),
    Claim(
        "packed-inference-faster",
        "Packed BNN inference is faster than the float network, at batch 1 and at a large batch.",
        cite("courbariaux2016", "Sec. 4"),
        NAME,
        _packed_faster,
        "ratios",
        caveat="Measured on this run's device; the first layer (real-valued pixels) stays a float product, so "
        "only the products between +-1 activations and weights can gain.",
    ),
]
