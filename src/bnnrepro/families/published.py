"""Claims that a run reproduces the numbers a source publishes (``sources.yaml``, ``published``).

A family whose per-run table has one row per seed with the published metrics as columns (the
memorization summary, the BinaryConnect runs) gets one claim over all its published numbers: per
number, the mean over seeds of the same metric in the same condition and dataset, its 95%
t-interval over seeds, and the verdict against a band around the published value
(``claims.published_tolerance``, wider for numbers read off a figure or stated with "~":
``claims.published_tolerance_approx``). Datasets this machine cannot download (CIFAR-10, SVHN,
MNIST) are the paper preset's: on the default config these numbers are "not run" and say so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from bnnrepro import stats
from bnnrepro.families.base import dataset_name
from bnnrepro.families.reporting import ClaimResult, Context, not_run, result
from bnnrepro.families.sources import canonical, cite, published

#: How the claims name the published metrics.
METRIC_NAMES = {
    "final_train_error": "final train error",
    "final_test_error": "final test error",
    "final_train_error_class_min": "best class's final train error",
    "final_train_error_class_max": "worst class's final train error",
    "test_error_at_best_valid": "test error at the best validation epoch",
}
PAPER_PRESET = "workflow/configs/paper.yaml"


def _condition_text(condition: Mapping) -> str:
    return "/".join(canonical(v) for v in condition.values())


def published_numbers(family: str, tables: Callable[[Mapping], Mapping[str, str]], table: str) -> Callable:
    """The check of "this run reproduces ``family``'s published numbers", reading ``table`` (one row
    per run with ``dataset``, ``seed``, the condition columns and the metrics)."""

    def check(context: Context) -> list[ClaimResult]:
        tolerance = float(context.thresholds["published_tolerance"])
        approx_tolerance = float(context.thresholds["published_tolerance_approx"])
        frame = context.csv(tables(context.config)[table])
        out = []
        for entry in published(family):
            metric, value, dataset = entry["metric"], float(entry["value"]), entry["dataset"]
            if metric not in METRIC_NAMES:
                continue
            width = approx_tolerance if entry.get("approx") else tolerance
            key = "published_tolerance_approx" if entry.get("approx") else "published_tolerance"
            threshold = stats.within(
                max(0.0, value - width),
                min(1.0, value + width),
                "pct",
                f"{cite(entry['ref'], entry.get('where', ''))}: {100 * value:g}% +- claims.{key}",
            )
            condition = entry.get("condition", {})
            scope = f"{dataset} {_condition_text(condition)}: {METRIC_NAMES[metric]}"
            rows = frame[frame["dataset"] == dataset]
            if rows.empty:
                out.append(
                    not_run(
                        scope,
                        f"not run: needs the paper preset (GPU, {dataset_name(dataset)} cannot be downloaded here): "
                        f"--configfile {PAPER_PRESET}",
                        threshold,
                    )
                )
                continue
            for column, wanted in condition.items():
                if column in rows.columns:
                    rows = rows[rows[column].map(canonical) == canonical(wanted)]
            if rows.empty or metric not in rows.columns:
                out.append(not_run(scope, f"condition {_condition_text(condition)} is not in this config", threshold))
                continue
            values = rows.groupby("seed")[metric].mean()
            est = stats.bounded(stats.mean_interval(values, unit="seeds"))
            out.append(
                result(
                    scope,
                    stats.judge(est, threshold),
                    f"mean over seeds against the published {100 * value:g}%"
                    + (f" ({entry['note']})" if entry.get("note") else ""),
                )
            )
        return out or [not_run("", f"{family} publishes no number this table holds")]

    return check


def published_entries(family: str) -> Sequence[dict]:
    """The published numbers of ``family`` that :func:`published_numbers` checks."""
    return [entry for entry in published(family) if entry["metric"] in METRIC_NAMES]
