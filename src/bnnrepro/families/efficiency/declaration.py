"""Binary vs float MLPs on Fashion-MNIST (Srivastava et al., DA422 course report): training cost and
accuracy, and what a BNN does promise at inference.

Training: the report's 784-128-10 and 784-1024-10 MLPs (``archs``) as a float network and as BNNs
with deterministic and stochastic binarization (``variants``), trained by the generic training rule.
A seed is one *timing repeat*: one chunk per (dataset, arch) trains every variant of every repeat
alone on the machine (``timed``), each run in a fresh process (its own peak RSS), and repeat r
trains the variants in an order rotated by r (:func:`interleaved`), so that a slow phase of the
machine falls on every variant alike. This training is *emulated*: a BNN in PyTorch computes in
float arithmetic on +-1 values and keeps real-valued latent weights, as the report's did.

Inference: a compute job per (dataset, arch) (``bnnrepro efficiency inference``,
:mod:`bnnrepro.families.efficiency.inference`) writes the packed export of each binary model,
checks that it computes exactly what the float computation does, and times the float network and
the BNN (float arithmetic and the bit-packed xnor-popcount path) at batch 1 and at a large batch in
interleaved blocks, so that latency and throughput ratios get intervals.
"""

from __future__ import annotations

from collections.abc import Mapping

from bnnrepro.families.base import Chunk, Family, FigureSpec, Run, base_settings, chunked, dataset_warnings, merge, tags

NAME = "efficiency"
#: The variants every comparison is made against, and the order of tables and figures.
BASELINE = "float"
VARIANT_ORDER = ("float", "det", "stoch")

CAPTIONS = {
    "training": "Training cost per variant and architecture: seconds per epoch (median epoch after the first) and "
    "peak resident memory of the training process; one dot per timing repeat, the bar is their mean.",
    "ratios": "BNN / float ratios with 95% intervals: training time and peak memory (paired by timing repeat; "
    "diamonds: the report's ratios), and the float network's time over the deterministic BNN's on the "
    "packed path at each batch size (paired by timing block); the dotted line is parity. The claims' "
    "thresholds are in the claim checklist.",
    "inference": "Inference of the trained models: latency at batch 1 and throughput at the large batch, the float "
    "network against the BNN computed in float arithmetic and on the bit-packed xnor path; one dot "
    "per timing block.",
    "curves": "Train, validation and test error by epoch of each variant and architecture (mean over timing repeats).",
}


def interleaved(variants: list[str], repeat: int) -> list[str]:
    """The order in which timing repeat ``repeat`` (0, 1, ...) trains the variants: the list
    rotated left by ``repeat``, so that over n repeats each variant takes each position once."""
    shift = repeat % len(variants) if variants else 0
    return list(variants[shift:]) + list(variants[:shift])


def run_name(arch: str, variant: str, seed: int) -> str:
    return f"{arch}-{variant}-s{seed}"


def runs(config: Mapping) -> list[Run]:
    """datasets x archs x seeds (timing repeats) x variants, in the interleaved training order."""
    section = config.get(NAME, {})
    if not section.get("enabled", True):
        return []
    variant_settings = section.get("variant_settings", {})
    out = []
    for dataset in section.get("datasets", []):
        for arch in section.get("archs", []):
            for repeat, seed in enumerate(section.get("seeds", [0])):
                for variant in interleaved(list(section.get("variants", [])), repeat):
                    settings = merge(
                        base_settings(config, NAME, dataset), {"arch": arch}, variant_settings.get(variant)
                    )
                    # The inference job needs the model; the report's figures need every epoch's error.
                    settings.update(dataset=dataset, seed=seed, save_model=True, tags=tags(variant=variant))
                    out.append(
                        Run(
                            NAME,
                            dataset,
                            run_name(arch, variant, seed),
                            settings,
                            dict(arch=arch, variant=variant, seed=seed, repeat=repeat),
                        )
                    )
    return out


def chunks(config: Mapping) -> list[Chunk]:
    """One chunk per (dataset, arch): its runs one after another, each in a fresh process."""
    return chunked(NAME, runs(config), lambda run: run.condition["arch"], size=len(runs(config)) or 1, isolate=True)


def archs(config: Mapping) -> list[tuple[str, str]]:
    """(dataset, arch) pairs that are trained (each gets an inference job)."""
    return list(dict.fromkeys((run.dataset, run.condition["arch"]) for run in runs(config)))


def inference_outputs(dataset: str, arch: str) -> dict[str, str]:
    """The inference job's outputs (paths under results): timing blocks, exports, packed models."""
    base = f"{NAME}/{dataset}/inference/{arch}"
    return {"timings": f"{base}.csv", "exports": f"{base}-exports.csv", "packed": f"{NAME}/{dataset}/packed/{arch}"}


def inputs(config: Mapping) -> list[str]:
    paths = []
    for dataset, arch in archs(config):
        outputs = inference_outputs(dataset, arch)
        paths += [outputs["timings"], outputs["exports"]]
    return paths


def tables(config: Mapping) -> dict[str, str]:
    return {
        "runs": f"{NAME}/runs.csv",
        "curves": f"{NAME}/curves.csv",
        "training_ratios": f"{NAME}/training_ratios.csv",
        "inference": f"{NAME}/inference.csv",
        "inference_ratios": f"{NAME}/inference_ratios.csv",
        "exports": f"{NAME}/exports.csv",
    }


def figures(config: Mapping) -> list[FigureSpec]:
    if not runs(config):
        return []
    return [
        FigureSpec(f"figures/{NAME}/{kind}.png", kind, CAPTIONS[kind])
        for kind in ("training", "ratios", "inference", "curves")
    ]


def check(config: Mapping) -> tuple[list[str], list[str]]:
    section = config.get(NAME, {})
    defined = section.get("variant_settings", {})
    problems = [
        f"{NAME}: variant {v!r} is not defined under {NAME}.variant_settings (defined: {', '.join(defined)})"
        for v in section.get("variants", [])
        if v not in defined
    ]
    if BASELINE not in section.get("variants", []):
        problems.append(f"{NAME}.variants must include {BASELINE!r}: every ratio compares a BNN with the float network")
    for dataset in section.get("datasets", []):
        epochs = base_settings(config, NAME, dataset).get("epochs", 10)
        if epochs < 2:
            problems.append(
                f"{NAME}: {dataset} trains {epochs} epoch; seconds per epoch are the median epoch after "
                "the first (which pays one-off costs), so set epochs >= 2"
            )
    warnings = dataset_warnings(config, NAME)
    if len(section.get("seeds", [0])) < 3:
        warnings.append(
            f"{NAME}: {len(section.get('seeds', [0]))} timing repeat(s) (seeds); the time and memory "
            "ratios need at least 3 for an interval worth reading"
        )
    return problems, warnings


FAMILY = Family(
    name=NAME,
    title="Binary vs float MLPs: training cost and inference",
    source="Srivastava et al. (DA422 report), Sec. III",
    analysis="bnnrepro.families.efficiency.analysis",
    tables=tables,
    figures=figures,
    runs=runs,
    chunks=chunks,
    inputs=inputs,
    timed=True,
    check=check,
    commands={
        "inference": (
            "bnnrepro.families.efficiency.inference:command",
            "time float vs packed inference of an architecture's trained models",
        )
    },
)
