# The HTML report: every family's section (tables, figures), the claim checklist (claims.csv beside
# it) and the provenance. Local rules: they take seconds.
ALL_FAMILY_OUTPUTS = [path for f in FAMILIES.values() for path in family_outputs(f)]
# The command that ran this workflow, for the report's provenance. A global the shell command
# refers to (not a param, not part of the command's text), so that running with another command
# line does not rebuild the report.
INVOCATION = " ".join(["snakemake"] + sys.argv[1:]) if os.path.basename(sys.argv[0]).startswith("snakemake") else "snakemake"


localrules:
    resolved_config,
    report,


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
        outputs=ALL_FAMILY_OUTPUTS,
    output:
        html=REPORT("index.html"),
        claims=REPORT("claims.csv"),
    params:
        code=code_version("bnnrepro.report.build", *[f.analysis for f in FAMILIES.values()]),
    log:
        R("logs/report.log"),
    benchmark:
        R("benchmarks/report.tsv")
    conda:
        ENV
    shell:
        "python -m bnnrepro report build --config {input.config} --results {config[results]:q}"
        " --report-dir {config[report_dir]:q} --out {output.html} --claims {output.claims}"
        " --command {INVOCATION:q} > {log} 2>&1"
