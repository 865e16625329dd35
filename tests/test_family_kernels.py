"""The kernel family: the benchmark verb, the products table built from timing blocks, the report
section and every claim's verdicts on synthetic benchmark tables (held / did not hold /
inconclusive / not run)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from bnnrepro import stats
from bnnrepro.cli import main
from bnnrepro.families.kernels import analysis, tables
from bnnrepro.families.kernels import declaration as kernels
from bnnrepro.families.registry import FAMILIES
from bnnrepro.families.reporting import Context
from bnnrepro.io import write_csv
from bnnrepro.report.tables import format_value, render
from helpers import check, estimate_of, family_context, only, verdicts_by_scope

CPU, GPU = "Test CPU 9000", "NVIDIA Test GPU"
SECTION = {
    "enabled": True,
    "device": "cpu",
    "batch": [1, 64],
    "sizes": [256, 1024],
    "repeats": 5,
    "max_time": 1.0,
    "seed": 0,
    "exclusive": True,
    "gpus": 0,
}


def block_rows(device_type: str, device: str, times: dict, exact: dict | None = None) -> pd.DataFrame:
    """A benchmark CSV as ``bnnrepro kernels bench`` writes it: ``times`` maps (impl, dtype,
    act_prep, M, K) to the per-block ms (K = N)."""
    rows = []
    for (impl, dtype, prep, m, k), values in times.items():
        for block, ms in enumerate(values):
            rows.append(
                dict(
                    device_type=device_type,
                    device=device,
                    impl=impl,
                    dtype=dtype,
                    act_prep=prep,
                    M=m,
                    K=k,
                    N=k,
                    block=block,
                    position=0,
                    calls=10,
                    ms=ms,
                    exact=(exact or {}).get((impl, dtype, prep, m, k), True),
                    auto_choice=impl == "torch.matmul" and dtype == "fp32",
                    config="",
                    load_avg=0.5,
                    timer="test timer",
                    threads=2,
                    torch_version="2.x",
                    triton_version="3.x",
                )
            )
    return pd.DataFrame(rows)


def noisy(center: float, spread: float, n: int = 5, seed: int = 0) -> list[float]:
    """n block times around ``center`` with multiplicative noise of about ``spread``."""
    rng = np.random.default_rng(seed)
    return list(center * np.exp(spread * rng.standard_normal(n)))


def cpu_times(packed_m1_4096: list[float], fp32_m1_4096: list[float] | None = None) -> dict:
    fp32 = fp32_m1_4096 or noisy(2.0, 0.02, seed=1)
    return {
        ("torch.matmul", "fp32", "none", 1, 1024): noisy(0.1, 0.02, seed=2),
        ("numba_xnor", "bit", "outside", 1, 1024): noisy(0.3, 0.02, seed=3),
        ("numba_xnor", "bit", "inside", 1, 1024): noisy(0.35, 0.02, seed=4),
        ("torch.matmul", "fp32", "none", 1, 4096): fp32,
        ("numba_xnor", "bit", "outside", 1, 4096): noisy(0.9, 0.02, seed=5),
        ("numba_xnor", "bit", "inside", 1, 4096): packed_m1_4096,
        ("torch.matmul", "fp32", "none", 64, 4096): noisy(15.0, 0.02, seed=6),
        ("numba_xnor", "bit", "outside", 64, 4096): noisy(60.0, 0.02, seed=7),
        ("numba_xnor", "bit", "inside", 64, 4096): noisy(61.0, 0.02, seed=8),
    }


def gpu_times(xnor_vs_fp16: float, xnor_vs_fp32_8192: float, spread: float = 0.02) -> dict:
    """GPU blocks: fp16 at 1 ms for 4096 x 4096 (M = 1, 16), the xnor kernel ``xnor_vs_fp16``
    times faster; at 8192^3 cuBLAS fp32 at 100 ms and the xnor kernel ``xnor_vs_fp32_8192`` faster."""
    times = {}
    for m in (1, 16):
        times[("torch.matmul", "fp32", "none", m, 4096)] = noisy(2.0, 0.02, seed=m)
        times[("torch.matmul", "fp16", "none", m, 4096)] = noisy(1.0, 0.02, seed=m + 1)
        times[("triton_xnor", "bit", "inside", m, 4096)] = noisy(1.0 / xnor_vs_fp16, spread, seed=m + 2)
        times[("triton_int8", "int8", "inside", m, 4096)] = noisy(0.5, 0.02, seed=m + 3)
    times[("torch.matmul", "fp32", "none", 8192, 8192)] = noisy(100.0, 0.02, seed=20)
    times[("torch.matmul", "fp16", "none", 8192, 8192)] = noisy(10.0, 0.02, seed=21)
    times[("triton_xnor", "bit", "inside", 8192, 8192)] = noisy(100.0 / xnor_vs_fp32_8192, spread, seed=22)
    times[("triton_int8", "int8", "inside", 8192, 8192)] = noisy(20.0, 0.02, seed=23)
    return times


def context_with(
    tmp_path, blocks: pd.DataFrame, section: dict | None = None, networks: pd.DataFrame | None = None
) -> Context:
    """A results folder holding the blocks (and the network timings) and the tables made from them."""
    results, report = tmp_path / "results", tmp_path / "report"
    write_csv(results / kernels.BLOCKS, blocks)
    inputs = [str(results / kernels.BLOCKS)]
    if networks is not None:
        write_csv(results / kernels.NETWORKS, networks)
        inputs.append(str(results / kernels.NETWORKS))
    config = {"kernels": section or SECTION, "results": str(results), "report_dir": str(report)}
    return family_context(kernels.NAME, config, results, inputs=inputs, report_dir=report)


# --- the products table ----------------------------------------------------------------------------


def test_products_speedups_are_paired_ratio_intervals_over_blocks(tmp_path):
    times = cpu_times(noisy(1.0, 0.05, seed=9))
    context = context_with(tmp_path, block_rows("cpu", CPU, times))
    table = pd.read_csv(context.results / "kernels/products.csv")
    assert len(table) == len(times)
    row = table[
        (table["impl"] == "numba_xnor") & (table["act_prep"] == "inside") & (table["M"] == 1) & (table["K"] == 4096)
    ].iloc[0]
    expected = stats.ratio_interval(
        times[("torch.matmul", "fp32", "none", 1, 4096)], times[("numba_xnor", "bit", "inside", 1, 4096)], paired=True
    )
    assert row["speedup_vs_fp32"] == pytest.approx(expected.estimate)
    assert (row["speedup_vs_fp32_low"], row["speedup_vs_fp32_high"]) == pytest.approx((expected.low, expected.high))
    assert row["blocks"] == 5 and row["ms"] == pytest.approx(
        math.exp(np.mean(np.log(times[("numba_xnor", "bit", "inside", 1, 4096)])))
    )
    assert row["gops"] == pytest.approx(2 * 4096 * 4096 / (row["ms"] * 1e6))
    baseline = table[(table["impl"] == "torch.matmul")]
    assert (baseline["speedup_vs_fp32"] == 1).all() and baseline["speedup_vs_fp16"].isna().all()


def test_products_reject_a_benchmark_without_its_columns(tmp_path):
    from bnnrepro.errors import DataError

    path = tmp_path / "old.csv"
    write_csv(path, pd.DataFrame({"impl": ["torch.matmul"], "median_ms": [1.0]}))
    with pytest.raises(DataError, match="not a `bnnrepro kernels bench` CSV"):
        tables.load_blocks([path])


# --- claims ----------------------------------------------------------------------------------------


def test_exact_claim_held_and_did_not_hold(tmp_path):
    times = cpu_times(noisy(1.0, 0.02, seed=9))
    context = context_with(tmp_path / "a", block_rows("cpu", CPU, times))
    assert verdicts_by_scope(check(context, "kernel-exact")) == {CPU: "held"}
    wrong = block_rows("cpu", CPU, times, exact={("numba_xnor", "bit", "inside", 64, 4096): False})
    result = only(check(context_with(tmp_path / "b", wrong), "kernel-exact"))
    assert result.verdict == "did not hold" and "64x4096x4096" in result.detail
    assert estimate_of(result).estimate == pytest.approx(5 / 6)


def test_exact_claim_not_run_without_binary_products(tmp_path):
    fp32_only = {key: value for key, value in cpu_times(noisy(1.0, 0.02)).items() if key[0] == "torch.matmul"}
    assert only(check(context_with(tmp_path, block_rows("cpu", CPU, fp32_only)), "kernel-exact")).verdict == "not run"


@pytest.mark.parametrize(
    ("packed", "verdict"),
    [
        (noisy(1.0, 0.03, seed=9), "held"),  # 2x faster than fp32's 2 ms
        (noisy(6.0, 0.03, seed=9), "did not hold"),  # 3x slower
        (noisy(2.0, 0.40, seed=11), "inconclusive"),  # as fast, very noisy blocks
    ],
)
def test_matvec_claim_verdicts(tmp_path, packed, verdict):
    result = only(check(context_with(tmp_path, block_rows("cpu", CPU, cpu_times(packed))), "kernel-beats-fp32-matvec"))
    assert result.scope == CPU and result.verdict == verdict and result.unit == "ratio"
    assert estimate_of(result).repeats == 5 and "M = 1, K = N = 4096" in result.detail


def test_matvec_claim_does_not_hold_without_an_effect(tmp_path):
    # the packed product exactly as fast as fp32 in every block: no speedup, never "held"
    fp32 = noisy(2.0, 0.05, seed=1)
    context = context_with(tmp_path, block_rows("cpu", CPU, cpu_times(list(fp32), fp32)))
    result = only(check(context, "kernel-beats-fp32-matvec"))
    assert result.verdict == "did not hold" and estimate_of(result).estimate == pytest.approx(1.0)


def test_matvec_claim_not_run_without_batch_one(tmp_path):
    times = {key: value for key, value in cpu_times(noisy(1.0, 0.02)).items() if key[3] != 1}
    result = only(check(context_with(tmp_path, block_rows("cpu", CPU, times)), "kernel-beats-fp32-matvec"))
    assert result.verdict == "not run" and "batch 1" in result.detail


def test_gpu_claims_are_not_run_on_a_cpu_run(tmp_path):
    context = context_with(tmp_path, block_rows("cpu", CPU, cpu_times(noisy(1.0, 0.02))))
    for claim_id in ("kernel-beats-fp16", "kernel-beats-cublas"):
        result = only(check(context, claim_id))
        assert result.verdict == "not run" and "no GPU in this run" in result.detail and CPU in result.detail


@pytest.mark.parametrize(
    ("speedup", "spread", "verdict"),
    [(12.0, 0.02, "held"), (4.0, 0.02, "did not hold"), (8.0, 0.5, "inconclusive"), (1.0, 0.02, "did not hold")],
)
def test_fp16_claim_verdicts(tmp_path, speedup, spread, verdict):
    context = context_with(tmp_path, block_rows("cuda", GPU, gpu_times(speedup, 5.0, spread)))
    assert verdicts_by_scope(check(context, "kernel-beats-fp16")) == {
        f"{GPU}, M = 1": verdict,
        f"{GPU}, M = 16": verdict,
    }


@pytest.mark.parametrize(
    ("speedup", "spread", "verdict"),
    [(5.0, 0.02, "held"), (2.0, 0.02, "did not hold"), (3.4, 0.5, "inconclusive"), (1.0, 0.02, "did not hold")],
)
def test_cublas_claim_verdicts(tmp_path, speedup, spread, verdict):
    context = context_with(tmp_path, block_rows("cuda", GPU, gpu_times(10.0, speedup, spread)))
    result = only(check(context, "kernel-beats-cublas"))
    assert result.scope == GPU and result.verdict == verdict
    int8 = re.search(r"int8 tl.dot product: ([0-9.]+)x", result.detail)
    assert int8 and float(int8.group(1)) == pytest.approx(5.0, rel=0.05)  # int8 at 20 ms against 100 ms


def test_gpu_claims_not_run_without_their_shapes(tmp_path):
    times = {key: value for key, value in gpu_times(10.0, 5.0).items() if key[4] != 8192 and key[3] != 1}
    times = {key: value for key, value in times.items() if key[1] != "fp16"}
    context = context_with(tmp_path, block_rows("cuda", GPU, times))
    assert only(check(context, "kernel-beats-cublas")).verdict == "not run"
    assert only(check(context, "kernel-beats-fp16")).verdict == "not run"


# --- report section and figure --------------------------------------------------------------------


def test_section_table_has_units_and_no_constant_columns(tmp_path):
    context = context_with(tmp_path, block_rows("cpu", CPU, cpu_times(noisy(1.0, 0.02, seed=9))))
    analysis.make_figures(context)
    assert (context.report_dir / "figures/kernels/speedup.png").is_file()
    assert (context.report_dir / "figures/kernels/speedup.svg").is_file()
    section = analysis.section(context)
    assert CPU in section.settings and "5 interleaved timing blocks" in section.settings
    speed = section.tables[0]
    assert "device" not in speed.frame.columns and len(speed.frame) == 6  # fp32 rows are a column, not rows
    assert "speedup_vs_fp16" not in speed.frame.columns  # no fp16 rows on a CPU
    html = render(speed)
    assert CPU not in html and "Time per product" in html and "Speedup over fp32" in html
    assert " ms<" in html and "x<" in html
    assert format_value(1.9371, speed.column("speedup_vs_fp32").fmt) == "1.94x"
    assert format_value(0.0123456, speed.column("ms").fmt) == "0.0123 ms"
    paper = section.tables[1].frame
    assert set(paper["our_dataset"]) == {"not run"}  # no 8192^3 on this run
    assert [g.what for g in section.glance] == ["paper", "this run"]


def test_section_of_a_gpu_run_shows_fp16_speedups(tmp_path):
    context = context_with(
        tmp_path,
        block_rows("cuda", GPU, gpu_times(10.0, 5.0)),
        dict(SECTION, device="cuda", batch=[1, 16, 8192], sizes=[4096, 8192]),
    )
    analysis.make_figures(context)
    section = analysis.section(context)
    assert "speedup_vs_fp16" in section.tables[0].frame.columns
    paper = section.tables[1].frame
    vs_cublas = paper[paper["metric"].str.startswith("speedup over fp32")].iloc[0]
    assert vs_cublas["ours"] == pytest.approx(5.0, rel=0.05) and vs_cublas["our_dataset"] == GPU
    assert not any("no GPU" in note for note in section.notes)


# --- declaration and command ----------------------------------------------------------------------


def test_declaration_is_registered_with_its_bench_verb():
    family = FAMILIES["kernels"]
    assert family.inputs(SECTION) == [kernels.BLOCKS, kernels.NETWORKS] and family.runs({}) == []
    assert {"bench", "network"} <= set(family.commands) and family.tables({}) == {
        "products": "kernels/products.csv",
        "networks": "kernels/network_ratios.csv",
    }
    assert [spec.kind for spec in family.figures({"kernels": SECTION})] == ["speedup"]


def test_check_warns_about_claims_a_config_cannot_decide():
    problems, warnings = kernels.check({"kernels": dict(SECTION, device="cuda", batch=[64], sizes=[1024])})
    assert problems == [] and len(warnings) == 3
    assert kernels.check({"kernels": SECTION}) == ([], [])


def test_bench_flags_come_from_the_section_and_parse_back_into_its_values():
    """The rule binds ``bench_args`` as is: each value is one shell word, and the verb reads the section back."""
    import argparse
    import shlex

    from bnnrepro.families.kernels.measure import Bench

    args = kernels.bench_args({"kernels": dict(SECTION, device="cuda:1")})
    parser = argparse.ArgumentParser()
    Bench().add_arguments(parser)
    parsed = parser.parse_args([*shlex.split(args), "--out", "blocks.csv"])
    assert (parsed.device, parsed.batch, parsed.sizes) == ("cuda:1", [1, 64], [256, 1024])
    assert (parsed.repeats, parsed.max_time, parsed.seed) == (5, 1.0, 0)
    assert shlex.split(kernels.bench_args({"kernels": dict(SECTION, device="cpu; rm -rf x")}))[1] == "cpu; rm -rf x"


def test_bench_verb_writes_interleaved_blocks(tmp_path):
    out = tmp_path / "bench" / "blocks.csv"
    assert (
        main(
            [
                "kernels",
                "bench",
                "--device",
                "cpu",
                "--out",
                str(out),
                "--batch",
                "1",
                "3",
                "--sizes",
                "64",
                "100",
                "--repeats",
                "2",
                "--max-time",
                "0.01",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    blocks = pd.read_csv(out)
    assert len(blocks) == 2 * 2 * 5 * 2  # sizes x batches x implementations x blocks
    assert set(blocks["impl"]) == {"torch.matmul", "numba_xnor", "numba_naive", "torch_xnor"}
    assert blocks["exact"].all() and blocks["cpu_path"].notna().all()
    assert (blocks["ms"] > 0).all() and (blocks["calls"] >= 1).all() and (blocks["threads"] == 1).all()
    # every block times every implementation once, in an order rotated from block to block
    for _, shape in blocks.groupby(["M", "K"]):
        orders = [tuple(b.sort_values("position")["act_prep"]) for _, b in shape.groupby("block")]
        assert len(orders) == 2 and orders[0] != orders[1] and sorted(orders[0]) == sorted(orders[1])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--device", "tpu"], "device must be"),
        (["--repeats", "1"], "--repeats must be >= 2"),
        (["--max-time", "0"], "--max-time must be positive"),
        (["--batch", "0"], "positive integers"),
    ],
)
def test_bench_verb_rejects_bad_options_in_one_line(tmp_path, capsys, args, message):
    assert main(["kernels", "bench", "--out", str(tmp_path / "x.csv"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_every_shape_claim_one_verdict_per_shape(tmp_path):
    # fp32 times: 0.1 ms (1 x 1024), 2 ms (1 x 4096), 15 ms (64 x 4096); packed 12x faster at
    # every shape, then 12x at two shapes and 3x at the compute-bound one, then 10x with noisy blocks.
    def times(speedups, spread=0.02):
        return {
            ("torch.matmul", "fp32", "none", 1, 1024): noisy(0.1, 0.02, seed=2),
            ("numba_xnor", "bit", "inside", 1, 1024): noisy(0.1 / speedups[0], spread, seed=3),
            ("torch.matmul", "fp32", "none", 1, 4096): noisy(2.0, 0.02, seed=4),
            ("numba_xnor", "bit", "inside", 1, 4096): noisy(2.0 / speedups[1], spread, seed=5),
            ("torch.matmul", "fp32", "none", 64, 4096): noisy(15.0, 0.02, seed=6),
            ("numba_xnor", "bit", "inside", 64, 4096): noisy(15.0 / speedups[2], spread, seed=7),
        }

    scopes = [f"{CPU}, M = 1, K = N = 1024", f"{CPU}, M = 1, K = N = 4096", f"{CPU}, M = 64, K = N = 4096"]
    held = verdicts_by_scope(
        check(
            context_with(tmp_path / "a", block_rows("cpu", CPU, times((12, 12, 12)))), "kernel-beats-fp32-every-shape"
        )
    )
    assert held == dict.fromkeys(scopes, "held")
    mixed = verdicts_by_scope(
        check(context_with(tmp_path / "b", block_rows("cpu", CPU, times((12, 12, 3)))), "kernel-beats-fp32-every-shape")
    )
    assert mixed == {scopes[0]: "held", scopes[1]: "held", scopes[2]: "did not hold"}
    noisy_blocks = block_rows("cpu", CPU, times((10, 10, 10), spread=0.4))
    unsure = verdicts_by_scope(check(context_with(tmp_path / "c", noisy_blocks), "kernel-beats-fp32-every-shape"))
    assert set(unsure.values()) == {"inconclusive"}
    result = next(
        r
        for r in next(c for c in analysis.CLAIMS if c.id == "kernel-beats-fp32-every-shape").check(
            context_with(tmp_path / "d", block_rows("cpu", CPU, times((12, 12, 3))))
        )
        if "M = 64" in r.scope
    )
    assert (
        result.unit == "ratio"
        and estimate_of(result).repeats == 5
        and "numba_xnor bit (packed inside)" in result.detail
    )


def test_every_shape_claim_not_run_without_the_packed_product(tmp_path):
    fp32_only = {key: value for key, value in cpu_times(noisy(1.0, 0.02)).items() if key[0] == "torch.matmul"}
    result = only(check(context_with(tmp_path, block_rows("cpu", CPU, fp32_only)), "kernel-beats-fp32-every-shape"))
    assert result.verdict == "not run" and "numba_xnor" in result.detail


def network_rows(speedups: dict, exact: bool = True, spread: float = 0.02) -> pd.DataFrame:
    """A `bnnrepro kernels network` CSV: ``speedups`` maps (arch, batch) to float time / packed time."""
    rows = []
    for (arch, size), speedup in speedups.items():
        pairs = zip(noisy(10.0, 0.02, seed=size), noisy(10.0 / speedup, spread, seed=size + 1))
        for block, (f, p) in enumerate(pairs):
            for position, (condition, ms) in enumerate((("float network", f), ("packed BNN", p))):
                rows.append(
                    dict(
                        arch=arch,
                        shape="784-4096-4096-4096-10" if arch == "binarynet_mlp" else "784-128-10",
                        condition=condition,
                        batch_size=size,
                        block=block,
                        position=position,
                        calls=3,
                        median_ms=ms,
                        exact_logits=exact,
                        same_predictions=True,
                        device=CPU,
                        threads=1,
                        cpu_path="avx2-vpshufb",
                        cpu_features="znver2: avx2",
                        load_avg=0.5,
                    )
                )
    return pd.DataFrame(rows)


def test_network_claim_verdicts_at_batch_one_and_the_largest_batch(tmp_path):
    blocks = block_rows("cpu", CPU, cpu_times(noisy(1.0, 0.02, seed=9)))
    planted = {("binarynet_mlp", 1): 10.0, ("binarynet_mlp", 100): 7.0, ("binarynet_mlp", 10000): 6.0}
    planted[("fashion_mlp_128", 1)] = 0.9  # other networks are timed, not judged
    held = verdicts_by_scope(
        check(context_with(tmp_path / "a", blocks, networks=network_rows(planted)), "packed-network-faster")
    )
    scope = "784-4096-4096-4096-10, batch {}, 1 thread(s)"
    assert held == {scope.format(1): "held", scope.format(10000): "held"}
    slow = network_rows({("binarynet_mlp", 1): 4.0, ("binarynet_mlp", 10000): 2.0})
    assert set(
        verdicts_by_scope(check(context_with(tmp_path / "b", blocks, networks=slow), "packed-network-faster")).values()
    ) == {"did not hold"}
    inexact = network_rows({("binarynet_mlp", 1): 10.0}, exact=False)
    result = only(check(context_with(tmp_path / "c", blocks, networks=inexact), "packed-network-faster"))
    assert result.verdict == "did not hold" and "logits differ" in result.detail
    table = pd.read_csv(tmp_path / "a/results/kernels/network_ratios.csv")
    row = table[(table["arch"] == "binarynet_mlp") & (table["batch_size"] == 1)].iloc[0]
    assert row["speedup"] == pytest.approx(10.0, rel=0.05) and row["blocks"] == 5
    assert row["speedup_low"] < row["speedup"] < row["speedup_high"]


def test_network_claim_not_run_without_binarynet_rows(tmp_path):
    blocks = block_rows("cpu", CPU, cpu_times(noisy(1.0, 0.02, seed=9)))
    assert only(check(context_with(tmp_path / "a", blocks), "packed-network-faster")).verdict == "not run"
    small = network_rows({("fashion_mlp_128", 1): 0.9})
    result = only(check(context_with(tmp_path / "b", blocks, networks=small), "packed-network-faster"))
    assert result.verdict == "not run" and "binarynet_mlp" in result.detail
