# Efficiency (seed 003): float vs deterministic vs stochastic BNN MLPs; training cost per epoch,
# memory, accuracy, and the inference cost of the trained models (float vs packed xnor path).
EFFICIENCY = bw.runs_by_key(bw.efficiency_runs(config))
EFFICIENCY_THREADS, EFFICIENCY_TORCH_THREADS = timed_job_threads(config["efficiency"]["exclusive"],
                                                             TRAIN_JOB_THREADS, TRAIN_THREADS)


rule efficiency_train:
    input:
        data=lambda w: data_marker(w.dataset),
    output:
        metrics=R("efficiency/{dataset}/{run}/metrics.csv"),
        timing=R("efficiency/{dataset}/{run}/timing.csv"),
        model=R("efficiency/{dataset}/{run}/model.pt"),
    params:
        args=lambda w: EFFICIENCY[f"{w.dataset}/{w.run}"].cli_args(),
        out=lambda w: R(f"efficiency/{w.dataset}/{w.run}"),
        code=code_version("train"),
    threads: EFFICIENCY_THREADS
    resources:
        **train_resources(),
        torch_threads=EFFICIENCY_TORCH_THREADS,
    log:
        R("logs/efficiency/{dataset}/{run}.log"),
    benchmark:
        R("benchmarks/efficiency_train/{dataset}/{run}.tsv")
    wildcard_constraints:
        run="[^/]+",
    conda:
        ENV
    shell:
        "python -m bnnrepro train --out {params.out} {params.args} --threads {resources.torch_threads} > {log} 2>&1"


rule efficiency_inference:
    input:
        model=R("efficiency/{dataset}/{run}/model.pt"),
        metrics=R("efficiency/{dataset}/{run}/metrics.csv"),
    output:
        R("efficiency/{dataset}/{run}/inference.csv"),
    params:
        run_dir=lambda w, input: os.path.dirname(input.model),
        batch_sizes=config["efficiency"]["inference"]["batch_sizes"],
        min_run_time=config["efficiency"]["inference"]["min_run_time"],
        data_dir=f"--data-dir {config['data_dir']}" if config["data_dir"] else "",
        code=code_version("efficiency"),
    threads: EFFICIENCY_THREADS
    resources:
        torch_threads=EFFICIENCY_TORCH_THREADS,
    log:
        R("logs/efficiency/{dataset}/{run}-inference.log"),
    benchmark:
        R("benchmarks/efficiency_inference/{dataset}/{run}.tsv")
    wildcard_constraints:
        run="[^/]+",
    conda:
        ENV
    shell:
        "python -m bnnrepro efficiency inference --run-dir {params.run_dir} --out {output}"
        " --batch-sizes {params.batch_sizes} --min-run-time {params.min_run_time} --threads {resources.torch_threads}"
        " {params.data_dir} > {log} 2>&1"


rule efficiency_aggregate:
    input:
        [R(f"efficiency/{key}/inference.csv") for key in EFFICIENCY],
    output:
        summary=report(R("efficiency/summary.csv"), caption="../report/efficiency_summary.rst", category="Efficiency"),
        curves=R("efficiency/curves.csv"),
        inference=R("efficiency/inference.csv"),
    params:
        code=code_version("efficiency"),
    log:
        R("logs/efficiency/aggregate.log"),
    benchmark:
        R("benchmarks/efficiency_aggregate/all.tsv")
    conda:
        ENV
    shell:
        "python -m bnnrepro efficiency aggregate {input} --summary {output.summary} --curves {output.curves}"
        " --inference-out {output.inference} > {log} 2>&1"


rule efficiency_plot:
    input:
        summary=R("efficiency/summary.csv"),
        curves=R("efficiency/curves.csv"),
        inference=R("efficiency/inference.csv"),
    output:
        curves=report(REPORT("figures/efficiency/curves.png"), caption="../report/efficiency_curves.rst",
                      category="Efficiency"),
        bars=report(REPORT("figures/efficiency/costs.png"), caption="../report/efficiency_costs.rst",
                    category="Efficiency"),
        curves_svg=REPORT("figures/efficiency/curves.svg"),
        bars_svg=REPORT("figures/efficiency/costs.svg"),
    params:
        code=code_version("efficiency"),
    log:
        R("logs/efficiency/plot.log"),
    conda:
        ENV
    shell:
        "python -m bnnrepro efficiency plot --summary {input.summary} --curves {input.curves}"
        " --inference {input.inference} --curves-out {output.curves} --bars-out {output.bars} > {log} 2>&1"


EFFICIENCY_OUTPUTS = (
    [R("efficiency/summary.csv"), REPORT("figures/efficiency/curves.png"), REPORT("figures/efficiency/costs.png")]
    if EFFICIENCY
    else []
)
