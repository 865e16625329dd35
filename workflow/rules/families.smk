# Every family's tables (aggregated from its runs or jobs) and figures (drawn from its tables),
# one rule each per family, all from the family's declaration (bnnrepro.families.<name>): inputs,
# output paths and captions are written there once. Local rules: they take seconds. (A `shell:`
# command is evaluated when the job runs, after the loop: it reads the family from its params.)
for _family in FAMILIES.values():
    if not _family.enabled(config):
        continue

    rule:
        name:
            f"{_family.name}_tables"
        input:
            _family.manifests(config) + [results_path(p) for p in _family.inputs(config)],
        output:
            **{name: results_path(path) for name, path in _family.tables(config).items()},
        log:
            results_path(f"logs/{_family.name}/tables.log"),
        benchmark:
            results_path(f"benchmarks/{_family.name}/tables.tsv")
        localrule: True
        conda:
            ENV
        params:
            family=_family.name,
            section=section_json(_family.name),
            results=lambda w: config["results"],
            code=code_version(_family.analysis),
        shell:
            "python -m bnnrepro {params.family:q} tables --section {params.section:q}"
            " --results {params.results:q} {input:q} > {log:q} 2>&1"

    rule:
        name:
            f"{_family.name}_figures"
        input:
            [results_path(p) for p in _family.tables(config).values()],
        output:
            [
                report(report_path(s.path), caption=f"../report/{_family.name}-{s.kind}.rst", category=_family.title)
                for s in _family.figures(config)
            ]
            + [report_path(s.svg) for s in _family.figures(config)],
        log:
            results_path(f"logs/{_family.name}/figures.log"),
        benchmark:
            results_path(f"benchmarks/{_family.name}/figures.tsv")
        localrule: True
        conda:
            ENV
        params:
            family=_family.name,
            section=section_json(_family.name),
            results=lambda w: config["results"],
            report_dir=lambda w: config["report_dir"],
            code=code_version(_family.analysis),
        shell:
            "python -m bnnrepro {params.family:q} figures --section {params.section:q}"
            " --results {params.results:q} --report-dir {params.report_dir:q} > {log:q} 2>&1"
