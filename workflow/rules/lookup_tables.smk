# Networks of lookup tables (bnnrepro.families.lookup_tables, Chatterjee 2018): one compute job per
# table and dataset, each `bnnrepro lookup_tables table TABLE` writing one tidy CSV. The family's
# tables step (families.smk) reads them: they are its declared inputs.
from bnnrepro.families.lookup_tables import declaration as lookup_tables_family

LOOKUP_TABLE_JOBS = {job.key: job for job in lookup_tables_family.jobs(config)}


rule lookup_tables_table:
    input:
        data=lambda w: data_marker(w.dataset),
        code=code_stamp("lookup-tables", code_version("bnnrepro.families.lookup_tables.compute")),
    output:
        results_path("lookup_tables/{dataset}/{job}.csv"),
    log:
        results_path("logs/lookup_tables/{dataset}/{job}.log"),
    benchmark:
        results_path("benchmarks/lookup_tables/{dataset}/{job}.tsv")
    wildcard_constraints:
        job=lookup_tables_family.JOB_PATTERN,
    conda:
        ENV
    threads: CORE_SLOTS * config["lookup_tables"]["threads"]
    resources:
        mem_mb=config["execution"]["mem_mb_per_run"],
    params:
        table=lambda w: LOOKUP_TABLE_JOBS[f"{w.dataset}/{w.job}"].table,
        args=lambda w: list(LOOKUP_TABLE_JOBS[f"{w.dataset}/{w.job}"].args),
        code=code_version("bnnrepro.families.lookup_tables.compute"),
    shell:
        "python -m bnnrepro lookup_tables table {params.table:q} --dataset {wildcards.dataset:q} --out {output:q}"
        " {params.args:q} > {log:q} 2>&1"
