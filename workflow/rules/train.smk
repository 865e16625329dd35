# Training: one generic rule for every family's runs. A job trains a chunk of runs (the family's
# declaration groups them) and writes the chunk's manifest; a timed family's chunk runs alone and
# each run in a fresh process.
CHUNKS = {(f.name, c.dataset, c.name): c for f in FAMILIES.values() if f.enabled(config) for c in f.chunks(config)}
TRAIN_CODE = code_version("bnnrepro.train.command")
TIMED_THREADS = {
    f.name: timed_job_threads(config[f.name].get("exclusive", True), TRAIN_JOB_THREADS, TRAIN_THREADS)
    for f in FAMILIES.values()
    if f.timed
}
TRAINING_FAMILIES = "|".join(sorted({family for family, _, _ in CHUNKS}) or ["none"])


localrules:
    data_fetch,
    code_stamp,


rule code_stamp:
    output:
        results_path("code/{stamp}.stamp"),
    log:
        results_path("logs/code/{stamp}.log"),
    wildcard_constraints:
        stamp="[^/]+",
    run:
        from bnnrepro.io import write_text

        write_text(output[0], f"{wildcards.stamp}\n", seal=False)


# Datasets are located, verified (and downloaded if missing) once, before the runs that use them,
# so that parallel jobs never download the same file twice. A local rule: compute nodes of a
# cluster often have no internet.
rule data_fetch:
    output:
        touch(results_path("data/{dataset}.verified")),
    log:
        results_path("logs/data/{dataset}.log"),
    benchmark:
        results_path("benchmarks/data/{dataset}.tsv")
    conda:
        ENV
    params:
        data_dir=DATA_DIR_ARGS,
    shell:
        "python -m bnnrepro data fetch {wildcards.dataset:q} {params.data_dir:q} > {log:q} 2>&1"


rule train:
    input:
        data=lambda w: data_marker(w.dataset),
        code=code_stamp("train", TRAIN_CODE),
    output:
        results_path("{family}/{dataset}/chunks/{chunk}.json"),
    log:
        results_path("logs/train/{family}/{dataset}/{chunk}.log"),
    benchmark:
        results_path("benchmarks/train/{family}/{dataset}/{chunk}.tsv")
    wildcard_constraints:
        family=TRAINING_FAMILIES,
        chunk="[^/]+",
    conda:
        ENV
    threads: lambda w: train_threads(w.family, 0)
    resources:
        **train_resources(),
        torch_threads=lambda w: train_threads(w.family, 1),
    params:
        runs=lambda w: CHUNKS[(w.family, w.dataset, w.chunk)].spec(config["results"]),
        code=TRAIN_CODE,
    shell:
        "python -m bnnrepro train --runs - --manifest {output:q} --threads {resources.torch_threads:q}"
        " --code-version {params.code:q} > {log:q} 2>&1"
        " <<'BNNREPRO_RUNS'\n{params.runs}\nBNNREPRO_RUNS"
