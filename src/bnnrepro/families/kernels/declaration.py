"""The xnor-popcount kernel (Courbariaux et al. 2016, Sec. 4): the packed binary product against
torch.matmul on the device of this run.

No training: one compute job (``bnnrepro kernels bench``, :mod:`.measure`) times every
implementation of ``A [M, K] @ B [N, K].T`` on +-1 values, M in ``batch``, K = N in ``sizes``, in
``repeats`` interleaved blocks (the repeats of every speedup interval), and checks each product
against the fp32 product. It runs alone on the machine (``exclusive``: it claims every core). The
tables step turns the blocks into one row per shape and implementation with its speedups.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from bnnrepro.families.base import Family, FigureSpec

NAME = "kernels"
#: The benchmark's output (one row per shape, implementation and timing block), under results.
BLOCKS = f"{NAME}/blocks.csv"
#: The whole-network benchmark's output (``bnnrepro kernels network``: float MLP vs fused packed BNN).
NETWORKS = f"{NAME}/networks.csv"

CAPTIONS = {
    "speedup": "Speedup of each implementation over fp32 torch.matmul on the same device against the batch M, one "
    "panel per weight size K = N: geometric mean over the interleaved timing blocks with its 95% "
    "interval (paired by block). Solid: the activations are packed inside the timing, dashed: "
    "pre-packed (the weights are always pre-packed). Above the dotted line at 1x an implementation is "
    "faster than fp32.",
}


def tables(config: Mapping) -> dict[str, str]:
    return {"products": f"{NAME}/products.csv", "networks": f"{NAME}/network_ratios.csv"}


def inputs(config: Mapping) -> list[str]:
    return [BLOCKS, NETWORKS]


def figures(config: Mapping) -> list[FigureSpec]:
    section = config.get(NAME, {})
    return [
        FigureSpec(
            f"figures/{NAME}/speedup.png",
            "speedup",
            CAPTIONS["speedup"],
            f"Batch M {section.get('batch')}, K = N {section.get('sizes')}.",
        )
    ]


def bench_args(config: Mapping) -> str:
    """The flags of the benchmark job (``bnnrepro kernels bench``) from the family's section,
    shell-quoted; its rule adds the output path and the torch threads."""
    section = config[NAME]
    return shlex.join(
        ["--device", str(section["device"])]
        + ["--batch", *(str(m) for m in section["batch"])]
        + ["--sizes", *(str(k) for k in section["sizes"])]
        + ["--repeats", str(section["repeats"]), "--max-time", str(section["max_time"]), "--seed", str(section["seed"])]
    )


def network_args(config: Mapping) -> str:
    """The flags of the whole-network job (``bnnrepro kernels network``) from ``kernels.networks``,
    shell-quoted; its rule adds the output path and the torch threads."""
    section = config[NAME]
    networks = section["networks"]
    return shlex.join(
        ["--archs", *(str(a) for a in networks["archs"])]
        + ["--batch-sizes", *(str(b) for b in networks["batch_sizes"])]
        + ["--repeats", str(networks["repeats"]), "--min-run-time", str(networks["min_run_time"])]
        + ["--seed", str(section["seed"])]
    )


def check(config: Mapping) -> tuple[list[str], list[str]]:
    """Warnings for claims a config cannot decide (they would be 'not run')."""
    section = config.get(NAME, {})
    batch, sizes = set(section.get("batch", [])), set(section.get("sizes", []))
    warnings = []
    if 1 not in batch:
        warnings.append(f"{NAME}: batch {sorted(batch)} lacks 1; the batch-1 claim (packed vs fp32 matmul) is not run")
    if section.get("device") == "cuda":
        if 4096 not in sizes or not batch & set(range(1, 17)):
            warnings.append(f"{NAME}: the fp16 claim needs K = N = 4096 (sizes) and a batch of 1-16; it is not run")
        if 8192 not in sizes or 8192 not in batch:
            warnings.append(f"{NAME}: BinaryNet's 8192^3 claim needs 8192 in both batch and sizes; it is not run")
    return [], warnings


FAMILY = Family.declare(
    __name__,
    title="Xnor-popcount kernel",
    source="Courbariaux et al. 2016, Sec. 4",
    commands={
        "bench": (
            "bnnrepro.families.kernels.measure:bench",
            "time the packed xnor-popcount product against torch.matmul (interleaved blocks)",
        ),
        "network": (
            "bnnrepro.families.kernels.measure:network",
            "time the float MLP against the fused packed BNN of the same shape on the CPU",
        ),
    },
)
