# Kernel benchmark (bnnrepro.families.kernels): the packed xnor-popcount product vs torch.matmul on the
# device of this run, timed in interleaved blocks. Its tables and figure come from families.smk.
KERNELS = config["kernels"]
# The benchmark times single products: when `exclusive` it runs alone and claims every core.
KERNEL_THREADS, KERNEL_TORCH_THREADS = timed_job_threads(KERNELS["exclusive"], TRAIN_THREADS, TRAIN_THREADS)


rule kernels_bench:
    input:
        code=code_stamp("kernels-bench", code_version("bnnrepro.families.kernels.measure")),
    output:
        R("kernels/blocks.csv"),
    log:
        R("logs/kernels/bench.log"),
    benchmark:
        R("benchmarks/kernels/bench.tsv")
    conda:
        ENV
    threads: KERNEL_THREADS
    resources:
        gpu=KERNELS["gpus"],
        torch_threads=KERNEL_TORCH_THREADS,
    params:
        device=KERNELS["device"],
        batch=[str(m) for m in KERNELS["batch"]],
        sizes=[str(k) for k in KERNELS["sizes"]],
        repeats=KERNELS["repeats"],
        max_time=KERNELS["max_time"],
        seed=KERNELS["seed"],
        code=code_version("bnnrepro.families.kernels.measure"),
    shell:
        "python -m bnnrepro kernels bench --out {output:q} --device {params.device:q} --batch {params.batch:q}"
        " --sizes {params.sizes:q} --repeats {params.repeats:q} --max-time {params.max_time:q} --seed {params.seed:q}"
        " --threads {resources.torch_threads:q} > {log:q} 2>&1"
