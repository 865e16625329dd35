# Efficiency (Srivastava et al., DA422 report): the training runs go through the generic `train`
# rule (one timed chunk per dataset and arch); this file adds the inference job of each trained
# architecture: packed exports checked exactly, float vs packed latency and throughput in
# interleaved blocks (bnnrepro.families.efficiency.inference). It times, so like the training
# chunks it runs alone when `exclusive`.
from bnnrepro.families.efficiency.declaration import inference_outputs as efficiency_inference_outputs

EFFICIENCY_INFERENCE = config["efficiency"]["inference"]
EFFICIENCY_THREADS, EFFICIENCY_TORCH_THREADS = TIMED_THREADS["efficiency"]  # as its training chunks (train.smk)
_EFFICIENCY_OUT = efficiency_inference_outputs("{dataset}", "{arch}")


rule efficiency_inference:
    input:
        manifest=R("efficiency/{dataset}/chunks/{arch}.json"),
        data=lambda w: data_marker(w.dataset),
        code=code_stamp("efficiency-inference", code_version("bnnrepro.families.efficiency.inference")),
    output:
        timings=R(_EFFICIENCY_OUT["timings"]),
        exports=R(_EFFICIENCY_OUT["exports"]),
        packed=directory(R(_EFFICIENCY_OUT["packed"])),
    log:
        R("logs/efficiency/{dataset}/inference-{arch}.log"),
    benchmark:
        R("benchmarks/efficiency/{dataset}/inference-{arch}.tsv")
    wildcard_constraints:
        arch="[^/]+",
    conda:
        ENV
    threads: EFFICIENCY_THREADS
    resources:
        torch_threads=EFFICIENCY_TORCH_THREADS,
    params:
        batch_sizes=[str(b) for b in EFFICIENCY_INFERENCE["batch_sizes"]],
        repeats=EFFICIENCY_INFERENCE["repeats"],
        min_run_time=EFFICIENCY_INFERENCE["min_run_time"],
        device=config["execution"]["device"],
        data_dir=DATA_DIR_ARGS,
        code=code_version("bnnrepro.families.efficiency.inference"),
    shell:
        "python -m bnnrepro efficiency inference {input.manifest:q} --timings {output.timings:q}"
        " --exports {output.exports:q} --packed-dir {output.packed:q} --batch-sizes {params.batch_sizes:q}"
        " --repeats {params.repeats:q} --min-run-time {params.min_run_time:q} --device {params.device:q}"
        " --threads {resources.torch_threads:q} {params.data_dir:q} > {log:q} 2>&1"
