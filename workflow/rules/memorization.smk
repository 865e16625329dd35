# Memorization (paper Figs 1-4): binarization x dataset x labels x regularization x seed.
MEMORIZATION = bw.runs_by_key(bw.memorization_runs(config))
MEMO_DATASETS = sorted({run.dataset for run in MEMORIZATION.values()})
MEMO_BINARIZATIONS = sorted({run.condition["binarization"] for run in MEMORIZATION.values()})


rule memorization_train:
    input:
        data=lambda w: data_marker(w.dataset),
    output:
        metrics=R("memorization/{dataset}/{run}/metrics.csv"),
        summary=R("memorization/{dataset}/{run}/summary.json"),
    params:
        args=lambda w: MEMORIZATION[f"{w.dataset}/{w.run}"].cli_args(),
        out=lambda w: R(f"memorization/{w.dataset}/{w.run}"),
        torch_threads=TRAIN_THREADS,
        code=code_version("train"),
    threads: TRAIN_JOB_THREADS
    resources:
        **train_resources(),
    log:
        R("logs/memorization/{dataset}/{run}.log"),
    benchmark:
        R("benchmarks/memorization_train/{dataset}/{run}.tsv")
    wildcard_constraints:
        run="[^/]+",
    conda:
        ENV
    shell:
        "python -m bnnrepro train --out {params.out} {params.args} --threads {params.torch_threads} > {log} 2>&1"


rule memorization_aggregate:
    input:
        [R(f"memorization/{key}/metrics.csv") for key in MEMORIZATION],
    output:
        curves=R("memorization/curves.csv"),
        summary=report(R("memorization/summary.csv"), caption="../report/memorization_summary.rst",
                       category="Memorization"),
    params:
        thresholds=config["memorization"]["thresholds"],
        code=code_version("memorization"),
    log:
        R("logs/memorization/aggregate.log"),
    benchmark:
        R("benchmarks/memorization_aggregate/all.tsv")
    conda:
        ENV
    shell:
        "python -m bnnrepro memorization aggregate {input} --curves {output.curves} --summary {output.summary}"
        " --thresholds {params.thresholds} > {log} 2>&1"


rule memorization_plot_classwise:
    input:
        R("memorization/curves.csv"),
    output:
        png=report(REPORT("figures/memorization/{dataset}-{binarization}-classwise.png"),
               caption="../report/memorization_classwise.rst", category="Memorization",
               subcategory="{dataset}"),
        svg=REPORT("figures/memorization/{dataset}-{binarization}-classwise.svg"),
    params:
        code=code_version("memorization"),
    log:
        R("logs/memorization/plot-{dataset}-{binarization}-classwise.log"),
    wildcard_constraints:
        binarization="det|stoch",
    conda:
        ENV
    shell:
        "python -m bnnrepro memorization plot --kind classwise --curves {input} --dataset {wildcards.dataset}"
        " --binarization {wildcards.binarization} --out {output.png} > {log} 2>&1"


rule memorization_plot_overlay:
    input:
        R("memorization/curves.csv"),
    output:
        png=report(REPORT("figures/memorization/{dataset}-overlay.png"), caption="../report/memorization_overlay.rst",
               category="Memorization", subcategory="{dataset}"),
        svg=REPORT("figures/memorization/{dataset}-overlay.svg"),
    params:
        code=code_version("memorization"),
    log:
        R("logs/memorization/plot-{dataset}-overlay.log"),
    conda:
        ENV
    shell:
        "python -m bnnrepro memorization plot --kind overlay --curves {input} --dataset {wildcards.dataset}"
        " --out {output.png} > {log} 2>&1"


MEMORIZATION_OUTPUTS = (
    [R("memorization/summary.csv")]
    + [REPORT(f"figures/memorization/{d}-{b}-classwise.png") for d in MEMO_DATASETS for b in MEMO_BINARIZATIONS]
    + [REPORT(f"figures/memorization/{d}-overlay.png") for d in MEMO_DATASETS]
    if MEMORIZATION
    else []
)
