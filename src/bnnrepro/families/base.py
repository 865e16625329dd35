"""What an experiment family declares, and the pieces every family shares.

A family (memorization, easy examples, ...) is one package under :mod:`bnnrepro.families`:

* ``declaration.py`` *declares* the family: its config section -> the training runs it fans out into
  (:class:`Run`, grouped into :class:`Chunk` jobs), the tables it aggregates them into and the figures
  it draws (paths and captions). It imports no torch, pandas or matplotlib, so that the workflow
  (``snakemake -n``, ``--lint``) reads it in milliseconds;
* the analysis *computes*, one module per job: ``tables.py`` the tidy tables from the runs
  (``make_tables``), ``figures.py`` the figures from the tables (``make_figures``), ``section.py``
  the report section (``section``) and ``claims.py`` the claims (``CLAIMS``); ``analysis.py``
  (the module :attr:`Family.analysis` names) only gathers those four for the registry;
* a family with jobs other than training has a module for them (e.g. ``lookup_tables.compute``),
  named in :attr:`Family.commands` as its command-line verbs; it is kept apart from the analysis so
  that editing the analysis or a caption reruns no job.

A declaration ends with ``FAMILY = Family.declare(__name__, title=..., source=...)``, which takes the
module's ``NAME`` and its functions named ``tables``, ``figures``, ``runs``, ``chunks``, ``inputs`` and
``check`` (the last four where it defines them), and the analysis module beside it
(:meth:`Family.declare`).

The rules (workflow/rules), the report and the claim checklist only iterate over the registry
(:data:`bnnrepro.families.FAMILIES`): a fact about a family is written in its package alone.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sys
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bnnrepro.data.registry import DATASETS

#: The order in which a run's training settings are merged: each later layer overrides earlier keys.
SETTINGS_LAYERS = (
    "execution",
    "defaults",
    "<family>.settings",
    "<family>.dataset_settings.<dataset>",
    "the condition's settings",
)


# ----------------------------------------------------------------------------------------------
# Runs and the jobs that train them


@dataclass(frozen=True)
class Run:
    """One training run: its folder ``<results>/<family>/<dataset>/<name>``, the training settings
    it runs with (every key a ``bnnrepro train`` setting) and the condition it belongs to."""

    family: str
    dataset: str
    name: str
    settings: Mapping[str, Any]
    condition: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.name}"

    @property
    def settings_key(self) -> str:
        """The first 8 hex digits of the SHA-256 of the run's settings (canonical JSON): runs of the
        same name but other settings get other folders, so that they never overwrite each other."""
        text = json.dumps(dict(self.settings), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:8]

    def folder(self, results: str) -> str:
        """``<results>/<family>/<dataset>/<name>-<settings key>``."""
        return os.path.join(results, self.family, self.dataset, f"{self.name}-{self.settings_key}")


@dataclass(frozen=True)
class Chunk:
    """The runs one Snakemake job trains, one after another in one process (``isolate``: each in a
    fresh process, for measurements of process memory). Its output is a manifest naming every run
    and the checksum of its sealed summary."""

    family: str
    dataset: str
    name: str
    runs: tuple[Run, ...]
    isolate: bool = False

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.name}"

    def manifest(self, results: str) -> str:
        return os.path.join(results, self.family, self.dataset, "chunks", f"{self.name}.json")

    def spec(self, results: str) -> str:
        """The runs as compact JSON (``bnnrepro train --runs``): folder, name and settings each."""
        return json.dumps(
            {
                "isolate": self.isolate,
                "runs": [
                    {"out": run.folder(results), "name": run.name, "settings": dict(run.settings)} for run in self.runs
                ],
            },
            sort_keys=True,
            separators=(",", ":"),
        )


def chunked(
    family: str,
    runs: Sequence[Run],
    group_of: Callable[[Run], str],
    size: int,
    isolate: bool = False,
    index_of: Callable[[Run], int] | None = None,
) -> list[Chunk]:
    """Split ``runs`` into chunks of at most ``size`` runs that share ``group_of(run)`` (a chunk never
    mixes datasets). With ``index_of`` (a run's stable number in its group: its seed, its repeat),
    run i goes to bin ``index_of(i) // size``, named ``<group>`` (bin 0) or ``<group>.<bin>``: adding a
    seed adds or changes only the chunk of its bin, and every other chunk keeps its name and runs.
    Without it, runs fill chunks in order (``<group>`` for one chunk, else ``<group>.<i>``)."""
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.dataset, group_of(run)), []).append(run)
    chunks = []
    for (dataset, group), members in groups.items():
        if index_of is not None:
            bins: dict[int, list[Run]] = {}
            for run in members:
                bins.setdefault(int(index_of(run)) // size, []).append(run)
            for number, piece in sorted(bins.items()):
                name = group if number == 0 else f"{group}.{number}"
                chunks.append(Chunk(family, dataset, name, tuple(piece), isolate))
            continue
        pieces = [members[i : i + size] for i in range(0, len(members), size)]
        for i, piece in enumerate(pieces):
            name = group if len(pieces) == 1 else f"{group}.{i}"
            chunks.append(Chunk(family, dataset, name, tuple(piece), isolate))
    return chunks


def chunked_by_job_size(
    config: Mapping, family: str, runs: Sequence[Run], group_of: Callable[[Run], str], index: str, default_size: int
) -> list[Chunk]:
    """:func:`chunked` at ``<family>.runs_per_job`` runs a job (``default_size`` when unset), each run
    binned by its condition's ``index`` column (its seed, its repeat)."""
    size = config.get(family, {}).get("runs_per_job", default_size)
    return chunked(family, runs, group_of, size, index_of=lambda run: run.condition[index])


def csv_tables(family: str, *names: str) -> dict[str, str]:
    """Table name -> ``<family>/<name>.csv``: the paths under results of the tables a family writes."""
    return {name: f"{family}/{name}.csv" for name in names}


# ----------------------------------------------------------------------------------------------
# Counts in words (figures and report sections)


def key_parts(key: Hashable) -> tuple[Any, ...]:
    """The column values of one group key of a ``groupby`` over several columns (pandas-stubs types
    every group key as ``Hashable``, which cannot be unpacked)."""
    if not isinstance(key, tuple):
        raise TypeError(f"a group key over several columns is a tuple, not {key!r}")
    return key


def count(n: int, word: str, plural: str | None = None) -> str:
    """``n`` and the noun in the right number: 1 thread, 2 threads, 1 repeat."""
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def count_of(n: int, unit: str) -> str:
    """``n`` and a plural unit in the right number: (1, "seeds") -> "1 seed", (3, "seeds") -> "3 seeds"."""
    return f"{n} {unit[:-1] if n == 1 and unit.endswith('s') else unit}"


# ----------------------------------------------------------------------------------------------
# Settings


def merge(*layers: Mapping | None) -> dict:
    """Later mappings override earlier ones key by key (values are copied)."""
    merged: dict = {}
    for layer in layers:
        merged.update(copy.deepcopy(dict(layer or {})))
    return merged


def base_settings(config: Mapping, family: str, dataset: str) -> dict:
    """The training settings every run of ``family`` on ``dataset`` starts from (see
    :data:`SETTINGS_LAYERS`): execution -> defaults -> the family's ``settings`` -> its
    ``dataset_settings.<dataset>``."""
    execution = config.get("execution", {})
    section = config.get(family, {})
    return merge(
        {
            "device": execution.get("device", "cpu"),
            "threads": execution.get("threads_per_run", 1),
            "data_dir": config.get("data_dir"),
        },
        config.get("defaults"),
        section.get("settings"),
        section.get("dataset_settings", {}).get(dataset),
    )


def tags(**values: Any) -> list[str]:
    """``KEY=VALUE`` tags: the condition columns a run writes into its metrics."""
    return [f"{k}={v}" for k, v in values.items()]


def enabled(config: Mapping, family: str) -> bool:
    return bool(config.get(family, {}).get("enabled", True))


def dataset_name(dataset: str) -> str:
    """How the report names a dataset: its registry entry's short title (Fashion-MNIST, CIFAR-10...)."""
    spec = DATASETS.get(dataset)
    return spec.short_title if spec is not None else dataset


def dataset_warnings(config: Mapping, family: str) -> list[str]:
    """A dataset a family runs on without settings of its own runs with the family's ``settings``
    alone: say so (it is easy to forget, e.g., a smaller training subset for a new dataset)."""
    section = config.get(family, {})
    own = section.get("dataset_settings") or {}
    return [
        f"{family}: dataset {d!r} has no {family}.dataset_settings.{d}; its runs use {family}.settings "
        f"({', '.join(sorted(section.get('settings') or {})) or 'nothing'}) and the library defaults"
        for d in section.get("datasets", [])
        if d not in own
    ]


# ----------------------------------------------------------------------------------------------
# The family declaration


@dataclass(frozen=True)
class FigureSpec:
    """A figure a family draws: its PNG path under the report folder (an SVG is written beside it),
    its kind (a key of the family's ``CAPTIONS``: the caption shared by the HTML report and
    Snakemake's native report) and the details of this instance (dataset, settings) that the HTML
    report adds to the caption."""

    path: str
    kind: str
    caption: str
    details: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)  # what the figure shows (dataset, ...)

    @property
    def svg(self) -> str:
        return os.path.splitext(self.path)[0] + ".svg"

    @property
    def anchor(self) -> str:
        return "fig-" + os.path.splitext(os.path.basename(self.path))[0]


@dataclass(frozen=True)
class Family:
    """The declaration of one experiment family (see the module docstring).

    ``runs(config)``: its training runs (none for families without training); ``chunks(config)``: the
    jobs that train them; ``inputs(config)``: what its ``tables`` step reads besides the chunk
    manifests (paths under results); ``tables(config)``: name -> path under results of the tables it
    writes; ``figures(config)``: the figures it draws from them. ``timed``: its runs measure time and
    memory, so each chunk job runs alone on the machine and each run in a fresh process.
    """

    name: str
    title: str
    source: str  # the citation of the experiment, e.g. "Mehta et al. 2017, Figs 1-4"
    analysis: str  # the module gathering make_tables, make_figures, section and CLAIMS
    tables: Callable[[Mapping], dict[str, str]]
    figures: Callable[[Mapping], list[FigureSpec]]
    runs: Callable[[Mapping], list[Run]] = lambda config: []
    chunks: Callable[[Mapping], list[Chunk]] = lambda config: []
    inputs: Callable[[Mapping], list[str]] = lambda config: []
    timed: bool = False
    check: Callable[[Mapping], tuple[list[str], list[str]]] = lambda config: ([], [])  # (problems, warnings)
    commands: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # verb -> ("module:object", help)

    @classmethod
    def declare(
        cls,
        module_name: str,
        *,
        title: str,
        source: str,
        timed: bool = False,
        commands: Mapping[str, tuple[str, str]] | None = None,
    ) -> Family:
        """The declaration of the family whose ``declaration.py`` is ``module_name`` (pass ``__name__``,
        at the end of the module): its ``name`` is the module's ``NAME``; ``tables``, ``figures`` and,
        where the module defines them, ``runs``, ``chunks``, ``inputs`` and ``check`` are the module's
        functions of those names (a family without training defines no ``runs``); ``analysis`` is the
        ``analysis`` module beside it (``bnnrepro.families.<name>.analysis``)."""
        module = sys.modules[module_name]
        functions = {
            piece: getattr(module, piece)
            for piece in ("runs", "chunks", "inputs", "check")
            if callable(getattr(module, piece, None))
        }
        return cls(
            name=module.NAME,
            title=title,
            source=source,
            analysis=module_name.rsplit(".", 1)[0] + ".analysis",
            tables=module.tables,
            figures=module.figures,
            timed=timed,
            commands=dict(commands or {}),
            **functions,
        )

    def enabled(self, config: Mapping) -> bool:
        return enabled(config, self.name)

    def manifests(self, config: Mapping) -> list[str]:
        results = config["results"]
        return [chunk.manifest(results) for chunk in self.chunks(config)]


def fingerprint(payload: Any) -> str:
    """A short, stable hash of a JSON-able value."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]
