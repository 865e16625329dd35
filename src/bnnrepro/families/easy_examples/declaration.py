"""Easy examples after one epoch (Mehta et al. 2017, Fig 5, after Arpit et al. 2017): are some
training examples consistently easier than others?

A condition is (dataset, binarization, labels). Each condition trains ``repeats`` = R runs of exactly
one epoch, run r with seed r (its own initialisation and data order) on the same data (the same
training subset, random labels and randX noise: ``data_seed`` is shared), and records whether it
gets each of the same ``probe_size`` fixed training examples right (``probe.csv``). The run is the
unit of replication; the analysis (``tables.py``) tests whether the per-example counts of correct
runs are over-dispersed against "every example equally hard"
(:mod:`~bnnrepro.families.easy_examples.overdispersion`).
"""

from __future__ import annotations

from collections.abc import Mapping

from bnnrepro.families.base import Chunk, Family, FigureSpec, Run, base_settings, chunked, dataset_warnings, merge, tags

NAME = "easy_examples"
CONDITION = ("dataset", "binarization", "labels")

CAPTIONS = {
    "histogram": "How many of the R one-epoch runs got each fixed probe example right (bars; square-root scale), "
    "against what 'every example equally hard' predicts: the band is the 95% range of each bar over "
    "permutations that keep every run's own accuracy (the line in it: its mean), the dotted line "
    "Binomial(R, mean accuracy). A spread wider than the band (many examples almost always or almost "
    "never right) is a spread of difficulty between examples; the dashed line marks 50% of the runs.",
}


def run_name(binarization: str, labels: str, repeat: int) -> str:
    return f"{binarization}-{labels}-r{repeat:03d}"


def runs(config: Mapping) -> list[Run]:
    """R one-epoch runs per (dataset, binarization, labels); run r has seed r."""
    section = config.get(NAME, {})
    if not section.get("enabled", True):
        return []
    out = []
    for dataset in section.get("datasets", []):
        base = base_settings(config, NAME, dataset)
        for binarization in section.get("binarizations", []):
            for labels in section.get("labels", []):
                for repeat in range(section.get("repeats", 64)):
                    settings = merge(base)
                    # One epoch is the experiment (an `epochs` setting is ignored: check() warns).
                    settings.update(
                        dataset=dataset,
                        labels=labels,
                        binarization=binarization,
                        epochs=1,
                        seed=repeat,
                        probe_size=section.get("probe_size", 1000),
                        probe_seed=section.get("probe_seed", 0),
                        save_model=False,
                        tags=tags(binarization=binarization, labels=labels),
                    )
                    out.append(
                        Run(
                            NAME,
                            dataset,
                            run_name(binarization, labels, repeat),
                            settings,
                            dict(binarization=binarization, labels=labels, repeat=repeat),
                        )
                    )
    return out


def chunks(config: Mapping) -> list[Chunk]:
    """One group per condition, ``runs_per_job`` runs per job."""
    size = config.get(NAME, {}).get("runs_per_job", 16)
    return chunked(
        NAME, runs(config), lambda run: run.name.rsplit("-r", 1)[0], size, index_of=lambda run: run.condition["repeat"]
    )


def tables(config: Mapping) -> dict[str, str]:
    return {
        "examples": f"{NAME}/examples.csv",
        "runs": f"{NAME}/runs.csv",
        "summary": f"{NAME}/summary.csv",
        "histogram": f"{NAME}/histogram.csv",
    }


def figures(config: Mapping) -> list[FigureSpec]:
    section = config.get(NAME, {})
    if not runs(config):
        return []
    return [
        FigureSpec(
            f"figures/{NAME}/{dataset}-histogram.png",
            "histogram",
            CAPTIONS["histogram"],
            f"{dataset}: R = {section.get('repeats', 64)} one-epoch runs per condition, "
            f"{section.get('probe_size', 1000)} probe examples.",
            {"dataset": dataset},
        )
        for dataset in section.get("datasets", [])
    ]


def check(config: Mapping) -> tuple[list[str], list[str]]:
    section = config.get(NAME, {})
    if not section.get("enabled", True):
        return [], []
    warnings = dataset_warnings(config, NAME)
    repeats = section.get("repeats", 64)
    if repeats < 3:
        warnings.append(
            f"{NAME}.repeats = {repeats}: the between-example variance needs at least 3 runs for an "
            "interval, so its claims will be inconclusive; use 16 or more (Arpit et al.: 100)"
        )
    for dataset in section.get("datasets", []):
        settings = base_settings(config, NAME, dataset)
        if settings.get("epochs", 1) != 1:
            warnings.append(
                f"{NAME} ({dataset}): epochs = {settings['epochs']} is ignored: this experiment trains "
                "exactly one epoch per run; remove the setting"
            )
        train_size = settings.get("train_size")
        if train_size and section.get("probe_size", 1000) > train_size:
            warnings.append(
                f"{NAME} ({dataset}): probe_size {section.get('probe_size', 1000)} exceeds the "
                f"{train_size} training examples; every training example is probed"
            )
    if "true" not in section.get("labels", []):
        warnings.append(
            f"{NAME}.labels has no \"true\": the easy-example claims compare with true labels and will be 'not run'"
        )
    return [], warnings


FAMILY = Family(
    name=NAME,
    title="Easy examples after one epoch",
    source="Mehta et al. 2017, Fig 5 (after Arpit et al. 2017)",
    analysis="bnnrepro.families.easy_examples.analysis",
    tables=tables,
    figures=figures,
    runs=runs,
    chunks=chunks,
    check=check,
)
