# Kernel benchmark (issue: the Triton xnor-popcount kernel): packed binary products vs torch.matmul
# on the device of this run, with BinaryNet's kernel claim beside it in the report.
KERNELS = config["kernels"]
# The benchmark times single products: like the efficiency jobs it runs alone when `exclusive`.
KERNEL_THREADS, KERNEL_TORCH_THREADS = timed_job_threads(KERNELS["exclusive"], 1, 1)


rule kernel_bench:
    output:
        R("kernels/kernel_bench.csv"),
    params:
        device=KERNELS["device"],
        batch=" ".join(str(m) for m in KERNELS["batch"]),
        sizes=" ".join(str(k) for k in KERNELS["sizes"]),
        repeats=KERNELS["repeats"],
        max_time=KERNELS["max_time"],
        code=code_version("kernels"),
    threads: KERNEL_THREADS
    resources:
        gpu=KERNELS["gpus"],
        torch_threads=KERNEL_TORCH_THREADS,
    log:
        R("logs/kernels/bench.log"),
    benchmark:
        R("benchmarks/kernel_bench/all.tsv")
    conda:
        ENV
    shell:
        "python -m bnnrepro bench kernel --out {output} --device {params.device} --batch {params.batch}"
        " --sizes {params.sizes} --repeats {params.repeats} --max-time {params.max_time}"
        " --threads {resources.torch_threads} > {log} 2>&1"


rule kernel_plot:
    input:
        R("kernels/kernel_bench.csv"),
    output:
        speedup=report(REPORT("figures/kernels/speedup.png"), caption="../report/kernels_speedup.rst",
                       category="Kernels"),
        speedup_svg=REPORT("figures/kernels/speedup.svg"),
    params:
        code=code_version("kernel_plot"),
    log:
        R("logs/kernels/plot.log"),
    conda:
        ENV
    shell:
        "python -m bnnrepro kernels plot {input} --out {output.speedup} > {log} 2>&1"


KERNEL_OUTPUTS = [R("kernels/kernel_bench.csv"), REPORT("figures/kernels/speedup.png")] if KERNELS["enabled"] else []
