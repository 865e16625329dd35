# The HTML report: every family's section (tables, figures), the claim checklist (claims.csv beside
# it) and the provenance. Local rules: they take seconds.
ALL_FAMILY_OUTPUTS = [path for f in FAMILIES.values() for path in family_outputs(f)]


localrules:
    resolved_config,
    report,


rule resolved_config:
    output:
        results_path("config.yaml"),
    log:
        results_path("logs/resolved_config.log"),
    params:
        config=config,
    run:
        import yaml
        from bnnrepro.io import write_text

        write_text(output[0], yaml.safe_dump(params.config, sort_keys=False))


rule report:
    input:
        config=results_path("config.yaml"),
        outputs=ALL_FAMILY_OUTPUTS,
    output:
        html=report_path("index.html"),
        claims=report_path("claims.csv"),
    log:
        results_path("logs/report.log"),
    benchmark:
        results_path("benchmarks/report.tsv")
    conda:
        ENV
    params:
        results=lambda w: config["results"],
        report_dir=lambda w: config["report_dir"],
        code=code_version("bnnrepro.report.build", *[f.analysis for f in FAMILIES.values()]),
    shell:
        "python -m bnnrepro report build --config {input.config:q} --results {params.results:q}"
        " --report-dir {params.report_dir:q} --out {output.html:q} --claims {output.claims:q}"
        " > {log:q} 2>&1"


# The report's files are verified against their seals after every change: an edited claims.csv or
# index.html is newer than this marker, so the check runs again and names the file (exit 2).
rule report_check:
    input:
        html=report_path("index.html"),
        claims=report_path("claims.csv"),
    output:
        results_path("report.checked"),
    log:
        results_path("logs/report_check.log"),
    localrule: True
    conda:
        ENV
    shell:
        "python -m bnnrepro report check {input.html:q} {input.claims:q} --out {output:q} > {log:q} 2>&1"
