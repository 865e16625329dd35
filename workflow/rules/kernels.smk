# Kernel benchmark (bnnrepro.families.kernels): the packed xnor-popcount product vs torch.matmul on the
# device of this run, timed in interleaved blocks. Its tables and figure come from families.smk.
from bnnrepro.families.kernels import declaration as kernels_family

KERNELS = config["kernels"]
# The benchmark times single products: when `exclusive` it runs alone and claims every core.
KERNEL_THREADS, KERNEL_TORCH_THREADS = timed_job_threads(KERNELS["exclusive"], TRAIN_THREADS, TRAIN_THREADS)


rule kernels_bench:
    output:
        results_path("kernels/blocks.csv"),
    params:
        args=kernels_family.bench_args(config),
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
        "python -m bnnrepro kernels bench --out {output} {params.args}"
        " --threads {resources.torch_threads} > {log} 2>&1"
