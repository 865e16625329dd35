"""BinaryConnect family: its section of the report (text, tables, figures and glance rows), read from its
tables.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from bnnrepro.families.base import base_settings, count, dataset_name
from bnnrepro.families.binaryconnect.declaration import NAME, figures, runs, tables
from bnnrepro.families.binaryconnect.tables import ERROR_METRIC, INITIAL_SHARE, ordered_variants, variant_label
from bnnrepro.families.reporting import Col, Context, Glance, Section, Table, interval_column
from bnnrepro.families.sources import cite, published

COLUMNS = {
    "variant_label": Col("Method"),
    "final_train_error": Col("Final train error", "pct"),
    "final_test_error": Col("Final test error", "pct2"),
    "test_error_at_best_valid": Col("Test error at best validation epoch", "pct2"),
    "best_valid_epoch": Col("Best validation epoch", "num"),
    "train_seconds": Col("Training time (s)", "num"),
    "seconds_per_epoch": Col("Seconds per epoch", "num"),
    "share_saturated": Col("Share |w| > 0.9", "pct"),
    "share_at_bound": Col("Share |w| = 1", "pct"),
    "mean_abs": Col("Mean |w|", "num"),
    "max_abs": Col("Largest |w|", "num"),
    "share_near_max": Col("Share |w| > 0.9 max |w|", "pct"),
}


SETTING_KEYS = (
    "arch",
    "width",
    "train_size",
    "valid_size",
    "test_size",
    "epochs",
    "batch_size",
    "lr_start",
    "lr_end",
    "optimizer",
    "loss",
)


def settings_text(settings: dict, keys: Iterable[str] = SETTING_KEYS) -> str:
    return ", ".join(f"{k}={settings[k]}" for k in keys if k in settings)


def paper_layout(variants_table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Col], list[str]]:
    """Test error by method as the papers' tables lay it out (Courbariaux et al. 2015 Table 2, Luo et
    al. 2016 Table 1): one row per method, one column per published (dataset, source), then ours
    per dataset. Returns (frame, columns, footnotes)."""
    entries = [e for e in published(NAME) if e["metric"] in (ERROR_METRIC, "final_test_error")]
    variants = ordered_variants(list(variants_table["variant"]) + [e["condition"]["variant"] for e in entries])
    frame = pd.DataFrame({"variant_label": [variant_label(v) for v in variants]}, index=variants)
    columns: dict[str, Col] = {"variant_label": Col("Method")}
    footnotes: list[str] = []
    metric_words = {ERROR_METRIC: "at best validation epoch", "final_test_error": "final"}
    for entry in entries:
        source = cite(entry["ref"], entry.get("where", ""))
        column = f"{entry['dataset']}|{entry['ref']}|{entry['metric']}"
        if column not in columns:
            marker = ""
            if entry.get("note"):
                note = f"{source}: {entry['note']}"
                if note not in footnotes:
                    footnotes.append(note)
                marker = f" [{footnotes.index(note) + 1}]"
            columns[column] = Col(
                f"{dataset_name(entry['dataset'])}, {source} ({metric_words[entry['metric']]}){marker}", "pct2"
            )
            frame[column] = np.nan
        frame.loc[entry["condition"]["variant"], column] = entry["value"]
    for dataset, ours in variants_table.groupby("dataset", sort=False):
        ours = ours.set_index("variant")
        label = dataset_name(dataset)
        for column, header, fmt in (
            (ERROR_METRIC, f"{label}, this run (at best validation epoch)", "pct2"),
            ("ci", f"{label}, this run, 95% CI", "interval_pct"),
            ("final_test_error", f"{label}, this run (final)", "pct2"),
        ):
            key = f"{dataset}|ours|{column}"
            values = (
                interval_column(ours, f"{ERROR_METRIC}_low", f"{ERROR_METRIC}_high") if column == "ci" else ours[column]
            )
            frame[key] = pd.Series(values, dtype=object).reindex(frame.index)
            columns[key] = Col(header, fmt)
    return frame.reset_index(drop=True), columns, [f"[{i + 1}] {n}" for i, n in enumerate(footnotes)]


def time_layout(variants_table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Col], list[str]]:
    """Training time by method, laid out as Luo et al. 2016 Table 2 (their minutes beside our seconds)."""
    entries = [e for e in published(NAME) if e["metric"] == "train_minutes"]
    variants = ordered_variants(list(variants_table["variant"]) + [e["condition"]["variant"] for e in entries])
    frame = pd.DataFrame({"variant_label": [variant_label(v) for v in variants]}, index=variants)
    columns = {"variant_label": Col("Method")}
    footnotes = []
    for entry in entries:
        source = cite(entry["ref"], entry.get("where", ""))
        column = f"{entry['dataset']}|{entry['ref']}"
        if column not in columns:
            detail = f", {entry['note']}" if entry.get("note") else ""
            columns[column] = Col(f"{dataset_name(entry['dataset'])}, {source}: minutes per run{detail}", "num")
            frame[column] = np.nan
            footnotes.append(source)
        frame.loc[entry["condition"]["variant"], column] = entry["value"]
    for dataset, ours in variants_table.groupby("dataset", sort=False):
        ours = ours.set_index("variant")
        for column, header in (
            ("train_seconds", "seconds per run (training, without evaluation)"),
            ("seconds_per_epoch", "seconds per epoch"),
        ):
            key = f"{dataset}|ours|{column}"
            frame[key] = ours[column].reindex(frame.index)
            columns[key] = Col(f"{dataset_name(dataset)}, this run: {header}", "num")
    return frame.reset_index(drop=True), columns, [f"[{i + 1}] {s}" for i, s in enumerate(footnotes)]


QUANTITY_LABELS = {
    "share_saturated": "share of first-layer weights with |w| > 0.9",
    ERROR_METRIC: "test error at best validation epoch",
    "final_test_error": "final test error",
}


def section(context: Context) -> Section:
    fam = context.section(NAME)
    paths = tables(context.config)
    variants_table = context.csv(paths["variants"])
    compared = context.csv(paths["comparisons"])
    result = Section(
        NAME,
        "BinaryConnect: binary weights as a regularizer",
        f"<p>{cite('courbariaux2015')} binarize only the weights (deterministically, or stochastically with "
        "probability hard_sigmoid(w) of +1) during the forward and backward passes; activations stay real (ReLU) "
        "and real-valued <i>latent</i> weights accumulate the updates, initialised Uniform(-1, 1), with a "
        "Glorot-scaled learning rate and clipped to [-1, 1]. At test time the deterministic version uses the "
        "binary weights, the stochastic one the real weights. The paper presents BinaryConnect as a regularizer "
        f"comparable to dropout ({cite('courbariaux2015', 'Table 2')}) and shows that the first layer's latent "
        f"weights are pushed toward +-1 ({cite('courbariaux2015', 'Fig. 2')}). The reproduction of "
        f"{cite('luo2016')} found BinaryConnect no better than no regularizer on MNIST "
        f"({cite('luo2016', 'Table 1')}).</p>"
        "<p><b>The control.</b> Clipping plus Glorot-scaled Adam steps saturate latent weights whatever the data "
        "and whatever the binarization, so comparing BinaryConnect's share of |w| &gt; 0.9 with the 10% at "
        "initialisation proves nothing about binarization. The control <code>bc_real</code> trains the same "
        "network with the same recipe (initialisation, learning-rate scale, clipping) but real-valued weights in "
        "the forward pass; the saturation claim counts only BinaryConnect's excess over it, paired by seed.</p>",
    )
    datasets = list(dict.fromkeys(variants_table["dataset"]))
    variant_settings = fam.get("variant_settings", {})
    result.settings = (
        "; ".join(f"{dataset_name(d)}: {settings_text(base_settings(context.config, NAME, d))}" for d in datasets)
        + ". Variants: "
        + "; ".join(
            f"{v} = {settings_text(variant_settings.get(v, {}), tuple(variant_settings.get(v, {})))}"
            for v in ordered_variants(variants_table["variant"])
        )
        + f". Seeds {fam.get('seeds')}."
    )

    frame, columns, notes = paper_layout(variants_table)
    result.tables.append(
        Table(
            "Test error by method, laid out as Courbariaux et al. 2015 Table 2 and Luo et al. 2016 Table 1",
            frame,
            columns,
            note="Published numbers on their datasets beside ours (mean over seeds, 95% t-interval); the "
            "datasets differ, so nothing is subtracted. 'At best validation epoch': the test error at the "
            "epoch of lowest validation error, as the BinaryConnect paper reports.",
            csv=paths["variants"],
            footnotes=notes,
        )
    )

    shown = variants_table.copy()
    shown["variant_label"] = shown["variant"].map(variant_label)
    shown["saturation_ci"] = interval_column(shown, "share_saturated_low", "share_saturated_high")
    result.tables.append(
        Table(
            "First-layer latent weights per variant: mean over seeds",
            shown[
                [
                    "dataset",
                    "variant_label",
                    "seeds",
                    "share_saturated",
                    "saturation_ci",
                    "share_at_bound",
                    "mean_abs",
                    "max_abs",
                    "share_near_max",
                    "final_train_error",
                    "best_valid_epoch",
                ]
            ],
            {**COLUMNS, "saturation_ci": Col("Share |w| > 0.9, 95% CI", "interval_pct")},
            note=f"At the Uniform(-1, 1) initialisation of the BinaryConnect layers {100 * INITIAL_SHARE:.0f}% of the "
            "weights have |w| > 0.9; the float variants start from PyTorch's default initialisation, so only the "
            "share within 10% of the layer's own largest |w| compares across all variants. Per-run numbers: "
            + paths["weights"]
            + ".",
            csv=paths["variants"],
        )
    )

    if len(compared):
        shown = compared.copy()
        shown["comparison"] = shown["variant"].map(variant_label) + " minus " + shown["reference"].map(variant_label)
        shown["quantity"] = shown["quantity"].map(lambda q: QUANTITY_LABELS.get(q, q))
        shown["ci"] = interval_column(shown, "low", "high")
        result.tables.append(
            Table(
                "Paired comparisons (by seed): difference of the means and its 95% interval",
                shown[
                    ["dataset", "quantity", "comparison", "variant_mean", "reference_mean", "difference", "ci", "seeds"]
                ],
                {
                    "quantity": Col("Quantity"),
                    "comparison": Col("Comparison"),
                    "variant_mean": Col("Variant", "pct2"),
                    "reference_mean": Col("Reference", "pct2"),
                    "difference": Col("Difference", "pp"),
                    "ci": Col("Difference, 95% CI (points)", "interval_pct"),
                    "seeds": Col("Seeds (pairs)", "int"),
                },
                note="t-interval of the mean of the per-seed differences (blank with a single seed).",
                csv=paths["comparisons"],
            )
        )

    frame, columns, notes = time_layout(variants_table)
    execution = base_settings(context.config, NAME, datasets[0]) if datasets else {}
    result.tables.append(
        Table(
            "Training time by method, laid out as Luo et al. 2016 Table 2",
            frame,
            columns,
            note="Their minutes on their GPU for the full MNIST training beside our seconds for this config's runs "
            f"(mean over seeds; device {execution.get('device')}, {execution.get('threads')} torch thread(s) per "
            "run; wall time of the training epochs, so other jobs on the machine slow it): the shapes compare, "
            "the values do not.",
            csv=paths["variants"],
            footnotes=notes,
        )
    )

    data_of = {
        "curves": "curves",
        "errors": "runs",
        "saturation": "weights",
        "histograms": "histograms",
        "features": "features",
    }
    for spec in figures(context.config):
        result.figures.append(context.figure(spec, paths[data_of[spec.kind]]))
    mine = runs(context.config)
    result.glance.append(
        Glance(
            family=NAME,
            what="paper",
            dataset="MNIST, CIFAR-10, SVHN",
            model="MLP 3 x 1024 ReLU (MNIST), CNNs (CIFAR-10, SVHN)",
            training_examples="MNIST: 50,000 (+10,000 validation)",
            epochs="MNIST: 1000",
            repeats="see Courbariaux et al. 2015, Table 2",
            hardware="GPU",
        )
    )
    for dataset in datasets:
        s = base_settings(context.config, NAME, dataset)
        train = f"{s['train_size']:,}" if s.get("train_size") else "all"
        result.glance.append(
            Glance(
                family=NAME,
                what="this run",
                dataset=dataset_name(dataset),
                model=model_text(s),
                training_examples=f"{train} (+{s.get('valid_size', 0):,} validation)",
                epochs=str(s.get("epochs", "")),
                repeats=count(len({r.condition["seed"] for r in mine if r.dataset == dataset}), "seed")
                + " per variant",
                hardware="",
            )
        )
    return result


def model_text(settings: dict) -> str:
    """'binaryconnect_mlp: 3 x 256 hidden units (width 0.25)' from a run's settings."""
    from bnnrepro.nn.models import ModelSpec

    arch, width = settings.get("arch", "mlp"), settings.get("width", 1.0)
    spec = ModelSpec(arch=arch, width=width, hidden=tuple(settings.get("hidden") or ()) or None)
    scale = f" (width {width:g})" if width != 1 else ""
    if spec.conv_channels():
        return arch + scale
    sizes = spec.dense_sizes()
    layers = f"{len(sizes)} x {sizes[0]}" if len(set(sizes)) == 1 else " - ".join(map(str, sizes))
    return f"{arch}: {layers} hidden units{scale}"
