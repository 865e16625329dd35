# Datasets are located, verified (and downloaded if missing) once, before the runs that use them,
# so that parallel jobs never download the same file twice.


rule data_fetch:
    output:
        touch(R("data/{dataset}.verified")),
    params:
        data_dir=lambda w: f"--data-dir {config['data_dir']}" if config["data_dir"] else "",
    log:
        R("logs/data/{dataset}.log"),
    conda:
        ENV
    shell:
        "python -m bnnrepro data fetch {wildcards.dataset} {params.data_dir} > {log} 2>&1"
