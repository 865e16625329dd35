# Kernel benchmark (bnnrepro.families.kernels): the packed xnor-popcount product vs torch.matmul on the
# device of this run, timed in interleaved blocks. Its tables and figure come from families.smk.
from bnnrepro.families.kernels import declaration as kernels_family

KERNELS = config["kernels"]
# The benchmark times single products: when `exclusive` it runs alone and claims every core.
KERNEL_THREADS, KERNEL_TORCH_THREADS = timed_job_threads(KERNELS["exclusive"], TRAIN_THREADS, TRAIN_THREADS)


rule kernels_bench:
    input:
        code=code_stamp("kernels-bench", code_version("bnnrepro.families.kernels.measure")),
    output:
        results_path("kernels/blocks.csv"),
    log:
        results_path("logs/kernels/bench.log"),
    benchmark:
        results_path("benchmarks/kernels/bench.tsv")
    conda:
        ENV
    threads: KERNEL_THREADS
    resources:
        gpu=KERNELS["gpus"],
        torch_threads=KERNEL_TORCH_THREADS,
    params:
        args=kernels_family.bench_args(config),  # shell-quoted by the declaration
        code=code_version("bnnrepro.families.kernels.measure"),
    shell:
        "python -m bnnrepro kernels bench --out {output:q} {params.args}"
        " --threads {resources.torch_threads:q} > {log:q} 2>&1"


# Whole networks: the float MLP vs the fused packed BNN (BinaryNet's MLP and the report's MLPs).
rule kernels_network:
    input:
        code=code_stamp("kernels-network", code_version("bnnrepro.families.kernels.measure")),
    output:
        results_path("kernels/networks.csv"),
    log:
        results_path("logs/kernels/network.log"),
    benchmark:
        results_path("benchmarks/kernels/network.tsv")
    conda:
        ENV
    threads: KERNEL_THREADS
    resources:
        torch_threads=KERNEL_TORCH_THREADS,
    params:
        args=kernels_family.network_args(config),  # shell-quoted by the declaration
        code=code_version("bnnrepro.families.kernels.measure"),
    shell:
        "python -m bnnrepro kernels network --out {output:q} {params.args}"
        " --threads {resources.torch_threads:q} > {log:q} 2>&1"
