# The HTML report: every family's section (tables, figures), the claim checklist (claims.csv beside
# it) and the provenance. Local rules: they take seconds.
ALL_FAMILY_OUTPUTS = [path for f in FAMILIES.values() for path in family_outputs(f)]


localrules:
    resolved_config,
    report,


rule resolved_config:
    output:
        results_path("config.yaml"),
    params:
        config=config,
    log:
        results_path("logs/resolved_config.log"),
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
    params:
        results=lambda w: config["results"],
        report_dir=lambda w: config["report_dir"],
        code=code_version("bnnrepro.report.build", *[f.analysis for f in FAMILIES.values()]),
    log:
        results_path("logs/report.log"),
    benchmark:
        results_path("benchmarks/report.tsv")
    conda:
        ENV
    shell:
        "python -m bnnrepro report build --config {input.config} --results {params.results:q}"
        " --report-dir {params.report_dir:q} --out {output.html} --claims {output.claims}"
        " > {log} 2>&1"
