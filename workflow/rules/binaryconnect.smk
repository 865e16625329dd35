# BinaryConnect (seed 004): no regularizer vs BinaryConnect det / stoch vs dropout.
BINARYCONNECT = bw.runs_by_key(bw.binaryconnect_runs(config))
BC_DATASETS = sorted({run.dataset for run in BINARYCONNECT.values()})


rule binaryconnect_train:
    input:
        data=lambda w: data_marker(w.dataset),
    output:
        metrics=R("binaryconnect/{dataset}/{run}/metrics.csv"),
        model=R("binaryconnect/{dataset}/{run}/model.pt"),
    params:
        args=lambda w: BINARYCONNECT[f"{w.dataset}/{w.run}"].cli_args(),
        out=lambda w: R(f"binaryconnect/{w.dataset}/{w.run}"),
        torch_threads=TRAIN_THREADS,
        code=code_version("train"),
    threads: TRAIN_JOB_THREADS
    resources:
        **train_resources(),
    log:
        R("logs/binaryconnect/{dataset}/{run}.log"),
    benchmark:
        R("benchmarks/binaryconnect_train/{dataset}/{run}.tsv")
    wildcard_constraints:
        run="[^/]+",
    conda:
        ENV
    shell:
        "python -m bnnrepro train --out {params.out} {params.args} --threads {params.torch_threads} > {log} 2>&1"


rule binaryconnect_aggregate:
    input:
        [R(f"binaryconnect/{key}/metrics.csv") for key in BINARYCONNECT],
    output:
        summary=report(R("binaryconnect/summary.csv"), caption="../report/binaryconnect_summary.rst",
                       category="BinaryConnect"),
        weights=R("binaryconnect/weights.csv"),
        curves=R("binaryconnect/curves.csv"),
    params:
        code=code_version("binaryconnect"),
    log:
        R("logs/binaryconnect/aggregate.log"),
    benchmark:
        R("benchmarks/binaryconnect_aggregate/all.tsv")
    conda:
        ENV
    shell:
        "python -m bnnrepro binaryconnect aggregate {input} --summary {output.summary}"
        " --weights {output.weights} --curves {output.curves} > {log} 2>&1"


rule binaryconnect_plot:
    input:
        curves=R("binaryconnect/curves.csv"),
        metrics=lambda w: [R(f"binaryconnect/{key}/metrics.csv") for key in BINARYCONNECT if key.startswith(f"{w.dataset}/")],
    output:
        curves=report(REPORT("figures/binaryconnect/{dataset}-curves.png"), caption="../report/binaryconnect_curves.rst",
                      category="BinaryConnect"),
        features=report(REPORT("figures/binaryconnect/{dataset}-features.png"),
                        caption="../report/binaryconnect_features.rst", category="BinaryConnect"),
        histograms=report(REPORT("figures/binaryconnect/{dataset}-histograms.png"),
                          caption="../report/binaryconnect_histograms.rst", category="BinaryConnect"),
        curves_svg=REPORT("figures/binaryconnect/{dataset}-curves.svg"),
        histograms_svg=REPORT("figures/binaryconnect/{dataset}-histograms.svg"),
    params:
        code=code_version("binaryconnect"),
    log:
        R("logs/binaryconnect/plot-{dataset}.log"),
    conda:
        ENV
    shell:
        "python -m bnnrepro binaryconnect plot {input.metrics} --curves {input.curves} --dataset {wildcards.dataset}"
        " --curves-out {output.curves} --features-out {output.features}"
        " --histograms-out {output.histograms} > {log} 2>&1"


BINARYCONNECT_OUTPUTS = (
    [R("binaryconnect/summary.csv")]
    + [REPORT(f"figures/binaryconnect/{d}-{kind}.png") for d in BC_DATASETS for kind in ("curves", "features", "histograms")]
    if BINARYCONNECT
    else []
)
