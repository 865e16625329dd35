"""The efficiency family: its declaration (interleaved timed chunks), its tables (ratios paired by
repeat and by timing block), the inference job on real trained models (packed exports exact), and
every claim's verdicts on synthetic tables (held, did not hold, inconclusive, not run)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from bnnrepro.families.efficiency import analysis, tables
from bnnrepro.families.efficiency import declaration as efficiency
from bnnrepro.families.reporting import Context
from bnnrepro.io import write_csv

THRESHOLDS = {"train_time_ratio": 0.71, "train_memory_ratio": 0.86, "packed_size_ratio": 0.1, "inference_speedup": 2.0}


def config(**section) -> dict:
    base = {
        "seeds": [0, 1, 2],
        "datasets": ["fashion_mnist"],
        "archs": ["fashion_mlp_128", "fashion_mlp_1024"],
        "variants": ["float", "det", "stoch"],
        "settings": {"epochs": 3},
        "dataset_settings": {"fashion_mnist": {"train_size": 1000}},
        "variant_settings": {
            "float": {"mode": "float"},
            "det": {"mode": "binarynet", "binarization": "det"},
            "stoch": {"mode": "binarynet", "binarization": "stoch"},
        },
        "inference": {"batch_sizes": [1, 1000], "min_run_time": 0.1, "repeats": 5},
    }
    return {
        "efficiency": {**base, **section},
        "execution": {"device": "cpu", "threads_per_run": 1},
        "claims": THRESHOLDS,
    }


# --- declaration -----------------------------------------------------------------------------------


def test_repeats_train_the_variants_in_rotated_order_one_chunk_per_arch():
    cfg = config()
    chunks = efficiency.chunks(cfg)
    assert [c.name for c in chunks] == ["fashion_mlp_128", "fashion_mlp_1024"]
    assert all(c.isolate for c in chunks) and efficiency.FAMILY.timed
    order = [(r.condition["seed"], r.condition["variant"]) for r in chunks[0].runs]
    assert order == [
        (0, "float"),
        (0, "det"),
        (0, "stoch"),
        (1, "det"),
        (1, "stoch"),
        (1, "float"),
        (2, "stoch"),
        (2, "float"),
        (2, "det"),
    ]
    run = chunks[1].runs[1]
    assert run.settings["arch"] == "fashion_mlp_1024" and run.settings["mode"] == "binarynet"
    assert run.settings["tags"] == ["variant=det"] and run.settings["save_model"] is True
    assert efficiency.inputs(cfg) == [
        "efficiency/fashion_mnist/inference/fashion_mlp_128.csv",
        "efficiency/fashion_mnist/inference/fashion_mlp_128-exports.csv",
        "efficiency/fashion_mnist/inference/fashion_mlp_1024.csv",
        "efficiency/fashion_mnist/inference/fashion_mlp_1024-exports.csv",
    ]


def test_config_checks_name_the_problem():
    problems, warnings = efficiency.check(config(variants=["det", "stoch"]))
    assert any("must include 'float'" in p for p in problems)
    problems, _ = efficiency.check(config(settings={"epochs": 1}))
    assert any("epochs >= 2" in p for p in problems)
    problems, _ = efficiency.check(config(variants=["float", "xnor"]))
    assert any("'xnor' is not defined" in p for p in problems)
    _, warnings = efficiency.check(config(seeds=[0]))
    assert any("1 timing repeat" in w for w in warnings)
    assert efficiency.check(config()) == ([], [])


# --- synthetic tables --------------------------------------------------------------------------------


def synthetic_runs(
    time_ratio: float,
    memory_ratio: float,
    noise: float = 0.01,
    repeats: int = 3,
    archs=("fashion_mlp_1024",),
    variants=("float", "det"),
    seed: int = 0,
) -> pd.DataFrame:
    """runs.csv rows: float at 10 s/epoch and 1000 MB; the BNN at the given ratios, with
    multiplicative noise per run."""
    rng = np.random.default_rng(seed)
    rows = []
    for arch in archs:
        for repeat in range(repeats):
            for variant in variants:
                scale_t = 1.0 if variant == "float" else time_ratio
                scale_m = 1.0 if variant == "float" else memory_ratio
                rows.append(
                    {
                        "dataset": "fashion_mnist",
                        "arch": arch,
                        "variant": variant,
                        "seed": repeat,
                        "repeat": repeat,
                        "seconds_per_epoch": 10 * scale_t * np.exp(rng.normal(0, noise)),
                        "peak_rss_mb": 1000 * scale_m * np.exp(rng.normal(0, noise)),
                        "test_accuracy": 0.8,
                        "train_accuracy": 0.85,
                        "epochs": 3,
                        "train_examples": 1000,
                        "threads": 2,
                    }
                )
    return pd.DataFrame(rows)


def synthetic_timings(packed_speedup: float, noise: float = 0.01, blocks: int = 5, seed: int = 0) -> pd.DataFrame:
    """inference.csv rows: the float network at 1 ms (batch 1) and 100 ms (batch 1000); the det BNN
    on the float path as fast, on the packed path ``packed_speedup`` times faster."""
    rng = np.random.default_rng(seed)
    rows = []
    for block in range(blocks):
        for batch, ms in ((1, 1.0), (1000, 100.0)):
            for variant, path, factor in (
                ("float", "float", 1.0),
                ("det", "float", 1.0),
                ("det", "packed", 1 / packed_speedup),
            ):
                value = ms * factor * np.exp(rng.normal(0, noise))
                rows.append(
                    {
                        "dataset": "fashion_mnist",
                        "arch": "fashion_mlp_1024",
                        "variant": variant,
                        "path": path,
                        "backend": "torch" if path == "packed" else "float",
                        "batch_size": batch,
                        "block": block,
                        "median_ms": value,
                        "images_per_s": batch / value * 1e3,
                        "device": "cpu",
                        "threads": 2,
                    }
                )
    return pd.DataFrame(rows)


def context_with(
    tmp_path,
    runs: pd.DataFrame | None = None,
    timings: pd.DataFrame | None = None,
    exports: pd.DataFrame | None = None,
    **thresholds,
) -> Context:
    cfg = config()
    cfg["claims"] = {**THRESHOLDS, **thresholds}
    paths = efficiency.tables(cfg)
    if runs is not None:
        write_csv(tmp_path / paths["runs"], runs)
    if timings is not None:
        write_csv(tmp_path / paths["inference_ratios"], tables.inference_ratios(timings))
    if exports is not None:
        write_csv(tmp_path / paths["exports"], exports)
    return Context(cfg, tmp_path, tmp_path / "report")


def verdicts(results) -> list[str]:
    return [r.verdict for r in results]


def test_training_ratios_are_paired_by_repeat():
    runs = synthetic_runs(0.5, 0.8, noise=0.0)
    runs.loc[runs["seed"] == 1, "seconds_per_epoch"] *= 3  # a slow phase of the machine hits both variants
    ratios = tables.training_ratios(runs).set_index("metric")
    assert ratios.loc["seconds_per_epoch", "ratio"] == pytest.approx(0.5)
    assert ratios.loc["seconds_per_epoch", ["low", "high"]].tolist() == pytest.approx([0.5, 0.5])
    assert ratios.loc["peak_rss_mb", "ratio"] == pytest.approx(0.8)
    assert ratios.loc["peak_rss_mb", "repeats"] == 3


@pytest.mark.parametrize(
    ("claim", "metric_ratio"), [("bnn-trains-faster", "time_ratio"), ("bnn-trains-leaner", "memory_ratio")]
)
def test_training_claims_held_did_not_hold_inconclusive_not_run(tmp_path, claim, metric_ratio):
    check = next(c for c in analysis.CLAIMS if c.id == claim).check
    other = "memory_ratio" if metric_ratio == "time_ratio" else "time_ratio"

    def verdict(ratio, noise=0.01, repeats=3, **kwargs):
        runs = synthetic_runs(**{metric_ratio: ratio, other: 1.0}, noise=noise, repeats=repeats, **kwargs)
        return verdicts(check(context_with(tmp_path, runs)))

    assert verdict(0.5) == ["held"]  # the report's effect, clearly
    assert verdict(1.0) == ["did not hold"]  # no effect at all: the claim does not hold
    assert verdict(1.2) == ["did not hold"]  # the BNN costs more
    threshold = THRESHOLDS["train_time_ratio" if metric_ratio == "time_ratio" else "train_memory_ratio"]
    assert verdict(threshold, noise=0.05) == ["inconclusive"]  # the interval straddles the threshold
    assert verdict(0.5, repeats=1) == ["inconclusive"]  # one repeat: no interval
    ratios: dict[str, Any] = {metric_ratio: 0.5, other: 1.0}
    runs = synthetic_runs(**ratios, variants=("float", "stoch"))
    assert verdicts(check(context_with(tmp_path, runs))) == ["not run"]


def test_training_claim_scopes_each_arch_and_states_what_is_compared(tmp_path):
    runs = synthetic_runs(0.5, 1.0, archs=("fashion_mlp_128", "fashion_mlp_1024"))
    results = analysis.CLAIMS[0].check(context_with(tmp_path, runs))
    assert [r.scope for r in results] == ["fashion_mnist 784-128-10", "fashion_mnist 784-1024-10"]
    assert all(
        "emulated" in r.detail and r.estimate is not None and r.estimate.repeats == 3 and r.threshold == "< 0.71x"
        for r in results
    )


def test_threshold_comes_from_the_config(tmp_path):
    runs = synthetic_runs(0.8, 1.0)
    check = analysis.CLAIMS[0].check
    assert verdicts(check(context_with(tmp_path, runs))) == ["did not hold"]
    assert verdicts(check(context_with(tmp_path, runs, train_time_ratio=1.0))) == ["held"]


def test_thresholds_per_arch_at_each_claimed_effect(tmp_path):
    """The report claimed 0.71x for 784-128-10 and 0.57x for 784-1024-10: a ratio of 0.65 holds for
    the first and not for the second; an arch without a threshold is not run."""
    runs = synthetic_runs(0.65, 1.0, archs=("fashion_mlp_128", "fashion_mlp_1024"))
    check = analysis.CLAIMS[0].check
    per_arch = {"fashion_mlp_128": 0.71, "fashion_mlp_1024": 0.57}
    results = check(context_with(tmp_path, runs, train_time_ratio=per_arch))
    assert verdicts(results) == ["held", "did not hold"]
    assert [r.threshold for r in results] == ["< 0.71x", "< 0.57x"]
    results = check(context_with(tmp_path, runs, train_time_ratio={"fashion_mlp_128": 0.71}))
    assert verdicts(results) == ["held", "not run"] and "fashion_mlp_1024" in results[1].detail


def exports_table(payload: int, fp32: int, exact: bool = True) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "dataset": "fashion_mnist",
                "arch": "fashion_mlp_1024",
                "variant": "det",
                "seed": s,
                "run": f"fashion_mlp_1024-det-s{s}",
                "fp32_bytes": fp32,
                "payload_bytes": payload,
                "file_bytes": payload + 900,
                "exact_float_path": True,
                "exact_packed_path": exact or s != 1,
            }
            for s in range(3)
        ]
    )


def test_packed_size_claim(tmp_path):
    check = next(c for c in analysis.CLAIMS if c.id == "packed-model-smaller").check
    held = check(context_with(tmp_path, exports=exports_table(110_000, 3_260_000)))
    assert verdicts(held) == ["held"] and held[0].estimate is not None
    assert held[0].estimate.estimate == pytest.approx(110_000 / 3_260_000)
    assert verdicts(check(context_with(tmp_path, exports=exports_table(1_600_000, 3_260_000)))) == ["did not hold"]
    # A smaller export that computes something else is not a smaller version of the model.
    wrong = check(context_with(tmp_path, exports=exports_table(110_000, 3_260_000, exact=False)))
    assert verdicts(wrong) == ["did not hold"] and "exactly" in wrong[0].detail
    # Sizes are exact: no interval can straddle the threshold, so there is no inconclusive case.
    empty = pd.DataFrame(columns=exports_table(1, 1).columns)
    assert verdicts(check(context_with(tmp_path, exports=empty))) == ["not run"]


def test_inference_speedups_are_paired_by_block():
    timings = synthetic_timings(2.0, noise=0.0)
    timings.loc[timings["block"] == 3, "median_ms"] *= 5  # a disturbed block slows every condition alike
    ratios = tables.inference_ratios(timings).set_index(["batch_size", "comparison"])
    assert ratios.loc[(1, "packed_vs_float_network"), "speedup"] == pytest.approx(2.0)
    assert ratios.loc[(1000, "packed_vs_bnn_float"), ["low", "high"]].tolist() == pytest.approx([2.0, 2.0])
    assert ratios.loc[(1, "bnn_float_vs_float_network"), "speedup"] == pytest.approx(1.0)
    assert set(ratios["repeats"]) == {5}


def test_packed_inference_claim(tmp_path):
    check = next(c for c in analysis.CLAIMS if c.id == "packed-inference-faster").check

    def verdict(speedup, noise=0.01, blocks=5):
        return verdicts(check(context_with(tmp_path, timings=synthetic_timings(speedup, noise, blocks))))

    assert verdict(4.0) == ["held", "held"]  # batch 1 and the large batch
    assert verdict(1.0) == ["did not hold", "did not hold"]  # no effect: does not hold
    assert verdict(0.5) == ["did not hold", "did not hold"]
    assert verdict(2.0, noise=0.1) == ["inconclusive", "inconclusive"]
    results = check(context_with(tmp_path, timings=synthetic_timings(4.0)))
    assert [r.scope for r in results] == [
        "fashion_mnist 784-1024-10, batch 1",
        "fashion_mnist 784-1024-10, batch 1,000",
    ]
    no_packed = synthetic_timings(4.0)
    no_packed = no_packed[no_packed["path"] != "packed"]
    assert verdicts(check(context_with(tmp_path, timings=no_packed))) == ["not run"]


# --- on real trained models --------------------------------------------------------------------------


def test_inference_job_and_tables_on_trained_models(tmp_path, fashion_mnist):
    """Two tiny runs (float, det) through the chunk trainer, the inference job and the tables: the
    packed export reproduces the det model exactly and is about 1/32 of its fp32 size."""
    from bnnrepro.families.efficiency import inference
    from bnnrepro.train.command import run_chunk

    cfg = config(
        seeds=[0],
        archs=["fashion_mlp_128"],
        variants=["float", "det"],
        settings={"epochs": 2, "batch_size": 100},
        dataset_settings={"fashion_mnist": {"train_size": 300, "valid_size": 100, "test_size": 200}},
    )
    cfg["results"] = str(tmp_path)
    chunk = efficiency.chunks(cfg)[0]
    spec = {
        "isolate": False,
        "runs": [{"out": r.folder(str(tmp_path)), "name": r.name, "settings": dict(r.settings)} for r in chunk.runs],
    }
    run_chunk(spec, {"checkpoint_every": 1e9}, chunk.manifest(str(tmp_path)), progress=False)
    outputs = {k: tmp_path / v for k, v in efficiency.inference_outputs("fashion_mnist", "fashion_mlp_128").items()}
    timings, exports = inference.benchmark(
        chunk.manifest(str(tmp_path)), outputs["packed"], [1, 64], repeats=2, min_run_time=0.01
    )
    assert exports["exact_float_path"].all() and exports["exact_packed_path"].all()
    assert list(exports["variant"]) == ["det"]
    assert exports["payload_bytes"].iloc[0] < 0.06 * exports["fp32_bytes"].iloc[0]
    assert (outputs["packed"] / "fashion_mlp_128-det-s0.packed.pt").is_file()
    assert set(zip(timings["variant"], timings["path"])) == {("float", "float"), ("det", "float"), ("det", "packed")}
    assert len(timings) == 2 * 2 * 3 and (timings["median_ms"] > 0).all()
    write_csv(outputs["timings"], timings)
    write_csv(outputs["exports"], exports)

    context = Context(cfg, tmp_path, tmp_path / "report")
    analysis.make_tables(context, [chunk.manifest(str(tmp_path))] + [str(tmp_path / p) for p in efficiency.inputs(cfg)])
    runs = context.csv(efficiency.tables(cfg)["runs"])
    assert set(runs["variant"]) == {"float", "det"} and (runs["seconds_per_epoch"] > 0).all()
    assert runs["position"].tolist() == [0, 1]
    assert len(context.csv(efficiency.tables(cfg)["inference_ratios"])) == 2 * 3
    assert all(
        r.verdict in ("held", "did not hold", "inconclusive") for claim in analysis.CLAIMS for r in claim.check(context)
    )
