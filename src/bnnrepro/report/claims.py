"""The papers' qualitative claims as checks over the results.

Each claim reads the result tables of one family and returns its status: ``held``,
``did not hold`` or ``not run`` (with the reason: family disabled, condition not in the config,
...). The thresholds come from the config's ``claims`` section, never from this file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from bnnrepro.report.build import Context

HELD, FAILED, NOT_RUN = "held", "did not hold", "not run"


@dataclass
class Outcome:
    status: str
    measured: str
    detail: str = ""


@dataclass
class Claim:
    id: str
    statement: str
    source: str
    family: str
    check: Callable[[Context, dict], list[tuple[str, Outcome]]]  # [(scope, outcome)]


def _verdict(ok: bool) -> str:
    return HELD if ok else FAILED


def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{100 * x:.1f}%"


# --- memorization -------------------------------------------------------------------------------

def _memo(context: Context) -> pd.DataFrame:
    summary = context.csv("memorization/summary.csv")
    cond = ["dataset", "binarization", "labels", "regularization"]
    return summary.groupby(cond, as_index=False).mean(numeric_only=True)


def _get(table: pd.DataFrame, dataset: str, **cond) -> pd.Series | None:
    rows = table[table["dataset"] == dataset]
    for key, value in cond.items():
        rows = rows[rows[key] == value]
    return rows.iloc[0] if len(rows) else None


def _missing(*names: str) -> Outcome:
    return Outcome(NOT_RUN, "", f"condition(s) {', '.join(names)} not in this config")


def _per_dataset(check):
    def run(context: Context, thresholds: dict) -> list[tuple[str, Outcome]]:
        table = _memo(context)
        return [(dataset, check(table, dataset, thresholds)) for dataset in dict.fromkeys(table["dataset"])]
    return run


@_per_dataset
def _det_fits_randy(table, dataset, t):
    row = _get(table, dataset, binarization="det", labels="randY", regularization="none")
    if row is None:
        return _missing("det/randY/none")
    thr = t["memorize_train_error"]
    return Outcome(_verdict(row.final_train_error < thr), f"final train error {_pct(row.final_train_error)}",
                   f"threshold {_pct(thr)}, after {int(row.epochs)} epochs")


@_per_dataset
def _l2_does_not_prevent(table, dataset, t):
    row = _get(table, dataset, binarization="det", labels="randY", regularization="l2")
    if row is None:
        return _missing("det/randY/l2")
    thr = t["memorize_train_error"]
    return Outcome(_verdict(row.final_train_error < thr), f"final train error with L2 {_pct(row.final_train_error)}",
                   f"threshold {_pct(thr)}")


@_per_dataset
def _dropout_slows(table, dataset, t):
    none = _get(table, dataset, binarization="det", labels="randY", regularization="none")
    drop = _get(table, dataset, binarization="det", labels="randY", regularization="dropout")
    if none is None or drop is None:
        return _missing("det/randY/none", "det/randY/dropout")
    gap = drop.final_train_error - none.final_train_error
    return Outcome(_verdict(gap > t["slowdown_margin"]),
                   f"train error {_pct(drop.final_train_error)} with dropout vs {_pct(none.final_train_error)} without",
                   f"needs a gap above {_pct(t['slowdown_margin'])}; class spread with dropout "
                   f"{_pct(drop.final_train_error_class_min)}-{_pct(drop.final_train_error_class_max)}")


@_per_dataset
def _stoch_floor(table, dataset, t):
    det = _get(table, dataset, binarization="det", labels="randY", regularization="none")
    stoch = _get(table, dataset, binarization="stoch", labels="randY", regularization="none")
    if det is None or stoch is None:
        return _missing("det/randY/none", "stoch/randY/none")
    gap = stoch.final_train_error - det.final_train_error
    return Outcome(_verdict(gap > t["slowdown_margin"]),
                   f"train error {_pct(stoch.final_train_error)} stochastic vs {_pct(det.final_train_error)} deterministic",
                   f"needs a gap above {_pct(t['slowdown_margin'])} (paper: floor ~30%)")


def _chance(context: Context, t: dict) -> list[tuple[str, Outcome]]:
    table = _memo(context)
    results = []
    for dataset in dict.fromkeys(table["dataset"]):
        curves_classes = 10  # all datasets of the study are 10-class (memorization runs multiclass tasks)
        chance = 1 - 1 / curves_classes
        rows = table[(table["dataset"] == dataset) & table["labels"].isin(["randY", "randX"])]
        if rows.empty:
            results.append((dataset, _missing("randY", "randX")))
            continue
        worst = float((rows["final_test_error"] - chance).abs().max())
        results.append((dataset, Outcome(
            _verdict(worst < t["chance_tolerance"]),
            f"test error {_pct(rows['final_test_error'].min())}-{_pct(rows['final_test_error'].max())} "
            f"over {len(rows)} randY/randX conditions",
            f"chance = {_pct(chance)}, tolerance {_pct(t['chance_tolerance'])}")))
    return results


# --- easy examples -------------------------------------------------------------------------------

def _easy(context: Context) -> pd.DataFrame:
    summary = context.csv("easy_examples/summary.csv")
    key = [c for c in summary.columns if c.startswith("examples_correct_ge_")][0]
    return summary.rename(columns={key: "easy"})


def _real_more_easy(context: Context, t: dict):
    table = _easy(context)
    out = []
    for (dataset, b), group in table.groupby(["dataset", "binarization"]):
        by = group.set_index("labels")["easy"]
        if "true" not in by or not ({"randY", "randX"} & set(by.index)):
            out.append((f"{dataset}, {b}", _missing("true", "randY or randX")))
            continue
        others = by.drop("true")
        ok = by["true"] >= t["easy_ratio"] * others.max()
        measured = f"true {by['true']}, " + ", ".join(f"{k} {v}" for k, v in others.items())
        out.append((f"{dataset}, {b}", Outcome(_verdict(ok), measured + f" of {int(group['examples'].iloc[0])}",
                                               f"needs true >= {t['easy_ratio']} x the others")))
    return out


def _randx_binomial(context: Context, t: dict):
    table = _easy(context)
    out = []
    for (dataset, b), group in table.groupby(["dataset", "binarization"]):
        rows = group[group["labels"] == "randX"]
        if rows.empty:
            out.append((f"{dataset}, {b}", _missing("randX")))
            continue
        row = rows.iloc[0]
        real = group[group["labels"] == "true"]
        real_ratio = f"; true labels: {real['variance_ratio'].iloc[0]:.2f}" if len(real) else ""
        out.append((f"{dataset}, {b}", Outcome(
            _verdict(row.variance_ratio < t["binomial_variance_ratio"]),
            f"variance ratio {row.variance_ratio:.2f} (chi2 p = {row.chi2_pvalue:.3g}){real_ratio}",
            f"binomial-like if the ratio is below {t['binomial_variance_ratio']}")))
    return out


# --- efficiency ----------------------------------------------------------------------------------

def _efficiency_compare(column: str, what: str):
    def check(context: Context, t: dict):
        summary = context.csv("efficiency/summary.csv").groupby(["arch", "variant"], as_index=False).mean(numeric_only=True)
        out = []
        for arch, group in summary.groupby("arch", sort=False):
            by = group.set_index("variant")[column]
            if "det" not in by or "float" not in by:
                out.append((arch, _missing("det", "float")))
                continue
            ratio = by["det"] / by["float"]
            out.append((arch, Outcome(_verdict(ratio < 1.0),
                                      f"{what}: det BNN {by['det']:.3g} vs float {by['float']:.3g} ({ratio:.2f}x)",
                                      "held if the BNN's value is below the float network's")))
        return out
    return check


# --- BinaryConnect -------------------------------------------------------------------------------

def _bc_pushes_weights(context: Context, t: dict):
    weights = context.csv("binaryconnect/weights.csv").groupby(["dataset", "variant"], as_index=False).mean(numeric_only=True)
    out = []
    for (dataset, variant), row in weights.set_index(["dataset", "variant"]).iterrows():
        if not variant.startswith("bc_"):
            continue
        frac = row["frac_abs_above_0.9"]
        out.append((f"{dataset}, {variant}", Outcome(
            _verdict(frac >= t["bc_saturation_fraction"]),
            f"{100 * frac:.1f}% of first-layer weights have |w| > 0.9",
            f"10% at initialisation; held above {100 * t['bc_saturation_fraction']:.0f}%")))
    return out or [("", _missing("bc_det or bc_stoch"))]


# --- lookup tables -------------------------------------------------------------------------------

def _lut_table3(context: Context):
    import pandas as pd

    out = {}
    for dataset in context.family("lutnet").get("datasets", []):
        files = sorted((context.results / "lutnet" / dataset).glob("table3*.csv"))
        if files:
            frame = pd.concat([context.csv(str(f.relative_to(context.results))) for f in files])
            out[dataset] = frame.groupby(["k", "labels", "split"])["accuracy"].mean().unstack(["labels", "split"])
    return out


def _lut_above_chance(context: Context, t: dict):
    tables = _lut_table3(context)
    out = []
    for dataset, table in tables.items():
        if ("real", "test") not in table:
            out.append((dataset, _missing("table3 real labels")))
            continue
        test = table[("real", "test")]
        out.append((dataset, Outcome(_verdict(test.min() > 0.5 + t["lut_above_chance"]),
                                     f"test accuracy {test.min():.2f}-{test.max():.2f} over k = {', '.join(map(str, test.index))}",
                                     f"chance 0.50; held above {0.5 + t['lut_above_chance']:.2f} at every k")))
    return out or [("", _missing("lutnet table3"))]


def _lut_gap_grows(context: Context, t: dict):
    from scipy.stats import spearmanr

    out = []
    for dataset, table in _lut_table3(context).items():
        if ("real", "train") not in table or len(table) < 3:
            out.append((dataset, _missing("table3 with at least 3 values of k")))
            continue
        gap = table[("real", "train")] - table[("real", "test")]
        rho = spearmanr(gap.index, gap.values).statistic
        out.append((dataset, Outcome(_verdict(rho > 0.5 and gap.iloc[-1] > gap.iloc[0]),
                                     f"gap {gap.iloc[0]:.3f} at k={gap.index[0]} -> {gap.iloc[-1]:.3f} at k={gap.index[-1]} "
                                     f"(Spearman {rho:.2f})", "held if the gap rises with k (Spearman > 0.5)")))
    return out or [("", _missing("lutnet table3"))]


def _lut_random_harder(context: Context, t: dict):
    out = []
    for dataset, table in _lut_table3(context).items():
        if ("random", "train") not in table or ("real", "train") not in table:
            out.append((dataset, _missing("table3 real and random labels")))
            continue
        diff = table[("real", "train")] - table[("random", "train")]
        holds = int((diff > 0).sum())
        out.append((dataset, Outcome(_verdict(holds == len(diff)),
                                     f"real > random train accuracy at {holds} of {len(diff)} values of k "
                                     f"(difference {diff.min():+.3f} to {diff.max():+.3f})",
                                     "held if real labels are fitted better at every k")))
    return out or [("", _missing("lutnet table3"))]


# --- kernels -------------------------------------------------------------------------------------

def _kernel_bench(context: Context) -> pd.DataFrame:
    from bnnrepro.experiments.kernels import load

    return load(context.results / "kernels/kernel_bench.csv")


def _kernel_exact(context: Context, t: dict):
    bench = _kernel_bench(context)
    packed = bench[bench["impl"] != "torch.matmul"]
    if packed.empty:
        return [("", _missing("packed implementations in the kernel benchmark"))]
    exact = packed["exact"].astype(str).str.lower().eq("true")
    devices = ", ".join(dict.fromkeys(packed["device"]))
    return [(devices, Outcome(_verdict(bool(exact.all())), f"{int(exact.sum())} of {len(packed)} packed products exact",
                              "held if every packed product equals the float product on +-1 values"))]


def _best_gpu_products(context: Context) -> tuple[pd.DataFrame, Outcome | None]:
    """The fastest packed product per GPU shape, or the reason the GPU claims were not run."""
    from bnnrepro.experiments.kernels import best_packed

    bench = _kernel_bench(context)
    gpu = bench[bench["device_type"] == "cuda"]
    if gpu.empty:
        device = ", ".join(dict.fromkeys(bench["device"]))
        return gpu, Outcome(NOT_RUN, "", f"no GPU in this run (the benchmark ran on {device}); the claim is about a GPU kernel")
    return best_packed(gpu), None


def _kernel_vs_fp16(context: Context, t: dict):
    best, skip = _best_gpu_products(context)
    if skip:
        return [("", skip)]
    small = best[(best["K"] == 4096) & (best["N"] == 4096) & (best["M"] <= 16)].dropna(subset=["speedup_vs_fp16"])
    if small.empty:
        return [("", _missing("GPU shapes K = N = 4096 with batch <= 16 and fp16 rows"))]
    worst = small.loc[small["speedup_vs_fp16"].idxmin()]
    thr = t["kernel_speedup_vs_fp16"]
    return [(str(worst["device"]), Outcome(
        _verdict(bool((small["speedup_vs_fp16"] >= thr).all())),
        f"{small['speedup_vs_fp16'].min():.2f}x to {small['speedup_vs_fp16'].max():.2f}x over batch "
        f"{sorted(int(m) for m in small['M'])} (slowest: {worst['implementation']} at M = {int(worst['M'])})",
        f"held at >= {thr:g}x at every batch; activations packed inside the timing"))]


def _kernel_vs_fp32_8192(context: Context, t: dict):
    best, skip = _best_gpu_products(context)
    if skip:
        return [("", skip)]
    row = best[(best["M"] == 8192) & (best["K"] == 8192) & (best["N"] == 8192)]
    if row.empty:
        return [("", _missing("GPU shape 8192 x 8192 x 8192"))]
    row = row.iloc[0]
    thr = t["kernel_speedup_vs_fp32"]
    return [(str(row["device"]), Outcome(_verdict(row["speedup_vs_fp32"] >= thr),
                                         f"{row['speedup_vs_fp32']:.2f}x ({row['implementation']})",
                                         f"the paper: {thr:g}x on a GTX 750; packing included"))]


CLAIMS: list[Claim] = [
    Claim("det-fits-randY", "A deterministic BNN fits random labels (train error near 0).",
          "seed 000, Sec. 3", "memorization", _det_fits_randy),
    Claim("l2-does-not-prevent", "L2 regularization does not prevent memorization of random labels.",
          "seed 000, Sec. 3, Fig. 2", "memorization", _l2_does_not_prevent),
    Claim("dropout-slows", "Dropout slows memorization of random labels.", "seed 000, Sec. 4, Fig. 3",
          "memorization", _dropout_slows),
    Claim("stoch-floor", "Stochastic binarization leaves a higher train-error floor on random labels.",
          "seed 000, Sec. 4, Fig. 4", "memorization", _stoch_floor),
    Claim("random-test-at-chance", "Test error under randY / randX stays at chance.",
          "seed 000, Sec. 3; Zhang et al. 2016", "memorization", _chance),
    Claim("real-more-easy", "After one epoch, real data has many more consistently easy examples than randY / randX.",
          "seed 000, Sec. 5, Fig. 5", "easy_examples", _real_more_easy),
    Claim("randX-binomial", "Under randX the per-example correctness follows the binomial (all examples equally hard).",
          "papers.md (Arpit et al. 2017)", "easy_examples", _randx_binomial),
    Claim("bnn-trains-faster", "Binarized training is faster than float training (seconds per epoch).",
          "seed 003, Sec. III", "efficiency", _efficiency_compare("seconds_per_epoch", "s/epoch")),
    Claim("bnn-trains-leaner", "Binarized training uses less memory than float training (peak RSS).",
          "seed 003, Sec. III", "efficiency", _efficiency_compare("peak_rss_mb", "peak RSS MB")),
    Claim("lut-above-chance", "Networks of lookup tables trained by memorization generalize above chance.",
          "seed 002, Sec. 3, Tables 1 and 3", "lutnet", _lut_above_chance),
    Claim("lut-gap-grows-with-k", "Lookup-table networks generalize less as k grows (the train-test gap widens).",
          "seed 002, Table 3, Figure 1", "lutnet", _lut_gap_grows),
    Claim("lut-random-harder", "Lookup-table networks fit random labels worse than real ones.",
          "seed 002, Table 3", "lutnet", _lut_random_harder),
    Claim("bc-pushes-weights", "BinaryConnect pushes the first layer's weights toward +-1.",
          "BinaryConnect paper Fig 2; seed 004, Sec. 3.1", "binaryconnect", _bc_pushes_weights),
    Claim("kernel-exact", "The packed xnor-popcount product equals the float product on +-1 values exactly.",
          "BinaryNet paper, Sec. 4 (the kernel)", "kernels", _kernel_exact),
    Claim("kernel-beats-fp16", "On a GPU, with 4096 x 4096 weights at batch 1-16, the packed kernel is many "
          "times faster than fp16 matmul (16x less weight traffic).", "this project's kernel goal", "kernels",
          _kernel_vs_fp16),
    Claim("kernel-beats-cublas", "At 8192^3 the xnor kernel is faster than cuBLAS fp32 (3.4x on a GTX 750).",
          "BinaryNet paper, run-time kernel (papers.md)", "kernels", _kernel_vs_fp32_8192),
]


def evaluate_claims(context: Context) -> pd.DataFrame:
    """One row per (claim, scope): statement, source, scope, status, measured, detail."""
    thresholds = context.config.get("claims", {})
    rows = []
    for claim in CLAIMS:
        base = {"claim": claim.id, "statement": claim.statement, "source": claim.source}
        if not context.enabled(claim.family):
            rows.append({**base, "scope": "", "status": NOT_RUN, "measured": "",
                         "detail": f"family '{claim.family}' is disabled in this config"})
            continue
        for scope, outcome in claim.check(context, thresholds):
            rows.append({**base, "scope": scope, "status": outcome.status, "measured": outcome.measured,
                         "detail": outcome.detail})
    return pd.DataFrame(rows, columns=["claim", "statement", "source", "scope", "status", "measured", "detail"])


__all__ = ["CLAIMS", "HELD", "FAILED", "NOT_RUN", "evaluate_claims"]
