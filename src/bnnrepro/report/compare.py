"""``bnnrepro compare A B``: which claim verdicts and estimates moved between two runs.

A and B are each a claims.csv, a report folder holding one, or a results folder (its resolved
config.yaml names the report folder). Claims are matched by (claim, scope). For each: the two
verdicts, the two estimates with their 95% intervals, and how the estimate moved:

* **apart**: the two intervals do not overlap (the estimates differ beyond their uncertainty);
* **overlapping**: they overlap (a change the repeats cannot tell from noise);
* **no interval**: either side lacks an interval (one repeat, or not run).

Non-overlapping 95% intervals are a conservative sign of a difference (their overlap does not
prove equality). With two results folders the settings that differ (their config.yaml, key by
key) are listed first. The table is printed and written as CSV (``--out``).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from bnnrepro.errors import ConfigError
from bnnrepro.io import write_csv

COLUMNS = ["claim", "scope", "verdict", "estimate", "ci_low", "ci_high", "repeats"]


def claims_file(path: Path) -> tuple[Path, Path | None]:
    """(the claims.csv, the resolved config.yaml if there is one) of a file or folder."""
    if path.is_file():
        config = path.parent / "config.yaml"
        return path, config if config.is_file() else None
    if not path.is_dir():
        raise ConfigError(f"{path}: no such file or folder (give a claims.csv, a report folder or a results folder)")
    if (path / "claims.csv").is_file():
        return path / "claims.csv", None
    config = path / "config.yaml"
    if config.is_file():
        try:
            report_dir = (yaml.safe_load(config.read_text()) or {}).get("report_dir")
        except yaml.YAMLError:
            report_dir = None
        for candidate in [Path(report_dir)] if report_dir else []:
            for base in (Path.cwd(), path.parent):
                found = (base / candidate / "claims.csv") if not candidate.is_absolute() else candidate / "claims.csv"
                if found.is_file():
                    return found, config
    raise ConfigError(f"{path}: no claims.csv there (nor in the report folder its config.yaml names); build the report")


def read_claims(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read it as CSV ({exc})") from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError(f"{path}: not a claims.csv (no column {', '.join(missing)})")
    frame["scope"] = ["" if pd.isna(s) else str(s) for s in frame["scope"]]
    return frame[COLUMNS + [c for c in ("unit", "family") if c in frame.columns]]


def flat(mapping: Mapping[str, Any] | None, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in (mapping or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat(value, name + "."))
        else:
            out[name] = value
    return out


def settings_diff(a: Path | None, b: Path | None) -> list[str]:
    """``key: A -> B`` for every config value that differs (results and report folders left out)."""
    if a is None or b is None:
        return []
    left, right = (flat(yaml.safe_load(p.read_text()) or {}) for p in (a, b))
    ignored = {"results", "report_dir"}
    return [
        f"{key}: {left.get(key, '(unset)')} -> {right.get(key, '(unset)')}"
        for key in sorted(set(left) | set(right))
        if key not in ignored and left.get(key) != right.get(key)
    ]


def _has_interval(row: pd.Series, side: str) -> bool:
    low, high = row[f"ci_low_{side}"], row[f"ci_high_{side}"]
    return not (pd.isna(low) or pd.isna(high))


def movement(row: pd.Series) -> str:
    """apart | overlapping | no interval (see the module docstring)."""
    if not (_has_interval(row, "a") and _has_interval(row, "b")):
        return "no interval"
    apart = row["ci_high_a"] < row["ci_low_b"] or row["ci_high_b"] < row["ci_low_a"]
    return "apart" if apart else "overlapping"


def compare(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """One row per (claim, scope) of either side: both verdicts and estimates, what moved."""
    merged = a.merge(b, on=["claim", "scope"], how="outer", suffixes=("_a", "_b"), indicator=True)
    merged["in"] = merged["_merge"].map({"both": "both", "left_only": "A only", "right_only": "B only"})
    merged["verdict_changed"] = (merged["in"] == "both") & (merged["verdict_a"] != merged["verdict_b"])
    merged["estimate_moved"] = merged.apply(movement, axis=1)
    merged["difference"] = merged["estimate_b"] - merged["estimate_a"]
    columns = ["claim", "scope", "in", "verdict_a", "verdict_b", "verdict_changed"]
    columns += ["estimate_a", "ci_low_a", "ci_high_a", "repeats_a", "estimate_b", "ci_low_b", "ci_high_b", "repeats_b"]
    columns += ["difference", "estimate_moved"]
    return merged[columns].reset_index(drop=True)


def _number(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.4g}"


def _estimate(row: pd.Series, side: str) -> str:
    est = _number(row[f"estimate_{side}"])
    if not est:
        return "-"
    if _has_interval(row, side):
        return f"{est} [{_number(row[f'ci_low_{side}'])}, {_number(row[f'ci_high_{side}'])}]"
    return est


def report(table: pd.DataFrame, settings: list[str], names: tuple[str, str]) -> str:
    """The comparison as text: settings that differ, then what moved, then the rest in one line."""
    lines = [f"A: {names[0]}", f"B: {names[1]}"]
    if settings:
        lines.append(f"Settings that differ ({len(settings)}):")
        lines += [f"  {s}" for s in settings]
    changed = table[table["verdict_changed"]]
    apart = table[(table["estimate_moved"] == "apart") & ~table["verdict_changed"]]
    lines.append(
        f"{len(table)} claim rows: {len(changed)} verdicts changed, {len(apart)} more estimates moved beyond their "
        f"95% intervals, {int((table['in'] == 'A only').sum())} only in A, {int((table['in'] == 'B only').sum())} "
        "only in B."
    )
    for title, rows in (("Verdicts that changed", changed), ("Estimates apart (intervals do not overlap)", apart)):
        if len(rows):
            lines.append(f"{title}:")
            for _, row in rows.iterrows():
                scope = f" [{row['scope']}]" if row["scope"] else ""
                lines.append(
                    f"  {row['claim']}{scope}: {row['verdict_a']} -> {row['verdict_b']}; "
                    f"{_estimate(row, 'a')} -> {_estimate(row, 'b')} ({row['estimate_moved']})"
                )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Compare two runs' claims: which verdicts changed and which estimates moved beyond their 95%% intervals. "
        "A and B: a claims.csv, a report folder or a results folder."
    )
    parser.add_argument("a", metavar="A", help="the earlier run (claims.csv, report folder or results folder)")
    parser.add_argument("b", metavar="B", help="the later run")
    parser.add_argument("--out", default="comparison.csv", help="the table, as CSV (default: comparison.csv)")


def run(args: argparse.Namespace) -> int:
    (path_a, config_a), (path_b, config_b) = claims_file(Path(args.a)), claims_file(Path(args.b))
    table = compare(read_claims(path_a), read_claims(path_b))
    print(report(table, settings_diff(config_a, config_b), (str(path_a), str(path_b))))
    if not str(args.out).strip():
        raise ConfigError("--out is empty; name the CSV file, e.g. --out comparison.csv")
    write_csv(args.out, table)
    print(f"wrote {args.out}")
    return 0
