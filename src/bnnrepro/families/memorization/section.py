"""Memorization family: its section of the report (text, tables, figures and glance rows), read from its
tables.
"""

from __future__ import annotations

from bnnrepro.families.base import base_settings, count, dataset_name
from bnnrepro.families.memorization.declaration import CONDITION, NAME, figures, tables
from bnnrepro.families.reporting import Col, Context, Glance, Section, Table, examples_text, interval_column, model_text
from bnnrepro.families.sources import cite, paper_vs_ours

COLUMNS = {
    "final_train_error": Col("Final train error", "pct"),
    "final_test_error": Col("Final test error", "pct"),
    "min_train_error": Col("Lowest train error", "pct"),
    "final_train_error_class_min": Col("Best class, train error", "pct"),
    "final_train_error_class_max": Col("Worst class, train error", "pct"),
    "train_error_low": Col("Train error, 95% CI low", "pct"),
    "train_error_high": Col("Train error, 95% CI high", "pct"),
    "test_error_low": Col("Test error, 95% CI low", "pct"),
    "test_error_high": Col("Test error, 95% CI high", "pct"),
}


def settings_text(settings: dict) -> str:
    keys = (
        "arch",
        "hidden",
        "width",
        "mode",
        "train_size",
        "test_size",
        "epochs",
        "batch_size",
        "lr_start",
        "lr_end",
        "optimizer",
        "loss",
        "dropout",
        "l2",
        "l2_gradient",
    )
    return ", ".join(f"{k}={settings[k]}" for k in keys if k in settings)


def section(context: Context) -> Section:
    from bnnrepro.families.memorization.declaration import runs

    fam = context.section(NAME)
    paths = tables(context.config)
    summary = context.csv(paths["summary"])
    conds = context.csv(paths["conditions"])
    regs = fam.get("regularizers", {})
    section = Section(
        NAME,
        "Memorization of random labels",
        f"<p>{cite('mehta2017', 'Figs 1-4')} train BNNs on uniform random labels (<b>randY</b>) and report that "
        "a deterministic BNN fits them (train error near 0%) even with L2 weight decay, while dropout and "
        "stochastic binarization slow memorization (per-class train error of about 18-46% with dropout, a floor of "
        "about 30% with stochastic binarization). Here every condition trains on true labels, randY, or Gaussian "
        f"inputs with true labels (<b>randX</b>, listed as future work by the paper; the randomization tests of "
        f"{cite('zhang2017')}), with and without regularization. Train error is measured against the labels "
        "trained on, test error against the true test labels (chance: 90%).</p>"
        "<p><b>L2.</b> The original code put the L2 penalty on the real-valued weights but took the gradient with "
        "respect to the binarized ones, so the penalty never reached the weights: the paper's Fig 2 rests on an "
        "inert penalty. <code>l2_inert</code> runs that code path (and is checked to equal no regularization), "
        "<code>l2</code> applies the paper's coefficient to the latent weights as intended, and the L2 sweep shows "
        "where a working penalty starts to stop memorization.</p>",
    )
    datasets = list(dict.fromkeys(summary["dataset"]))
    section.settings = (
        "; ".join(f"{d}: {settings_text(base_settings(context.config, NAME, d))}" for d in datasets)
        + ". Regularizers: "
        + "; ".join(
            f"{name} = {settings_text(values) or 'nothing'}"
            for name, values in regs.items()
            if name in set(summary["regularization"])
        )
        + f". Seeds {fam.get('seeds')}."
    )
    shown = conds.copy()
    shown["train_ci"] = interval_column(shown, "train_error_low", "train_error_high")
    shown["test_ci"] = interval_column(shown, "test_error_low", "test_error_high")
    cols = [
        "dataset",
        "binarization",
        "labels",
        "regularization",
        "seeds",
        "final_train_error",
        "train_ci",
        "final_test_error",
        "test_ci",
        "final_train_error_class_min",
        "final_train_error_class_max",
    ]
    section.tables.append(
        Table(
            "Final errors per condition: mean over seeds and 95% interval",
            shown[cols],
            {
                **COLUMNS,
                "train_ci": Col("Train error, 95% CI", "interval_pct"),
                "test_ci": Col("Test error, 95% CI", "interval_pct"),
            },
            note="t-interval over seeds (blank with a single seed); class columns: the mean over seeds of the best and "
            "worst class's final train error. Per-run numbers and the epochs to reach each train-error "
            "threshold are in the CSV.",
            csv=paths["conditions"],
        )
    )
    metrics = {
        "final_train_error": "final train error",
        "final_test_error": "final test error",
        "final_train_error_class_min": "best class, train error",
        "final_train_error_class_max": "worst class, train error",
    }
    pvo, notes = paper_vs_ours(NAME, conds, ["binarization", "labels", "regularization"], metrics)
    section.tables.append(
        Table(
            "Paper vs this run",
            pvo,
            {"paper": Col("Paper", "pct"), "ours": Col("This run", "pct"), "difference": Col("Difference", "pp")},
            note="A difference only where the dataset is the same.",
            footnotes=notes,
        )
    )
    for spec in figures(context.config):
        section.figures.append(context.figure(spec, paths["curves"] if spec.kind != "l2_sweep" else paths["summary"]))
    mine = runs(context.config)
    for d in datasets:
        s = base_settings(context.config, NAME, d)
        seeds: dict[tuple, set] = {}
        for r in mine:
            if r.dataset == d:
                seeds.setdefault(tuple(r.condition[c] for c in CONDITION if c in r.condition), set()).add(
                    r.condition["seed"]
                )
        counts = sorted({len(v) for v in seeds.values()}) or [0]
        per = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
        section.glance.append(
            Glance(
                family=NAME,
                what="this run",
                dataset=dataset_name(d),
                model=model_text(s),
                training_examples=examples_text(s),
                epochs=str(s.get("epochs", "")),
                repeats=f"{per} seed{'s' if per != '1' else ''} per condition, {count(len(seeds), 'condition')}",
                hardware="",
            )
        )
    section.glance.insert(
        0,
        Glance(
            family=NAME,
            what="paper",
            dataset="CIFAR-10, SVHN",
            model="BinaryNet CNNs",
            training_examples="45,000 / 73,257",
            epochs="500-1500",
            repeats="1 run per condition (unseeded)",
            hardware="GPU",
        ),
    )
    return section
