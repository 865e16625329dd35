# bnnrepro: regenerate the study of memorization in binarized neural networks.
#   snakemake --cores 8 all                                   default config (config.yaml)
#   snakemake --cores 8 all --configfile workflow/configs/ci.yaml       tiny end-to-end run
#   snakemake -n all --configfile workflow/configs/paper.yaml     the original study's full matrix
# Every family's facts live in its package (src/bnnrepro/families/<name>); the rule files bind them.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"


from bnnrepro.data.registry import DATASETS  # importable once common.smk has put src/ on the path


wildcard_constraints:
    dataset="|".join(DATASETS),  # every dataset of the registry


include: "workflow/rules/train.smk"
include: "workflow/rules/efficiency.smk"
include: "workflow/rules/kernels.smk"
include: "workflow/rules/lookup_tables.smk"
include: "workflow/rules/families.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        report_path("index.html"),
        ALL_FAMILY_OUTPUTS,
    localrule: True


# While it runs: a line per finished training chunk (runs done / to train, time left by the plan's
# model). At the end: the verdict tally and the report's path, also when there was nothing to do
# (Snakemake then calls no handler: bnnrepro.workflow.progress registers an exit hook).
from bnnrepro.workflow import progress as _progress

_progress.on_nothing_to_do(workflow, Path(report_path("index.html")), Path(report_path("claims.csv")))


onstart:
    _progress.start(workflow, config, CHUNKS, lambda chunk: train_threads(chunk.family, 0))


onsuccess:
    _progress.say_finish(Path(report_path("index.html")), Path(report_path("claims.csv")))
