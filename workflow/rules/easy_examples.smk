# Single-epoch easy examples (paper Fig 5): R one-epoch runs per condition, each an independent job.
EASY = bw.runs_by_key(bw.easy_example_runs(config))
EASY_DATASETS = sorted({run.dataset for run in EASY.values()})


rule easy_examples_train:
    input:
        data=lambda w: data_marker(w.dataset),
    output:
        probe=R("easy_examples/{dataset}/{condition}/{repeat}/probe.csv"),
        summary=R("easy_examples/{dataset}/{condition}/{repeat}/summary.json"),
    params:
        args=lambda w: EASY[f"{w.dataset}/{w.condition}/{w.repeat}"].cli_args(),
        out=lambda w: R(f"easy_examples/{w.dataset}/{w.condition}/{w.repeat}"),
        torch_threads=TRAIN_THREADS,
        code=code_version("train"),
    threads: TRAIN_JOB_THREADS
    resources:
        **train_resources(),
    log:
        R("logs/easy_examples/{dataset}/{condition}/{repeat}.log"),
    benchmark:
        R("benchmarks/easy_examples_train/{dataset}/{condition}/{repeat}.tsv")
    wildcard_constraints:
        condition="[^/]+",
        repeat=r"r\d+",
    conda:
        ENV
    shell:
        "python -m bnnrepro train --out {params.out} {params.args} --threads {params.torch_threads} > {log} 2>&1"


rule easy_examples_aggregate:
    input:
        [R(f"easy_examples/{key}/probe.csv") for key in EASY],
    output:
        examples=R("easy_examples/examples.csv"),
        summary=report(R("easy_examples/summary.csv"), caption="../report/easy_examples_summary.rst",
                       category="Easy examples"),
    params:
        at_least=config["easy_examples"]["at_least"],
        code=code_version("easy_examples"),
    log:
        R("logs/easy_examples/aggregate.log"),
    benchmark:
        R("benchmarks/easy_examples_aggregate/all.tsv")
    conda:
        ENV
    shell:
        "python -m bnnrepro easy-examples aggregate {input} --examples {output.examples} --summary {output.summary}"
        " --at-least {params.at_least} > {log} 2>&1"


rule easy_examples_plot:
    input:
        R("easy_examples/examples.csv"),
    output:
        png=report(REPORT("figures/easy_examples/{dataset}-histogram.png"), caption="../report/easy_examples.rst",
               category="Easy examples"),
        svg=REPORT("figures/easy_examples/{dataset}-histogram.svg"),
    params:
        code=code_version("easy_examples"),
    log:
        R("logs/easy_examples/plot-{dataset}.log"),
    conda:
        ENV
    shell:
        "python -m bnnrepro easy-examples plot --examples {input} --dataset {wildcards.dataset} --out {output.png} > {log} 2>&1"


EASY_OUTPUTS = (
    [R("easy_examples/summary.csv")] + [REPORT(f"figures/easy_examples/{d}-histogram.png") for d in EASY_DATASETS]
    if EASY
    else []
)
