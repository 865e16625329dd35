"""Memorization of random labels (Mehta et al. 2017, Figs 1-4): class-wise train and test error by
epoch, per condition.

A condition is (dataset, binarization, labels, regularization): binarization ``det`` / ``stoch``,
labels ``true`` / ``randY`` (uniform random labels) / ``randX`` (Gaussian inputs, true labels),
regularization a name under ``memorization.regularizers`` (``none``, ``dropout``, ``l2`` at the
paper's coefficient applied as intended, ``l2_inert`` as the original code applied it). Seeds repeat
a condition; the seed is the unit of replication of every claim. Conditions come from the
``grid`` (its cross product, on every dataset), explicit ``conditions`` (each may carry its own
settings and seeds) and the ``l2_sweep`` (det/randY at several L2 coefficients).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from bnnrepro.families.base import Chunk, Family, FigureSpec, Run, base_settings, chunked, dataset_warnings, merge, tags

NAME = "memorization"
CONDITION = ("dataset", "binarization", "labels", "regularization")

CAPTIONS = {
    "classwise": "Class-wise train and test error by epoch (one line per class; seed 0 of each condition, as "
    "the paper's Figs 1-4): one row per label mode, one train/test pair of panels per regularization.",
    "overlay": "Overall train and test error by epoch of every condition: mean over seeds (line) and the range "
    "over seeds (band); colour = regularization, dashed = stochastic binarization.",
    "l2_sweep": "Final train error on random labels against the L2 coefficient (applied to the latent weights, as "
    "the paper intended): mean over seeds with the range; where L2 starts to stop memorization.",
}


def sweep_name(coefficient: float) -> str:
    return f"l2_{coefficient:g}"


def conditions(config: Mapping) -> list[dict]:
    """Every condition of the config: grid x datasets, explicit conditions, the L2 sweep."""
    section = config.get(NAME, {})
    grid = section.get("grid") or {}
    if not grid.get("enabled", True):
        grid = {}
    seeds = list(section.get("seeds", [0]))
    out = [
        dict(dataset=d, binarization=b, labels=lab, regularization=r, settings={}, seeds=seeds)
        for d in section.get("datasets", [])
        for b, lab, r in itertools.product(
            grid.get("binarization", []), grid.get("labels", []), grid.get("regularization", [])
        )
    ]
    for cond in section.get("conditions", []):
        out.append(dict(cond, settings=cond.get("settings", {}), seeds=list(cond.get("seeds") or seeds)))
    sweep = section.get("l2_sweep") or {}
    for d in section.get("datasets", []) if sweep.get("coefficients") else []:
        for coefficient in sweep["coefficients"]:
            out.append(
                dict(
                    dataset=d,
                    binarization=sweep.get("binarization", "det"),
                    labels=sweep.get("labels", "randY"),
                    regularization=sweep_name(coefficient),
                    settings={"l2": float(coefficient)},
                    seeds=list(sweep.get("seeds") or seeds[:1]),
                    sweep=True,
                )
            )
    return out


def runs(config: Mapping) -> list[Run]:
    section = config.get(NAME, {})
    if not section.get("enabled", True):
        return []
    regularizers = section.get("regularizers", {})
    out, seen = [], set()
    for cond in conditions(config):
        reg = cond["regularization"]
        reg_settings = {} if cond.get("sweep") else regularizers[reg]  # names are checked by the config validation
        for seed in cond["seeds"]:
            name = f"{cond['binarization']}-{cond['labels']}-{reg}-s{seed}"
            if (cond["dataset"], name) in seen:
                continue
            seen.add((cond["dataset"], name))
            settings = merge(
                base_settings(config, NAME, cond["dataset"]),
                section.get("binarizations", {}).get(cond["binarization"]),
                reg_settings,
                cond["settings"],
            )
            settings.update(
                dataset=cond["dataset"],
                labels=cond["labels"],
                seed=seed,
                tags=tags(binarization=cond["binarization"], labels=cond["labels"], regularization=reg),
            )
            settings.setdefault("binarization", cond["binarization"])
            out.append(
                Run(
                    NAME,
                    cond["dataset"],
                    name,
                    settings,
                    dict(binarization=cond["binarization"], labels=cond["labels"], regularization=reg, seed=seed),
                )
            )
    return out


def chunks(config: Mapping) -> list[Chunk]:
    size = config.get(NAME, {}).get("runs_per_job", 3)
    return chunked(
        NAME, runs(config), lambda run: run.name.rsplit("-s", 1)[0], size, index_of=lambda run: run.condition["seed"]
    )


def tables(config: Mapping) -> dict[str, str]:
    return {"curves": f"{NAME}/curves.csv", "summary": f"{NAME}/summary.csv", "conditions": f"{NAME}/conditions.csv"}


def figures(config: Mapping) -> list[FigureSpec]:
    if not runs(config):
        return []
    specs = []
    all_runs = runs(config)
    for dataset in dict.fromkeys(run.dataset for run in all_runs):
        mine = [run for run in all_runs if run.dataset == dataset]
        for b in dict.fromkeys(run.condition["binarization"] for run in mine):
            specs.append(
                FigureSpec(
                    f"figures/{NAME}/{dataset}-{b}-classwise.png",
                    "classwise",
                    CAPTIONS["classwise"],
                    f"{dataset}, {b} binarization.",
                    {"dataset": dataset, "binarization": b},
                )
            )
        specs.append(
            FigureSpec(
                f"figures/{NAME}/{dataset}-overlay.png",
                "overlay",
                CAPTIONS["overlay"],
                f"{dataset}.",
                {"dataset": dataset},
            )
        )
        if any(
            run.condition["regularization"].startswith("l2_")
            for run in mine
            if run.condition["regularization"] != "l2_inert"
        ):
            specs.append(
                FigureSpec(
                    f"figures/{NAME}/{dataset}-l2-sweep.png",
                    "l2_sweep",
                    CAPTIONS["l2_sweep"],
                    f"{dataset}.",
                    {"dataset": dataset},
                )
            )
    return specs


def check(config: Mapping) -> tuple[list[str], list[str]]:
    section = config.get(NAME, {})
    defined = section.get("regularizers", {})
    problems = [
        f"{NAME}: regularization {cond['regularization']!r} (dataset {cond['dataset']}) is not defined under "
        f"{NAME}.regularizers (defined: {', '.join(defined)})"
        for cond in conditions(config)
        if not cond.get("sweep") and cond["regularization"] not in defined
    ]
    problems += [
        f"{NAME}.conditions: dataset {cond['dataset']!r} is not in {NAME}.datasets "
        f"({', '.join(section.get('datasets', []))}); add it there"
        for cond in section.get("conditions", [])
        if cond["dataset"] not in section.get("datasets", [])
    ]
    return problems, dataset_warnings(config, NAME)


FAMILY = Family(
    name=NAME,
    title="Memorization of random labels",
    source="Mehta et al. 2017, Figs 1-4",
    analysis="bnnrepro.families.memorization.analysis",
    tables=tables,
    figures=figures,
    runs=runs,
    chunks=chunks,
    check=check,
)
