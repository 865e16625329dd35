# Efficiency (Srivastava et al., DA422 report): the training runs go through the generic `train`
# rule (one timed chunk per dataset and arch); this file adds the inference job of each trained
# architecture: packed exports checked exactly, float vs packed latency and throughput in
# interleaved blocks (bnnrepro.families.efficiency.inference). It times, so like the training
# chunks it runs alone when `exclusive`.
from bnnrepro.families.efficiency import declaration as efficiency_family

EFFICIENCY_THREADS, EFFICIENCY_TORCH_THREADS = TIMED_THREADS["efficiency"]  # as its training chunks (train.smk)
_EFFICIENCY_OUT = efficiency_family.inference_outputs("{dataset}", "{arch}")


rule efficiency_inference:
    input:
        manifest=results_path("efficiency/{dataset}/chunks/{arch}.json"),
        data=lambda w: data_marker(w.dataset),
        code=code_stamp("efficiency-inference", code_version("bnnrepro.families.efficiency.inference")),
    output:
        timings=results_path(_EFFICIENCY_OUT["timings"]),
        exports=results_path(_EFFICIENCY_OUT["exports"]),
        packed=directory(results_path(_EFFICIENCY_OUT["packed"])),
    log:
        results_path("logs/efficiency/{dataset}/inference-{arch}.log"),
    benchmark:
        results_path("benchmarks/efficiency/{dataset}/inference-{arch}.tsv")
    wildcard_constraints:
        arch="[^/]+",
    conda:
        ENV
    threads: EFFICIENCY_THREADS
    resources:
        torch_threads=EFFICIENCY_TORCH_THREADS,
    params:
        args=efficiency_family.inference_args(config),  # shell-quoted by the declaration
        code=code_version("bnnrepro.families.efficiency.inference"),
    shell:
        "python -m bnnrepro efficiency inference {input.manifest:q} --timings {output.timings:q}"
        " --exports {output.exports:q} --packed-dir {output.packed:q} {params.args}"
        " --threads {resources.torch_threads:q} > {log:q} 2>&1"
