"""Efficiency family: its claims (:data:`CLAIMS`), each checked on its tables."""

from __future__ import annotations

from collections.abc import Callable

from bnnrepro import stats
from bnnrepro.families.efficiency.declaration import BASELINE, NAME, tables
from bnnrepro.families.efficiency.tables import CLAIMED_VARIANT, REPEATS, arch_label
from bnnrepro.families.reporting import Claim, ClaimResult, Context, not_run
from bnnrepro.families.sources import cite


def _scope(dataset: str, arch: str, extra: str = "") -> str:
    return f"{dataset} {arch_label(arch)}" + (f", {extra}" if extra else "")


def _result(
    scope: str, est: stats.Estimate, verdict: tuple[str, str], threshold: str, detail: str, unit: str = "ratio"
) -> ClaimResult:
    return ClaimResult(scope, verdict[0], est, threshold, f"{verdict[1]}; {detail}", unit)


def arch_threshold(context: Context, key: str, arch: str) -> float | None:
    """The threshold ``claims.<key>`` for ``arch``: one number for every arch, or a mapping arch ->
    number (the report claimed a different effect for each of its MLPs); None if the mapping has no
    entry for ``arch``."""
    value = context.thresholds[key]
    if isinstance(value, dict):
        return float(value[arch]) if arch in value else None
    return float(value)


def _training_claim(metric: str, key: str, what: str) -> Callable[[Context], list[ClaimResult]]:
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
