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


NETWORKS = KERNELS["networks"]


rule kernels_network:
    output:
        results_path("kernels/networks.csv"),
    params:
        archs=" ".join(NETWORKS["archs"]),
        batch_sizes=" ".join(str(b) for b in NETWORKS["batch_sizes"]),
        repeats=NETWORKS["repeats"],
        min_run_time=NETWORKS["min_run_time"],
        seed=KERNELS["seed"],
        code=code_version("bnnrepro.families.kernels.measure"),
    threads: KERNEL_THREADS
    resources:
        torch_threads=KERNEL_TORCH_THREADS,
    log:
        results_path("logs/kernels/network.log"),
    benchmark:
        results_path("benchmarks/kernels/network.tsv")
    conda:
        ENV
    shell:
        "python -m bnnrepro kernels network --out {output} --archs {params.archs} --batch-sizes {params.batch_sizes}"
        " --repeats {params.repeats} --min-run-time {params.min_run_time} --seed {params.seed}"
        " --threads {resources.torch_threads} > {log} 2>&1"
