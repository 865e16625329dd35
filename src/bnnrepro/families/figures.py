"""What every family's figures share: the style, one colour per condition value everywhere, and
the PNG + SVG output written atomically. Figures read only result tables (tidy CSVs)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

matplotlib.use("Agg")  # headless: figures are files

import matplotlib.pyplot as plt
import seaborn as sns

from bnnrepro.families.base import count, count_of  # noqa: F401  (figures say counts with them)
from bnnrepro.io import atomic_open

#: Mantissas of log-axis ticks, coarsest first: the first set that puts at least 3 ticks inside the
#: axis is used, so that every log axis is ticked over its data (not a lone "1x").
LOG_TICK_MANTISSAS = (
    (1.0,),
    (1.0, 2.0, 5.0),
    (1.0, 1.5, 2.0, 3.0, 5.0, 7.0),
    (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0),
)


def log_ticks(low: float, high: float, fewest: int = 3, most: int = 9) -> list[float]:
    """Readable ticks of a log axis from ``low`` to ``high``: decades when they give at least
    ``fewest`` ticks, else 1-2-5 and finer mantissas (at most ``most`` ticks where possible)."""
    import math

    low, high = max(min(low, high), 1e-300), max(low, high)
    chosen: list[float] = []
    for mantissas in LOG_TICK_MANTISSAS:
        ticks = [
            float(f"{m * 10.0**e:.6g}")
            for e in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1)
            for m in mantissas
            if low <= m * 10.0**e <= high
        ]
        if len(ticks) > most and chosen:
            break
        chosen = ticks
        if len(ticks) >= fewest:
            break
    return chosen


def ratio_axis(ax: Axes, axis: str = "x") -> None:
    """A log axis of ratios ticked over its data (:func:`log_ticks`), labelled 0.5x, 1x, 2x."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    low, high = ax.get_xlim() if axis == "x" else ax.get_ylim()
    target.set_major_locator(FixedLocator(log_ticks(low, high)))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    target.set_minor_formatter(NullFormatter())


def ordered(values: Iterable, order: Sequence) -> list:
    """The distinct ``values`` in the given ``order`` first, then any others in order of appearance."""
    values = list(dict.fromkeys(values))
    return [v for v in order if v in values] + [v for v in values if v not in order]


#: Colours per condition, the same in every figure of the report.
PALETTES: dict[str, dict[str, str]] = {
    "labels": {"true": "#1b7837", "randY": "#d95f02", "randX": "#7570b3", "real": "#1b7837", "random": "#d95f02"},
    "regularization": {"none": "#4477aa", "dropout": "#ee6677", "l2": "#228833", "l2_inert": "#ccbb44"},
    "binarization": {"det": "#222222", "stoch": "#aa3377"},
    "variant": {
        "float": "#4477aa",
        "det": "#222222",
        "stoch": "#aa3377",
        "none": "#4477aa",
        "bc_det": "#222222",
        "bc_stoch": "#aa3377",
        "dropout": "#ee6677",
        "bc_real": "#999999",
        "plain_torch": "#999933",
    },
    "method": {},
    # One colour per implementation; activations packed inside vs outside the timing differ by dash.
    "kernel": {
        "torch.matmul fp16": "#999933",
        "torch.matmul bf16": "#ddcc77",
        "torch_xnor bit (packed inside)": "#222222",
        "torch_xnor bit (pre-packed)": "#222222",
        "triton_xnor bit (packed inside)": "#aa3377",
        "triton_xnor bit (pre-packed)": "#aa3377",
        "triton_int8 int8 (packed inside)": "#4477aa",
        "triton_int8 int8 (pre-packed)": "#4477aa",
    },
}


def setup() -> None:
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.05)
    plt.rcParams.update({"figure.dpi": 110, "savefig.bbox": "tight", "axes.titlesize": "medium"})


def save(fig: Figure, path: str | os.PathLike, svg: bool = True) -> list[Path]:
    """Save ``fig`` as PNG (the given path) and, if ``svg``, an SVG beside it; close it."""
    path = Path(path)
    written = []
    formats = [("png", path)] + ([("svg", path.with_suffix(".svg"))] if svg else [])
    for fmt, target in formats:
        with atomic_open(target, "wb") as handle:
            fig.savefig(handle, format=fmt, dpi=130)
        written.append(target)
    plt.close(fig)
    return written


def palette(kind: str, values: Iterable) -> dict[str, str]:
    """Colours for ``values`` of a condition ``kind`` (fixed ones first, then a fallback cycle)."""
    fixed = PALETTES.get(kind, {})
    extra = [v for v in values if v not in fixed]
    cycle = sns.color_palette("colorblind", len(extra) or 1).as_hex()
    return {**{v: fixed[v] for v in values if v in fixed}, **dict(zip(extra, cycle))}


def integer_axis(axes: Axes, axis: str = "x") -> None:
    """Integer ticks (epochs, counts) on every axes of ``axes``."""
    from matplotlib.ticker import MaxNLocator

    for ax in getattr(axes, "flat", [axes]):
        getattr(ax, f"{axis}axis").set_major_locator(MaxNLocator(integer=True))
