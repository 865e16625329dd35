# The HTML report: every family's tables and figures, the claim checklist and the provenance.
FAMILY_OUTPUTS = (MEMORIZATION_OUTPUTS + EASY_OUTPUTS + EFFICIENCY_OUTPUTS + BINARYCONNECT_OUTPUTS + LUTNET_OUTPUTS
                  + KERNEL_OUTPUTS)


rule resolved_config:
    output:
        R("config.yaml"),
    params:
        config=config,
    log:
        R("logs/resolved_config.log"),
    run:
        import yaml
        from bnnrepro.io import write_text

        write_text(output[0], yaml.safe_dump(params.config, sort_keys=False))


rule report:
    input:
        config=R("config.yaml"),
        outputs=FAMILY_OUTPUTS,
    output:
        REPORT("index.html"),
    params:
        configfiles=" ".join(f"--configfile {os.path.relpath(c)}" for c in workflow.configfiles),
        results=lambda w, input: os.path.dirname(input.config),
        report_dir=lambda w, output: os.path.dirname(output[0]),
        repo=workflow.basedir,
        code=code_version("report"),
    log:
        R("logs/report.log"),
    conda:
        ENV
    shell:
        "python -m bnnrepro report build --config {input.config} --results {params.results}"
        " --report-dir {params.report_dir} --out {output} {params.configfiles}"
        " --repo {params.repo} > {log} 2>&1"
