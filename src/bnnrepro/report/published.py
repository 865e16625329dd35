"""The published numbers (published.yaml) as a table, and their juxtaposition with ours."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

PUBLISHED_FILE = Path(__file__).with_name("published.yaml")


@lru_cache(maxsize=1)
def load_published() -> tuple[dict, ...]:
    return tuple(yaml.safe_load(PUBLISHED_FILE.read_text()))


def published(family: str) -> list[dict]:
    return [entry for entry in load_published() if entry["family"] == family]


def _canonical(value) -> str:
    """A condition value as text, with integral numbers written as integers (12.0 -> "12")."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if np.isfinite(value) and float(value).is_integer():
            return str(int(value))
    return str(value)


def compare(family: str, ours: pd.DataFrame, condition_columns: list[str], only: dict | None = None) -> pd.DataFrame:
    """Published value next to ours for every published number of ``family``.

    ``ours`` has the condition columns, ``dataset`` and one column per metric (one row per
    condition, e.g. the mean over seeds). The difference is given only where the dataset matches:
    across datasets the numbers are shown side by side, not subtracted.
    """
    rows = []
    for entry in published(family):
        cond = entry.get("condition", {})
        if only and any(str(cond.get(k)) != str(v) for k, v in only.items()):
            continue
        label = ", ".join(f"{k}={v}" for k, v in cond.items())
        match = ours
        for key, value in cond.items():
            if key in match.columns:
                match = match[match[key].map(_canonical) == _canonical(value)]
        metric = entry["metric"]
        same = match[match["dataset"] == entry["dataset"]] if "dataset" in match.columns else match
        if len(same) and metric in same.columns:
            ours_value, ours_dataset, comparable = float(same[metric].iloc[0]), entry["dataset"], True
        elif len(match) and metric in match.columns:
            ours_value, ours_dataset, comparable = float(match[metric].iloc[0]), str(match["dataset"].iloc[0]), False
        else:
            ours_value, ours_dataset, comparable = np.nan, "not run", False
        rows.append({"condition": label, "metric": metric, "published dataset": entry["dataset"],
                     "published": entry["value"], "approx.": "~" if entry.get("approx") else "",
                     "our dataset": ours_dataset, "ours": ours_value,
                     "difference": ours_value - entry["value"] if comparable else np.nan,
                     "source": entry["source"] + (f" ({entry['note']})" if entry.get("note") else "")})
    return pd.DataFrame(rows)
