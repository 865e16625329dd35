"""Networks of k-input lookup tables trained by pure memorization (Chatterjee 2018, "Learning and
Memorization", Tables 1-4 and Figure 1).

No training runs: the family's compute jobs each run ``bnnrepro lookup_tables table TABLE`` (module
:mod:`~bnnrepro.families.lookup_tables.compute`) on one dataset and write one tidy CSV under
``results/lookup_tables/<dataset>/``; the ``tables`` step (:mod:`~bnnrepro.families.lookup_tables.tables`)
reads those CSVs. The jobs of a dataset:

* ``table1``: memorization (on ``memorization_train_size`` examples, default all, as the paper)
  against the baselines (on their ``train_size`` subset), one network seed;
* ``table2``: the layer-by-layer accuracy of the luts of one network;
* ``table3-real``: the k sweep on real labels, every network seed (the unit of replication);
* ``table3-random``: the k sweep on random labels, one network per label draw: draw i is fitted
  with network seed i (``--pairing paired``), so that a draw and its wiring form one replicate;
* ``pairwise``: every class pair (or ``pairs``) at every k, the pairwise section's seeds.

Each table may run a smaller network than the family's (``hidden_layers``, ``width`` per table):
the many fits of Table 3 and the pairwise tasks are where the time goes.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from bnnrepro.families.base import Family, FigureSpec, dataset_name

NAME = "lookup_tables"
TABLE_SECTIONS = ("table1", "table2", "table3", "pairwise")
JOB_PATTERN = "table1|table2|table3-real|table3-random|pairwise"

CAPTIONS = {
    "table1": "Train and test accuracy on the binary task (classes 0-4 vs 5-9, pixels thresholded at 128) of "
    "memorization by a network of lookup tables and of the standard methods the paper compares it with "
    "(library defaults, seeded; the conv net is a small LeNet); dotted line: chance.",
    "table2": "Layer-by-layer accuracy of the lookup tables of one network: mean (line) and range over the luts "
    "(band) of each layer, on the training and the test set; layer 0 is the input bits taken as "
    "predictors of the label, the last layer the output lut (the paper's Table 2).",
    "table3": "Train (solid) and test (dashed) accuracy against k on real and on random training labels (the "
    "paper's Table 3): mean with the 95% t-interval over network seeds (real labels) or over random-label "
    "draws (random labels); dotted line: chance.",
    "random_draws": "Test accuracy after training on random labels, one point per label draw (mean over k), against "
    "how often that draw's random labels happen to agree with the true labels: the spread of the "
    "random-label test accuracy around chance, and where it comes from.",
    "pairwise": "Left: the pairwise tasks (class a vs class b) at one k, train accuracy below the diagonal and test "
    "accuracy above (the paper's Table 4). Right: the generalization gap (train minus test accuracy) "
    "against k over the pairs and seeds (the paper's Figure 1): box = quartiles, dots = pairs.",
}


def _section(config: Mapping) -> Mapping:
    return config.get(NAME, {})


def _part(config: Mapping, table: str) -> Mapping:
    return _section(config).get(table) or {}


def part_enabled(config: Mapping, table: str) -> bool:
    section = _section(config)
    return bool(section.get("enabled", True)) and bool(_part(config, table).get("enabled", True))


def network_size(config: Mapping, table: str) -> tuple[int, int]:
    """(hidden layers, luts per hidden layer) of a table: its own, else the family's."""
    section, part = _section(config), _part(config, table)
    layers = part.get("hidden_layers")
    width = part.get("width")
    return (
        int(section.get("hidden_layers", 5) if layers is None else layers),
        int(section.get("width", 1024) if width is None else width),
    )


@dataclass(frozen=True)
class Job:
    """One compute job: ``bnnrepro lookup_tables table TABLE --dataset DATASET ARGS`` writing
    ``results/lookup_tables/<dataset>/<name>.csv``."""

    dataset: str
    name: str  # one of JOB_PATTERN
    table: str  # table1, table2, table3, pairwise
    args: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.name}"

    @property
    def output(self) -> str:
        return f"{NAME}/{self.dataset}/{self.name}.csv"

    def cli_args(self) -> str:
        return shlex.join(self.args)


def _sizes(part: Mapping, *keys: str) -> list[str]:
    args = []
    for key in keys:
        if part.get(key) is not None:
            args += ["--" + key.replace("_", "-"), str(part[key])]
    return args


def jobs(config: Mapping) -> list[Job]:
    """The family's compute jobs (none when it is disabled)."""
    section = _section(config)
    if not section.get("enabled", True):
        return []
    seeds = [str(s) for s in section.get("seeds", [0])]
    draws = [str(s) for s in section.get("data_seeds", [0])]
    out = []

    def common(table: str) -> list[str]:
        layers, width = network_size(config, table)
        args = [
            "--layers",
            str(layers),
            "--width",
            str(width),
            "--threads",
            str(section.get("threads", 1)),
            "--offline",
        ]
        args += _sizes(_part(config, table), "train_size", "test_size")
        if config.get("data_dir"):
            args += ["--data-dir", str(config["data_dir"])]
        return args

    for dataset in section.get("datasets", []):
        if part_enabled(config, "table1"):
            t1 = _part(config, "table1")
            args = common("table1") + [
                "--k",
                *map(str, t1.get("k", [12])),
                "--seed",
                seeds[0],
                "--data-seed",
                draws[0],
                "--conv-epochs",
                str(t1.get("conv_epochs", 3)),
                "--jobs",
                str(t1.get("jobs", 1)),
            ]
            args += _sizes(t1, "memorization_train_size", "train_eval_size")
            if t1.get("methods"):
                args += ["--methods", *t1["methods"]]
            out.append(Job(dataset, "table1", "table1", tuple(args)))
        if part_enabled(config, "table2"):
            t2 = _part(config, "table2")
            out.append(
                Job(
                    dataset,
                    "table2",
                    "table2",
                    tuple(common("table2") + ["--k", str(t2.get("k", 8)), "--seed", seeds[0], "--data-seed", draws[0]]),
                )
            )
        if part_enabled(config, "table3"):
            t3 = _part(config, "table3")
            ks = [str(k) for k in t3.get("k", [2, 4, 6, 8, 10, 12, 14, 16])]
            for labels in t3.get("labels", ["real", "random"]):
                if labels == "real":
                    args = ["--labels", "real", "--seed", *seeds, "--data-seed", draws[0]]
                else:  # one network per draw, its seed the draw's: the draw (and its mirror) is the replicate
                    kinds = ["random", "random_mirror"] if section.get("mirror_draws", True) else ["random"]
                    args = ["--labels", *kinds, "--seed", *draws, "--data-seed", *draws, "--pairing", "paired"]
                out.append(Job(dataset, f"table3-{labels}", "table3", tuple(common("table3") + ["--k", *ks] + args)))
        if part_enabled(config, "pairwise"):
            pw = _part(config, "pairwise")
            pair_seeds = [str(s) for s in pw.get("seeds") or section.get("seeds", [0])]
            args = common("pairwise") + [
                "--k",
                *map(str, pw.get("k", [2, 8, 14])),
                "--seed",
                *pair_seeds,
                "--data-seed",
                draws[0],
            ]
            if pw.get("pairs"):
                args += ["--pairs", *pw["pairs"]]
            out.append(Job(dataset, "pairwise", "pairwise", tuple(args)))
    return out


def inputs(config: Mapping) -> list[str]:
    """The compute jobs' CSVs (paths under results): what the tables step reads."""
    return [job.output for job in jobs(config)]


def tables(config: Mapping) -> dict[str, str]:
    if not _section(config).get("enabled", True):
        return {}
    out = {}
    if part_enabled(config, "table1"):
        out["table1"] = f"{NAME}/table1.csv"
    if part_enabled(config, "table2"):
        out["table2"] = f"{NAME}/table2.csv"
    if part_enabled(config, "table3"):
        out.update(table3=f"{NAME}/table3.csv", table3_summary=f"{NAME}/table3_summary.csv")
        if "random" in _part(config, "table3").get("labels", ["real", "random"]):
            out["random_draws"] = f"{NAME}/random_draws.csv"
    if part_enabled(config, "pairwise"):
        out.update(pairwise=f"{NAME}/pairwise.csv", pairwise_gap=f"{NAME}/pairwise_gap.csv")
    return out


def figures(config: Mapping) -> list[FigureSpec]:
    section = _section(config)
    if not section.get("enabled", True):
        return []
    specs = []
    for dataset in section.get("datasets", []):
        for kind in TABLE_SECTIONS:
            if not part_enabled(config, kind):
                continue
            layers, width = network_size(config, kind)
            details = (
                f"Binary-{dataset_name(dataset)}, {layers} hidden layers of {width} luts."
                if kind != "pairwise"
                else f"Class pairs of {dataset_name(dataset)}, {layers} hidden layers of {width} luts."
            )
            specs.append(
                FigureSpec(f"figures/{NAME}/{dataset}-{kind}.png", kind, CAPTIONS[kind], details, {"dataset": dataset})
            )
            if kind == "table3" and "random" in _part(config, "table3").get("labels", ["real", "random"]):
                specs.append(
                    FigureSpec(
                        f"figures/{NAME}/{dataset}-random-draws.png",
                        "random_draws",
                        CAPTIONS["random_draws"],
                        details,
                        {"dataset": dataset},
                    )
                )
    return specs


def check(config: Mapping) -> tuple[list[str], list[str]]:
    """Settings the schema cannot check: each table's k fits its network, pairs are two classes."""
    problems, warnings = [], []
    for table in TABLE_SECTIONS:
        if not part_enabled(config, table):
            continue
        part = _part(config, table)
        _, width = network_size(config, table)
        ks = part.get("k", [])
        ks = ks if isinstance(ks, list) else [ks]
        too_wide = [k for k in ks if k > width]
        if too_wide:
            problems.append(
                f"{NAME}.{table}: k = {too_wide[0]} needs at least {too_wide[0]} luts per hidden layer "
                f"(each lut reads k distinct outputs of the layer before), but the width is {width}; "
                f"lower k or raise {NAME}.{table}.width"
            )
    for pair in _part(config, "pairwise").get("pairs") or []:
        a, b = pair.split("-")
        if a == b:
            problems.append(f"{NAME}.pairwise.pairs: {pair!r} pairs a class with itself; give two different classes")
    t3 = _part(config, "table3")
    if (
        part_enabled(config, "table3")
        and "random" in t3.get("labels", ["real", "random"])
        and len(_section(config).get("data_seeds", [])) < 2
    ):
        warnings.append(
            f"{NAME}: a single random-label draw (data_seeds) gives the random-label claims no interval; "
            "the draw is their unit of replication (5 or more recommended)"
        )
    return problems, warnings


FAMILY = Family(
    name=NAME,
    title="Networks of lookup tables trained by memorization",
    source="Chatterjee 2018, Tables 1-4 and Figure 1",
    analysis="bnnrepro.families.lookup_tables.analysis",
    tables=tables,
    figures=figures,
    inputs=inputs,
    check=check,
    commands={
        "table": (
            "bnnrepro.families.lookup_tables.compute:table",
            "compute one of Chatterjee's tables (lookup-table networks and baselines) as a tidy CSV",
        )
    },
)
