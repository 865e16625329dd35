# Networks of lookup tables trained by memorization (seed 002, Chatterjee 2018): Tables 1-4.
LUTNET = {job.key: job for job in bw.lutnet_jobs(config)}
LUT_DATASETS = sorted({job.dataset for job in LUTNET.values()})


rule lutnet_table:
    input:
        data=lambda w: data_marker(w.dataset),
    output:
        R("lutnet/{dataset}/{job}.csv"),
    params:
        table=lambda w: LUTNET[f"{w.dataset}/{w.job}"].table,
        args=lambda w: LUTNET[f"{w.dataset}/{w.job}"].cli_args(),
        code=code_version("lutnet"),
    threads: CORE_SLOTS * config["lutnet"]["threads"]
    log:
        R("logs/lutnet/{dataset}/{job}.log"),
    benchmark:
        R("benchmarks/lutnet_table/{dataset}/{job}.tsv")
    wildcard_constraints:
        job="table1|table2|table3-real|table3-random|pairwise-k[0-9]+",
    conda:
        ENV
    shell:
        "python -m bnnrepro lutnet {params.table} --dataset {wildcards.dataset} --out {output} {params.args}"
        " > {log} 2>&1"


rule lutnet_plot:
    input:
        lambda w: [
            R(f"lutnet/{key}.csv") for key, job in LUTNET.items() if job.dataset == w.dataset and job.name.startswith(w.kind)
        ],
    output:
        png=report(REPORT("figures/lutnet/{dataset}-{kind}.png"), caption="../report/lutnet.rst",
                   category="Lookup tables", subcategory="{kind}"),
        svg=REPORT("figures/lutnet/{dataset}-{kind}.svg"),
    params:
        k=lambda w: f"--k {max(config['lutnet']['pairwise']['k'])}" if w.kind == "pairwise" else "",
        code=code_version("lutnet"),
    log:
        R("logs/lutnet/plot-{dataset}-{kind}.log"),
    wildcard_constraints:
        kind="table1|table2|table3|pairwise",
    conda:
        ENV
    shell:
        "python -m bnnrepro lutnet-plot {wildcards.kind} {input} --out {output.png} {params.k} > {log} 2>&1"


LUTNET_KINDS = [
    kind
    for kind in ("table1", "table2", "table3", "pairwise")
    if any(job.name.startswith(kind) for job in LUTNET.values())
]
LUTNET_OUTPUTS = [R(f"lutnet/{key}.csv") for key in LUTNET] + [
    REPORT(f"figures/lutnet/{d}-{kind}.png") for d in LUT_DATASETS for kind in LUTNET_KINDS
]
