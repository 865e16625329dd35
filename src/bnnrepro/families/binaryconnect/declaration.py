"""BinaryConnect (Courbariaux et al. 2015; reproduced by Luo et al. 2016): binary weights as a
regularizer, and what binarization does to the latent weights.

Variants (``binaryconnect.variants``, each a set of training settings under ``variant_settings``):
``none`` (the float network, no regularizer), ``bc_det`` / ``bc_stoch`` (deterministic / stochastic
BinaryConnect: weights binarized in the forward and backward passes, real ReLU activations; the
stochastic version uses the real weights at test time, as the original), ``dropout`` (the float
network with dropout) and the control ``bc_real``: the same network trained with BinaryConnect's
latent-weight recipe (Uniform(-1, 1) initialisation, Glorot-scaled learning rate, clipping to
[-1, 1]) but with real-valued weights in the forward pass. The control tells how much of the latent
weights' saturation at +-1 comes from binarization and how much from the recipe alone.

Every variant is trained with every seed; the seed is the unit of replication of every claim, and
comparisons are paired by seed (same initialisation seed, same data order). One chunk per variant
trains its seeds one after another (``runs_per_job`` of them at most).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from bnnrepro.families.base import (
    Chunk,
    Family,
    FigureSpec,
    Run,
    base_settings,
    chunked,
    dataset_warnings,
    enabled,
    merge,
    tags,
)

NAME = "binaryconnect"
#: The order of tables and figures.
VARIANT_ORDER = ("none", "bc_det", "bc_stoch", "dropout", "bc_real")
#: The variants that binarize weights (the subjects of the claims).
BINARY_VARIANTS = ("bc_det", "bc_stoch")
#: The float network without regularizer (the baseline of the test-error comparisons).
BASELINE = "none"
#: The control of weight saturation: BinaryConnect's recipe with real-valued weights.
CONTROL = "bc_real"
#: Settings in which the control may differ from a BinaryConnect variant (everything else is shared).
CONTROL_MAY_DIFFER = ("binarization", "stochastic_eval")

CAPTIONS = {
    "curves": "Training loss, validation error and test error by epoch per variant: mean over seeds (line) and the "
    "range over seeds (band).",
    "errors": "Test error at the epoch of lowest validation error (as the BinaryConnect paper reports) per variant, "
    "one dot per seed, mean with its 95% interval; right: each variant minus the float network without "
    "regularizer, paired by seed, with its 95% interval (the claim's margin is in the claim checklist).",
    "saturation": "Share of the first layer's latent weights with |w| > 0.9 per variant (one dot per seed, mean "
    "with its 95% interval; dotted: 10%, the share at the Uniform(-1, 1) initialisation); right: "
    "BinaryConnect minus the control (same recipe, real weights), paired by seed, with its 95% interval "
    "(the claim's margin is in the claim checklist).",
    "histograms": "Histogram of the first layer's weights per variant (latent real values; BinaryConnect paper "
    "Fig. 2): mean density over seeds (bars) and the range over seeds (band); the x-range is each "
    "variant's own largest |w|, the dotted lines mark |w| = 0.9.",
    "features": "First-layer features (BinaryConnect paper Fig. 1): the weights of the first units of the first layer "
    "as image tiles (lowest seed of each variant; each tile scaled to its own largest |w|; red positive, "
    "blue negative).",
}
FIGURE_KINDS = ("curves", "errors", "saturation", "histograms", "features")


def run_name(variant: str, seed: int) -> str:
    return f"{variant}-s{seed}"


def runs(config: Mapping) -> list[Run]:
    """datasets x variants x seeds, each with the family's settings and the variant's."""
    if not enabled(config, NAME):
        return []
    section = config[NAME]
    out = []
    for dataset, variant, seed in itertools.product(
        section.get("datasets", []), section.get("variants", []), section.get("seeds", [0])
    ):
        settings = merge(base_settings(config, NAME, dataset), section.get("variant_settings", {}).get(variant))
        # The tables read the first layer's weights from the saved model.
        settings.update(dataset=dataset, seed=seed, save_model=True, tags=tags(variant=variant))
        out.append(Run(NAME, dataset, run_name(variant, seed), settings, dict(variant=variant, seed=seed)))
    return out


def chunks(config: Mapping) -> list[Chunk]:
    """The seeds of one variant per chunk (at most ``runs_per_job`` runs each)."""
    size = config.get(NAME, {}).get("runs_per_job", 3)
    return chunked(
        NAME, runs(config), lambda run: run.condition["variant"], size, index_of=lambda run: run.condition["seed"]
    )


def tables(config: Mapping) -> dict[str, str]:
    return {
        "runs": f"{NAME}/runs.csv",
        "weights": f"{NAME}/weights.csv",
        "curves": f"{NAME}/curves.csv",
        "histograms": f"{NAME}/histograms.csv",
        "features": f"{NAME}/features.csv",
        "variants": f"{NAME}/variants.csv",
        "comparisons": f"{NAME}/comparisons.csv",
    }


def figures(config: Mapping) -> list[FigureSpec]:
    all_runs = runs(config)
    specs = []
    for dataset in dict.fromkeys(run.dataset for run in all_runs):
        for kind in FIGURE_KINDS:
            specs.append(
                FigureSpec(
                    f"figures/{NAME}/{dataset}-{kind}.png", kind, CAPTIONS[kind], f"{dataset}.", {"dataset": dataset}
                )
            )
    return specs


def check(config: Mapping) -> tuple[list[str], list[str]]:
    section = config.get(NAME, {})
    variants = list(section.get("variants", []))
    defined = section.get("variant_settings", {})
    problems = [
        f"{NAME}: variant {v!r} is not defined under {NAME}.variant_settings (defined: {', '.join(defined)})"
        for v in variants
        if v not in defined
    ]
    warnings = dataset_warnings(config, NAME)
    if problems:
        return problems, warnings
    if len(section.get("seeds", [0])) < 3:
        warnings.append(
            f"{NAME}: {len(section.get('seeds', [0]))} seed(s); every claim is paired by seed and needs "
            "at least 3 for an interval worth reading"
        )
    if CONTROL not in variants and any(v in variants for v in BINARY_VARIANTS):
        warnings.append(
            f"{NAME}: no control variant {CONTROL!r}; the claim that BinaryConnect pushes the latent "
            "weights to +-1 is then not run"
        )
    if BASELINE not in variants:
        warnings.append(
            f"{NAME}: no variant {BASELINE!r}; the test-error comparisons with the float network are then not run"
        )
    for dataset in section.get("datasets", []):
        if not base_settings(config, NAME, dataset).get("valid_size"):
            warnings.append(
                f"{NAME}: {dataset} has no validation split (valid_size 0); the test error 'at the epoch "
                "of lowest validation error' is then the final epoch's"
            )
        if CONTROL in variants:
            control = merge(base_settings(config, NAME, dataset), defined[CONTROL])
            for variant in (v for v in BINARY_VARIANTS if v in variants):
                other = merge(base_settings(config, NAME, dataset), defined[variant])
                differ = sorted(
                    k
                    for k in set(control) | set(other)
                    if k not in CONTROL_MAY_DIFFER and control.get(k) != other.get(k)
                )
                if differ:
                    warnings.append(
                        f"{NAME}: the control {CONTROL!r} differs from {variant!r} in {', '.join(differ)} "
                        f"besides the binarization ({dataset}); the saturation comparison is then not "
                        "like for like"
                    )
    return problems, warnings


FAMILY = Family(
    name=NAME,
    title="BinaryConnect: binary weights as a regularizer",
    source="Courbariaux et al. 2015, Table 2, Figs 1-2; Luo et al. 2016, Tables 1-2",
    analysis="bnnrepro.families.binaryconnect.analysis",
    tables=tables,
    figures=figures,
    runs=runs,
    chunks=chunks,
    check=check,
)
