"""Efficiency family: its claims (:data:`CLAIMS`), each checked on its tables."""

from __future__ import annotations

from collections.abc import Callable

from bnnrepro import stats
from bnnrepro.families.efficiency.declaration import BASELINE, NAME, tables
from bnnrepro.families.efficiency.tables import CLAIMED_VARIANT, REPEATS, arch_label
from bnnrepro.families.reporting import Claim, ClaimKind, ClaimResult, Context, not_run, result
from bnnrepro.families.sources import cite

#: How the training-cost claims differ from the source (Srivastava et al., DA422 report).
FIDELITY = (
    "emulated BNN training (float arithmetic on +-1 values) timed on this machine's CPU, a few epochs of a "
    "subset (report: 50,000 images, 1,000 epochs, batch 5,000, its own machine)"
)


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


def _training_claim(metric: str, what: str, key: str | None = None) -> Callable[[Context], list[ClaimResult]]:
    """BNN / float ratio of ``metric`` paired by timing repeat. ``key`` None: the qualitative claim
    (ratio < 1, "faster" / "leaner"); else the magnitude claim: ratio below the report's own ratio for
    the arch (``claims.<key>``, Srivastava et al., Secs III-A, III-B)."""

    def check(context: Context) -> list[ClaimResult]:
        runs = context.csv(tables(context.config)["runs"])
        out = []
        for (dataset, arch), group in runs.groupby(["dataset", "arch"], sort=False):
            scope = _scope(dataset, arch)
            if key is None:
                threshold = stats.below(1.0, "ratio", "the report's qualitative claim (Secs III-A, III-B)")
            else:
                value = arch_threshold(context, key, arch)
                if value is None:
                    out.append(
                        not_run(scope, f"claims.{key} gives no threshold for {arch}; add `{arch}: <ratio>` to it")
                    )
                    continue
                threshold = stats.below(
                    value, "ratio", f"the report's own ratio for {arch_label(arch)} (Secs III-A, III-B)"
                )
            bnn = group[group["variant"] == CLAIMED_VARIANT].set_index("seed")[metric]
            base = group[group["variant"] == BASELINE].set_index("seed")[metric]
            seeds = bnn.index.intersection(base.index).sort_values()
            if not len(seeds):
                out.append(
                    not_run(scope, f"variants {CLAIMED_VARIANT} and {BASELINE} are not both in this config", threshold)
                )
                continue
            a, b = bnn.loc[seeds], base.loc[seeds]
            est = stats.ratio_interval(a, b, paired=True, unit=REPEATS)
            out.append(
                result(
                    scope,
                    stats.judge(est, threshold),
                    f"deterministic BNN / float network, {what} ({a.mean():.3g} vs {b.mean():.3g}), paired by timing "
                    f"repeat",
                    FIDELITY,
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
        _training_claim("seconds_per_epoch", "seconds per epoch"),
        "ratios",
        caveat="The report's claim: a BNN trained in PyTorch computes in float arithmetic on +-1 values; this is "
        "not a statement about binary hardware. The qualitative claim: BNN / float time below 1.",
        kind=ClaimKind.NOT_LIKE_FOR_LIKE,
        fidelity=FIDELITY,
    ),
    Claim(
        "bnn-trains-faster-as-reported",
        "Emulated BNN training takes at most the report's share of the float network's time (0.71x for 784-128-10, "
        "0.57x for 784-1024-10).",
        cite("srivastava_da422", "Secs III-A, III-B"),
        NAME,
        _training_claim("seconds_per_epoch", "seconds per epoch", "train_time_ratio"),
        "ratios",
        caveat="The magnitude the report gives (5 vs 7 s and 16.3 vs 28.5 s per epoch), as a separate claim.",
        kind=ClaimKind.NOT_LIKE_FOR_LIKE,
        fidelity=FIDELITY,
    ),
    Claim(
        "bnn-trains-leaner",
        "Emulated BNN training uses less memory than float training (peak RSS).",
        cite("srivastava_da422", "Secs III-A, III-B"),
        NAME,
        _training_claim("peak_rss_mb", "peak RSS in MB"),
        "ratios",
        caveat="Peak RSS of the whole training process (interpreter, torch, data included), as the report's psutil "
        "reading. The qualitative claim: BNN / float memory below 1.",
        kind=ClaimKind.NOT_LIKE_FOR_LIKE,
        fidelity=FIDELITY,
    ),
    Claim(
        "bnn-trains-leaner-as-reported",
        "Emulated BNN training uses at most the report's share of the float network's memory (0.86x for "
        "784-128-10, 0.73x for 784-1024-10).",
        cite("srivastava_da422", "Secs III-A, III-B"),
        NAME,
        _training_claim("peak_rss_mb", "peak RSS in MB", "train_memory_ratio"),
        "ratios",
        caveat="The magnitude the report gives (870 vs 1,016 MB and 1,364 vs 1,867 MB), as a separate claim.",
        kind=ClaimKind.NOT_LIKE_FOR_LIKE,
        fidelity=FIDELITY,
    ),
    Claim(
        "packed-model-smaller",
        "The packed BNN is much smaller than the fp32 model and computes exactly the same outputs.",
        cite("courbariaux2016", "Sec. 1"),
        NAME,
        _packed_smaller,
        "",
        caveat="What a BNN does promise; exact sizes, one repeat suffices.",
        kind=ClaimKind.SANITY,
    ),
    Claim(
        "packed-inference-faster",
        "Packed BNN inference is faster than the float network, at batch 1 and at a large batch.",
        cite("courbariaux2016", "Sec. 4"),
        NAME,
        _packed_faster,
        "ratios",
        caveat="Measured on this run's device; the first layer (real-valued pixels) stays a float product, so "
        "only the products between +-1 activations and weights can gain. In a 784-H-10 MLP that is the H x 10 "
        "output layer alone: counting multiply-adds, the packed path cannot beat the float network by more than "
        "(784 + 10) / 784, about 1.01x, whatever the kernel (Amdahl's bound). BinaryNet's 784-3x4096-10 MLP, "
        "with two 4096 x 4096 binary products, is bounded by about 11.5x; the kernel family's network "
        "benchmark (bnnrepro kernels network) times it.",
    ),
]


# --- claims added from the claims ledger (ledger.yaml) ---------------------------------------------


def _stoch_resources(context: Context) -> list[ClaimResult]:
    ceiling = float(context.thresholds["stoch_resource_ratio"])
    threshold = stats.below(ceiling, "ratio", "claims.stoch_resource_ratio: any improvement ('slightly improves')")
    runs = context.csv(tables(context.config)["runs"])
    out = []
    for (dataset, arch), group in runs.groupby(["dataset", "arch"], sort=False):
        for metric, what in (("seconds_per_epoch", "seconds per epoch"), ("peak_rss_mb", "peak RSS")):
            scope = _scope(dataset, arch, what)
            stoch = group[group["variant"] == "stoch"].set_index("seed")[metric]
            det = group[group["variant"] == CLAIMED_VARIANT].set_index("seed")[metric]
            seeds = stoch.index.intersection(det.index).sort_values()
            if not len(seeds):
                out.append(
                    not_run(scope, f"variants stoch and {CLAIMED_VARIANT} are not both in this config", threshold)
                )
                continue
            a, b = stoch.loc[seeds], det.loc[seeds]
            est = stats.ratio_interval(a, b, paired=True, unit=REPEATS)
            out.append(
                result(
                    scope,
                    stats.judge(est, threshold),
                    f"stochastic / deterministic BNN, {what} ({a.mean():.3g} vs {b.mean():.3g}), paired by timing "
                    "repeat; emulated training",
                )
            )
    return out


def _accuracy_tradeoff(context: Context) -> list[ClaimResult]:
    loss = float(context.thresholds["accuracy_tradeoff"])
    threshold = stats.below(loss, "pp", "claims.accuracy_tradeoff: a 'minor' loss of test accuracy")
    runs = context.csv(tables(context.config)["runs"])
    out = []
    for (dataset, arch), group in runs.groupby(["dataset", "arch"], sort=False):
        base = group[group["variant"] == BASELINE].set_index("seed")["test_accuracy"]
        for variant in ("det", "stoch"):
            scope = _scope(dataset, arch, variant)
            bnn = group[group["variant"] == variant].set_index("seed")["test_accuracy"]
            seeds = bnn.index.intersection(base.index).sort_values()
            if not len(seeds):
                out.append(not_run(scope, f"variants {variant} and {BASELINE} are not both in this config", threshold))
                continue
            a, b = base.loc[seeds], bnn.loc[seeds]
            est = stats.paired_difference_interval(a, b, unit=REPEATS)
            epochs = int(group["epochs"].max())
            out.append(
                result(
                    scope,
                    stats.judge(est, threshold),
                    f"float minus {variant} BNN test accuracy ({100 * a.mean():.1f}% vs {100 * b.mean():.1f}%), "
                    f"paired by repeat, after {epochs} epochs",
                )
            )
    return out


CLAIMS += [
    Claim(
        "stoch-trains-leaner-faster",
        "Stochastic binarization slightly improves on the deterministic BNN's training memory and time.",
        cite("srivastava_da422", "Sec. V; Secs III-C, III-D"),
        NAME,
        _stoch_resources,
        "ratios",
        caveat="Emulated training: stochastic binarization draws random numbers on top of what the deterministic "
        "BNN computes, so there is no arithmetic it saves here.",
        fidelity="The report's MLPs and batch of 5,000, 4 epochs on 20,000 images (the report: 500-1,000 epochs "
        "on 50,000).",
    ),
    Claim(
        "bnn-accuracy-minor-loss",
        "Binary networks (deterministic and stochastic) lose only a little test accuracy against the float network "
        "(\u201cminor trade-offs\u201d).",
        cite("srivastava_da422", "Sec. V; Secs III-A to III-D"),
        NAME,
        _accuracy_tradeoff,
        "",
        caveat="The report's own gaps: 14.6 points (784-128-10) and 2.1 points (784-1024-10), stochastic 2.5 "
        "points below deterministic at 784-1024-10 and 1.0 above at 784-128-10.",
        fidelity="4 epochs of 4 steps (the timing runs; the report: 500-1,000 epochs with batch 5,000): accuracies "
        "far from converged.",
    ),
]
