"""Lookup-table family: the paper's tables laid out as the paper lays them out, with this run's numbers
beside them (and the difference where the dataset is the same).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from bnnrepro.families.lookup_tables.tables import SOURCES_KEY, VALUE_ORDER
from bnnrepro.families.reporting import Col
from bnnrepro.families.sources import canonical, paper_vs_ours

#: The paper's dataset shown beside ours where the paper has no numbers for ours (Fashion-MNIST has
#: MNIST's image size and split sizes).
PAPER_COUNTERPART = {"fashion_mnist": "mnist"}


def condition_key(value: Any) -> str:
    """A condition value as text ("" for missing), so that published and our keys match."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else canonical(value)


def paper_dataset(dataset: str, published: Iterable[str]) -> str:
    """The paper's dataset to show beside ours: ours, else its counterpart, else the paper's first."""
    available = list(dict.fromkeys(published))
    for candidate in (dataset, PAPER_COUNTERPART.get(dataset)):
        if candidate in available:
            return candidate
    return available[0] if available else dataset


def paper_beside_ours(
    ours: pd.DataFrame, table: str, index: list[str], spread: list[str], metric: str = "accuracy"
) -> tuple[pd.DataFrame, dict[str, Col], list[str], str]:
    """The paper's table ``table`` laid out as the paper does: one row per ``index`` value, one
    column per ``spread`` value (e.g. labels x split), for the paper and for this run, and the
    difference where the dataset is the same.

    ``ours`` holds one dataset, one row per condition with ``metric``. The paper's numbers are
    those of that dataset when the paper has it, else those of its counterpart
    (:data:`PAPER_COUNTERPART`) or of the paper's first dataset, beside ours, not subtracted.
    Returns (frame, its columns, footnotes, the paper's dataset shown)."""
    dataset = str(ours["dataset"].iloc[0])
    conditions = index + spread
    published, notes = paper_vs_ours(
        SOURCES_KEY, ours.assign(table=table), conditions, {metric: metric}, only={"table": table}
    )
    shown = paper_dataset(dataset, published["paper_dataset"])
    same = shown == dataset
    published = published[published["paper_dataset"] == shown]
    distinct = {
        tuple(condition_key(row[c]) for c in spread) for frame in (ours, published) for _, row in frame.iterrows()
    }
    combos = sorted(distinct, key=lambda combo: [(VALUE_ORDER.get(v, len(VALUE_ORDER)), v) for v in combo])
    what = {combo: " ".join(v for v in combo if v) for combo in combos}
    columns: dict[str, Col] = {c: Col(c.replace("_", " ").capitalize()) for c in index}
    columns.update({f"paper|{what[c]}": Col(f"Paper: {what[c]}", "pct") for c in combos})
    columns.update({f"ours|{what[c]}": Col(f"This run: {what[c]}", "pct") for c in combos})
    if same:
        columns.update({f"diff|{what[c]}": Col(f"Difference: {what[c]}", "pp") for c in combos})
    rows: dict[tuple, dict] = {}

    def put(values: Mapping[str, Any], column: str, value: float) -> None:
        key = tuple(condition_key(values[c]) for c in index)
        rows.setdefault(key, dict(zip(index, key)))[column] = value

    for _, entry in published.iterrows():
        put(entry, f"paper|{what[tuple(condition_key(entry[c]) for c in spread)]}", float(entry["paper"]))
    for _, mine in ours.iterrows():
        put(mine, f"ours|{what[tuple(condition_key(mine[c]) for c in spread)]}", float(mine[metric]))
    frame = pd.DataFrame(list(rows.values()), columns=list(columns))
    if same:
        for combo in combos:
            frame[f"diff|{what[combo]}"] = frame[f"ours|{what[combo]}"] - frame[f"paper|{what[combo]}"]
    return frame, columns, notes, shown
