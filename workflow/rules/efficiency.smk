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
        manifest=results_path("efficiency/{dataset}/chunks/{arch}.json"),
        data=lambda w: data_marker(w.dataset),
    output:
        timings=results_path(_EFFICIENCY_OUT["timings"]),
        exports=results_path(_EFFICIENCY_OUT["exports"]),
        packed=directory(results_path(_EFFICIENCY_OUT["packed"])),
    params:
        batch_sizes=" ".join(str(b) for b in EFFICIENCY_INFERENCE["batch_sizes"]),
        repeats=EFFICIENCY_INFERENCE["repeats"],
        min_run_time=EFFICIENCY_INFERENCE["min_run_time"],
        device=config["execution"]["device"],
        data_dir=f"--data-dir {config['data_dir']}" if config["data_dir"] else "",
        code=code_version("bnnrepro.families.efficiency.inference"),
    threads: EFFICIENCY_THREADS
    resources:
        torch_threads=EFFICIENCY_TORCH_THREADS,
    log:
        results_path("logs/efficiency/{dataset}/inference-{arch}.log"),
    benchmark:
        results_path("benchmarks/efficiency/{dataset}/inference-{arch}.tsv")
    wildcard_constraints:
        arch="[^/]+",
    conda:
        ENV
    shell:
        "python -m bnnrepro efficiency inference {input.manifest} --timings {output.timings}"
        " --exports {output.exports} --packed-dir {output.packed} --batch-sizes {params.batch_sizes}"
        " --repeats {params.repeats} --min-run-time {params.min_run_time} --device {params.device}"
        " --threads {resources.torch_threads} {params.data_dir} > {log} 2>&1"
