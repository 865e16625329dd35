"""What a family's analysis hands to the report: sections (text, tables, figures) and claims.

The report (:mod:`bnnrepro.report`) renders these; it never computes a number itself. Tables carry
their column headers (with units) and formats, so that one metric looks the same everywhere:
``pct`` shows a fraction as a percentage, ``int`` a count, ``num`` three significant digits, ...
(:data:`FORMATS`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bnnrepro.errors import DataError
from bnnrepro.families.base import FigureSpec
from bnnrepro.io import read_csv
from bnnrepro.stats import Estimate

#: Column formats: name -> what it shows.
FORMATS = {
    "text": "as is",
    "pct": "a fraction as a percentage with one decimal (0.0512 -> 5.1%)",
    "pct2": "a fraction as a percentage with two decimals",
    "pp": "a difference of fractions in percentage points (+3.2 pp)",
    "int": "an integer with thousands separators",
    "num": "three significant digits",
    "ratio": "a ratio with two decimals and an x (1.32x)",
    "ms": "milliseconds, three significant digits",
    "bytes": "a size in kB / MB",
    "interval_pct": "a (low, high) pair of fractions as a percentage interval [1.1, 5.3]%",
    "interval_num": "a (low, high) pair as an interval, three significant digits",
}


@dataclass(frozen=True)
class Col:
    """How a table column is shown: its header (with the unit) and its format (:data:`FORMATS`)."""

    header: str
    fmt: str = "text"

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise ValueError(f"unknown column format {self.fmt!r}; choose one of {', '.join(FORMATS)}")


#: Columns that mean the same in every family.
COMMON_COLUMNS: dict[str, Col] = {
    "dataset": Col("Dataset"),
    "binarization": Col("Binarization"),
    "labels": Col("Labels"),
    "regularization": Col("Regularization"),
    "variant": Col("Variant"),
    "arch": Col("Model"),
    "seed": Col("Seed", "int"),
    "seeds": Col("Seeds", "int"),
    "epochs": Col("Epochs", "int"),
    "runs": Col("Runs", "int"),
    "k": Col("k", "int"),
}


@dataclass
class Table:
    """A table of the report: a tidy frame, how its columns are shown, a note, the CSV under
    results it comes from (linked from the report) and footnotes (e.g. the sources of published
    numbers). Columns constant over all rows are dropped by the renderer and said once in the note."""

    title: str
    frame: pd.DataFrame
    columns: Mapping[str, Col] = field(default_factory=dict)
    note: str = ""
    csv: str | None = None
    footnotes: list[str] = field(default_factory=list)
    keep_constant: tuple[str, ...] = ()

    def column(self, name: str) -> Col:
        return self.columns.get(name) or COMMON_COLUMNS.get(name) or Col(name.replace("_", " ").capitalize())


@dataclass
class Figure:
    """A figure of the report: its spec (paths under the report folder, caption) and the CSV under
    results it was drawn from."""

    spec: FigureSpec
    data: str | None = None

    @property
    def src(self) -> str:
        return self.spec.path

    @property
    def caption(self) -> str:
        return self.spec.caption


@dataclass
class Glance:
    """One row of the report's "paper vs this run" table."""

    family: str
    what: str  # "paper" or "this run"
    dataset: str
    model: str
    training_examples: str
    epochs: str
    repeats: str
    hardware: str


@dataclass
class Section:
    """A family's section of the report."""

    id: str
    title: str
    intro: str  # HTML: what the experiment is (fixed text, no numbers)
    settings: str = ""  # the settings the numbers were made with, from the config
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    glance: list[Glance] = field(default_factory=list)


@dataclass(frozen=True)
class ClaimResult:
    """The verdict of one claim in one scope (a dataset, an architecture, ...)."""

    scope: str
    verdict: str  # held / did not hold / inconclusive / not run
    estimate: Estimate | None  # None when not run
    threshold: str  # as a reader sees it, e.g. "< 5%"
    detail: str  # why: the reason of the verdict, what was compared, power for nulls
    unit: str = "pct"  # how estimate and interval are shown (a Col format)


@dataclass(frozen=True)
class Claim:
    """A published claim and how it is checked.

    ``check(context)`` returns one :class:`ClaimResult` per scope. ``decided_by`` is the kind of the
    family's figure that shows the evidence (empty: the family's section); ``caveat`` is shown
    beside the verdict.
    """

    id: str
    statement: str
    citation: str
    family: str
    check: Callable[[Context], list[ClaimResult]]
    decided_by: str = ""
    caveat: str = ""


def not_run(scope: str, reason: str, threshold: str = "") -> ClaimResult:
    return ClaimResult(scope, "not run", None, threshold, reason)


class Context:
    """What a family's analysis reads: the resolved config, the results and report folders."""

    def __init__(self, config: Mapping[str, Any], results: str | os.PathLike, report_dir: str | os.PathLike):
        self.config = config
        self.results = Path(results)
        self.report_dir = Path(report_dir)
        self._tables: dict[tuple, pd.DataFrame] = {}  # the claims and sections of a family read the same tables

    def section(self, family: str) -> Mapping[str, Any]:
        return self.config.get(family, {})

    def enabled(self, family: str) -> bool:
        return bool(self.section(family).get("enabled", True))

    @property
    def thresholds(self) -> Mapping[str, Any]:
        return self.config.get("claims", {})

    def csv(self, relative: str, **kwargs: Any) -> pd.DataFrame:
        """A results table (a copy: callers may change it), read once per version of the file; a
        missing or unreadable one is a DataError naming the file."""
        path = self.results / relative
        if not path.is_file():
            raise DataError(f"{path} is missing; run the workflow (`snakemake --cores 8 all`) first")
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size, repr(sorted(kwargs.items())))
        if key not in self._tables:
            try:
                self._tables[key] = read_csv(path, **kwargs)
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
                raise DataError(f"{path} is not a readable CSV ({exc}); delete it and rerun the workflow") from None
        return self._tables[key].copy()

    def figure(self, spec: FigureSpec, data: str | None = None) -> Figure:
        path = self.report_dir / spec.path
        if not path.is_file():
            raise DataError(f"figure {path} is missing; run the workflow first")
        return Figure(spec, data)


def model_text(settings: Mapping[str, Any]) -> str:
    """A run's model in a few words: ``MLP, hidden 1024`` or the architecture's name (and its width)."""
    arch, hidden, width = settings.get("arch", "mlp"), settings.get("hidden"), settings.get("width", 1.0)
    text = f"MLP, hidden {'-'.join(f'{h:,}' for h in hidden)}" if arch == "mlp" and hidden else arch
    return text if width in (None, 1, 1.0) else f"{text} (width {width:g})"


def examples_text(settings: Mapping[str, Any]) -> str:
    """A run's training examples: ``1,000``, or ``all`` when the whole training set is used."""
    size = settings.get("train_size")
    return f"{size:,}" if size else "all"


def interval_column(frame: pd.DataFrame, low: str = "low", high: str = "high") -> pd.Series:
    """The (low, high) pairs of two columns as one column, for the ``interval_*`` formats."""
    return pd.Series(list(zip(frame[low], frame[high])), index=frame.index, dtype=object)
