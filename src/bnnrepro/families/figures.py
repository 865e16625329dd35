"""What every family's figures share: the style, one colour per condition value everywhere, and
the PNG + SVG output written atomically. Figures read only result tables (tidy CSVs)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: figures are files

import matplotlib.pyplot as plt
import seaborn as sns

from bnnrepro.io import atomic_open


def ordered(values, order) -> list:
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
        "bc_det_unscaled": "#117733",
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


def save(fig, path: str | os.PathLike, svg: bool = True) -> list[Path]:
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


def palette(kind: str, values) -> dict[str, str]:
    """Colours for ``values`` of a condition ``kind`` (fixed ones first, then a fallback cycle)."""
    fixed = PALETTES.get(kind, {})
    extra = [v for v in values if v not in fixed]
    cycle = sns.color_palette("colorblind", len(extra) or 1).as_hex()
    return {**{v: fixed[v] for v in values if v in fixed}, **dict(zip(extra, cycle))}


def integer_axis(axes, axis: str = "x") -> None:
    """Integer ticks (epochs, counts) on every axes of ``axes``."""
    from matplotlib.ticker import MaxNLocator

    for ax in getattr(axes, "flat", [axes]):
        getattr(ax, f"{axis}axis").set_major_locator(MaxNLocator(integer=True))
