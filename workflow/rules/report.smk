# The HTML report: every family's tables and figures, the claim checklist and the provenance.
FAMILY_OUTPUTS = MEMORIZATION_OUTPUTS + EASY_OUTPUTS


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
        code=code_version("report"),
    log:
        R("logs/report.log"),
    conda:
        ENV
    shell:
        "{BNNREPRO} report build --config {input.config} --results {config[results]}"
        " --report-dir {config[report_dir]} --out {output} {params.configfiles}"
        " --repo {workflow.basedir} > {log} 2>&1"


def all_targets():
    return [REPORT("index.html")] + FAMILY_OUTPUTS
