"""One section of the report per experiment family, built from that family's result files."""

from __future__ import annotations

import pandas as pd

from bnnrepro.report.build import Context, Section, Table, settings_text
from bnnrepro.report.published import compare

PCT_MEMO = ("final_train_error", "final_test_error", "min_train_error", "final_train_error_class_min",
            "final_train_error_class_max")


def _dataset_settings(context: Context, family: str, dataset: str) -> dict:
    fam = context.family(family)
    merged = {**context.config.get("defaults", {}), **fam.get("settings", {}), **fam.get("dataset_settings", {}).get(dataset, {})}
    return merged


def memorization_section(context: Context) -> Section | None:
    if not context.enabled("memorization"):
        return None
    fam = context.family("memorization")
    summary = context.csv("memorization/summary.csv")
    cond = ["dataset", "binarization", "labels", "regularization"]
    metric_cols = [c for c in summary.columns if c not in cond + ["run", "seed"]]
    means = summary.groupby(cond, as_index=False, sort=False)[metric_cols].mean(numeric_only=True)
    means.insert(len(cond), "seeds", summary.groupby(cond, sort=False)["seed"].nunique().to_numpy())
    section = Section(
        "memorization", "Memorization of random labels (paper Figs 1-4)",
        "<p>Each condition trains a BNN on true labels, on uniform random labels (<b>randY</b>) or on "
        "Gaussian-noise inputs with true labels (<b>randX</b>), with no regularization, dropout or L2 "
        "(applied to the latent weights, as the original code intended but did not do), under "
        "deterministic or stochastic binarization. Train error is measured on the labels the model "
        "was trained on, test error on the true test labels. The paper: a deterministic BNN drives "
        "randY train error to about 0% (L2 does not prevent it), dropout slows memorization with a "
        "wide spread across classes, stochastic binarization leaves a train-error floor of about 30%. "
        "Note on L2: the paper's L2 runs had no effective penalty (a bug of the original code), so their "
        "result says nothing about a working L2; here L2 = coefficient x sum(W^2) over the latent weights "
        "of the dense layers, and its strength matters (see the regularizers in the settings).</p>",
    )
    datasets = list(dict.fromkeys(summary["dataset"]))
    regs = "; ".join(f"{name} = {settings_text(values) or 'nothing'}" for name, values in fam.get("regularizers", {}).items()
                     if name in set(summary["regularization"]))
    section.settings = "; ".join(f"{d}: {settings_text(_dataset_settings(context, 'memorization', d))}, "
                                 f"seeds {fam.get('seeds')}" for d in datasets) + f". Regularizers: {regs}."
    thresholds = [c for c in means.columns if c.startswith("epoch_train_below_")]
    shown = cond + ["seeds", "epochs", "final_train_error", "final_test_error", "min_train_error",
                    "final_train_error_class_min", "final_train_error_class_max"] + thresholds
    section.tables.append(Table("Final errors per condition (mean over seeds)", means[shown], percent=PCT_MEMO,
                                note="epoch_train_below_T: first epoch whose overall train error is below T "
                                     "(empty: never within the run)."))
    section.tables.append(Table("Published vs reproduced", compare("memorization", means, cond),
                                percent=(), note="Errors as fractions. A difference is computed only for the "
                                                  "same dataset; other rows compare across datasets."))
    for dataset in datasets:
        s = _dataset_settings(context, "memorization", dataset)
        for b in [b for b in ("det", "stoch") if b in set(summary["binarization"])]:
            section.figures.append(context.figure(
                f"figures/memorization/{dataset}-{b}-classwise.png",
                f"Class-wise train and test error by epoch, {dataset}, {b} binarization; one row per label mode, "
                f"one train/test pair per regularization; seed {min(fam.get('seeds', [0]))}. "
                f"Settings: {settings_text(s)}."))
        section.figures.append(context.figure(
            f"figures/memorization/{dataset}-overlay.png",
            f"Overall train (top) and test (bottom) error by epoch of every condition on {dataset}, mean over "
            f"seeds {fam.get('seeds')}; colour = regularization, dashed = stochastic binarization."))
    return section


def easy_examples_section(context: Context) -> Section | None:
    if not context.enabled("easy_examples"):
        return None
    fam = context.family("easy_examples")
    summary = context.csv("easy_examples/summary.csv")
    section = Section(
        "easy-examples", "Easy examples after one epoch (paper Fig 5)",
        "<p>Each condition trains for exactly one epoch from R random initialisations and data orders; "
        "for the same fixed random training examples we count the runs that classify each correctly. "
        "If every example were equally hard, the count would follow Binomial(R, p) with p the mean "
        "accuracy (expected for randX, whose inputs are noise). Real data should instead show many "
        "consistently easy examples: the paper reports about 600 of 1000 examples correct in at least "
        "50% of the runs for a deterministic BNN.</p>",
    )
    datasets = list(dict.fromkeys(summary["dataset"]))
    section.settings = "; ".join(f"{d}: {settings_text(_dataset_settings(context, 'easy_examples', d))}, 1 epoch, "
                                 f"R={fam.get('repeats')} runs, {fam.get('probe_size')} probe examples" for d in datasets)
    section.tables.append(Table("Per condition", summary, percent=("mean_accuracy",),
                                note="variance_ratio: variance of the per-example counts over the binomial's "
                                     "(1 = all examples equally hard); chi2_pvalue: goodness of fit to the binomial."))
    key = [c for c in summary.columns if c.startswith("examples_correct_ge_")]
    if key:
        section.tables.append(Table("Published vs reproduced",
                                    compare("easy_examples", summary.rename(columns={key[0]: "examples_correct_ge_0.5"}),
                                            ["dataset", "binarization", "labels"])))
    for dataset in datasets:
        section.figures.append(context.figure(
            f"figures/easy_examples/{dataset}-histogram.png",
            f"Number of runs (of {fam.get('repeats')}) classifying each of {fam.get('probe_size')} fixed training "
            f"examples correctly after one epoch on {dataset}, per label mode, with the Binomial(R, mean p) "
            f"expected if all examples were equally hard."))
    return section


def _report_layout(summary, published_rows) -> "pd.DataFrame":
    """The seed-003 report's tables: per arch, metric rows x (ours, report) for binary and float."""
    import pandas as pd

    metrics = [("train_seconds_total", "train time (s)"), ("seconds_per_epoch", "speed (s/epoch)"),
               ("train_accuracy", "training accuracy"), ("test_accuracy", "testing accuracy"),
               ("peak_rss_mb", "memory (MB, peak RSS)")]
    rows = []
    for arch in dict.fromkeys(summary["arch"]):
        for col, label in metrics:
            row = {"arch": arch, "metric": label}
            for variant in ("det", "stoch", "float"):
                ours = summary[(summary["arch"] == arch) & (summary["variant"] == variant)]
                if ours.empty:
                    continue
                row[f"{variant} (ours)"] = float(ours[col].mean())
                pub = [e["value"] for e in published_rows if e["condition"].get("arch") == arch
                       and e["condition"].get("variant") == variant and e["metric"] == col]
                row[f"{variant} (report)"] = pub[0] if pub else None
            rows.append(row)
    return pd.DataFrame(rows)


def efficiency_section(context: Context) -> Section | None:
    if not context.enabled("efficiency"):
        return None
    from bnnrepro.report.published import published

    fam = context.family("efficiency")
    summary = context.csv("efficiency/summary.csv")
    inference = context.csv("efficiency/inference.csv")
    section = Section(
        "efficiency", "Binary vs float MLPs: time, memory, accuracy (seed 003)",
        "<p>The Fashion-MNIST report trained 784-128-10 and 784-1024-10 MLPs as float networks and as "
        "BNNs with deterministic and stochastic binarization, and reported that the binary versions "
        "trained faster (seconds per epoch) and used less memory (process RSS through psutil). We "
        "measure the same quantities with the same kind of instrument on this machine, each timed job "
        "running alone, and add what the report did not: the inference cost of the trained models, "
        "float computation vs the bit-packed xnor-popcount path, and their size. Training a BNN in "
        "PyTorch still stores and updates real-valued latent weights, so there is no a priori reason "
        "for it to be faster or leaner than the float network; the numbers below say what happens.</p>",
    )
    datasets = list(dict.fromkeys(summary["dataset"]))
    section.settings = "; ".join(f"{d}: {settings_text(_dataset_settings(context, 'efficiency', d))}, "
                                 f"archs {fam.get('archs')}, seeds {fam.get('seeds')}, "
                                 f"{int(summary['threads'].max())} torch threads" for d in datasets)
    section.tables.append(Table("Laid out like the report's tables (report: batch 5000, 1000 epochs, their hardware)",
                                _report_layout(summary, published("efficiency")),
                                note="Accuracies as fractions; times in seconds; the report's numbers come from "
                                     "1000 epochs on other hardware, so compare ratios, not absolute times."))
    cols = ["dataset", "arch", "variant", "seed", "epochs", "seconds_per_epoch", "train_seconds_total",
            "peak_rss_mb", "cuda_peak_mb", "train_accuracy", "valid_accuracy", "test_accuracy",
            "binary_params", "fp32_bytes", "packed_bytes"]
    section.tables.append(Table("Per run", summary[[c for c in cols if c in summary.columns]],
                                percent=("train_accuracy", "valid_accuracy", "test_accuracy")))
    inf_cols = ["arch", "variant", "backend", "batch_size", "median_ms", "images_per_s", "exact_vs_float",
                "fp32_bytes", "packed_payload_bytes"]
    section.tables.append(Table("Inference of the trained models (float vs packed xnor path)", inference[inf_cols],
                                note="backend float: fp32 arithmetic on the +-1 values; torch: the bit-packed "
                                     "xnor-popcount product in plain torch; auto: the faster of the two per layer "
                                     "shape. The first layer (real-valued pixels) is always a float product. "
                                     "exact_vs_float: identical outputs to the float computation."))
    section.tables.append(Table("Published vs reproduced", compare("efficiency", summary, ["arch", "variant"])))
    section.figures.append(context.figure("figures/efficiency/curves.png",
                                          f"Error by epoch of each variant and architecture ({settings_text(_dataset_settings(context, 'efficiency', datasets[0]))})."))
    section.figures.append(context.figure("figures/efficiency/costs.png",
                                          "Training time per epoch (median over epochs), peak process RSS, test accuracy; "
                                          "inference latency at the smallest and throughput at the largest batch size, "
                                          "per variant and backend."))
    return section


def binaryconnect_section(context: Context) -> Section | None:
    if not context.enabled("binaryconnect"):
        return None
    fam = context.family("binaryconnect")
    summary = context.csv("binaryconnect/summary.csv")
    weights = context.csv("binaryconnect/weights.csv")
    section = Section(
        "binaryconnect", "BinaryConnect: binary weights as a regularizer (seed 004)",
        "<p>BinaryConnect binarizes only the weights (deterministically or stochastically) during the "
        "forward and backward passes; activations stay real (ReLU) and the real-valued weights "
        "accumulate the updates (clipped to [-1, 1]). At test time the deterministic version uses "
        "binary weights, the stochastic one the real weights, as in the original. The paper presents "
        "it as a regularizer comparable to dropout, and shows that binarization pushes the first "
        "layer's weights toward +-1. The seed-004 reproduction found BinaryConnect slightly worse "
        "than no regularizer on MNIST.</p>",
    )
    datasets = list(dict.fromkeys(summary["dataset"]))
    section.settings = "; ".join(f"{d}: {settings_text(_dataset_settings(context, 'binaryconnect', d))}, "
                                 f"seeds {fam.get('seeds')}" for d in datasets)
    means = summary.groupby(["dataset", "variant"], as_index=False, sort=False).mean(numeric_only=True)
    section.tables.append(Table("Test error and training time (mean over seeds)",
                                means[["dataset", "variant", "epochs", "final_train_error", "final_test_error",
                                       "test_error_at_best_valid", "best_valid_epoch", "train_minutes"]],
                                percent=("final_train_error", "final_test_error", "test_error_at_best_valid")))
    section.tables.append(Table("First-layer weights", weights.drop(columns=["run"]),
                                note="frac_abs_above_0.9: share of latent weights within 10% of the clipping bound "
                                     "(10% at the Uniform(-1, 1) initialisation of binary layers); frac_near_max: "
                                     "share within 10% of the layer's largest |w| (comparable for float layers)."))
    section.tables.append(Table("Published vs reproduced", compare("binaryconnect", means, ["variant"]),
                                note="The papers trained on MNIST / CIFAR-10 for hundreds of epochs; a difference "
                                     "is shown only for the same dataset."))
    for d in datasets:
        section.figures.append(context.figure(f"figures/binaryconnect/{d}-curves.png",
                                              f"Training loss, validation and test error by epoch on {d}, per regularizer."))
        section.figures.append(context.figure(f"figures/binaryconnect/{d}-features.png",
                                              f"First-layer features on {d}: weights of 64 units of the first layer as "
                                              "28x28 tiles, per regularizer (BinaryConnect paper Fig 1)."))
        section.figures.append(context.figure(f"figures/binaryconnect/{d}-histograms.png",
                                              f"Histogram of the first layer's weights on {d}, per regularizer "
                                              "(BinaryConnect paper Fig 2)."))
    return section


def _lut_tables(context: Context, dataset: str, prefix: str):
    import pandas as pd

    files = sorted((context.results / "lutnet" / dataset).glob(f"{prefix}*.csv"))
    return pd.concat([context.csv(str(f.relative_to(context.results))) for f in files], ignore_index=True) if files else None


def lutnet_section(context: Context) -> Section | None:
    if not context.enabled("lutnet"):
        return None
    fam = context.family("lutnet")
    section = Section(
        "lutnet", "Networks of lookup tables trained by memorization (seed 002)",
        "<p>Chatterjee (2018) builds layers of k-input lookup tables (luts) wired at random; each lut "
        "memorizes, for every input pattern, the class most often seen with it in the training set "
        "(ties and unseen patterns broken at random), layer by layer, and a final lut predicts. The "
        "paper finds that such pure memorization generalizes well above chance on Binary-MNIST "
        "(0-4 vs 5-9, 1-bit pixels) and Binary-CIFAR-10, less so as k grows, and that random labels are "
        "harder to fit than real ones. Here on the datasets of this config; the paper's numbers (MNIST, "
        "CIFAR-10) are shown beside ours for the shape of the results, not as a like-for-like check.</p>",
    )
    section.settings = (f"{fam.get('hidden_layers')} hidden layers of {fam.get('width')} luts + 1 output lut; "
                        f"network seeds {fam.get('seeds')}; random-label draws (data seeds) {fam.get('data_seeds')}; "
                        f"table 1: k {fam['table1'].get('k')}, {fam['table1'].get('train_size') or 'all'} training examples; "
                        f"table 3: k {fam['table3'].get('k')}; pairwise: k {fam['pairwise'].get('k')}.")
    keys = ["dataset", "method", "k", "split"]
    for dataset in fam.get("datasets", []):
        t1 = _lut_tables(context, dataset, "table1")
        if t1 is not None:
            means = t1.groupby(["dataset", "method", "k", "split"], dropna=False, as_index=False)["accuracy"].mean()
            # The baselines have no k: show it blank rather than let the pivot drop (or cross) NaN keys.
            shown_k = means.assign(k=means["k"].map(lambda v: "" if pd.isna(v) else str(int(v))))
            wide = shown_k.pivot_table(index=["method", "k"], columns="split", values="accuracy").reset_index()
            wide.columns.name = None
            wide = wide.sort_values("test", ascending=False)[["method", "k", "train", "test"]]
            section.tables.append(Table(f"Table 1: Binary-{dataset}, memorization vs standard methods (accuracy)", wide))
            section.tables.append(Table("Table 1, paper vs ours",
                                        compare("lutnet", means.assign(table="table1"), keys, only={"table": "table1"})))
            section.figures.append(context.figure(f"figures/lutnet/{dataset}-table1.png",
                                                  f"Train and test accuracy on Binary-{dataset} of memorization and the "
                                                  "baselines (library defaults, seeded; the conv net is a small LeNet)."))
        t2 = _lut_tables(context, dataset, "table2")
        if t2 is not None:
            shown = t2[["layer", "kind", "split", "count", "mean", "std", "min", "max"]]
            section.tables.append(Table(f"Table 2: layer-by-layer accuracy of the luts, k = {t2['k'].iloc[0]}, Binary-{dataset}", shown))
            section.figures.append(context.figure(f"figures/lutnet/{dataset}-table2.png",
                                                  "Mean (line) and range (band) of the accuracy of the luts of each layer."))
        t3 = _lut_tables(context, dataset, "table3")
        if t3 is not None:
            means = t3.groupby(["dataset", "k", "labels", "split"], as_index=False)["accuracy"].agg(["mean", "min", "max"])
            wide = means.pivot_table(index="k", columns=["labels", "split"], values="mean")
            wide.columns = [f"{lab} {split}" for lab, split in wide.columns]
            section.tables.append(Table(f"Table 3: accuracy against k on real and random labels, Binary-{dataset} "
                                        "(mean over seeds / random-label draws)", wide.reset_index()))
            ours = means.rename(columns={"mean": "accuracy"}).assign(table="table3")
            section.tables.append(Table("Table 3, paper (Binary-MNIST) vs ours",
                                        compare("lutnet", ours, ["k", "labels", "split"], only={"table": "table3"})))
            section.figures.append(context.figure(f"figures/lutnet/{dataset}-table3.png",
                                                  "Accuracy against k; solid = train, dashed = test; green = real labels, "
                                                  "orange = random labels; band = range over seeds and random-label draws."))
        pw = _lut_tables(context, dataset, "pairwise")
        if pw is not None:
            fits = pw.pivot_table(index=["class_a", "class_b", "k", "seed"], columns="split", values="accuracy").reset_index()
            fits["gap"] = fits["train"] - fits["test"]
            summary = fits.groupby("k").agg(pairs=("gap", "size"), train_mean=("train", "mean"), test_mean=("test", "mean"),
                                            test_min=("test", "min"), gap_mean=("gap", "mean"), gap_max=("gap", "max")).reset_index()
            section.tables.append(Table(f"Pairwise tasks (Table 4 / Figure 1), Binary pairs of {dataset}", summary))
            section.figures.append(context.figure(f"figures/lutnet/{dataset}-pairwise.png",
                                                  f"Left: the 45 pairwise tasks at k = {max(fam['pairwise']['k'])}, train accuracy "
                                                  "below the diagonal and test above (the paper's Table 4). Right: the "
                                                  "generalization gap against k over the pairs (the paper's Figure 1)."))
    return section if section.tables else None


def kernels_section(context: Context) -> Section | None:
    if not context.enabled("kernels"):
        return None
    from bnnrepro.experiments.kernels import best_packed, load, speedup_table

    fam = context.family("kernels")
    bench = load(context.results / "kernels/kernel_bench.csv")
    section = Section(
        "kernels", "Xnor-popcount kernel: packed binary products vs matmul (BinaryNet's run-time kernel)",
        "<p>When both the activations and the weights of a layer are +-1, their dot product of length K is "
        "K - 2 popcount(a xor b) on bit-packed operands (32 values per int32 word): 32x less weight memory "
        "than fp32 and no multiplications. BinaryNet's GPU kernel was reported 3.4x faster than cuBLAS at "
        "8192<sup>3</sup> on a GTX 750. Here every product is checked for exact equality with the float "
        "result and timed against torch.matmul on the same device: on a CPU the plain-torch packed path "
        "against fp32, on a GPU also the Triton popcount and int8 kernels against fp16 and bf16.</p>",
    )
    devices = ", ".join(dict.fromkeys(bench["device_type"] + ": " + bench["device"]))
    section.settings = (f"{devices}; batch M {fam.get('batch')}; K = N {fam.get('sizes')}; timer "
                        f"{bench['timer'].iloc[0]}; {int(bench['threads'].iloc[0])} torch threads; "
                        f"torch {bench['torch_version'].iloc[0]}, triton {bench['triton_version'].fillna('').iloc[0]}.")
    if (bench["device_type"] == "cpu").all():
        section.notes.append("This run had no GPU: the Triton kernels and the fp16/bf16 products were not timed "
                             "(the Triton interpreter, which the tests use on CPU, is no performance path). The "
                             "paper preset runs the benchmark on CUDA.")
    section.tables.append(Table("Median time per product and speedup over fp32 matmul", speedup_table(bench),
                                note="implementation: the weights are always pre-packed; 'packed inside' times the "
                                     "packing of the activations too. exact: equal to the float product on +-1 values. "
                                     "auto_choice: what the `auto` backend of BinaryLinear picks for this shape."))
    ours = best_packed(bench).rename(columns={"device": "dataset"})
    section.tables.append(Table("Published vs reproduced",
                                compare("kernels", ours, ["M", "K", "N"]),
                                note="The published dataset column is the GPU here; numbers from another device "
                                     "are shown side by side, not subtracted."))
    section.figures.append(context.figure("figures/kernels/speedup.png",
                                          f"Speedup of the packed product over fp32 torch.matmul against the batch M, "
                                          f"per weight size K = N, on {devices}; solid: activations packed inside the "
                                          "timing, dashed: pre-packed; above the dotted line the packed product is faster."))
    return section


SECTION_BUILDERS = [memorization_section, easy_examples_section, efficiency_section, binaryconnect_section,
                    lutnet_section, kernels_section]
