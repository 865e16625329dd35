# Kernel benchmark (bnnrepro.families.kernels): the packed xnor-popcount product vs torch.matmul on the
# device of this run, timed in interleaved blocks. Its tables and figure come from families.smk.
KERNELS = config["kernels"]
# The benchmark times single products: when `exclusive` it runs alone and claims every core.
KERNEL_THREADS, KERNEL_TORCH_THREADS = timed_job_threads(KERNELS["exclusive"], TRAIN_THREADS, TRAIN_THREADS)


rule kernels_bench:
    output:
        results_path("kernels/blocks.csv"),
    params:
        device=KERNELS["device"],
        batch=" ".join(str(m) for m in KERNELS["batch"]),
        sizes=" ".join(str(k) for k in KERNELS["sizes"]),
        repeats=KERNELS["repeats"],
        max_time=KERNELS["max_time"],
        seed=KERNELS["seed"],
        code=code_version("bnnrepro.families.kernels.measure"),
    threads: KERNEL_THREADS
    resources:
        gpu=KERNELS["gpus"],
        torch_threads=KERNEL_TORCH_THREADS,
    log:
        results_path("logs/kernels/bench.log"),
    benchmark:
        results_path("benchmarks/kernels/bench.tsv")
    conda:
        ENV
    shell:
        "python -m bnnrepro kernels bench --out {output} --device {params.device} --batch {params.batch}"
        " --sizes {params.sizes} --repeats {params.repeats} --max-time {params.max_time} --seed {params.seed}"
        " --threads {resources.torch_threads} > {log} 2>&1"
