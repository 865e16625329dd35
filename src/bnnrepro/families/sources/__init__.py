"""The sources of the study (a bibliography) and the numbers they publish, from ``sources.yaml``.

Every mention of a source in the report is :func:`cite` of a reference key and a place
("Mehta et al. 2017, Fig. 3"); :func:`paper_vs_ours` lays the published numbers beside ours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import pandas as pd

SOURCES_FILE = Path(__file__).with_name("sources.yaml")


@lru_cache(maxsize=1)
def _sources() -> dict:
    return yaml.safe_load(SOURCES_FILE.read_text())


def references() -> dict[str, dict]:
    """Reference key -> cite, authors, year, title, venue, url."""
    return _sources()["references"]


def cite(key: str, where: str = "") -> str:
    """``"Mehta et al. 2017, Fig. 3"`` for a reference key and a place in it."""
    try:
        text = references()[key]["cite"]
    except KeyError:
        raise KeyError(f"unknown reference {key!r}; known: {', '.join(references())}") from None
    return f"{text}, {where}" if where else text


def published(family: str) -> list[dict]:
    """The published numbers of ``family``."""
    return [entry for entry in _sources()["published"] if entry["family"] == family]


def canonical(value: Any) -> str:
    """A condition value as text, integral numbers as integers (12.0 -> "12")."""
    if isinstance(value, bool):
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(number)) if number == number and number.is_integer() else str(value)


def paper_vs_ours(
    family: str,
    ours: pd.DataFrame,
    conditions: Sequence[str],
    metrics: Mapping[str, str] | None = None,
    only: Mapping[str, object] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Published numbers beside ours: one row per (condition, metric) with columns ``paper``,
    ``ours``, ``difference`` (only where the dataset is the same; across datasets the numbers are
    shown side by side, not subtracted), ``paper_dataset``, ``our_dataset`` and ``note`` (the
    footnote number of the source, see the returned list).

    ``ours`` is one row per condition (e.g. the mean over seeds) with the condition columns,
    ``dataset`` and one column per metric. ``metrics`` keeps (and orders) only those metrics
    (metric -> label). Returns ``(frame, footnotes)``.
    """
    import numpy as np
    import pandas as pd

    rows, footnotes = [], []
    for entry in published(family):
        cond = entry.get("condition", {})
        if only and any(canonical(cond.get(k)) != canonical(v) for k, v in only.items()):
            continue
        metric = entry["metric"]
        if metrics is not None and metric not in metrics:
            continue
        match = ours
        for key, value in cond.items():
            if key in match.columns:
                match = match[match[key].map(canonical) == canonical(value)]
        same = match[match["dataset"] == entry["dataset"]] if "dataset" in match.columns else match
        if len(same) and metric in same.columns:
            ours_value, our_dataset, comparable = float(same[metric].iloc[0]), entry["dataset"], True
        elif len(match) and metric in match.columns:
            ours_value, our_dataset, comparable = float(match[metric].iloc[0]), str(match["dataset"].iloc[0]), False
        else:
            ours_value, our_dataset, comparable = np.nan, "not run", False
        source = cite(entry["ref"], entry.get("where", "")) + (f" ({entry['note']})" if entry.get("note") else "")
        if source not in footnotes:
            footnotes.append(source)
        row = {c: cond.get(c, "") for c in conditions}
        row.update(
            metric=(metrics or {}).get(metric, metric),
            paper=entry["value"],
            approx="~" if entry.get("approx") else "",
            ours=ours_value,
            difference=ours_value - entry["value"] if comparable else np.nan,
            paper_dataset=entry["dataset"],
            our_dataset=our_dataset,
            note=f"[{footnotes.index(source) + 1}]",
        )
        rows.append(row)
    columns = list(conditions) + [
        "metric",
        "paper",
        "approx",
        "ours",
        "difference",
        "paper_dataset",
        "our_dataset",
        "note",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    if metrics:
        order = {label: i for i, label in enumerate(metrics.values())}
        frame = frame.sort_values("metric", key=lambda s: s.map(order), kind="stable")
    return frame.reset_index(drop=True), [f"[{i + 1}] {text}" for i, text in enumerate(footnotes)]
